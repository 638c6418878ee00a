package live

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/output"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/source"
)

// SpoolDir is where a live run's frames wait, inside its output folder.
const SpoolDir = ".spool"

// Options tune `serve`. Options apply to every run's encode.
type Options struct {
	pipeline.Options
	Source source.Options
	// Ack, when set, binds a ROUTER socket there: a controller's REQ sends
	// {"run": NAME} after its end message and waits for the answer
	// {"run", "frames", "ended"} before it exits, so that nothing it sent
	// is lost in the connection (see queue.go). Default: none.
	Ack string
	// Idle ends a run when no message arrived for this long. Default 30 s.
	Idle time.Duration
	// MaxStreams caps the (avatar, pass) streams of one run. Default 64.
	MaxStreams int
	// QueueBytes caps the received messages waiting in memory for the spool
	// writer; the receiver blocks (and libzmq's own queue fills, then the
	// sender blocks) only when it is full. Default 512 MiB.
	QueueBytes int64
	// SpoolMax caps the bytes of frames spooled and not yet encoded, over
	// all runs. At the cap the spool writer waits for the encoder to free
	// space (the queue fills, then libzmq's, then the sender blocks) and the
	// run's report counts the wait. Default 4 GiB; negative: no cap.
	SpoolMax int64
	// ChunkBytes is the spooled size at which a run's frames so far are
	// encoded while the run goes on (then removed from the spool), so the
	// spool stays bounded whatever the run's length. Default SpoolMax/8,
	// 512 MiB without a cap.
	ChunkBytes int64
	// ChunkSeconds seals a run's chunk early: once it holds this many
	// seconds of frames (at the run's fps) and the run's chunk encoder has
	// nothing left to do, so that a run is encoded while it arrives and its
	// videos are final soon after its end (the open chunk is all that is
	// left). An encoder that is behind lets the chunk grow (fewer ffmpeg
	// starts, each about 0.1 s of CPU per stream), up to ChunkBytes.
	// Default 5; negative: chunks by size only.
	ChunkSeconds float64
}

// ApplyDefaults fills the zero fields with their documented defaults.
func (so *Options) ApplyDefaults() {
	if so.Jobs <= 0 {
		// One encoder slot per CPU: a run's streams share the cores side
		// by side (pipeline's sideBySide), as encode's do.
		so.Jobs = runtime.NumCPU()
	}
	so.Options.ApplyDefaults()
	if so.Idle <= 0 {
		so.Idle = 30 * time.Second
	}
	if so.MaxStreams <= 0 {
		so.MaxStreams = 64
	}
	if so.QueueBytes <= 0 {
		so.QueueBytes = 512 << 20
	}
	if so.Source.MaxParts <= 0 {
		so.Source.MaxParts = 256
	}
	if so.Source.MaxPeers == 0 {
		so.Source.MaxPeers = 8
	}
	if so.SpoolMax == 0 {
		so.SpoolMax = 4 << 30
	}
	if so.ChunkSeconds == 0 {
		so.ChunkSeconds = 5
	}
	if so.ChunkBytes <= 0 {
		so.ChunkBytes = 512 << 20
		if so.SpoolMax > 0 {
			so.ChunkBytes = so.SpoolMax / 8
		}
	}
}

