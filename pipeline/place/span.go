package place

import (
	"fmt"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// Span is the frame numbers a whole run's stream video covers when its
// camera's other passes begin earlier or end later than it. One camera
// captures every pass each frame, so a pass that lost its first or last
// frames holds its nearest frame there, as over a gap, instead of starting
// or ending early: every pass of a camera then shows the same moment in
// each video frame, and the audio lines up with all of them.
type Span struct {
	From, To int64
	// Missing are the numbers in the span, before or after the stream's
	// own frames, with no file of the stream (a bad one is listed as bad).
	Missing []report.Gap
}

// Range is a stream's own first and last frame numbers; OK is false when
// it has none (it fails, or is not encoded).
type Range struct {
	First, Last int64
	OK          bool
}

// SpansOf is Spans over the streams' own ranges: of those to encode
// (bounds), as bounded; of those kept (done, when not nil), as their
// reports say.
func SpansOf(streams []*discover.Stream, bounds []frames.Bounded, done []*report.Stream, maxGap int64) ([]*Span, []string) {
	ranges := make([]Range, len(bounds))
	for i, b := range bounds {
		switch {
		case done[i] != nil:
			ranges[i] = Range{First: done[i].FirstFrame, Last: done[i].LastFrame, OK: done[i].FramesWritten > 0}
		case b.Stream != nil && b.Err == nil && len(b.Stream.Frames) > 0:
			fs := b.Stream.Frames
			ranges[i] = Range{First: fs[0].Number, Last: fs[len(fs)-1].Number, OK: true}
		}
	}
	return Spans(streams, ranges, maxGap)
}

// Spans gives each stream of streams (whose ranges are ranges) the Span of
// its camera: the streams of one avatar folder and name prefix together.
// A stream is widened by at most maxGap frames a side (maxGap < 0: no
// bound), as a gap is bounded, and only while it lacks no more frames at
// its ends than it has: a pass captured for a few frames only (an _id pass
// saved once, at the first frame) keeps its own range, and a warning says
// so; one further off than maxGap keeps its own silently (its strays are
// bounded as any). nil: the stream's video covers its own
// range. Streams whose range is not OK take no part.
func Spans(streams []*discover.Stream, ranges []Range, maxGap int64) (spans []*Span, warnings []string) {
	cameras := map[[2]string][]int{}
	for i, s := range streams {
		if ranges[i].OK {
			k := [2]string{s.Avatar, s.Prefix}
			cameras[k] = append(cameras[k], i)
		}
	}
	within := func(d int64) bool { return maxGap < 0 || d <= maxGap }
	spans = make([]*Span, len(streams))
	for i, s := range streams {
		if !ranges[i].OK {
			continue
		}
		own := ranges[i]
		from, to := own.First, own.Last
		for _, j := range cameras[[2]string{s.Avatar, s.Prefix}] {
			if r := ranges[j]; r.First < from && within(own.First-r.First) {
				from = r.First
			}
			if r := ranges[j]; r.Last > to && within(r.Last-own.Last) {
				to = r.Last
			}
		}
		if lacks := own.First - from + to - own.Last; lacks > own.Last-own.First+1 {
			warnings = append(warnings, fmt.Sprintf("%s: frames %d to %d only, where its camera's other passes have %d to %d: its video holds its own frames only (its frame k is capture %d+k), as a pass saved now and then is meant",
				s.ID(), own.First, own.Last, from, to, own.First))
			continue
		}
		if from == own.First && to == own.Last {
			continue
		}
		sp := &Span{From: from, To: to}
		sp.Missing = append(absent(s, from, own.First-1), absent(s, own.Last+1, to)...)
		spans[i] = sp
	}
	return spans, warnings
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

// CameraNote is what a stream's fingerprint records of its camera: the
// frame numbers its camera's streams (of streams) span together when they
// reach past s's own, or "" (every pass of the camera alike, as usual): a
// stream whose span a change in another pass moves is encoded again.
func CameraNote(streams []*discover.Stream, s *discover.Stream) string {
	if len(s.Frames) == 0 {
		return ""
	}
	first, last := s.Frames[0].Number, s.Frames[len(s.Frames)-1].Number
	from, to := first, last
	for _, o := range streams {
		if o.Avatar == s.Avatar && o.Prefix == s.Prefix && len(o.Frames) > 0 {
			from, to = min(from, o.Frames[0].Number), max(to, o.Frames[len(o.Frames)-1].Number)
		}
	}
	if from == first && to == last {
		return ""
	}
	return fmt.Sprintf("camera %d %d\n", from, to)
}
