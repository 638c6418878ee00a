package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/source"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// Control messages: the first part names them, the second is JSON.
const (
	msgBegin = "tdwstitch/begin"
	msgEnd   = "tdwstitch/end"
	// msgAudioStart marks the instant the controller started recording audio;
	// it is stamped with its receive time, the clock the frames are on.
	msgAudioStart = "tdwstitch/audio_start"
)

// SpoolDir is where a live run's frames wait, inside its output folder.
const SpoolDir = ".spool"

// ServeReportName is the live-ingest report beside a run's report.
const ServeReportName = "tdwstitch-serve.json"

// ServeOptions tune `serve`. Options apply to every run's encode.
type ServeOptions struct {
	Options
	Source source.Options
	// Idle ends a run when no message arrived for this long. Default 30 s.
	Idle time.Duration
	// MaxStreams caps the (avatar, pass) streams of one run. Default 64.
	MaxStreams int
	// Queue is how many received messages wait in memory for the spool
	// writer; the receiver blocks (and libzmq's own queue fills, then the
	// sender blocks) only when it is full. Default 256.
	Queue int
}

// ServeReport is one live run's ingest record, OUT/<run>/tdwstitch-serve.json.
type ServeReport struct {
	Run      string `json:"run"`
	Ended    string `json:"ended"` // "end", "next-begin" (a begin without an end first), "idle" (the controller vanished), "shutdown", "recovered"
	Messages int    `json:"messages"`
	Frames   int    `json:"frames"`
	// ReceiveSeconds is the time from the first frame received to the last;
	// IngestFPS is frames over it: receive + check + spool, the encoder
	// running afterwards.
	ReceiveSeconds float64 `json:"receive_seconds"`
	IngestFPS      float64 `json:"ingest_fps"`
	// Framerate is the last Framerate output data the controller sent, if any.
	Framerate *wire.Framerate `json:"framerate"`
	Rejected  map[string]int  `json:"rejected"` // reason -> count
	Report    string          `json:"report"`   // the run's encode report
	Status    Status          `json:"status"`
	Error     string          `json:"error,omitempty"`
}

// Serve receives live runs until ctx is cancelled, spools their frames and
// encodes each run when it ends. It first finishes runs a killed serve left
// in outDir (see Recover).
func Serve(ctx context.Context, outDir string, so ServeOptions) error {
	so.applyDefaults()
	if so.Idle <= 0 {
		so.Idle = 30 * time.Second
	}
	if so.MaxStreams <= 0 {
		so.MaxStreams = 64
	}
	if so.Queue <= 0 {
		so.Queue = 256
	}
	if so.Source.MaxParts <= 0 {
		so.Source.MaxParts = 256
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("cannot create the output folder %s: %w (choose a writable folder with -o)", outDir, err)
	}
	sock, err := source.Open(so.Source)
	if err != nil {
		return err
	}
	encoders := pool.New().WithMaxGoroutines(so.Jobs)
	if err := Recover(ctx, outDir, so.Options); err != nil {
		sock.Close()
		return err
	}
	msgs := make(chan inbound, so.Queue)
	var wg sync.WaitGroup
	wg.Go(func() { receive(ctx, sock, msgs) })
	l := &live{out: outDir, so: so, encoders: encoders, start: time.Now()}
	l.consume(ctx, msgs)
	wg.Wait()
	encoders.Wait()
	return nil
}

// inbound is one received message, or why one was dropped on receipt.
type inbound struct {
	parts   [][]byte
	dropped error
}

// receive owns the socket: it forwards messages until ctx ends, then closes
// the channel and the socket.
func receive(ctx context.Context, sock *source.Socket, msgs chan<- inbound) {
	defer close(msgs)
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
		select {
		case msgs <- in:
		case <-ctx.Done():
			return
		}
	}
}

// live is the spooling side: one run at a time.
type live struct {
	out      string
	so       ServeOptions
	encoders *pool.Pool
	start    time.Time

	run    *ServeReport
	opts   Options // this run's encode options
	writer *spool.Writer
	first  float64 // receive time of the run's first frame
}

func (l *live) consume(ctx context.Context, msgs <-chan inbound) {
	idle := time.NewTimer(l.so.Idle)
	defer idle.Stop()
	for {
		select {
		case in, ok := <-msgs:
			if !ok {
				l.finish("shutdown")
				return
			}
			if in.dropped != nil {
				l.reject(fmt.Sprintf("message over the caps (--max-message-mb, --max-parts): %v", in.dropped))
			} else {
				l.handle(in.parts)
			}
			idle.Reset(l.so.Idle)
		case <-idle.C:
			l.finish("idle")
			idle.Reset(l.so.Idle)
		}
	}
}

