package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/event"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// finish closes the current run's spool and hands the rest to an encoder:
// the whole run, or its last chunk and then the join.
func (l *live) finish(ctx context.Context, how report.EndReason) {
	r := l.cur
	if r == nil {
		return
	}
	l.cur = nil
	r.rep.Ended, r.rep.Interrupted, r.rep.EndedAt = how, how != report.EndMessage, time.Now()
	r.rep.Backpressure.QueueWaits = l.q.waits.Load() - r.waits0
	l.answer(ackAnswer{Run: r.rep.Run, Folder: r.rep.Folder, Frames: r.rep.Frames, Ended: string(how)})
	r.writer.Close()
	if r.rep.Frames == 0 {
		l.dropEmpty(r)
		return
	}
	if ctx.Err() != nil {
		// Stopped by a signal: no new work. The frames stay spooled for
		// the next start or --recover; the run counts as neither outcome.
		if r.jobs != nil {
			close(r.jobs) // the chunk encoder stops at its cancelled job
		}
		r.rep.Status = report.Running
		r.rep.Error = "serve stopped before encoding this run: its frames are spooled; the next serve start (or a recovery) encodes them"
		saveServeReport(r.dir, r.rep, l.so.Options)
		return
	}
	// The encode runs beside the ingest, which goes on receiving: its
	// streams share the process's encoder slots (--jobs) with every other
	// run's and chunk's.
	if r.jobs == nil {
		size := r.chunk.bytes
		l.pending.Add(size)
		l.g.Go(func() error {
			defer l.runSlot(ctx)()
			l.count(ctx, encodeSpool(ctx, r.dir, r.rep, r.opts))
			l.release(size)
			l.behind(r.rep)
			return nil
		})
		return
	}
	if r.chunk.frames > 0 {
		l.seal(ctx, r, -1)
	}
	close(r.jobs)
	l.g.Go(func() error {
		<-r.done // the chunk encoder ends on its own after a signal too
		defer l.runSlot(ctx)()
		l.count(ctx, finishChunked(ctx, r.dir, r.rep, r.manifest, r.clock, r.opts))
		l.behind(r.rep)
		return nil
	})
}

// behind warns when a run's videos were final long after it ended (more
// than twice --chunk-seconds, and 10 s): encoding needed more CPU than the
// machine gave at the run's capture rate, so the user learns why and what
// keeps up, not only by waiting.
func (l *live) behind(run *report.Serve) {
	if s := run.FinishSeconds; s > max(10, 2*l.so.ChunkSeconds) {
		l.so.OnEvent(event.Event{Kind: event.Warning, Run: run.Run, Err: fmt.Errorf(
			"its videos were final %.1f s after it ended: encoding fell behind capture, which needed more CPU than this machine gave; more cores, fewer passes or a faster --preset keep up (see finish_seconds in its %s)", s, report.ServeFile)})
	}
}

// answer records how a run ended and answers the acks waiting for it.
func (l *live) answer(a ackAnswer) {
	l.ended[a.Run] = a
	for _, req := range l.waiting[a.Run] {
		req.reply <- a
	}
	delete(l.waiting, a.Run)
}

// dropEmpty removes a run that accepted no frame (junk, or a begin and an
// end only): nothing is left behind, not even an empty failed run. The
// folder goes only if empty (a reused name's earlier videos stay).
func (l *live) dropEmpty(r *liveRun) {
	os.RemoveAll(filepath.Join(r.dir, SpoolDir))
	os.Remove(filepath.Join(r.dir, liveManifestName))
	os.Remove(r.dir)
	l.so.OnEvent(event.Event{Kind: event.Rejected, Run: r.rep.Run, Err: fmt.Errorf("no frame accepted (%d messages rejected): nothing written", r.rep.RejectedTotal())})
}

// encodeSpool encodes a spooled run, records the ingest report and removes
// the spool once the videos are in place.
func encodeSpool(ctx context.Context, runOut string, run *report.Serve, opts pipeline.Options) report.Status {
	spoolDir := filepath.Join(runOut, SpoolDir)
	opts.OnEvent = runEvents(run.Run, opts.OnEvent)
	opts.OnEvent(event.Event{Kind: event.RunStarted, Run: run.Run})
	rep, _, err := pipeline.EncodeSpool(ctx, spoolDir, runOut, opts)
	return endLive(runOut, run, rep, err, opts)
}

