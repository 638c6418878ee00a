package video

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// TestDirectFiles: ffmpeg reads a stream's files itself only when its
// image2 pattern names exactly the stream's frames, one per slot.
func TestDirectFiles(t *testing.T) {
	dir := filepath.Join("runs", "100% done", "a")
	named := func(format string, numbers ...int64) []discover.Frame {
		var fs []discover.Frame
		for _, n := range numbers {
			fs = append(fs, discover.Frame{Path: filepath.Join(dir, fmt.Sprintf(format, n)), Number: n, Format: tdw.PNG})
		}
		return fs
	}
	span := func(from, to int64) []int64 {
		var ns []int64
		for n := from; n <= to; n++ {
			ns = append(ns, n)
		}
		return ns
	}
	tdwNames := named("id_%04d.png", span(0, 5)...)
	cases := []struct {
		name   string
		frames []discover.Frame
		edit   func(*frames.Bounded, *place.Part, *place.Config, **timing.Clock)
		want   *ffmpeg.Files // nil: through the pipe
	}{
		{name: "TDW's names", frames: tdwNames,
			want: &ffmpeg.Files{Pattern: filepath.Join("runs", "100%% done", "a", "id_%04d.png"), Start: 0, Count: 6}},
		{name: "past 9999", frames: named("id_%04d.png", span(9997, 10002)...),
			want: &ffmpeg.Files{Pattern: filepath.Join("runs", "100%% done", "a", "id_%04d.png"), Start: 9997, Count: 6}},
		{name: "unpadded", frames: named("id_%d.png", span(8, 12)...),
			want: &ffmpeg.Files{Pattern: filepath.Join("runs", "100%% done", "a", "id_%01d.png"), Start: 8, Count: 5}},
		{name: "--gaps drop, no gap", frames: tdwNames, edit: func(_ *frames.Bounded, _ *place.Part, c *place.Config, _ **timing.Clock) { c.Drop = true },
			want: &ffmpeg.Files{Pattern: filepath.Join("runs", "100%% done", "a", "id_%04d.png"), Start: 0, Count: 6}},
		{name: "a gap", frames: named("id_%04d.png", 0, 1, 3, 4)},
		{name: "a path too long for ffmpeg's buffers", frames: func() []discover.Frame {
			long := filepath.Join(strings.Repeat("deep/", 200), "id_0000.png")
			return []discover.Frame{{Path: long, Number: 0, Format: tdw.PNG}}
		}()},
		{name: "numbers past ffmpeg's int", frames: named("id_%04d.png", math.MaxInt32-1, math.MaxInt32)},
		{name: "numbers up to ffmpeg's int", frames: named("id_%04d.png", math.MaxInt32-2, math.MaxInt32-1),
			want: &ffmpeg.Files{Pattern: filepath.Join("runs", "100%% done", "a", "id_%010d.png"), Start: math.MaxInt32 - 2, Count: 2}},
		{name: "19 digits", frames: named("id_%019d.png", 7, 8)},
		{name: "padding changes", frames: append(named("id_%04d.png", 0, 1), named("id_%d.png", 2, 3)...)},
		{name: "a JPEG among PNGs", frames: tdwNames, edit: func(b *frames.Bounded, _ *place.Part, _ *place.Config, _ **timing.Clock) {
			b.Stream.Frames[3].Format = tdw.JPEG
		}},
		{name: "a duplicate", frames: tdwNames, edit: func(b *frames.Bounded, _ *place.Part, _ *place.Config, _ **timing.Clock) {
			b.Stream.Duplicates = named("id_%d.png", 3)
		}},
		{name: "a bad frame set aside after the end", frames: tdwNames, edit: func(b *frames.Bounded, _ *place.Part, _ *place.Config, _ **timing.Clock) {
			b.Outside = []report.BadFrame{{Path: "a/id_0006.png"}}
		}},
		{name: "a packed spool", frames: tdwNames, edit: func(b *frames.Bounded, _ *place.Part, _ *place.Config, _ **timing.Clock) {
			b.Stream.Frames[2].Packed = true
		}},
		{name: "a live chunk", frames: tdwNames, edit: func(_ *frames.Bounded, p *place.Part, _ *place.Config, _ **timing.Clock) {
			*p = place.Part{Chunk: true, From: 0, Next: -1}
		}},
		{name: "capture times off the grid", frames: tdwNames, edit: func(_ *frames.Bounded, _ *place.Part, c *place.Config, k **timing.Clock) {
			c.Timing = place.TimingSidecar
			*k = &timing.Clock{Frames: map[int64]float64{0: 0, 1: 0.1, 2: 0.2, 3: 0.6, 4: 0.7, 5: 0.8}}
		}},
		{name: "a variable frame rate", frames: tdwNames, edit: func(_ *frames.Bounded, _ *place.Part, c *place.Config, k **timing.Clock) {
			c.Timing, c.VFR = place.TimingSidecar, true
			*k = &timing.Clock{Frames: map[int64]float64{0: 0, 1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5}}
		}},
		{name: "capture times on the grid", frames: tdwNames, edit: func(_ *frames.Bounded, _ *place.Part, c *place.Config, k **timing.Clock) {
			c.Timing = place.TimingSidecar
			*k = &timing.Clock{Frames: map[int64]float64{0: 0, 1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5}}
		}, want: &ffmpeg.Files{Pattern: filepath.Join("runs", "100%% done", "a", "id_%04d.png"), Start: 0, Count: 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &discover.Stream{Avatar: "a", Pass: tdw.ID, Frames: append([]discover.Frame(nil), c.frames...)}
			b := frames.Bounded{Stream: s}
			var part place.Part
			cfg := place.Config{FPS: 10, Timing: place.TimingNone}
			var clock *timing.Clock
			if c.edit != nil {
				c.edit(&b, &part, &cfg, &clock)
			}
			got := directFiles(b, place.Stream(s, &report.Stream{}, clock, nil, part, cfg), part)
			switch {
			case c.want == nil && got != nil:
				t.Errorf("ffmpeg reads %+v, want the pipe", *got)
			case c.want != nil && (got == nil || *got != *c.want):
				t.Errorf("ffmpeg reads %v, want %+v", got, *c.want)
			}
		})
	}
}

// TestRising: a count that goes back (a stream started again through the
// pipe) is not passed on until it passes the highest yet; other events are.
func TestRising(t *testing.T) {
	var got []int
	emit := rising(func(e event.Event) { got = append(got, e.Done) })
	for _, n := range []int{3, 5, 1, 5, 6} {
		emit(event.Event{Kind: event.FrameDone, Done: n})
	}
	emit(event.Event{Kind: event.BadFrame, Done: 0})
	if want := []int{3, 5, 6, 0}; !slices.Equal(got, want) {
		t.Errorf("passed on %v, want %v", got, want)
	}
}
