// Package progress renders the library's events for people: one bar for
// the whole job on a terminal, plain lines in logs (cron, Slurm), only
// failures with --progress none. The lines naming each output are the
// command's to print on stdout; everything here goes to stderr.
package progress

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/advice"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
)

// Mode is how progress is shown.
type Mode int

const (
	// None: only failures, degraded runs and serve's readiness.
	None Mode = iota
	// Plain: a line per step, and every few seconds per stream (logs).
	Plain
	// Bar: one bar redrawn in place (a terminal).
	Bar
)

// plainEvery is how often a stream's progress is logged in Plain mode:
// often enough to show life, rarely enough to keep logs short.
const plainEvery = 5 * time.Second

// ProblemLines is how many missing or bad frames are named per stream
// (here and by probe);
// the rest are counted ("... and N more"), the report lists all.
const ProblemLines = 10

// Display renders one command's events on w. Events come from several
// goroutines; a mutex keeps lines whole and the bar's counts right.
type Display struct {
	w     io.Writer
	mode  Mode
	batch bool // many runs (batch, serve): a line per run, not per stream

	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	closed bool
	job    job                  // a single run's counts (see run.go)
	runs   runs                 // a batch's counts (see batch.go)
	last   map[string]time.Time // Plain: when each stream's count was last logged
	// warnings of a single run, said after its outcome (see SayWarnings).
	warnings []error
	// problems counts the problem lines of each stream, to cap them.
	problems map[string]int
	// active is each stream being encoded ("run: stream" in a batch) and
	// how far it is; the heartbeat names those that stopped moving.
	active   map[string]*activity
	stopBeat chan struct{}
	hint     string // how a stall ends, when it does
	beat     sync.WaitGroup
}

// activity is one stream's progress.
type activity struct {
	done, total int
	moved, said time.Time
}

// New returns a display of mode on w; batch is for many runs (batch,
// serve), where a line (or the bar's step) is a run, not a frame.
func New(w io.Writer, mode Mode, batch bool) *Display {
	return &Display{w: w, mode: mode, batch: batch, last: map[string]time.Time{}, problems: map[string]int{},
		active: map[string]*activity{}, runs: runs{paused: map[string]bool{}, failed: map[string]string{}, running: map[string]bool{}}}
}

// Heartbeat starts saying, every so often, which streams have made no
// progress for a while (30 s, or half of --stall-timeout when shorter): a
// stopped ffmpeg or a hung disk blocks the frames, so without it a stalled
// job would look like one that is merely slow. Close stops it.
func (d *Display) Heartbeat(stall time.Duration) {
	after := 30 * time.Second
	if stall > 0 {
		after = max(min(after, stall/2), 10*time.Millisecond)
		d.hint = " --stall-timeout ends it"
	}
	d.stopBeat = make(chan struct{})
	d.beat.Go(func() {
		tick := time.NewTicker(after / 2)
		defer tick.Stop()
		for {
			select {
			case <-d.stopBeat:
				return
			case <-tick.C:
			}
			d.mu.Lock()
			d.stalls(after)
			d.mu.Unlock()
		}
	})
}

// stalls names the streams that have not moved for after (again after as
// long each time).
func (d *Display) stalls(after time.Duration) {
	if d.mode == None || d.closed {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(d.active)) {
		a := d.active[name]
		if a.total == 0 || time.Since(a.moved) < after || time.Since(a.said) < after {
			continue // a chunk join or a mosaic counts no frames: nothing to watch
		}
		a.said = time.Now()
		d.clearBar()
		fmt.Fprintf(d.w, "%s: no progress for %s (%d/%d frames): is ffmpeg stopped, or the disk hung?%s\n",
			name, time.Since(a.moved).Round(time.Second), a.done, a.total, d.hint)
		if !d.batch {
			d.drawRun(true) // back under the line
		}
	}
}

// Event renders e; it is the library's Options.OnEvent.
func (d *Display) Event(e event.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if d.batch {
		d.batchEvent(e)
		return
	}
	d.runEvent(e)
}

// problem prints one missing or bad frame of stream name, up to
// ProblemLines per stream, and reports whether it printed.
func (d *Display) problem(name string, e event.Event) bool {
	if d.mode == None {
		return false
	}
	d.problems[name]++
	if d.problems[name] > ProblemLines {
		return false
	}
	d.clearBar()
	if e.Kind == event.MissingFrames {
		fmt.Fprintf(d.w, "%s: missing %s\n", name, e.Path)
		return true
	}
	fmt.Fprintf(d.w, "%s: bad frame %s: %s\n", name, e.Path, advice.Explain(e.Err))
	return true
}

// problemsDone says how many problem lines of stream name were not shown.
func (d *Display) problemsDone(name string) {
	if n := d.problems[name] - ProblemLines; n > 0 {
		d.clearBar()
		fmt.Fprintf(d.w, "%s: ... and %d more missing or bad frames (see the report)\n", name, n)
	}
	delete(d.problems, name)
}

// failed says that stream name failed: in every mode, it is a result.
func (d *Display) failed(name string, err error) {
	d.clearBar()
	fmt.Fprintf(d.w, "%s: FAILED: %s\n", name, advice.Explain(err))
}

func (d *Display) clearBar() {
	if d.bar != nil {
		d.bar.Clear()
	}
}

// Close stops the heartbeat and takes the bar off the screen, leaving the
// cursor where the command's results begin; later events are dropped.
func (d *Display) Close() {
	if d.stopBeat != nil {
		close(d.stopBeat)
		d.beat.Wait()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bar != nil {
		d.bar.Finish() // stops a spinner's ticker; the bar clears itself on finishing
		d.bar.Clear()
		if !d.batch && d.job.streams > 0 {
			fmt.Fprint(d.w, d.summary())
		}
	}
	d.closed = true
}

// SayWarnings prints a single run's warnings, with the flags that bear on
// them, once its progress is done.
func (d *Display) SayWarnings() {
	for _, w := range d.warnings {
		fmt.Fprintln(d.w, "tdwstitch: warning:", advice.Explain(w))
	}
}
