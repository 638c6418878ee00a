package progress

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"
)

// TestBackpressureSaidOncePerRun: serve says once per run that the encoder
// is behind (the spool's wait), not at every wait, and not the queue's
// waits (they follow from it); -q says nothing.
func TestBackpressureSaidOncePerRun(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var out strings.Builder
		mode := Plain
		if quiet {
			mode = None
		}
		p := New(&out, mode, true)
		for _, e := range []event.Event{
			{Kind: event.Backpressure, Path: "queue"},
			{Kind: event.Backpressure, Run: "r1", Path: "spool"},
			{Kind: event.Backpressure, Run: "r1", Path: "spool"},
			{Kind: event.Backpressure, Run: "r2", Path: "spool"},
		} {
			p.Event(e)
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

func TestModeFromFlags(t *testing.T) {
	for _, c := range []struct {
		args     []string
		terminal bool
		want     Mode
	}{
		{nil, true, Bar}, {nil, false, Plain}, {[]string{"--progress", "bar"}, false, Bar},
		{[]string{"--progress", "plain"}, true, Plain}, {[]string{"--progress", "none"}, true, None},
		{[]string{"-q"}, true, None}, {[]string{"-q", "--progress", "none"}, true, None},
	} {
		var f Flags
		if err := f.registerTo().Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Mode(c.terminal); got != c.want || err != nil {
			t.Errorf("%v on a terminal %v: mode %v (%v), want %v", c.args, c.terminal, got, err, c.want)
		}
	}
	var f Flags
	if err := f.registerTo().Parse([]string{"-q", "--progress", "bar"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Mode(true); err == nil {
		t.Error("-q --progress bar: no error, want one (two contrary requests)")
	}
	if err := (&Flags{}).registerTo().Parse([]string{"--progress", "fancy"}); err == nil {
		t.Error("--progress fancy accepted")
	}
}

// registerTo returns a flag set with f's flags, its errors kept quiet.
func (f *Flags) registerTo() *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	f.Register(fs, "", "")
	return fs
}

// TestRunBarKeepsThePlan: the bar's length is the plan's frames from the
// start; a stream that ends early (failed) counts its frames as gone by, a
// failure is said in every mode, and the bar is full only once every
// planned stream has ended.
func TestRunBarKeepsThePlan(t *testing.T) {
	var out strings.Builder
	d := New(&out, Bar, false)
	d.Event(event.Event{Kind: event.RunPlanned, Streams: 2, Total: 20})
	d.Event(event.Event{Kind: event.StreamStarted, Stream: "a/img", Total: 10})
	for i := 1; i <= 4; i++ {
		d.Event(event.Event{Kind: event.FrameDone, Stream: "a/img", Done: i, Total: 10})
	}
	d.Event(event.Event{Kind: event.StreamDone, Stream: "a/img", Status: report.Failed, Err: errors.New("disk full")})
	d.Event(event.Event{Kind: event.StreamStarted, Stream: "b/img", Total: 10})
	if d.job.done != 10 || d.bar.GetMax() != 20 || d.bar.State().CurrentNum != 10 {
		t.Errorf("after a/img failed at 4/10: done %d, bar %d/%d, want 10/20", d.job.done, d.bar.State().CurrentNum, d.bar.GetMax())
	}
	for i := 1; i <= 10; i++ {
		d.Event(event.Event{Kind: event.FrameDone, Stream: "b/img", Done: i, Total: 10})
		if d.bar.IsFinished() {
			t.Fatalf("the bar finished at b/img %d/10, before the stream ended", i)
		}
	}
	d.Event(event.Event{Kind: event.StreamDone, Stream: "b/img", Status: report.OK})
	d.Close()
	if !strings.Contains(out.String(), "a/img: FAILED: disk full") || !strings.Contains(out.String(), "streams 1/2: b/img") {
		t.Errorf("screen:\n%q", out.String())
	}
}

// TestBarWithStreamsSideBySide: with --jobs 2, two streams run at once:
// the bar names both, keeps the plan's length as they start, and says a
// slow job's rate in a unit that shows it.
func TestBarWithStreamsSideBySide(t *testing.T) {
	var out strings.Builder
	d := New(&out, Bar, false)
	d.Event(event.Event{Kind: event.RunPlanned, Streams: 3, Total: 30})
	d.Event(event.Event{Kind: event.StreamStarted, Stream: "a/img", Total: 10})
	d.Event(event.Event{Kind: event.StreamStarted, Stream: "b/img", Total: 10})
	d.Event(event.Event{Kind: event.FrameDone, Stream: "a/img", Done: 1, Total: 10})
	d.Event(event.Event{Kind: event.StreamDone, Stream: "never/started", Status: report.OK})
	if d.bar.GetMax() != 30 || d.job.finished != 0 || !strings.Contains(out.String(), "streams 0/3: a/img, b/img") {
		t.Errorf("bar %d long, %d finished, screen:\n%q", d.bar.GetMax(), d.job.finished, out.String())
	}
	d.Close()
	for rate, want := range map[float64]string{240: "240 frames/s", 0.25: "15.0 frames/min", 1.0 / 600: "0.1 frames/min"} {
		if got := rateText(rate); got != want {
			t.Errorf("rateText(%v) = %q, want %q", rate, got, want)
		}
	}
}
