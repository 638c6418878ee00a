package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tdwstitch/tdwstitch/pipeline"
)

// plainEvery is how often a stream's progress is logged when stderr is not a
// terminal (cron, Slurm logs): often enough to show life, rarely enough to
// keep logs short.
const plainEvery = 5 * time.Second

// progress renders pipeline events on stderr: one bar over all frames on a
// terminal, plain lines otherwise, only failures with --quiet. Events come
// from several goroutines; a mutex keeps lines whole.
type progress struct {
	io    ioStreams
	quiet bool
	batch bool // many runs: a line per run, not per stream

	runsDone  int
	runsTotal int
	running   map[string]bool // streams being encoded, "run: stream"

	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	total  int
	last   map[string]time.Time
	closed bool
}

func newProgress(io ioStreams, quiet bool) *progress {
	return &progress{io: io, quiet: quiet, last: map[string]time.Time{}, running: map[string]bool{}}
}

func (p *progress) event(e pipeline.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.batch {
		p.batchEvent(e)
		return
	}
	if p.io.Terminal && !p.quiet {
		p.drawBar(e)
		return
	}
	p.line(e)
}

// batchEvent renders a batch: a line per finished run (a bar counting runs
// on a terminal), bad frames and failures as they happen.
func (p *progress) batchEvent(e pipeline.Event) {
	w := p.io.Err
	name := e.Run + ": " + e.Stream
	switch e.Kind {
	case pipeline.BatchPlanned:
		p.runsTotal = e.Total
	case pipeline.Rejected:
		p.clearBar()
		fmt.Fprintf(w, "run %s: rejected: %v\n", e.Run, e.Err)
	case pipeline.ChunkDone:
		if !p.quiet {
			p.clearBar()
			fmt.Fprintf(w, "run %s: chunk %d encoded (%s)\n", e.Run, e.Done, e.Path)
		}
	case pipeline.StreamStarted:
		p.running[name] = true
		p.describe()
	case pipeline.BadFrame:
		if p.quiet {
			return
		}
		p.clearBar()
		fmt.Fprintf(w, "%s: bad frame %s: %v\n", name, e.Path, e.Err)
	case pipeline.StreamDone:
		delete(p.running, name)
		if e.Status == pipeline.Failed {
			p.clearBar()
			fmt.Fprintf(w, "%s: FAILED: %v\n", name, e.Err)
		}
	case pipeline.RunDone:
		p.runsDone++
		if p.io.Terminal && !p.quiet {
			p.describe()
			p.bar.Add(1)
			return
		}
		if !p.quiet || e.Status == pipeline.Failed {
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

func (p *progress) line(e pipeline.Event) {
	w := p.io.Err
	switch e.Kind {
	case pipeline.StreamStarted:
		if !p.quiet {
			fmt.Fprintf(w, "%s: started, %d frames\n", e.Stream, e.Total)
		}
		p.last[e.Stream] = time.Now()
	case pipeline.FrameDone:
		if !p.quiet && time.Since(p.last[e.Stream]) >= plainEvery {
			fmt.Fprintf(w, "%s: %d/%d frames\n", e.Stream, e.Done, e.Total)
			p.last[e.Stream] = time.Now()
		}
	case pipeline.BadFrame:
		if !p.quiet {
			fmt.Fprintf(w, "%s: bad frame %s: %v\n", e.Stream, e.Path, e.Err)
		}
	case pipeline.StreamDone:
		p.streamDone(e)
	}
}

func (p *progress) streamDone(e pipeline.Event) {
	switch {
	case e.Status == pipeline.Failed:
		fmt.Fprintf(p.io.Err, "%s: FAILED: %v\n", e.Stream, e.Err)
	case !p.quiet:
		fmt.Fprintf(p.io.Err, "%s: %s %s\n", e.Stream, e.Status, e.Output)
	}
}

func (p *progress) drawBar(e pipeline.Event) {
	switch e.Kind {
	case pipeline.StreamStarted:
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
	case pipeline.FrameDone:
		p.bar.Add(1)
	case pipeline.BadFrame:
		p.bar.Clear()
		fmt.Fprintf(p.io.Err, "%s: bad frame %s: %v\n", e.Stream, e.Path, e.Err)
	case pipeline.StreamDone:
		p.bar.Clear()
		p.streamDone(e)
	}
}

// close finishes the bar; later events are dropped.
func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
	}
	p.closed = true
}
