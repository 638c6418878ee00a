package progress

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/advice"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"
)

// runs is a batch's (or serve's) counts.
type runs struct {
	done, total int             // total: 0 for serve, whose runs keep coming
	running     map[string]bool // streams being encoded, "run: stream"
	// paused holds the runs whose backpressure was said (once a run).
	paused map[string]bool
	// failed is each failed run's error with its flag advice, for the
	// batch summary (the JSON keeps the library's words).
	failed map[string]string
}

// batchEvent renders a batch: a line per finished run (a bar counting runs
// on a terminal), bad frames and failures as they happen. One case per
// event kind, kept in one switch so that every kind's rendering is in view.
func (d *Display) batchEvent(e event.Event) {
	w, r := d.w, &d.runs
	name := e.Run + ": " + e.Stream
	d.track(name, e)
	switch e.Kind {
	case event.BatchPlanned:
		r.total = e.Total
	case event.Listening:
		d.clearBar()
		if e.Output == "connect" {
			fmt.Fprintf(w, "tdwstitch: connected to %s\n", e.Path)
			return
		}
		fmt.Fprintf(w, "tdwstitch: listening on %s\n", e.Path)
	case event.Rejected:
		d.clearBar()
		if e.Run == "" { // no run open (a refused begin, say)
			fmt.Fprintf(w, "rejected: %s\n", advice.Explain(e.Err))
			return
		}
		fmt.Fprintf(w, "run %s: rejected: %s\n", e.Run, advice.Explain(e.Err))
	case event.Warning:
		if d.mode != None {
			d.clearBar()
			fmt.Fprintf(w, "run %s: warning: %s\n", e.Run, advice.Batch(e.Err))
		}
	case event.Backpressure:
		if d.mode != None && e.Path == "spool" && !r.paused[e.Run] {
			r.paused[e.Run] = true
			d.clearBar()
			fmt.Fprintf(w, "run %s: the encoder is behind: receiving pauses while the spool is full (--spool-max-mb; counted in the serve report)\n", e.Run)
		}
	case event.ChunkDone:
		if d.mode != None {
			d.clearBar()
			fmt.Fprintf(w, "run %s: chunk %d encoded (%s)\n", e.Run, e.Done, e.Path)
		}
	case event.StreamStarted:
		r.running[name] = true
		d.describeRuns()
	case event.BadFrame, event.MissingFrames:
		d.problem(name, e)
	case event.StreamDone:
		d.problemsDone(name)
		delete(r.running, name)
		if e.Status == report.Failed {
			d.failed(name, e.Err)
		}
		d.describeRuns()
	case event.RunDone:
		d.runDone(e)
	}
}

// track keeps the heartbeat's view of a batch's streams.
func (d *Display) track(name string, e event.Event) {
	switch e.Kind {
	case event.StreamStarted:
		d.active[name] = &activity{total: e.Total, moved: time.Now()}
	case event.FrameDone:
		if a := d.active[name]; a != nil {
			a.done, a.moved = e.Done, time.Now()
		}
	case event.StreamDone:
		delete(d.active, name)
	}
}

func (d *Display) runDone(e event.Event) {
	r := &d.runs
	delete(r.paused, e.Run) // a later run of the name is told again
	if e.Status == report.Failed && e.Err != nil && r.total > 0 {
		r.failed[e.Run] = advice.Explain(e.Err) // for the batch summary (serve has none)
	}
	r.done++
	if d.mode == Bar {
		d.describeRuns()
		d.bar.Add(1)
		return
	}
	if d.mode == Plain || e.Status == report.Failed || e.Status == report.Degraded {
		if r.total == 0 { // serve: runs keep coming
			fmt.Fprintf(d.w, "run %s: %s (%d done)\n", e.Run, e.Status, r.done)
			return
		}
		fmt.Fprintf(d.w, "run %s: %s (%d/%d done)\n", e.Run, e.Status, r.done, r.total)
	}
}

// describeRuns draws the batch's bar (runs) with the streams being encoded.
func (d *Display) describeRuns() {
	if d.mode != Bar {
		return
	}
	r := &d.runs
	if d.bar == nil {
		total := r.total
		if total == 0 {
			total = -1 // serve: open-ended, a spinner with the count
		}
		d.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(d.w), progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("runs"), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	names := slices.Sorted(maps.Keys(r.running))
	if len(names) > 3 {
		names = append(names[:3], fmt.Sprintf("+%d", len(names)-3))
	}
	if len(names) == 0 {
		d.bar.Describe("runs")
		return
	}
	d.bar.Describe("runs; encoding " + strings.Join(names, ", "))
}

// Failure is run's error as the summary says it: with its flag advice when
// the run's events carried it, else as the report has it.
func (d *Display) Failure(run, reported string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if said, ok := d.runs.failed[run]; ok {
		return said
	}
	return reported
}