func (l *live) handle(parts [][]byte) {
	now := time.Since(l.start).Seconds()
	if len(parts) == 0 {
		return
	}
	switch string(parts[0]) {
	case msgBegin:
		l.finish("next-begin") // a new run began before this one ended
		var b struct {
			Run   string  `json:"run"`
			FPS   float64 `json:"fps"`
			Audio *string `json:"audio"`
		}
		if len(parts) != 2 || json.Unmarshal(parts[1], &b) != nil || wire.SafeName(b.Run) != nil {
			l.reject("bad begin message")
			return
		}
		opts := l.so.Options
		if b.FPS > 0 && b.FPS <= 1000 {
			opts.FPS = b.FPS
		}
		if b.Audio != nil {
			opts.Audio = *b.Audio
		}
		l.open(b.Run, opts)
		return
	case msgEnd:
		l.finish("end")
		return
	case msgAudioStart:
		if l.writer == nil {
			l.reject("audio_start outside a run")
			return
		}
		l.writer.AudioStart(now)
		return
	}
	l.frame(parts, now)
}

// frame spools a TDW response: output-data blobs, the frame number last.
func (l *live) frame(parts [][]byte, now float64) {
	if len(parts) < 2 {
		l.reject("too few parts for a TDW response")
		return
	}
	number, err := wire.FrameNumber(parts[len(parts)-1])
	if err != nil {
		l.reject("bad frame number")
		return
	}
	var images []*wire.Images
	var framerate *wire.Framerate
	for _, p := range parts[:len(parts)-1] {
		id, _ := wire.TypeID(p)
		if id == wire.FramerateID {
			if fr, err := wire.ParseFramerate(p); err == nil {
				framerate = &fr
			} else {
				l.reject("malformed Framerate")
			}
			continue
		}
		if id != wire.ImagesID {
			continue // other output data is not ours
		}
		im, err := wire.ParseImages(p)
		if err != nil {
			l.reject("malformed Images")
			return
		}
		images = append(images, im)
	}
	if len(images) == 0 && framerate == nil {
		return
	}
	if l.writer == nil {
		l.open("live-"+time.Now().UTC().Format("20060102T150405Z"), l.so.Options)
		if l.writer == nil {
			return
		}
	}
	l.run.Messages++
	if framerate != nil {
		l.run.Framerate = framerate
	}
	if len(images) == 0 {
		return
	}
	if err := l.writer.Frame(number, now, images); err != nil {
		l.reject(fmt.Sprintf("rejected frame: %v", err))
		return
	}
	if l.run.Frames == 0 {
		l.first = now
	}
	l.run.Frames++
	l.run.ReceiveSeconds = now - l.first
	if l.run.ReceiveSeconds > 0 {
		l.run.IngestFPS = float64(l.run.Frames-1) / l.run.ReceiveSeconds
	}
}

func (l *live) open(name string, opts Options) {
	w, err := spool.Create(filepath.Join(l.out, name, SpoolDir), l.so.MaxStreams)
	if err != nil {
		l.reject(err.Error())
		return
	}
	l.writer, l.opts = w, opts
	l.run = &ServeReport{Run: name, Rejected: map[string]int{}, Report: filepath.Join(name, ReportName)}
}

func (l *live) reject(reason string) {
	if l.run != nil {
		l.run.Rejected[reason]++
	}
	l.so.OnEvent(Event{Kind: Rejected, Run: runName(l.run), Err: fmt.Errorf("%s", reason)})
}

func runName(r *ServeReport) string {
	if r == nil {
		return ""
	}
	return r.Run
}

// finish closes the current run's spool and hands it to an encoder.
func (l *live) finish(how string) {
	if l.writer == nil {
		return
	}
	run, opts, w := l.run, l.opts, l.writer
	l.run, l.writer = nil, nil
	run.Ended = how
	w.Close()
	runOut := filepath.Join(l.out, run.Run)
	l.encoders.Go(func() { encodeSpool(context.Background(), runOut, run, opts) })
}

// encodeSpool encodes a spooled run, records the ingest report and removes
// the spool once the videos are in place.
func encodeSpool(ctx context.Context, runOut string, run *ServeReport, opts Options) {
	spoolDir := filepath.Join(runOut, SpoolDir)
	opts.OnEvent(Event{Kind: RunStarted, Run: run.Run})
	rep, _, err := Encode(ctx, spoolDir, runOut, opts)
	run.Status = rep.Status
	if err != nil {
		run.Status, run.Error = Failed, err.Error()
	} else {
		os.RemoveAll(spoolDir)
	}
	writeJSON(filepath.Join(runOut, ServeReportName), run)
	opts.OnEvent(Event{Kind: RunDone, Run: run.Run, Status: run.Status, Err: err})
}

// Recover encodes the spools a killed serve left under outDir: every
// OUT/<run>/.spool whose run has no finished report.
func Recover(ctx context.Context, outDir string, opts Options) error {
	opts.applyDefaults()
	spools, err := filepath.Glob(filepath.Join(outDir, "*", SpoolDir))
	if err != nil {
		return err
	}
	for _, sp := range spools {
		runOut := filepath.Dir(sp)
		run := &ServeReport{Run: filepath.Base(runOut), Ended: "recovered", Rejected: map[string]int{}, Report: filepath.Join(filepath.Base(runOut), ReportName)}
		encodeSpool(ctx, runOut, run, opts)
	}
	return nil
}
