package place

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

func stream(numbers ...int64) *discover.Stream {
	s := &discover.Stream{Avatar: "a", Pass: tdw.Img}
	for _, n := range numbers {
		s.Frames = append(s.Frames, discover.Frame{Number: n})
	}
	return s
}

// TestSlotsFollowTheClock: by frame number, frames are 1/fps apart and a
// missing one keeps its slot; by capture time, a late frame starts later
// (the one before it is held) and the audio starts where it was recorded;
// under --gaps drop, good frames follow each other.
func TestSlotsFollowTheClock(t *testing.T) {
	s := stream(10, 11, 13)
	byNumber := Stream(s, &report.Stream{}, nil, nil, Part{}, Config{FPS: 10})
	if got := [3]int64{byNumber.Slot(10, 0), byNumber.Slot(13, 2), byNumber.PlannedSlots(3)}; got != [3]int64{0, 3, 4} {
		t.Errorf("by number: slots %v, want [0 3 4]", got)
	}
	if !byNumber.ByNumber() || byNumber.ByTime() || byNumber.Compact() {
		t.Error("by number: wrong mode")
	}
	clock := &timing.Clock{Source: timing.Sidecar, Frames: map[int64]float64{10: 5.0, 11: 5.1, 13: 5.45}, AudioStart: 4.9, HasAudio: true}
	audio := &report.Audio{Path: "a.wav", SourceDuration: 2}
	sr := &report.Stream{}
	timed := Stream(s, sr, clock, audio, Part{}, Config{FPS: 10, Timing: TimingAuto})
	if off := timed.AudioOffset(); timed.Slot(13, 2) != 5 || !timed.ByTime() || math.Abs(off+0.1) > 1e-9 {
		t.Errorf("by time: frame 13 in slot %d (want 5), audio offset %g (want -0.1)", timed.Slot(13, 2), timed.AudioOffset())
	}
	if sr.Audio == nil || sr.Timing != report.TimingSidecar {
		t.Errorf("by time: the report says timing %q, audio %+v", sr.Timing, sr.Audio)
	}
	drop := Stream(s, &report.Stream{}, nil, nil, Part{}, Config{FPS: 10, Drop: true})
	if drop.Slot(13, 2) != 2 || drop.LastSlot(3) != 2 || !drop.Compact() {
		t.Errorf("drop: frame 13 in slot %d, last slot %d, want 2 and 2", drop.Slot(13, 2), drop.LastSlot(3))
	}
}

// TestChunkSitsOnTheRunsGrid: a later chunk of a live run counts slots from
// the stream's first frame in the whole run, and ends where the next chunk
// starts.
func TestChunkSitsOnTheRunsGrid(t *testing.T) {
	part := Part{Chunk: true, From: 100, Next: 150, First: 0, InRun: true}
	p := Stream(stream(100, 101, 102), &report.Stream{}, nil, nil, part, Config{FPS: 30})
	if p.Slot(100, 0) != 100 {
		t.Errorf("frame 100 of a chunk in slot %d, want 100", p.Slot(100, 0))
	}
	if start, last := p.Bounds(part); start != 100 || last != 149 {
		t.Errorf("bounds %d..%d, want 100..149", start, last)
	}
	part.Next = -1
	if _, last := p.Bounds(part); last != -1 {
		t.Errorf("the last chunk ends at slot %d, want -1 (its own end)", last)
	}
}

