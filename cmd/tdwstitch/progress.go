package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/advice"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/schollz/progressbar/v3"
)

// plainEvery is how often a stream's progress is logged when stderr is not a
// terminal (cron, Slurm logs): often enough to show life, rarely enough to
// keep logs short.
const plainEvery = 5 * time.Second

// problemLines is how many missing or bad frames are named per stream on
// stderr; the rest are counted ("... and N more"), the report lists all.
const problemLines = 10

// progress renders pipeline events on stderr: one bar over all frames on a
// terminal, plain lines otherwise; with --quiet only failures and degraded
// runs (the readiness line of serve too). Events come
// from several goroutines; a mutex keeps lines whole.
type progress struct {
	io    ioStreams
	quiet bool
	batch bool // many runs: a line per run, not per stream

	runsDone  int
	runsTotal int
	running   map[string]bool // streams being encoded, "run: stream"
	// paused holds the runs whose backpressure was said (once a run).
	paused map[string]bool
	// warnings of a single run, said after its outcome (see sayWarnings).
	warnings []error
	// failed is each failed run's error with its flag advice, for the
	// batch summary (the JSON keeps the library's words).
	failed map[string]string

	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	total  int
	last   map[string]time.Time
	closed bool
	// problems counts the problem lines of each stream, to cap them.
	problems map[string]int
	// active is each stream being encoded ("run: stream" in a batch) and
	// when it last moved; the heartbeat names those that stopped moving.
	active   map[string]*activity
	stopBeat chan struct{}
	hint     string // how a stall ends, when it does
	beat     sync.WaitGroup
}

// activity is one stream's progress, for the heartbeat.
type activity struct {
	done, total int
	moved, said time.Time
}

func newProgress(io ioStreams, quiet bool) *progress {
	return &progress{io: io, quiet: quiet, last: map[string]time.Time{}, running: map[string]bool{}, paused: map[string]bool{}, failed: map[string]string{}, problems: map[string]int{},
		active: map[string]*activity{}}
}

// heartbeat starts saying, every so often, which streams have made no
// progress for a while (30 s, or half of --stall-timeout when shorter): a
// stopped ffmpeg or a hung disk blocks the frames, so without it a stalled
// job would look like one that is merely slow. close stops it.
func (p *progress) heartbeat(stall time.Duration) {
	after := 30 * time.Second
	if stall > 0 {
		after = max(min(after, stall/2), 10*time.Millisecond)
	}
	p.hint = ""
	if stall > 0 {
		p.hint = " --stall-timeout ends it"
	}
	p.stopBeat = make(chan struct{})
	p.beat.Go(func() {
		tick := time.NewTicker(after / 2)
		defer tick.Stop()
		for {
			select {
			case <-p.stopBeat:
				return
			case <-tick.C:
			}
			p.mu.Lock()
			p.stalls(after)
			p.mu.Unlock()
		}
	})
}

// stalls names the streams that have not moved for after (again after as
// long each time).
func (p *progress) stalls(after time.Duration) {
	if p.quiet || p.closed {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(p.active)) {
		a := p.active[name]
		if time.Since(a.moved) < after || time.Since(a.said) < after {
			continue
		}
		a.said = time.Now()
		p.clearBar()
		fmt.Fprintf(p.io.Err, "%s: no progress for %s (%d/%d frames): is ffmpeg stopped, or the disk hung?%s\n",
			name, time.Since(a.moved).Round(time.Second), a.done, a.total, p.hint)
	}
}

// moved records a stream's progress for the heartbeat.
func (p *progress) moved(name string, e event.Event) {
	switch e.Kind {
	case event.StreamStarted:
		if e.Total > 0 { // a chunk join reads no frames: nothing to watch
			p.active[name] = &activity{total: e.Total, moved: time.Now()}
		}
	case event.FrameDone:
		if a := p.active[name]; a != nil {
			a.done, a.moved = e.Done, time.Now()
		}
	case event.StreamDone:
		delete(p.active, name)
	}
}

