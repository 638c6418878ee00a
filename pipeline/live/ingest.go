package live

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/pipeline/gallery"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/timing"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// rejectedJump is the serve report's reason for frames rejected because
// their number jumped past the stream's; such frames are lost, so the run
// is degraded. It and the other reasons are keys of the serve report's
// "rejected" map: contract, unchanged since schema 1 (so they name flags).
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
	// unencoded counts the chunks sealed and not yet encoded: while it is
	// 0 the encoder is idle, and a chunk of ChunkSeconds is worth sealing.
	unencoded atomic.Int32
}

func (l *live) consume(ctx context.Context) {
	idle := time.NewTimer(l.so.Idle)
	defer idle.Stop()
	for {
		select {
		case in, ok := <-l.q.ch:
			if !ok {
				l.finish(ctx, report.EndShutdown)
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
			l.finish(ctx, report.EndIdle)
			l.refused = false // its controller is gone too
			idle.Reset(l.so.Idle)
		}
	}
}

func (l *live) handle(ctx context.Context, parts [][]byte) {
	now := time.Since(l.start).Seconds()
	kind, b, err := wire.ParseControl(parts)
	switch kind {
	case wire.Begin:
		l.finish(ctx, report.EndNextBegin) // a new run began before this one ended
		// Until it is opened, the frames that follow belong to a refused
		// run: they are rejected, not taken for an implicit live-* run.
		l.refused = true
		if err == nil && ownName(b.Run) {
			err = &wire.BeginError{Detail: fmt.Sprintf("run name: name %q is one of tdwstitch's own file names", b.Run)}
		}
		if be := (*wire.BeginError)(nil); errors.As(err, &be) {
			l.reject(wire.ErrBadBegin.Error(), be.Detail)
			return
		}
		l.begin(b)
	case wire.End:
		l.finish(ctx, report.EndMessage)
		l.refused = false
	case wire.AudioStart:
		if l.cur == nil {
			l.reject("audio_start outside a run", "")
			return
		}
		l.cur.writer.AudioStart(now)
		l.cur.clock.AudioStart, l.cur.clock.HasAudio = now, true
	case wire.SegmentationColors:
		l.legend(parts)
	case wire.NotControl:
		if len(parts) > 0 {
			l.frame(ctx, parts, now)
		}
	}
}

// legend keeps a run's segmentation colours beside its frames, where its
// encode reads them (mosaic.LegendName); a bad one is rejected, said.
func (l *live) legend(parts [][]byte) {
	switch {
	case l.cur == nil:
		l.reject("segmentation_colors outside a run", "")
		return
	case len(parts) != 2:
		l.reject("bad segmentation_colors message", fmt.Sprintf("%d parts, want 2", len(parts)))
		return
	}
	if _, err := mosaic.ParseLegend(bytes.NewReader(parts[1])); err != nil {
		l.reject("bad segmentation_colors message", err.Error())
		return
	}
	if err := l.cur.writer.Save(mosaic.LegendName, parts[1]); err != nil {
		l.reject("segmentation_colors not saved", err.Error())
	}
}

// begin opens the run a valid begin message names, with its frame rate and
// audio instead of serve's.
func (l *live) begin(b wire.BeginMessage) {
	opts := l.so.Options
	if b.FPS != nil {
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

// jumps reports whether frame number is more than MaxGap past the run's
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
		l.so.OnEvent(event.Event{Kind: event.Backpressure, Run: r.rep.Run, Path: "spool"})
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
	case report.RunFile, report.ServeFile, report.BatchFile, gallery.FileName, gallery.FilesDir, spool.IndexName, timing.SidecarName, mosaic.LegendName, mosaic.FileName:
		return true
	}
	return false
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
	l.so.OnEvent(event.Event{Kind: event.Rejected, Run: run, Err: fmt.Errorf("%s%s (%s)", reason, detail, more)})
}

// tooFar reports whether frame number b is more than maxGap numbers past a
// (maxGap < 0: no limit), as pipeline bounds a stream on disk.
func tooFar(a, b, maxGap int64) bool { return maxGap >= 0 && b-a-1 > maxGap }
