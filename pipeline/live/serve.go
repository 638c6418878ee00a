package live

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline"

	"github.com/tdwstitch/tdwstitch/pipeline/report"

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/gallery"
	"github.com/tdwstitch/tdwstitch/stages/source"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/timing"
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

// rejectedJump is the serve report's reason for frames rejected because
// their number jumped past the stream's; such frames are lost, so the run
// is degraded.
const rejectedJump = "frame number jump (more than --max-gap past the highest so far)"

// rejectedLate counts frames that arrived after the part of the run their
// number belongs to was sealed for encoding: they are lost (degraded).
const rejectedLate = "late frame (its part of the run was already being encoded)"

// rejectedSpool counts frames the spool could not hold (a full disk): they
// are lost (degraded), and the spool's sidecar keeps a "lost" row for each
// so that a recovered run says so too.
const rejectedSpool = "cannot spool frame"

// lostReasons are the rejections that lose a TDW frame the controller
// rendered: a run with any is degraded, never clean.
var lostReasons = []string{rejectedJump, rejectedLate, rejectedSpool}

// rejectedDuplicate counts messages of a frame already received (the first
// copy is kept): nothing is lost.
const rejectedDuplicate = "duplicate frame message (the first copy is kept)"

// rejectedUnknownPass counts passes set aside because their mask is not
// one of TDW's this build knows (a newer TDW's).
const rejectedUnknownPass = "unknown pass mask"

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
}