// Serve receives live runs until ctx is cancelled, spools their frames and
// encodes them in chunks as they arrive, joining each run's videos when it
// ends. It first finishes runs a killed serve left in outDir (see Recover).
func Serve(ctx context.Context, outDir string, so Options) error {
	so.ApplyDefaults()
	if so.Audio != "" {
		// --audio is the working directory's; a begin message's, its run's.
		abs, err := filepath.Abs(so.Audio)
		if err != nil {
			return err
		}
		so.Audio = abs
	}
	// One serve (or --recover) per output folder: a second one would take
	// over the first one's spools.
	unlock, err := output.Lock(outDir)
	if err != nil {
		return err
	}
	defer unlock()
	sock, err := source.Open(so.Source)
	if err != nil {
		return err
	}
	// One limit for every encode of this process: recovered runs, live
	// runs, chunks and joins (see pipeline.Options.Encoders).
	if so.Encoders == nil {
		so.Encoders = semaphore.NewWeighted(int64(so.Jobs))
	}
	failed, degraded, err := recoverRuns(ctx, outDir, so.Options)
	if err != nil {
		sock.Close()
		return err
	}
	q := newQueue(so.QueueBytes, func() { so.OnEvent(event.Event{Kind: event.Backpressure, Path: "queue"}) })
	// g owns every goroutine serve starts: the receiver, the ack answerer,
	// the consumer, each run's chunk encoder and each run's encode. Each
	// ends when ctx does (encodes are cancelled, their runs stay spooled),
	// and Serve returns only when all have.
	var g errgroup.Group
	l := &live{out: outDir, so: so, g: &g, runs: semaphore.NewWeighted(int64(so.Jobs)), start: time.Now(), freed: make(chan struct{}, 1), q: q,
		ended: map[string]ackAnswer{}, waiting: map[string][]ackReq{}, said: map[string]bool{}}
	l.failed.Store(failed)
	l.degraded.Store(degraded)
	if err := l.startAcks(ctx); err != nil {
		sock.Close()
		return err
	}
	g.Go(func() error {
		receive(ctx, sock, q)
		return nil
	})
	so.OnEvent(listening(so.Source))
	g.Go(func() error {
		l.consume(ctx) // ends when the receiver has closed the queue
		return nil
	})
	g.Wait()
	return outcome(l.failed.Load(), l.degraded.Load())
}

// startAcks binds the acknowledgement socket (Options.Ack), if any, and
// answers it on the group.
func (l *live) startAcks(ctx context.Context) error {
	if l.so.Ack == "" {
		return nil
	}
	acks, err := source.OpenAcks(l.so.Ack)
	if err != nil {
		return err
	}
	reqs := make(chan ackReq)
	l.acks = reqs
	l.g.Go(func() error {
		answerAcks(ctx, acks, reqs)
		return nil
	})
	return nil
}

// listening is the event saying where serve takes frames.
func listening(o source.Options) event.Event {
	if o.Connect != "" {
		return event.Event{Kind: event.Listening, Path: o.Connect, Output: "connect"}
	}
	return event.Event{Kind: event.Listening, Path: o.Listen}
}

// inbound is one received message, or why one was dropped on receipt.
type inbound struct {
	parts   [][]byte
	dropped error
	size    int64
}

// receive owns the socket: it forwards messages until ctx ends, then closes
// the channel and the socket.
func receive(ctx context.Context, sock *source.Socket, q *queue) {
	defer close(q.ch)
	defer sock.Close()
	for ctx.Err() == nil {
		parts, err := sock.Recv(200 * time.Millisecond)
		in := inbound{parts: parts}
		var tooBig *source.TooBigError
		switch {
		case errors.As(err, &tooBig):
			in.dropped = tooBig
		case err != nil || parts == nil:
			continue
		}
		if !q.put(ctx, in) {
			return
		}
	}
}

// live is the spooling side: one run at a time.
type live struct {
	out string
	so  Options
	// g runs the goroutines serve owns (see Serve).
	g *errgroup.Group
	// runs bounds the runs encoding or joining at once (--jobs).
	runs  *semaphore.Weighted
	start time.Time
	q     *queue

	// acks brings controllers' questions "do you have all of run NAME?";
	// they are answered when the run has ended (ended), held until then
	// (waiting).
	acks    <-chan ackReq
	ended   map[string]ackAnswer
	waiting map[string][]ackReq

	// spooled counts the bytes in every run's spool; pending, those of them
	// an encoder is working on (they will be freed). freed wakes a writer
	// waiting for space.
	spooled, pending atomic.Int64
	freed            chan struct{}

	cur *liveRun
	// refused: the last begin message was rejected, and no end came since.
	refused bool
	// said: the rejection reasons already shown, per run.
	said map[string]bool
	// failed and degraded count the runs encoded so far that were.
	failed, degraded atomic.Int64
}

// count records a finished run's status for Serve's outcome; a failure
// while a signal stops serve is taken for the encode it cut short, no
// outcome (the run stays spooled for recovery).
func (l *live) count(ctx context.Context, s report.Status) {
	if s == report.Failed && ctx.Err() != nil {
		return
	}
	switch s {
	case report.Failed:
		l.failed.Add(1)
	case report.Degraded:
		l.degraded.Add(1)
	}
}

// outcome is Serve's error from the statuses of the runs it encoded.
func outcome(failed, degraded int64) error {
	return pipeline.Outcome(failed, degraded, "", "their "+report.RunFile)
}
