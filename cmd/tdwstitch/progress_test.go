package main

import (
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
)

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