// finishChunked joins a chunked run's videos and records its reports.
func finishChunked(ctx context.Context, runOut string, run *report.Serve, m *liveManifest, clock *timing.Clock, opts pipeline.Options) report.Status {
	opts.OnEvent = runEvents(run.Run, opts.OnEvent)
	opts.OnEvent(event.Event{Kind: event.RunStarted, Run: run.Run})
	chunks := make([]pipeline.Chunk, len(m.Chunks))
	for i, c := range m.Chunks {
		chunks[i] = pipeline.Chunk{Dir: chunkDir(runOut, c.Index), From: c.From, To: c.To}
	}
	rep, err := pipeline.JoinChunks(ctx, runOut, filepath.Join(runOut, SpoolDir), chunks, clock, opts)
	return endLive(runOut, run, rep, err, opts)
}

// runEvents names the run in each of its streams' events.
func runEvents(run string, onEvent func(event.Event)) func(event.Event) {
	return func(e event.Event) {
		if e.Run == "" {
			e.Run = run
		}
		onEvent(e)
	}
}

// endLive writes the ingest report, and removes the spool, chunks and
// manifest once the run's videos are in place (they stay for a retry when
// it failed).
func endLive(runOut string, run *report.Serve, rep *report.Run, err error, opts pipeline.Options) report.Status {
	run.Status = rep.Status
	if lost := lostFrames(run); lost != "" && !pipeline.IsFailure(err) {
		// The videos are whole, but frames the controller sent are not in them.
		run.Status, run.Error = report.Degraded, lost
		if err == nil {
			err = fmt.Errorf("%w: %s", pipeline.ErrDegraded, lost)
		}
	}
	if pipeline.IsFailure(err) {
		run.Status, run.Error = report.Failed, err.Error()
	}
	if !run.EndedAt.IsZero() && !pipeline.IsFailure(err) {
		// Only videos that are final have a finish (a run cut by a signal,
		// or failed, stays spooled).
		run.FinishSeconds = time.Since(run.EndedAt).Seconds()
	}
	// The report first: the spool goes only once the record of the run is
	// on disk (a full disk keeps both, for a retry that says what happened).
	if werr := saveServeReport(runOut, run, opts); werr != nil {
		run.Status, err = report.Failed, errors.Join(err, werr)
	} else if !pipeline.IsFailure(err) {
		os.RemoveAll(filepath.Join(runOut, SpoolDir))
		os.RemoveAll(filepath.Join(runOut, ChunksDir))
		os.Remove(filepath.Join(runOut, liveManifestName))
	}
	opts.OnEvent(event.Event{Kind: event.RunDone, Run: run.Run, Status: run.Status, Err: err})
	return run.Status
}

// saveServeReport writes a run's ingest report; a failure is said (a full
// disk named as such), never passed over.
func saveServeReport(runOut string, run *report.Serve, opts pipeline.Options) error {
	err := report.Write(filepath.Join(runOut, report.ServeFile), run)
	if err != nil {
		err = opts.Space.WhenFull(runOut, fmt.Errorf("cannot write the run's %s: %w (its frames stay spooled: the next serve start encodes them)", report.ServeFile, err))
		opts.OnEvent(event.Event{Kind: event.Rejected, Run: run.Run, Err: err})
	}
	return err
}

// lostFrames says which frames the controller sent are not in the run's
// videos, or "" when none was lost.
func lostFrames(run *report.Serve) string {
	var lost []string
	for _, reason := range lostReasons {
		n := run.Rejected[reason]
		if n == 0 {
			continue
		}
		msg := fmt.Sprintf("%d frames rejected (%s)", n, reason)
		if ex := run.Examples[reason]; ex != "" {
			msg += ", e.g. " + ex
		}
		lost = append(lost, msg)
	}
	if len(lost) == 0 {
		return ""
	}
	return "frames the controller sent are not in the videos: " + strings.Join(lost, "; ")
}

// runSlot waits for one of the --jobs run slots and returns its release:
// a run's whole encode or join reads and checks frames and probes its audio
// before (and besides) its encoders, and a burst of short runs must not do
// all of that at once. A cancelled ctx returns at once; the encode then
// finds ctx done and leaves the run spooled.
func (l *live) runSlot(ctx context.Context) (release func()) {
	if l.runs.Acquire(ctx, 1) != nil {
		return func() {}
	}
	return func() { l.runs.Release(1) }
}