// problem prints one missing or bad frame of stream name, up to
// problemLines per stream.
func (p *progress) problem(name string, e event.Event) {
	if p.quiet {
		return
	}
	p.problems[name]++
	if p.problems[name] > problemLines {
		return
	}
	p.clearBar()
	if e.Kind == event.MissingFrames {
		fmt.Fprintf(p.io.Err, "%s: missing %s\n", name, e.Path)
		return
	}
	fmt.Fprintf(p.io.Err, "%s: bad frame %s: %s\n", name, e.Path, advice.Explain(e.Err))
}

// problemsDone says how many problem lines of stream name were not shown.
func (p *progress) problemsDone(name string) {
	if n := p.problems[name] - problemLines; n > 0 {
		p.clearBar()
		fmt.Fprintf(p.io.Err, "%s: ... and %d more missing or bad frames (see the report)\n", name, n)
	}
	delete(p.problems, name)
}

func (p *progress) event(e event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if e.Kind == event.Warning && !p.batch {
		p.warnings = append(p.warnings, e.Err)
		return
	}
	if p.batch {
		p.moved(e.Run+": "+e.Stream, e)
		p.batchEvent(e)
		return
	}
	p.moved(e.Stream, e)
	if p.io.Terminal && !p.quiet {
		p.drawBar(e)
		return
	}
	p.line(e)
}

// batchEvent renders a batch: a line per finished run (a bar counting runs
// on a terminal), bad frames and failures as they happen. One case per
// event kind, kept in one switch so that every kind's rendering is in view.
func (p *progress) batchEvent(e event.Event) {
	w := p.io.Err
	name := e.Run + ": " + e.Stream
	switch e.Kind {
	case event.BatchPlanned:
		p.runsTotal = e.Total
	case event.Listening:
		p.clearBar()
		if e.Output == "connect" {
			fmt.Fprintf(w, "tdwstitch: connected to %s\n", e.Path)
			return
		}
		fmt.Fprintf(w, "tdwstitch: listening on %s\n", e.Path)
	case event.Rejected:
		p.clearBar()
		if e.Run == "" { // no run open (a refused begin, say)
			fmt.Fprintf(w, "rejected: %s\n", advice.Explain(e.Err))
			return
		}
		fmt.Fprintf(w, "run %s: rejected: %s\n", e.Run, advice.Explain(e.Err))
	case event.Warning:
		if !p.quiet {
			p.clearBar()
			fmt.Fprintf(w, "run %s: warning: %s\n", e.Run, advice.Batch(e.Err))
		}
	case event.Backpressure:
		if !p.quiet && e.Path == "spool" && !p.paused[e.Run] {
			p.paused[e.Run] = true
			p.clearBar()
			fmt.Fprintf(w, "run %s: the encoder is behind: receiving pauses while the spool is full (--spool-max-mb; counted in the serve report)\n", e.Run)
		}
	case event.ChunkDone:
		if !p.quiet {
			p.clearBar()
			fmt.Fprintf(w, "run %s: chunk %d encoded (%s)\n", e.Run, e.Done, e.Path)
		}
	case event.StreamStarted:
		p.running[name] = true
		p.describe()
	case event.BadFrame, event.MissingFrames:
		p.problem(name, e)
	case event.StreamDone:
		p.problemsDone(name)
		delete(p.running, name)
		if e.Status == report.Failed {
			p.clearBar()
			fmt.Fprintf(w, "%s: FAILED: %s\n", name, advice.Explain(e.Err))
		}
	case event.RunDone:
		delete(p.paused, e.Run) // a later run of the name is told again
		if e.Status == report.Failed && e.Err != nil && p.runsTotal > 0 {
			p.failed[e.Run] = advice.Explain(e.Err) // for the batch summary (serve has none)
		}
		p.runsDone++
		if p.io.Terminal && !p.quiet {
			p.describe()
			p.bar.Add(1)
			return
		}
		if !p.quiet || e.Status == report.Failed || e.Status == report.Degraded {
			if p.runsTotal == 0 { // serve: runs keep coming
				fmt.Fprintf(w, "run %s: %s (%d done)\n", e.Run, e.Status, p.runsDone)
				return
			}
			fmt.Fprintf(w, "run %s: %s (%d/%d done)\n", e.Run, e.Status, p.runsDone, p.runsTotal)
		}
	}
}

