package pipeline

import (
	"context"
	"fmt"

	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// bounded is a stream cut to the frames the evidence supports: nothing about
// a run's length is taken from one file's name.
type bounded struct {
	// stream runs from the stream's first frame (or, when a gap wider than
	// MaxGap comes before its first good frame, the first frame after that
	// gap) to its last good frame.
	stream *discover.Stream
	// outside are the bad frames before or after that range: listed in the
	// report, never held.
	outside []BadFrameInfo
	// err: good frames on both sides of a gap wider than MaxGap; the stream
	// fails (naming the file after the gap) instead of holding for hours.
	err error
	// shape is the size and format most of the stream's frames agree on
	// (unset: none could be read); a frame of another is bad.
	shape shape
}

// shapeSamples is how many frames, spread over a stream, vote for its shape.
const shapeSamples = 9

// majorityShape is the shape most of a sample of the stream's frames agree
// on: never just the first frame's, so one odd frame (a 2x2 thumbnail saved
// as img_0000.jpg) is the bad one instead of setting the video's size.
func majorityShape(ctx context.Context, frames []discover.Frame, opts Options) shape {
	type key struct {
		format        string
		width, height int
		pixFmt        string
	}
	votes := map[key]int{}
	var order []key
	examples := map[key]checked{}
	n := len(frames)
	for j := range min(n, shapeSamples) {
		if ctx.Err() != nil {
			break
		}
		i := j
		if n > shapeSamples {
			i = j * (n - 1) / (shapeSamples - 1)
		}
		c := check(frames[i], opts, false)
		if c.err != nil {
			continue
		}
		k := key{string(c.info.Format), c.info.Width, c.info.Height, c.info.PixFmt}
		if votes[k] == 0 {
			order = append(order, k)
			examples[k] = c
		}
		votes[k]++
	}
	var s shape
	best := 0
	for _, k := range order {
		if votes[k] > best {
			best = votes[k]
			c := examples[k]
			s = shape{set: true, info: c.info, from: fmt.Sprintf("%d of %d frames sampled, e.g. %s", votes[k], min(n, shapeSamples), c.frame.Rel)}
		}
	}
	return s
}

// bound finds the frames of s worth encoding. It reads the stream's first
// frames until one is good and its last frames until one is good and has
// the first one's shape: usually two reads. Leading bad frames stay in the
// range (the first good frame holds over them, so every pass of a run
// starts at the same frame number) unless a gap wider than MaxGap parts them
// from it; trailing bad frames are always outside.
func bound(ctx context.Context, s *discover.Stream, opts Options) bounded {
	frames := s.Frames
	b := bounded{stream: s}
	first := -1
	firstShape := majorityShape(ctx, frames, opts)
	reasons := map[int]string{} // why frames read so far are bad, by index
	for i := range frames {
		if ctx.Err() != nil {
			return b
		}
		c := check(frames[i], opts, false)
		if c.err == nil {
			c.err = firstShape.match(c)
		}
		if c.err == nil {
			first = i
			break
		}
		reasons[i] = c.err.Error()
	}
	b.shape = firstShape
	if first < 0 {
		return b // no good frame at all: the encode says so, listing them
	}
	last := first
	for i := len(frames) - 1; i > first; i-- {
		if ctx.Err() != nil {
			return b
		}
		c := check(frames[i], opts, false)
		if c.err == nil {
			c.err = firstShape.match(c)
		}
		if c.err == nil {
			last = i
			break
		}
		reasons[i] = c.err.Error()
	}
	start := first
	for start > 0 && !tooFar(frames[start-1].Number, frames[start].Number, opts.MaxGap) {
		start--
	}
	var bad []BadFrameInfo
	for i := range frames {
		if i < start || i > last {
			bad = append(bad, BadFrameInfo{Path: frames[i].Rel, Reason: reasons[i] + outsideReason(i < start)})
		}
	}
	for i := start + 1; i <= last; i++ {
		if tooFar(frames[i-1].Number, frames[i].Number, opts.MaxGap) {
			b.err = gapError(frames, i, start, last, opts.MaxGap)
			break
		}
	}
	if start == 0 && last == len(frames)-1 {
		return b
	}
	cut := *s
	cut.Frames = frames[start : last+1]
	b.stream, b.outside = &cut, bad
	return b
}

func outsideReason(before bool) string {
	if before {
		return " (before a gap wider than --max-gap and the stream's first good frame: not held)"
	}
	return " (after the stream's last good frame: not held)"
}

// tooFar reports whether frame numbers a < b are more than maxGap apart
// (maxGap < 0: no limit).
func tooFar(a, b, maxGap int64) bool { return maxGap >= 0 && b-a-1 > maxGap }

// gapError explains the first gap wider than maxGap, before frames[i].
func gapError(frames []discover.Frame, i, start, last int, maxGap int64) error {
	prev, next := frames[i-1], frames[i]
	return fmt.Errorf("%s (frame %d) comes %d frames after %s (frame %d), more than --max-gap %d allows: "+
		"%d files lie before the gap and %d from it on; remove the stray files (or pass --max-gap %d, or 0 for no limit, if the gap is real)",
		next.Rel, next.Number, next.Number-prev.Number-1, prev.Rel, prev.Number, maxGap, i-start, last-i+1, next.Number-prev.Number-1)
}