// ApplyDefaults fills the zero fields with their documented defaults.
func (so *Options) ApplyDefaults() {
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
	unlock, err := pipeline.LockOutput(outDir)
	if err != nil {
		return err
	}
	defer unlock()
	sock, err := source.Open(so.Source)
	if err != nil {
		return err
	}
	encoders := pool.New().WithMaxGoroutines(so.Jobs)
	failed, degraded, err := recoverRuns(ctx, outDir, so.Options)
	if err != nil {
		sock.Close()
		return err
	}
	q := newQueue(so.QueueBytes)
	var wg sync.WaitGroup
	l := &live{out: outDir, so: so, encoders: encoders, start: time.Now(), freed: make(chan struct{}, 1), q: q,
		ended: map[string]ackAnswer{}, waiting: map[string][]ackReq{}, said: map[string]bool{}}
	l.failed.Store(failed)
	l.degraded.Store(degraded)
	if so.Ack != "" {
		acks, err := source.OpenAcks(so.Ack)
		if err != nil {
			sock.Close()
			return err
		}
		reqs := make(chan ackReq)
		l.acks = reqs
		wg.Go(func() { answerAcks(ctx, acks, reqs) })
	}
	wg.Go(func() { receive(ctx, sock, q) })
	ready := pipeline.Event{Kind: pipeline.Listening, Path: so.Source.Listen}
	if so.Source.Connect != "" {
		ready.Path, ready.Output = so.Source.Connect, "connect"
	}
	so.OnEvent(ready)
	l.consume(ctx)
	wg.Wait()
	encoders.Wait()
	return outcome(l.failed.Load(), l.degraded.Load())
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
	out      string
	so       Options
	encoders *pool.Pool
	start    time.Time
	q        *queue

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

// liveRun is the run being received.
type liveRun struct {
	rep      *report.Serve
	opts     pipeline.Options // this run's encode options
	dir      string           // OUT/<run>
	writer   *spool.Writer
	first    float64       // receive time of the run's first frame
	clock    *timing.Clock // receive times, the same as the spool's sidecar
	manifest *liveManifest
	last     int64 // highest frame number spooled
	// prev and prev2 are the last two frame numbers spooled (a number
	// repeated by another avatar's message counts once): a chunk ends only
	// at a frame that keeps their step (see sealsAt).
	prev, prev2 int64
	highest     map[string]int64   // each stream's ("avatar/pass") highest frame number
	sums        map[int64][]uint64 // each frame number's messages' fingerprints (one per avatar's message)
	chunk       openChunk
	waits0      int64 // the queue's wait count when the run began
	// jobs feeds the run's chunk encoder, started with the first chunk;
	// done is closed when it has encoded the last one.
	jobs chan chunkJob
	done chan struct{}
}

// openChunk is the part of the spool not yet handed to the chunk encoder.
type openChunk struct {
	// from is the chunk's lowest frame number: the previous chunk's end,
	// below which later frames are late; in the first chunk, its lowest
	// frame so far.
	from int64
	// numbers counts the frame numbers the chunk holds (each once).
	numbers int
	start   float64
	bytes   int64
	frames  int
}

type chunkJob struct {
	r     chunkRange
	files []string
	bytes int64
	first map[string]int64
	clock *timing.Clock
}

func (l *live) consume(ctx context.Context) {
	idle := time.NewTimer(l.so.Idle)
	defer idle.Stop()
	for {
		select {
		case in, ok := <-l.q.ch:
			if !ok {
				l.finish(ctx, "shutdown")
				return
			}
			if in.dropped != nil {
				l.reject("message over the caps (--max-message-mb, --max-parts)", in.dropped.Error())
			} else {
				l.handle(ctx, in.parts)
			}
			l.q.done(in)
			idle.Reset(l.so.Idle)
		case req := <-l.acks:
			if a, ok := l.ended[req.run]; ok {
				req.reply <- a
			} else {
				l.waiting[req.run] = append(l.waiting[req.run], req)
			}
		case <-idle.C:
			l.finish(ctx, "idle")
			l.refused = false // its controller is gone too
			idle.Reset(l.so.Idle)
		}
	}
}

func (l *live) handle(ctx context.Context, parts [][]byte) {
	now := time.Since(l.start).Seconds()
	if len(parts) == 0 {
		return
	}
	switch string(parts[0]) {
	case msgBegin:
		l.finish(ctx, "next-begin") // a new run began before this one ended
		// Until it is opened, the frames that follow belong to a refused
		// run: they are rejected, not taken for an implicit live-* run.
		l.refused = true
		var b struct {
			Run   string   `json:"run"`
			FPS   *float64 `json:"fps"`
			Audio *string  `json:"audio"`
		}
		if len(parts) != 2 || json.Unmarshal(parts[1], &b) != nil {
			l.reject("bad begin message", "")
			return
		}
		if err := checkName(b.Run); err != nil {
			l.reject("bad begin message", "run name: "+err.Error())
			return
		}
		opts := l.so.Options
		if b.FPS != nil {
			if !(*b.FPS >= 1 && *b.FPS <= 1000) {
				// 0.0001 would make 10 frames a 10,000 s video: refused.
				l.reject("bad begin message", fmt.Sprintf("run %q: fps %g is not within 1 to 1000", b.Run, *b.FPS))
				return
			}
			opts.FPS = *b.FPS
		}
		audio := ""
		switch {
		case b.Audio != nil && *b.Audio == "":
			opts.Audio = "" // this run has none, whatever --audio says
		case b.Audio != nil:
			audio = *b.Audio
		}
		l.open(b.Run, opts, audio)
		l.refused = l.cur == nil
		return
	case msgEnd:
		l.finish(ctx, "end")
		l.refused = false
		return
	case msgAudioStart:
		if l.cur == nil {
			l.reject("audio_start outside a run", "")
			return
		}
		l.cur.writer.AudioStart(now)
		l.cur.clock.AudioStart, l.cur.clock.HasAudio = now, true
		return
	}
	l.frame(ctx, parts, now)
}

// frame spools a TDW response: output-data blobs, the frame number last.
func (l *live) frame(ctx context.Context, parts [][]byte, now float64) {
	if len(parts) < 2 {
		l.reject("too few parts for a TDW response", "")
		return
	}
	number, err := wire.FrameNumber(parts[len(parts)-1])
	if err != nil {
		l.reject("bad frame number", "")
		return
	}
	images, framerate, ok := l.outputData(parts[:len(parts)-1])
	if !ok || len(images) == 0 && framerate == nil {
		return
	}
	for _, im := range images {
		if ownName(im.AvatarID) {
			l.reject("unusable frame", fmt.Sprintf("avatar id %q is one of tdwstitch's own file names", im.AvatarID))
			return
		}
	}
	if l.cur == nil && l.refused {
		l.reject("frame of a refused run (its begin message was rejected)", "")
		return
	}
	if l.cur == nil {
		l.open("live-"+time.Now().UTC().Format("20060102T150405Z"), l.so.Options, "")
		if l.cur == nil {
			return
		}
	}
	r := l.cur
	r.rep.Messages++
	for _, im := range images {
		for _, m := range im.Unknown {
			// A newer TDW's pass: only that pass is set aside.
			l.reject(rejectedUnknownPass, fmt.Sprintf("pass mask %d", m))
		}
	}
	if framerate != nil {
		fr := report.Framerate(*framerate)
		r.rep.Framerate = &fr
	}
	if len(images) == 0 {
		return
	}
	files, err := r.writer.Prepare(number, images)
	if err != nil {
		l.reject("unusable frame", err.Error())
		return
	}
	if len(files) == 0 {
		return // only passes set aside: nothing of this frame to keep
	}
	if l.admit(r, number, files) {
		l.spoolFrame(ctx, r, number, now, files)
	}
}

// admit decides whether a frame is taken: not a message received before
// (dropped as a duplicate), not a jump past --max-gap, not late for a
// chunk already sealed; each rejection is counted.
func (l *live) admit(r *liveRun, number int64, files []spool.File) bool {
	_, seen := r.clock.Frames[number]
	if seen && slices.Contains(r.sums[number], fingerprint(files)) && r.reached(number, files) {
		// The same message again: its first copy is kept; nothing is lost.
		// (Another frame of that number, e.g. a stray's, is spooled: the
		// encode keeps one and lists the other.)
		l.reject(rejectedDuplicate, fmt.Sprintf("frame %d", number))
		return false
	}
	if r.jumps(number, files) {
		l.reject(rejectedJump, fmt.Sprintf("frame %d after %d", number, r.last))
		return false
	}
	if r.rep.Chunks > 0 && number < r.chunk.from {
		l.reject(rejectedLate, fmt.Sprintf("frame %d after frames from %d on were sealed", number, r.chunk.from))
		return false
	}
	return true
}

// spoolFrame writes an admitted frame to the spool, sealing the chunk so
// far first when this frame ends it, and keeps the run's accounts.
func (l *live) spoolFrame(ctx context.Context, r *liveRun, number int64, now float64, files []spool.File) {
	// The frame's time first: a chunk sealed now ends where this frame
	// starts. A number seen before (another avatar's message of the same
	// frame) keeps its first time: the sidecar holds one per number.
	_, seen := r.clock.Frames[number]
	received := now
	if seen {
		received = -1
	} else {
		r.clock.Frames[number] = now
	}
	sum := fingerprint(files)
	r.sums[number] = append(r.sums[number], sum)
	// Sealing first lets a full spool wait for that chunk's encoder.
	if next, ok := l.sealsAt(r, number, now); ok {
		l.seal(ctx, r, next)
	}
	l.waitForSpace(ctx, r)
	size, err := r.writer.Write(number, received, files)
	if err != nil {
		// The disk failed under the spool (e.g. it is full): the frame is
		// not in the spool (Write cut it back) and is lost.
		if !seen {
			delete(r.clock.Frames, number) // a resend may still bring it
		}
		r.sums[number] = slices.DeleteFunc(r.sums[number], func(s uint64) bool { return s == sum })
		l.reject(rejectedSpool, fmt.Sprintf("frame %d: %v", number, err))
		return
	}
	r.rep.SpoolPeakBytes = max(r.rep.SpoolPeakBytes, l.spooled.Add(size))
	c := &r.chunk
	if c.frames == 0 {
		c.start = now
	}
	if !seen || number < c.from {
		c.numbers++
	}
	c.from = min(c.from, number)
	c.bytes, c.frames = c.bytes+size, c.frames+1
	r.last = max(r.last, number)
	if number != r.prev { // not another avatar's message of the same frame
		r.prev2, r.prev = r.prev, number
	}
	if r.rep.Frames == 0 {
		r.first = now
	}
	r.rep.Frames++
	r.rep.ReceiveSeconds = now - r.first
	if r.rep.ReceiveSeconds > 0 {
		r.rep.IngestFPS = float64(r.rep.Frames-1) / r.rep.ReceiveSeconds
	}
}

// outputData parses a response's output-data blobs that are ours (Images,
// Framerate), rejecting malformed ones; ok is false when an Images blob is
// malformed (the whole frame is then rejected).
func (l *live) outputData(blobs [][]byte) (images []*wire.Images, framerate *wire.Framerate, ok bool) {
	for _, p := range blobs {
		id, _ := wire.TypeID(p)
		if id == wire.FramerateID {
			if fr, err := wire.ParseFramerate(p); err == nil {
				framerate = &fr
			} else {
				l.reject("malformed Framerate", "")
			}
			continue
		}
		if id != wire.ImagesID {
			continue // other output data is not ours
		}
		im, err := wire.ParseImages(p)
		if err != nil {
			l.reject("malformed Images", "")
			return nil, nil, false
		}
		images = append(images, im)
	}
	return images, framerate, true
}

// sealsAt reports whether the open chunk ends before frame number, and
// where the next chunk begins (its first frame number, below which later
// frames are late). The chunk must be full; a chunk placed by receive times
// spans two slots at least, so that it fills one, and ends at this frame
// (whose time is known). Otherwise the chunk ends just after the frames in
// step: the frame follows the two before it in order, at most twice their
// step past them (a stray's number, far ahead of real frames still to come,
// does not), and a frame skipped in between still belongs to the next
// chunk. Frames out of order never keep a step: once the chunk is four
// times full and holds every number up to its highest, it ends there.
func (l *live) sealsAt(r *liveRun, number int64, now float64) (next int64, ok bool) {
	c := &r.chunk
	if c.frames == 0 || c.bytes < l.so.ChunkBytes || r.opts.VFR {
		return 0, false
	}
	timed := r.opts.Audio != "" || (r.opts.Timing != pipeline.TimingAuto && r.opts.Timing != pipeline.TimingNone)
	if timed && now-c.start < 2/r.opts.FPS {
		return 0, false
	}
	step := r.prev - r.prev2
	inStep := r.prev2 >= 0 && step > 0 && number > r.prev && number-r.prev <= 2*step
	contiguous := r.last-c.from+1 == int64(c.numbers)
	switch {
	case timed && (inStep || c.bytes >= 4*l.so.ChunkBytes && contiguous && number == r.last+1):
		return number, true
	case timed:
		return 0, false
	case inStep:
		return r.prev + 1, true
	case c.bytes >= 4*l.so.ChunkBytes && contiguous && number > r.last:
		return r.last + 1, true
	}
	return 0, false
}

// fingerprint tells a resent message from another frame of the same
// number: its passes, sizes and the ends of their bytes (hashing every byte
// of every frame would cost a core at 1080p).
func fingerprint(files []spool.File) uint64 {
	var h maphash.Hash
	h.SetSeed(fingerprintSeed)
	for _, f := range files {
		h.WriteString(f.Avatar + "/" + string(f.Pass))
		binary.Write(&h, binary.LittleEndian, int64(len(f.Data)))
		h.Write(f.Data[:min(256, len(f.Data))])
		h.Write(f.Data[max(0, len(f.Data)-256):])
	}
	return h.Sum64()
}

var fingerprintSeed = maphash.MakeSeed()

// reached reports whether every stream of files has had frame number, or a
// later one, spooled already.
func (r *liveRun) reached(number int64, files []spool.File) bool {
	for _, f := range files {
		if top, ok := r.highest[f.Avatar+"/"+string(f.Pass)]; !ok || top < number {
			return false
		}
	}
	return true
}

// jumps reports whether frame number is more than --max-gap past the run's
// or one of its streams' highest so far (one message must not stretch them:
// its number is no evidence of the frames between), and otherwise records it.
func (r *liveRun) jumps(number int64, files []spool.File) bool {
	jump := r.last >= 0 && tooFar(r.last, number, r.opts.MaxGap)
	for _, f := range files {
		if top, ok := r.highest[f.Avatar+"/"+string(f.Pass)]; ok && tooFar(top, number, r.opts.MaxGap) {
			jump = true
		}
	}
	if jump {
		return true
	}
	for _, f := range files {
		key := f.Avatar + "/" + string(f.Pass)
		if top, ok := r.highest[key]; !ok || number > top {
			r.highest[key] = number
		}
	}
	return false
}

// waitForSpace blocks while the spool is at its cap and an encoder is at
// work that will free some: the sender then blocks too. That is the only
// backpressure, and the report counts it.
func (l *live) waitForSpace(ctx context.Context, r *liveRun) {
	if l.so.SpoolMax <= 0 || l.spooled.Load() < l.so.SpoolMax {
		return
	}
	if l.pending.Load() > 0 {
		r.rep.Backpressure.Waits++
		start := time.Now()
	wait:
		for l.spooled.Load() >= l.so.SpoolMax && l.pending.Load() > 0 {
			select {
			case <-l.freed:
			case <-ctx.Done():
				break wait
			}
		}
		r.rep.Backpressure.Seconds += time.Since(start).Seconds()
	}
	if l.spooled.Load() >= l.so.SpoolMax {
		r.rep.Backpressure.OverCap++
	}
}

// release frees spool bytes an encoder is done with.
func (l *live) release(bytes int64) {
	l.spooled.Add(-bytes)
	l.pending.Add(-bytes)
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// seal hands the open chunk, frames before next, to the run's chunk encoder.
func (l *live) seal(ctx context.Context, r *liveRun, next int64) {
	c := chunkRange{Index: r.rep.Chunks, From: r.chunk.from, To: next - 1, Next: next}
	if next < 0 {
		c.To = -1
	}
	r.rep.Chunks++
	if r.jobs == nil {
		r.jobs, r.done = make(chan chunkJob, 64), make(chan struct{})
		go l.encodeChunks(ctx, r)
	}
	l.pending.Add(r.chunk.bytes)
	to := c.To
	if to < 0 {
		to = r.last
	}
	first := r.writer.First()
	r.jobs <- chunkJob{r: c, files: r.writer.Rotate(), bytes: r.chunk.bytes, first: first, clock: r.clock.Window(c.From, to, c.Next, first)}
	r.chunk = openChunk{from: next}
}

// encodeChunks encodes a run's chunks in order as they are sealed, and
// removes their frames from the spool once the chunk's videos are written.
func (l *live) encodeChunks(ctx context.Context, r *liveRun) {
	defer close(r.done)
	for job := range r.jobs {
		r.manifest.First = job.first
		if err := encodeChunk(ctx, r.dir, job.r, r.manifest, job.clock, r.opts); err != nil {
			// Its frames stay spooled (not freed, no longer being freed).
			l.pending.Add(-job.bytes)
			if ctx.Err() == nil { // a signal's cut is not news: the run stays spooled
				l.so.OnEvent(pipeline.Event{Kind: pipeline.Rejected, Run: r.rep.Run, Err: fmt.Errorf("chunk %d: %w (its frames stay spooled: tdwstitch serve --recover)", job.r.Index, err)})
			}
			continue
		}
		for _, f := range job.files {
			os.Remove(f)
		}
		l.release(job.bytes)
		l.so.OnEvent(pipeline.Event{Kind: pipeline.ChunkDone, Run: r.rep.Run, Done: job.r.Index, Path: job.r.frames()})
	}
}

// open starts run name; audio is its begin message's audio file ("":
// none, or --audio), a relative path being in the run's own folder.
func (l *live) open(name string, opts pipeline.Options, audio string) {
	folder, err := l.claimFolder(name)
	if err != nil {
		l.reject("cannot open the run's spool", err.Error())
		return
	}
	dir := filepath.Join(l.out, folder)
	if audio != "" {
		// Relative to the run's own folder, never to serve's working
		// directory (which the controller cannot know).
		if !filepath.IsAbs(audio) {
			audio = filepath.Join(dir, audio)
		}
		if opts.Audio, err = filepath.Abs(audio); err != nil {
			l.reject("bad begin message", err.Error())
			return
		}
	}
	w, err := spool.Create(filepath.Join(dir, SpoolDir), l.so.MaxStreams)
	if err != nil {
		l.reject("cannot open the run's spool", err.Error())
		return
	}
	m := &liveManifest{FPS: opts.FPS, Audio: opts.Audio}
	if err := m.write(dir); err != nil {
		w.Close()
		l.reject("cannot open the run's spool", err.Error())
		return
	}
	delete(l.ended, name) // a run of the same name again: acks wait for this one
	l.cur = &liveRun{
		rep:  &report.Serve{Run: name, Folder: folder, Rejected: map[string]int{}, Examples: map[string]string{}, Report: filepath.Join(folder, report.RunFile)},
		opts: opts, dir: dir, writer: w, manifest: m, last: -1, prev: -1, prev2: -1, chunk: openChunk{from: math.MaxInt64}, highest: map[string]int64{}, sums: map[int64][]uint64{}, waits0: l.q.waits.Load(),
		clock: &timing.Clock{Source: timing.Sidecar, Frames: map[int64]float64{}},
	}
}

// claimFolder makes the folder a new run named name gets under OUT: name
// itself, or, when that is taken (the same name again, an earlier day's
// run, two implicit runs within one second, anything else of that name,
// a link included), name-2, name-3, ...: a run never reuses another's
// folder, whose spool or videos it would destroy, and never writes through
// a name it did not create (Mkdir claims the name atomically).
func (l *live) claimFolder(name string) (string, error) {
	folder := name
	for i := 2; ; i++ {
		err := os.Mkdir(filepath.Join(l.out, folder), 0o755)
		if err == nil {
			return folder, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > 10000 {
			return "", err
		}
		folder = fmt.Sprintf("%s-%d", name, i)
	}
}

// ownName reports whether name (a run or avatar from the wire) is one of
// the files tdwstitch itself writes in an output, run or spool folder: a
// run or avatar of that name would take its place.
func ownName(name string) bool {
	switch name {
	case report.RunFile, report.ServeFile, report.BatchFile, gallery.FileName, spool.IndexName, timing.SidecarName:
		return true
	}
	return false
}

// checkName is wire.SafeName plus ownName.
func checkName(name string) error {
	if err := wire.SafeName(name); err != nil {
		return err
	}
	if ownName(name) {
		return fmt.Errorf("name %q is one of tdwstitch's own file names", name)
	}
	return nil
}

// reject counts a rejected message or part in the current run's report
// under a reason from a fixed set (detail, a first example, is kept apart:
// a flood of different junk makes no new keys) and says so once per reason
// and run.
func (l *live) reject(reason, detail string) {
	run := ""
	if l.cur != nil {
		l.cur.rep.Rejected[reason]++
		if _, ok := l.cur.rep.Examples[reason]; !ok && detail != "" {
			l.cur.rep.Examples[reason] = detail
		}
		run = l.cur.rep.Run
	}
	if l.said[run+"\x00"+reason] {
		return
	}
	if len(l.said) > 1000 {
		clear(l.said)
	}
	l.said[run+"\x00"+reason] = true
	if detail != "" {
		detail = ": " + detail
	}
	more := fmt.Sprintf("more of this kind are counted in %s, not shown", report.ServeFile)
	if run == "" {
		more = "more of this kind outside a run are not shown"
	}
	l.so.OnEvent(pipeline.Event{Kind: pipeline.Rejected, Run: run, Err: fmt.Errorf("%s%s (%s)", reason, detail, more)})
}

// finish closes the current run's spool and hands the rest to an encoder:
// the whole run, or its last chunk and then the join.
func (l *live) finish(ctx context.Context, how report.EndReason) {
	r := l.cur
	if r == nil {
		return
	}
	l.cur = nil
	r.rep.Ended, r.rep.Interrupted = how, how != "end"
	r.rep.Backpressure.QueueWaits = l.q.waits.Load() - r.waits0
	a := ackAnswer{Run: r.rep.Run, Folder: r.rep.Folder, Frames: r.rep.Frames, Ended: string(how)}
	l.ended[a.Run] = a
	for _, req := range l.waiting[a.Run] {
		req.reply <- a
	}
	delete(l.waiting, a.Run)
	r.writer.Close()
	if r.rep.Frames == 0 {
		// Nothing accepted (junk, or a begin and an end only): nothing is
		// left behind, not even an empty failed run. The folder goes only
		// if empty (a reused name's earlier videos stay).
		os.RemoveAll(filepath.Join(r.dir, SpoolDir))
		os.Remove(filepath.Join(r.dir, liveManifestName))
		os.Remove(r.dir)
		l.so.OnEvent(pipeline.Event{Kind: pipeline.Rejected, Run: r.rep.Run, Err: fmt.Errorf("no frame accepted (%d messages rejected): nothing written", r.rep.RejectedTotal())})
		return
	}
	if ctx.Err() != nil {
		// Stopped by a signal: no new work. The frames stay spooled for
		// the next start or --recover; the run counts as neither outcome.
		if r.jobs != nil {
			close(r.jobs) // the chunk encoder stops at its cancelled job
		}
		r.rep.Status = report.Running
		r.rep.Error = "serve stopped before encoding this run: its frames are spooled; the next serve start, or serve --recover, encodes them"
		saveServeReport(r.dir, r.rep, l.so.OnEvent)
		return
	}
	if r.jobs == nil {
		size := r.chunk.bytes
		l.pending.Add(size)
		l.encoders.Go(func() {
			l.count(ctx, encodeSpool(ctx, r.dir, r.rep, r.opts))
			l.release(size)
		})
		return
	}
	if r.chunk.frames > 0 {
		l.seal(ctx, r, -1)
	}
	close(r.jobs)
	l.encoders.Go(func() {
		<-r.done
		l.count(ctx, finishChunked(ctx, r.dir, r.rep, r.manifest, r.clock, r.opts))
	})
}

// encodeSpool encodes a spooled run, records the ingest report and removes
// the spool once the videos are in place.
func encodeSpool(ctx context.Context, runOut string, run *report.Serve, opts pipeline.Options) report.Status {
	spoolDir := filepath.Join(runOut, SpoolDir)
	opts.OnEvent = runEvents(run.Run, opts.OnEvent)
	opts.OnEvent(pipeline.Event{Kind: pipeline.RunStarted, Run: run.Run})
	rep, _, err := pipeline.EncodeSpool(ctx, spoolDir, runOut, opts)
	return endLive(runOut, run, rep, err, opts)
}

// finishChunked joins a chunked run's videos and records its reports.
func finishChunked(ctx context.Context, runOut string, run *report.Serve, m *liveManifest, clock *timing.Clock, opts pipeline.Options) report.Status {
	opts.OnEvent = runEvents(run.Run, opts.OnEvent)
	opts.OnEvent(pipeline.Event{Kind: pipeline.RunStarted, Run: run.Run})
	chunks := make([]pipeline.Chunk, len(m.Chunks))
	for i, c := range m.Chunks {
		chunks[i] = pipeline.Chunk{Dir: chunkDir(runOut, c.Index), From: c.From, To: c.To}
	}
	rep, err := pipeline.JoinChunks(ctx, runOut, filepath.Join(runOut, SpoolDir), chunks, clock, opts)
	return endLive(runOut, run, rep, err, opts)
}

// runEvents names the run in each of its streams' events.
func runEvents(run string, onEvent func(pipeline.Event)) func(pipeline.Event) {
	return func(e pipeline.Event) {
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
	// The report first: the spool goes only once the record of the run is
	// on disk (a full disk keeps both, for a retry that says what happened).
	if werr := saveServeReport(runOut, run, opts.OnEvent); werr != nil {
		run.Status, err = report.Failed, errors.Join(err, werr)
	} else if !pipeline.IsFailure(err) {
		os.RemoveAll(filepath.Join(runOut, SpoolDir))
		os.RemoveAll(filepath.Join(runOut, ChunksDir))
		os.Remove(filepath.Join(runOut, liveManifestName))
	}
	opts.OnEvent(pipeline.Event{Kind: pipeline.RunDone, Run: run.Run, Status: run.Status, Err: err})
	return run.Status
}

// saveServeReport writes a run's ingest report; a failure is said (a full
// disk named as such), never passed over.
func saveServeReport(runOut string, run *report.Serve, onEvent func(pipeline.Event)) error {
	err := report.Write(filepath.Join(runOut, report.ServeFile), run)
	if err != nil {
		err = pipeline.WhenFull(runOut, fmt.Errorf("cannot write the run's %s: %w (its frames stay spooled: tdwstitch serve --recover)", report.ServeFile, err))
		onEvent(pipeline.Event{Kind: pipeline.Rejected, Run: run.Run, Err: err})
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

// Recover finishes the runs a killed serve left under outDir: every
// OUT/<run>/.spool whose run has no finished report, with the frame rate and
// audio its begin message gave, keeping the chunks already encoded. The
// error wraps ErrFailed when a run failed, ErrDegraded when one is degraded.
func Recover(ctx context.Context, outDir string, opts pipeline.Options) error {
	unlock, err := pipeline.LockOutput(outDir)
	if err != nil {
		return err
	}
	defer unlock()
	failed, degraded, err := recoverRuns(ctx, outDir, opts)
	if err != nil {
		return err
	}
	return outcome(failed, degraded)
}

// recoverRuns is Recover, counting the runs that failed or are degraded.
func recoverRuns(ctx context.Context, outDir string, opts pipeline.Options) (failed, degraded int64, err error) {
	opts.ApplyDefaults()
	spools, err := filepath.Glob(filepath.Join(globEscape(outDir), "*", SpoolDir))
	if err != nil {
		return 0, 0, err
	}
	count := func(s report.Status) {
		if s == report.Failed && ctx.Err() != nil {
			return // cut short by a signal: still spooled, no outcome
		}
		switch s {
		case report.Failed:
			failed++
		case report.Degraded:
			degraded++
		}
	}
	for _, sp := range spools {
		if ctx.Err() != nil {
			break // no new work after a signal: the rest waits for the next start
		}
		runOut := filepath.Dir(sp)
		run := recoveredReport(runOut)
		o := opts
		m, err := readManifest(runOut)
		if err == nil {
			if m.FPS > 0 {
				o.FPS = m.FPS
			}
			if m.Audio != "" {
				o.Audio = m.Audio
			}
		}
		if m == nil || len(m.Chunks) == 0 {
			os.RemoveAll(filepath.Join(runOut, ChunksDir))
			count(encodeSpool(ctx, runOut, run, o))
			continue
		}
		clock, err := timing.ReadSidecar(filepath.Join(sp, timing.SidecarName))
		if err != nil {
			clock = nil
		}
		if last := m.Chunks[len(m.Chunks)-1]; last.Next >= 0 {
			c := chunkRange{Index: last.Index + 1, From: last.Next, To: -1, Next: -1}
			if err := encodeChunk(ctx, runOut, c, m, clock, o); err != nil {
				run.Status, run.Error = report.Failed, err.Error()
				saveServeReport(runOut, run, opts.OnEvent)
				count(report.Failed)
				continue
			}
		}
		run.Chunks = len(m.Chunks)
		count(finishChunked(ctx, runOut, run, m, clock, o))
	}
	return failed, degraded, nil
}

// recoveredReport is the ingest report of a run recovered from its spool:
// what the serve that received it recorded (a report a signal left), and
// the frames its spool lost, which a full disk may have kept it from
// recording anywhere else.
func recoveredReport(runOut string) *report.Serve {
	run := &report.Serve{}
	if b, err := os.ReadFile(filepath.Join(runOut, report.ServeFile)); err != nil || json.Unmarshal(b, run) != nil {
		run = &report.Serve{Run: filepath.Base(runOut)}
	}
	run.Folder, run.Ended, run.Interrupted = filepath.Base(runOut), "recovered", true
	run.Report, run.Status, run.Error = filepath.Join(filepath.Base(runOut), report.RunFile), "", ""
	if run.Rejected == nil {
		run.Rejected = map[string]int{}
	}
	if run.Examples == nil {
		run.Examples = map[string]string{}
	}
	if n := spool.LostFrames(filepath.Join(runOut, SpoolDir)); n > run.Rejected[rejectedSpool] {
		run.Rejected[rejectedSpool] = n
		if run.Examples[rejectedSpool] == "" {
			run.Examples[rejectedSpool] = fmt.Sprintf("%d frames are recorded as lost in the spool's %s", n, timing.SidecarName)
		}
	}
	return run
}

// ackReq is a controller's question, and where its answer goes.
type ackReq struct {
	run   string
	reply chan ackAnswer
}

// ackAnswer tells a controller what serve received of its run.
type ackAnswer struct {
	Run    string `json:"run"`
	Folder string `json:"folder,omitempty"` // under OUT: the run's name, or name-2... when taken
	Frames int    `json:"frames"`
	Ended  string `json:"ended"`
	Error  string `json:"error,omitempty"`
}

// answerAcks owns the acknowledgement socket: each request {"run": NAME}
// is answered once the run has ended (its end message was spooled).
func answerAcks(ctx context.Context, acks *source.Acks, reqs chan<- ackReq) {
	defer acks.Close()
	type waiting struct {
		req *source.Request
		ack ackReq
	}
	var pending []waiting
	reply := func(req *source.Request, a ackAnswer) {
		b, _ := json.Marshal(a)
		acks.Reply(req, b)
	}
	for ctx.Err() == nil {
		// Answer every request whose run has ended, in any order: one for a
		// run that never comes blocks no other.
		pending = slices.DeleteFunc(pending, func(w waiting) bool {
			select {
			case a := <-w.ack.reply:
				reply(w.req, a)
				return true
			default:
				return false
			}
		})
		wait := 200 * time.Millisecond
		if len(pending) > 0 {
			wait = 20 * time.Millisecond
		}
		req, err := acks.Recv(wait)
		if err != nil || req == nil {
			continue
		}
		var q struct {
			Run string `json:"run"`
		}
		switch {
		case json.Unmarshal(req.Body, &q) != nil || wire.SafeName(q.Run) != nil:
			reply(req, ackAnswer{Error: `bad request: send {"run": NAME}`})
			continue
		case len(pending) >= maxPendingAcks:
			reply(req, ackAnswer{Run: q.Run, Error: fmt.Sprintf("%d acknowledgements are already waiting: ask again later", maxPendingAcks)})
			continue
		}
		w := waiting{req: req, ack: ackReq{run: q.Run, reply: make(chan ackAnswer, 1)}}
		select {
		case reqs <- w.ack:
			pending = append(pending, w)
		case <-ctx.Done():
			return
		}
	}
}

// maxPendingAcks bounds the acknowledgement requests waiting for their runs
// (a flood of requests for runs that never come costs no more).
const maxPendingAcks = 1024

// globEscape quotes the glob metacharacters in a literal path.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}

// tooFar reports whether frame number b is more than maxGap numbers past a
// (maxGap < 0: no limit), as pipeline bounds a stream on disk.
func tooFar(a, b, maxGap int64) bool { return maxGap >= 0 && b-a-1 > maxGap }
