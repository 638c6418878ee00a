package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// TestExplainNamesTheFlag: each error class that a flag can change gets
// that flag from the CLI, wrapped however deep; others are left alone.
func TestExplainNamesTheFlag(t *testing.T) {
	wrap := func(err error) error { return pipeline.Failure(fmt.Errorf("a/img: %w", err)) }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(&frames.GapError{Need: 499969, Msg: "gap"}), "gap (--max-gap; if the gap is real, pass --max-gap 499969, or 0 for no limit)"},
		{wrap(&frames.GapError{Timed: true, Need: 7, Msg: "pause"}), "pause (--max-gap; if the pause is real, pass --max-gap 7, or --timing none)"},
		{wrap(&frames.PixelsError{Width: 9, Height: 9, Max: 64}), "a/img: frame is 9x9, more pixels than the limit (64) allows: an image bomb? (--max-pixels 64; raise it if the frame is real)"},
		{wrap(&ffmpeg.StallError{Output: "x.mp4"}), ", or raise --stall-timeout"},
		{wrap(fmt.Errorf("%w: not here", ffmpeg.ErrMissing)), "ffmpeg not found: not here, or pass --ffmpeg /path/to/ffmpeg"},
		{errors.New("plain"), "plain"},
	} {
		if got := explain(tc.err); len(got) < len(tc.want) || got[len(got)-len(tc.want):] != tc.want {
			t.Errorf("explain(%v) = %q, want it to end %q", tc.err, got, tc.want)
		}
	}
}

// TestFlagErrorSaysTheFlag: the library names Options fields; the CLI
// says its flags, longer names first (NoAudio is not No + Audio).
func TestFlagErrorSaysTheFlag(t *testing.T) {
	for _, tc := range []struct {
		opts pipeline.Options
		want string
	}{
		{pipeline.Options{Audio: "a.wav", NoAudio: true}, `--audio "a.wav" contradicts --no-audio: pass one`},
		{pipeline.Options{FPS: 2000}, "--fps 2000 is out of range (1 to 1000)"},
		{pipeline.Options{OnBad: "q"}, `--on-bad "q" is not one of skip, fail`},
	} {
		if got := flagError(tc.opts.Validate()); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestBackpressureSaidOncePerRun: serve says once per run that the encoder
// is behind (the spool's wait), not at every wait, and not the queue's
// waits (they follow from it); -q says nothing.
func TestBackpressureSaidOncePerRun(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var out strings.Builder
		p := newProgress(ioStreams{Out: &out, Err: &out}, quiet)
		p.batch = true
		for _, e := range []event.Event{
			{Kind: event.Backpressure, Path: "queue"},
			{Kind: event.Backpressure, Run: "r1", Path: "spool"},
			{Kind: event.Backpressure, Run: "r1", Path: "spool"},
			{Kind: event.Backpressure, Run: "r2", Path: "spool"},
		} {
			p.event(e)
		}
		got, want := strings.Count(out.String(), "the encoder is behind"), 2
		if quiet {
			want = 0
		}
		if got != want || !quiet && !strings.Contains(out.String(), "run r2: the encoder is behind") {
			t.Errorf("quiet %v: said %d times, want %d:\n%s", quiet, got, want, out.String())
		}
	}
}