// describe draws the overall bar (runs) with the streams being encoded.
func (p *progress) describe() {
	if !p.io.Terminal || p.quiet {
		return
	}
	if p.bar == nil {
		total := p.runsTotal
		if total == 0 {
			total = -1 // serve: open-ended, a spinner with the count
		}
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.io.Err), progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("runs"), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	names := slices.Sorted(maps.Keys(p.running))
	if len(names) > 3 {
		names = append(names[:3], fmt.Sprintf("+%d", len(names)-3))
	}
	if len(names) == 0 {
		p.bar.Describe("runs")
		return
	}
	p.bar.Describe("runs; encoding " + strings.Join(names, ", "))
}

func (p *progress) clearBar() {
	if p.bar != nil {
		p.bar.Clear()
	}
}

func (p *progress) line(e event.Event) {
	w := p.io.Err
	switch e.Kind {
	case event.StreamStarted:
		switch {
		case p.quiet:
		case e.Total > 0:
			fmt.Fprintf(w, "%s: started, %d frames\n", e.Stream, e.Total)
		default: // a mosaic or a join counts no frames as it goes
			fmt.Fprintf(w, "%s: started\n", e.Stream)
		}
		p.last[e.Stream] = time.Now()
	case event.FrameDone:
		if !p.quiet && time.Since(p.last[e.Stream]) >= plainEvery {
			fmt.Fprintf(w, "%s: %d/%d frames\n", e.Stream, e.Done, e.Total)
			p.last[e.Stream] = time.Now()
		}
	case event.BadFrame, event.MissingFrames:
		p.problem(e.Stream, e)
	case event.StreamDone:
		p.problemsDone(e.Stream)
		p.streamDone(e)
	}
}

func (p *progress) streamDone(e event.Event) {
	switch {
	case e.Status == report.Failed:
		fmt.Fprintf(p.io.Err, "%s: FAILED: %s\n", e.Stream, advice.Explain(e.Err))
	case !p.quiet:
		fmt.Fprintf(p.io.Err, "%s: %s %s\n", e.Stream, e.Status, e.Output)
	}
}

func (p *progress) drawBar(e event.Event) {
	switch e.Kind {
	case event.StreamStarted:
		p.total += e.Total
		if p.bar == nil {
			p.bar = progressbar.NewOptions(p.total,
				progressbar.OptionSetWriter(p.io.Err),
				progressbar.OptionShowCount(),
				progressbar.OptionSetItsString("frames"),
				progressbar.OptionShowIts(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionSetPredictTime(true))
		} else {
			p.bar.ChangeMax(p.total)
		}
		p.bar.Describe(e.Stream)
	case event.FrameDone:
		p.bar.Add(1)
	case event.BadFrame, event.MissingFrames:
		p.problem(e.Stream, e)
	case event.StreamDone:
		p.clearBar()
		p.problemsDone(e.Stream)
		p.streamDone(e)
	}
}

// close finishes the bar and stops the heartbeat; later events are dropped.
func (p *progress) close() {
	if p.stopBeat != nil {
		close(p.stopBeat)
		p.beat.Wait()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
	}
	p.closed = true
}

// sayWarnings prints a single run's warnings, with the flags that bear on
// them, once its progress is done.
func (p *progress) sayWarnings() {
	for _, w := range p.warnings {
		fmt.Fprintln(p.io.Err, "tdwstitch: warning:", advice.Explain(w))
	}
}

// failure is run's error as the summary says it: with its flag advice when
// the run's events carried it, else as the report has it.
func (p *progress) failure(run, reported string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if said, ok := p.failed[run]; ok {
		return said
	}
	return reported
}
