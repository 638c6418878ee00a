package frames

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// Bounded is a stream cut to the frames the evidence supports: nothing about
// a run's length is taken from one file's name.
type Bounded struct {
	// stream runs from the stream's first frame (or, when a gap wider than
	// MaxGap comes before its first good frame, the first frame after that
	// gap) to its last good frame.
	Stream *discover.Stream
	// outside are the bad frames before or after that range: listed in the
	// report, never held.
	Outside []report.BadFrame
	// err: good frames on both sides of a gap wider than MaxGap; the stream
	// fails (naming the file after the gap) instead of holding for hours.
	Err error
	// Shape is the size and format most of the stream's frames agree on
	// (unset: none could be read); a frame of another is bad.
	Shape Shape
}

// shapeSamples is how many frames, spread over a stream, vote for its shape.
const shapeSamples = 9

// majorityShape is the Shape most of a sample of the stream's frames agree
// on, from their headers (a bomb in the sample is never decoded): never
// just the first frame's, so one odd frame (a 2x2 thumbnail saved
// as img_0000.jpg) is the bad one instead of setting the video's size.
func majorityShape(ctx context.Context, frames []discover.Frame, lim Checks) Shape {
	type key struct {
		format        string
		width, height int
		pixFmt        string
	}
	votes := map[key]int{}
	var order []key
	examples := map[key]Checked{}
	n := len(frames)
	for j := range min(n, shapeSamples) {
		if ctx.Err() != nil {
			break
		}
		i := j
		if n > shapeSamples {
			i = j * (n - 1) / (shapeSamples - 1)
		}
		c := Check(ctx, frames[i], headersOnly(lim), false, nil)
		if c.Err != nil {
			continue
		}
		k := key{string(c.Info.Format), c.Info.Width, c.Info.Height, c.Info.PixFmt}
		if votes[k] == 0 {
			order = append(order, k)
			examples[k] = c
		}
		votes[k]++
	}
	var s Shape
	best := 0
	for _, k := range order {
		if votes[k] > best {
			best = votes[k]
			c := examples[k]
			s = Shape{Set: true, Info: c.Info, From: fmt.Sprintf("%d of %d frames sampled, e.g. %s", votes[k], min(n, shapeSamples), c.Frame.Rel)}
		}
	}
	return s
}

// bound finds the frames of s worth encoding. It reads the stream's first
// frames until one is good and its last frames until one is good and has
// the first one's Shape: usually two reads. Leading bad frames stay in the
// range (the first good frame holds over them, so every pass of a run
// starts at the same frame number) unless a gap wider than MaxGap parts them
// from it; trailing bad frames are always outside.
func Bound(ctx context.Context, s *discover.Stream, lim Checks) Bounded {
	frames := s.Frames
	b := Bounded{Stream: s}
	shp := majorityShape(ctx, frames, lim)
	reasons := map[int]string{} // why frames read so far are bad, by index
	first := goodFrom(ctx, frames, 0, len(frames), 1, &shp, lim, reasons)
	b.Shape = shp
	if first < 0 || ctx.Err() != nil {
		return b // no good frame at all: the encode says so, listing them
	}
	last := goodFrom(ctx, frames, len(frames)-1, first, -1, &shp, lim, reasons)
	if ctx.Err() != nil {
		return b
	}
	if last < 0 {
		last = first
	}
	start := first
	for start > 0 && !TooFar(frames[start-1].Number, frames[start].Number, lim.MaxGap) {
		start--
	}
	var bad []report.BadFrame
	for i := range frames {
		if i < start || i > last {
			bad = append(bad, report.BadFrame{Path: frames[i].Rel, Reason: reasons[i] + outsideReason(i < start)})
		}
	}
	for i := start + 1; i <= last; i++ {
		if TooFar(frames[i-1].Number, frames[i].Number, lim.MaxGap) {
			b.Err = gapError(frames, i, start, last, lim.MaxGap)
			break
		}
	}
	if start == 0 && last == len(frames)-1 {
		return b
	}
	cut := *s
	cut.Frames = frames[start : last+1]
	b.Stream, b.Outside = &cut, bad
	return b
}

// goodFrom walks frames from index from towards to (excluded) by step and
// returns the first that is good and has the stream's Shape (setting it
// when unset), recording why the others are bad; -1 if none.
func goodFrom(ctx context.Context, frames []discover.Frame, from, to, step int, shp *Shape, lim Checks, reasons map[int]string) int {
	for i := from; i != to && ctx.Err() == nil; i += step {
		c := Check(ctx, frames[i], lim, false, shp)
		if c.Err == nil {
			c.Err = shp.Match(c) // sets an unset Shape
		}
		if c.Err == nil {
			return i
		}
		reasons[i] = c.Err.Error()
	}
	return -1
}

func outsideReason(before bool) string {
	if before {
		return " (before a gap wider than the widest allowed and the stream's first good frame: not held)"
	}
	return " (after the stream's last good frame: not held)"
}

// tooFar reports whether frame numbers a < b are more than maxGap apart
// (maxGap < 0: no limit).
func TooFar(a, b, maxGap int64) bool { return maxGap >= 0 && b-a-1 > maxGap }

// gapError explains the first gap wider than maxGap, before frames[i].
func gapError(frames []discover.Frame, i, start, last int, maxGap int64) error {
	prev, next := frames[i-1], frames[i]
	return &GapError{Need: next.Number - prev.Number - 1, Msg: fmt.Sprintf("%s (frame %d) comes %d frames after %s (frame %d), more than the widest gap allowed (%d): "+
		"%d files lie before the gap and %d from it on; remove the stray files",
		next.Rel, next.Number, next.Number-prev.Number-1, prev.Rel, prev.Number, maxGap, i-start, last-i+1)}
}

// PreferGood makes sure that, of two files with one frame number, a good
// one is the frame and the other the duplicate: a live stray that took a
// number first must not push out the real frame of that number. Only
// duplicated numbers are checked (headers only).
func PreferGood(ctx context.Context, s *discover.Stream, lim Checks) {
	for i, d := range s.Duplicates {
		k, ok := slices.BinarySearchFunc(s.Frames, d.Number, func(f discover.Frame, n int64) int { return cmp.Compare(f.Number, n) })
		headers := headersOnly(lim)
		if !ok || Check(ctx, s.Frames[k], headers, false, nil).Err == nil || Check(ctx, d, headers, false, nil).Err != nil {
			continue
		}
		s.Frames[k], s.Duplicates[i] = d, s.Frames[k]
	}
}

// headersOnly is lim without the deep check: for the reads that only need
// a frame's header (its shape's vote, which of two files is the frame).
func headersOnly(lim Checks) Checks {
	lim.Deep = false
	return lim
}

// GapError is a gap (in frame numbers, or in output slots of capture time)
// wider than Checks.MaxGap allows; Need is the limit that would let it pass,
// for the caller's advice.
type GapError struct {
	Need int64
	Msg  string
	// Timed: the gap is in capture times, which a run can also go without.
	Timed bool
}

func (e *GapError) Error() string { return e.Msg }

// PixelsError is a frame whose header claims more pixels than
// Checks.MaxPixels: an image bomb, or a frame larger than expected.
type PixelsError struct {
	Width, Height int
	Max           int64
}

func (e *PixelsError) Error() string {
	return fmt.Sprintf("frame is %dx%d, more pixels than the limit (%d) allows: an image bomb?", e.Width, e.Height, e.Max)
}
