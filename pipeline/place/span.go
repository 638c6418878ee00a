package place

import (
	"fmt"
	"slices"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// Span is the frame numbers a whole run's stream video covers when its
// camera's other passes begin earlier or end later than it. One camera
// captures every pass each frame, so where frames are placed by number a
// pass that lost its first or last frames holds its nearest frame there,
// as over a gap, instead of starting or ending early: frame k of each of
// the camera's videos is then one capture, and the audio lines up with all
// of them.
type Span struct {
	From, To int64
	// Missing are the numbers in the span, before or after the stream's
	// own frames, with no file of the stream.
	Missing []report.Gap
}

// Range is a stream's own first and last frame numbers, and the last
// number it has a file for (past Last when bad files were set aside after
// its last good frame); OK is false when it has no frame to encode.
type Range struct {
	First, Last, Files int64
	OK                 bool
}

// SpansOf is Spans over the streams' own ranges: of those to encode
// (bounds), as bounded; of those kept (done), as their reports say. The
// run's other streams (of run, not selected by --passes or --avatars) take
// part by their files, so that a selection makes the same videos as the
// whole run.
func SpansOf(streams []*discover.Stream, bounds []frames.Bounded, done []*report.Stream, run []*discover.Stream, maxGap int64) ([]*Span, []string) {
	all := slices.Clone(streams)
	selected := map[string]bool{}
	for _, s := range streams {
		selected[s.ID()] = true
	}
	for _, o := range run {
		if !selected[o.ID()] {
			all = append(all, o)
		}
	}
	ranges := make([]Range, len(all))
	for i, s := range all {
		switch {
		case i >= len(streams):
			ranges[i] = filesRange(s, maxGap)
		case done[i] != nil:
			ranges[i] = Range{First: done[i].FirstFrame, Last: done[i].LastFrame, Files: done[i].LastFrame, OK: done[i].FramesWritten > 0}
		case bounds[i].Stream != nil && bounds[i].Err == nil && bounds[i].Shape.Set:
			fs := bounds[i].Stream.Frames
			ranges[i] = Range{First: fs[0].Number, Last: fs[len(fs)-1].Number, Files: max(fs[len(fs)-1].Number, s.Frames[len(s.Frames)-1].Number), OK: true}
		}
	}
	spans, notes := spans(all, ranges, maxGap)
	return spans[:len(streams)], slices.DeleteFunc(notes[:len(streams)], func(n string) bool { return n == "" })
}

// filesRange is the range of s's files, unread: those of its longest run
// of numbers no gap wider than maxGap splits, so that a stray file far off
// (img_5000000.jpg) moves no camera's span, as frames.Bound keeps it out
// of a stream that is read.
func filesRange(s *discover.Stream, maxGap int64) Range {
	var best, cur Range
	for i, f := range s.Frames {
		if i == 0 || frames.TooFar(s.Frames[i-1].Number, f.Number, maxGap) {
			cur = Range{First: f.Number}
		}
		cur.Last, cur.Files, cur.OK = f.Number, f.Number, true
		if n := cur.Last - cur.First; !best.OK || n > best.Last-best.First {
			best = cur
		}
	}
	return best
}

// Spans gives each stream of streams (whose ranges are ranges) the Span of
// its camera: the frames the streams of one avatar folder and name prefix
// cover together. A side is widened at most maxGap frames (maxGap < 0: no
// bound), as a gap is bounded, and not past bad files set aside after the
// stream's last good frame (they are listed, not held); and a stream is
// widened only while it lacks no more frames at its ends than it has.
// Otherwise it keeps its own range, and a warning says so: a pass saved
// only now and then (an _id pass saved once, at the first frame), or
// frames far off. nil: the stream's video covers its own range. Streams
// whose range is not OK take no part.
func Spans(streams []*discover.Stream, ranges []Range, maxGap int64) ([]*Span, []string) {
	spans, notes := spans(streams, ranges, maxGap)
	return spans, slices.DeleteFunc(notes, func(n string) bool { return n == "" })
}

// spans is Spans with each stream's warning ("": none) in its place.
func spans(streams []*discover.Stream, ranges []Range, maxGap int64) (spans []*Span, notes []string) {
	cameras := cameraSpans(streams, ranges)
	within := func(d int64) bool { return maxGap < 0 || d <= maxGap }
	spans, notes = make([]*Span, len(streams)), make([]string, len(streams))
	for i, s := range streams {
		own := ranges[i]
		if !own.OK {
			continue
		}
		c := cameras[cameraOf(s)]
		from, to := own.First, own.Last
		if within(own.First - c.from) {
			from = c.from
		}
		if own.Files == own.Last && within(c.to-own.Last) {
			to = c.to
		}
		if lacks := own.First - from + to - own.Last; lacks > own.Last-own.First+1 || from != c.from || to < c.to && own.Files == own.Last {
			notes[i] = fmt.Sprintf("%s: frames %d to %d, where its camera's other passes span %d to %d: its video covers its own frames only (a pass saved now and then, or frames far off)",
				s.ID(), own.First, own.Last, c.from, c.to)
			continue
		}
		if from == own.First && to == own.Last {
			continue
		}
		spans[i] = &Span{From: from, To: to, Missing: append(absent(s, from, own.First-1), absent(s, own.Last+1, to)...)}
	}
	return spans, notes
}

// absent lists the numbers from..to (at most a gap's width) that s has no
// file for, as gaps.
func absent(s *discover.Stream, from, to int64) []report.Gap {
	has := map[int64]bool{}
	for _, f := range s.Frames {
		if f.Number >= from && f.Number <= to {
			has[f.Number] = true
		}
	}
	var gaps []report.Gap
	for n := from; n <= to; n++ {
		switch {
		case has[n]:
		case len(gaps) > 0 && gaps[len(gaps)-1].To == n-1:
			gaps[len(gaps)-1].To = n
		default:
			gaps = append(gaps, report.Gap{From: n, To: n})
		}
	}
	return gaps
}

// camera is the frame numbers one camera's streams cover together.
type camera struct{ from, to int64 }

// cameraOf keys a stream by its camera: its avatar folder and name prefix.
func cameraOf(s *discover.Stream) [2]string { return [2]string{s.Avatar, s.Prefix} }

// cameraSpans are the cameras of streams, over the ranges that are OK.
func cameraSpans(streams []*discover.Stream, ranges []Range) map[[2]string]*camera {
	cameras := map[[2]string]*camera{}
	for i, s := range streams {
		if r := ranges[i]; r.OK {
			if c := cameras[cameraOf(s)]; c != nil {
				c.from, c.to = min(c.from, r.First), max(c.to, r.Last)
			} else {
				cameras[cameraOf(s)] = &camera{r.First, r.Last}
			}
		}
	}
	return cameras
}

// CameraNote is what a stream's fingerprint records of its camera: the
// frame numbers its camera's streams (of streams, by their files as
// filesRange counts them) span together when they reach past s's own, or
// "" (every pass of the camera alike, as usual): a stream whose span a
// change in another pass moves is encoded again.
func CameraNote(streams []*discover.Stream, s *discover.Stream, maxGap int64) string {
	ranges := make([]Range, len(streams))
	own := filesRange(s, maxGap)
	for i, o := range streams {
		if cameraOf(o) == cameraOf(s) {
			ranges[i] = filesRange(o, maxGap)
		}
	}
	c := cameraSpans(streams, ranges)[cameraOf(s)]
	if !own.OK || c == nil || c.from == own.First && c.to == own.Last {
		return ""
	}
	return fmt.Sprintf("camera %d %d\n", c.from, c.to)
}