// TestSidecarFallsBackOrFails: --timing auto without a usable sidecar goes
// on 1/fps apart, with a warning naming the file; --timing sidecar fails.
func TestSidecarFallsBackOrFails(t *testing.T) {
	run := &discover.Run{Dir: t.TempDir()}
	s := []*discover.Stream{stream(0, 1, 2)}
	if c, warnings, err := Clock(run, s, nil, Config{FPS: 60, Timing: TimingAuto}); c != nil || len(warnings) != 0 || err != nil {
		t.Errorf("auto, no sidecar: %v %v %v", c, warnings, err)
	}
	if _, _, err := Clock(run, s, nil, Config{FPS: 60, Timing: TimingSidecar}); err == nil {
		t.Error("--timing sidecar without a sidecar did not fail")
	}
	if _, _, err := Clock(run, s, nil, Config{FPS: 60, Timing: TimingNone, VFR: true}); err == nil {
		t.Error("--vfr without capture times did not fail")
	}
	// A sidecar that cannot be used: auto (also as Timing "") goes on
	// without it, warning with the file and line; strict fails.
	if err := os.WriteFile(filepath.Join(run.Dir, timing.SidecarName), []byte("event,frame,time\nframe,0,1\nframe,x,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{TimingAuto, ""} {
		c, warnings, err := Clock(run, s, nil, Config{FPS: 60, Timing: mode})
		var te *TimingError
		if c != nil || err != nil || len(warnings) != 1 || !errors.As(warnings[0], &te) || te.Next != "1/fps spacing" || !strings.Contains(te.Error(), "timing.csv:3") {
			t.Errorf("timing %q, bad sidecar: clock %v, warnings %v, error %v", mode, c, warnings, err)
		}
	}
	var te *TimingError
	if _, _, err := Clock(run, s, nil, Config{FPS: 60, Strict: true}); !errors.As(err, &te) || !te.Strict {
		t.Errorf("strict, bad sidecar: error %v", err)
	}
}

// TestSpans: streams of one camera (avatar folder and prefix) span its
// frames together, a side at most maxGap wider and not past bad files set
// aside at the end; numbers with a file of the stream are not missing;
// other cameras and streams with nothing to encode take no part; a pass
// that lacks more frames at its ends than it has (saved now and then), or
// lies further off than maxGap, keeps its own range, with a warning.
func TestSpans(t *testing.T) {
	stream := func(avatar, prefix string, pass tdw.Pass, numbers ...int64) *discover.Stream {
		s := &discover.Stream{Avatar: avatar, Prefix: prefix, Pass: pass}
		for _, n := range numbers {
			s.Frames = append(s.Frames, discover.Frame{Number: n})
		}
		return s
	}
	streams := []*discover.Stream{
		stream("a", "", tdw.Img, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		stream("a", "", tdw.ID, 2, 3, 4, 5, 6, 7),                // 2 held before 3, its first good frame
		stream("a", "", tdw.Depth, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), // 8 and 9 bad, set aside
		stream("b", "", tdw.ID, 5, 6),                            // another camera
		stream("a", "cam2", tdw.ID, 5, 6),                        // another sequence in a's folder
		stream("a", "", tdw.Flow),                                // nothing to encode
		stream("a", "", tdw.Category, 0),                         // saved once, at the first frame
	}
	ranges := []Range{{0, 9, 9, true}, {3, 7, 7, true}, {0, 7, 9, true}, {5, 6, 6, true}, {5, 6, 6, true}, {}, {0, 0, 0, true}}
	got, warnings := Spans(streams, ranges, 10)
	want := []*Span{nil, {From: 0, To: 9, Missing: []report.Gap{{From: 0, To: 1}, {From: 8, To: 9}}}, nil, nil, nil, nil, nil}
	for i := range streams {
		if g, w := got[i], want[i]; (g == nil) != (w == nil) || g != nil && (g.From != w.From || g.To != w.To || !slices.Equal(g.Missing, w.Missing)) {
			t.Errorf("stream %d (%s): span %+v, want %+v", i, streams[i].ID(), g, w)
		}
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "a/category: frames 0 to 0, where its camera's other passes span 0 to 9") {
		t.Errorf("warnings %q, want one for a/category", warnings)
	}
	if sp, _ := Spans(streams, ranges, 1); sp[1] != nil {
		t.Errorf("id 3 and 2 frames from the camera's ends with maxGap 1: %+v, want its own range", sp[1])
	}
	// A pass far off: it keeps its range, and the others are not stretched to it.
	streams = append(streams, stream("a", "", tdw.Normals, 40, 41))
	ranges = append(ranges, Range{40, 41, 41, true})
	got, warnings = Spans(streams, ranges, 10)
	if got[0] != nil || got[7] != nil || !slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, "a/normals: frames 40 to 41") }) {
		t.Errorf("normals at 40-41: img %+v, normals %+v, warnings %q; want both their own, normals named", got[0], got[7], warnings)
	}
}
