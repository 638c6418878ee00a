package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
	"github.com/tdwstitch/tdwstitch/stages/validate"
)

// streamJob is one stream's encode as encodeRun planned it.
type streamJob struct {
	frames.Bounded               // the stream cut to its evidence, and its shape
	outDir         string        // the run's output folder
	audio          *report.Audio // the run's audio (visual passes carry it), or nil
	clock          *timing.Clock // capture times, or nil
	seg            *segment      // a chunk of a live run, or nil
}

// encodeStream encodes one stream to a temporary file, verifies it and renames
// it into place. The outcome is in the report; the error, when the stream
// failed, is its cause as a value (the report's message, wrapping it).
func encodeStream(ctx context.Context, job streamJob, opts Options) (*report.Stream, error) {
	b, outDir := job.Bounded, job.outDir
	s := b.Stream
	sr := newStreamReport(b, opts)
	final := filepath.Join(outDir, filepath.FromSlash(sr.Output))
	if ctx.Err() != nil {
		// Interrupted before this stream began: say so, start nothing.
		sr.Status, sr.Error = report.Failed, fmt.Sprintf("interrupted (%v) before it started: run again to encode this stream", context.Cause(ctx))
		markStale(sr, final)
		return sr, ctx.Err()
	}
	emit := func(e event.Event) { e.Stream = sr.ID; opts.OnEvent(e) }
	emit(event.Event{Kind: event.StreamStarted, Total: len(s.Frames)})
	for _, g := range sr.Gaps {
		emit(event.Event{Kind: event.MissingFrames, Path: gapNames(s, g)})
	}
	for _, bad := range sr.BadFrames {
		emit(event.Event{Kind: event.BadFrame, Path: bad.Path, Err: errors.New(bad.Reason)})
	}
	err := b.Err
	if err == nil {
		err = encodeStreamTo(ctx, job, sr, final, opts, emit)
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		sr.Status, sr.Error = report.Failed, fmt.Sprintf("interrupted (%v): no output written; run again to encode this stream", context.Cause(ctx))
	default:
		sr.Status, sr.Error = report.Failed, err.Error()
	}
	if sr.Status == report.Failed {
		// No video: nothing was written to one (the counts said what was
		// sent to ffmpeg).
		sr.FramesWritten, sr.FramesDropped, sr.Duration, sr.Bytes = 0, 0, 0, 0
		markStale(sr, final)
	}
	failure := reported(sr, err)
	emit(event.Event{Kind: event.StreamDone, Status: sr.Status, Output: final, Err: failure})
	return sr, failure
}

// markStale notes in a failed stream's report that the file at its output
// path is an earlier encode's, left in place.
func markStale(sr *report.Stream, final string) {
	if info, err := os.Stat(final); err == nil && info.Mode().IsRegular() {
		sr.StaleOutput = true
		sr.Error += fmt.Sprintf("; %s is from an earlier encode and does not match these inputs (left in place)", final)
	}
}

// gapNames names a gap's missing frames by the files they would have been.
func gapNames(s *discover.Stream, g report.Gap) string {
	if g.From == g.To {
		return s.NameOf(g.From)
	}
	return s.NameOf(g.From) + " .. " + s.NameOf(g.To)
}

var errWrite = errors.New("ffmpeg stopped reading frames")

// reported is a failed stream's error as its report says it, still
// wrapping err (its class and type, for the CLI's advice); nil unless the
// stream failed.
func reported(sr *report.Stream, err error) error {
	if sr.Status != report.Failed {
		return nil
	}
	return &reportedError{msg: sr.Error, err: err}
}

type reportedError struct {
	msg string
	err error
}

func (e *reportedError) Error() string { return e.msg }
func (e *reportedError) Unwrap() error { return e.err }

func newStreamReport(b frames.Bounded, opts Options) *report.Stream {
	s := b.Stream
	sr := &report.Stream{
		ID: s.ID(), Avatar: s.Avatar, Pass: string(s.Pass), Prefix: s.Prefix, Output: outputName(s),
		FramesFound: len(s.Frames) + len(b.Outside), FPS: opts.FPS, Gaps: gaps(s.Gaps()), BadFrames: []report.BadFrame{},
	}
	if sr.Gaps == nil {
		sr.Gaps = []report.Gap{}
	}
	if n := len(s.Frames); n > 0 {
		sr.FirstFrame, sr.LastFrame = s.Frames[0].Number, s.Frames[n-1].Number
	}
	for _, g := range sr.Gaps {
		sr.MissingFrames += g.Missing()
	}
	for _, d := range s.Duplicates {
		sr.BadFrames = append(sr.BadFrames, report.BadFrame{Path: d.Rel, Reason: fmt.Sprintf("duplicate of frame number %d: not encoded", d.Number)})
	}
	sr.BadFrames = append(sr.BadFrames, b.Outside...)
	sr.FramesSetAside = len(sr.BadFrames)
	sr.Encoder = "ffv1"
	if s.Pass.Visual() {
		sr.Encoder = fmt.Sprintf("libx264 crf=%d preset=%s", opts.CRF, opts.Preset)
	}
	return sr
}

// strictFails reports whether the stream's problems so far fail it under
// --gaps fail / --on-bad fail (--strict).
func strictFails(sr *report.Stream, opts Options) bool {
	held := len(sr.BadFrames) - sr.FramesSetAside // bad frames whose slots --gaps fills
	return opts.Gaps == FailGaps && (sr.MissingFrames > 0 || held > 0) || opts.OnBad == FailBad && len(sr.BadFrames) > 0
}

// problemsError lists a stream's missing and bad frames by file name for
// --strict: the first few in the message, all of them in the report.
func problemsError(s *discover.Stream, sr *report.Stream) error {
	var items []string
	for _, g := range sr.Gaps {
		items = append(items, "missing "+gapNames(s, g))
	}
	for _, b := range sr.BadFrames {
		items = append(items, fmt.Sprintf("bad %s (%s)", b.Path, b.Reason))
	}
	const shown = 5
	more := ""
	if len(items) > shown {
		more = fmt.Sprintf("; and %d more (see the report)", len(items)-shown)
		items = items[:shown]
	}
	return fmt.Errorf("%d frames missing and %d bad, and --strict (or --gaps fail / --on-bad fail) was given: %s%s; replace or remove those files, or drop --strict to hold over them",
		sr.MissingFrames, len(sr.BadFrames), strings.Join(items, "; "), more)
}

func encodeStreamTo(ctx context.Context, job streamJob, sr *report.Stream, final string, opts Options, emit func(event.Event)) error {
	s := job.Stream
	tmp, err := output.TempBeside(final)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed into place

	w := &slotWriter{place: place.Stream(s, sr, job.clock, job.audio, job.seg.part(s), opts.placing()), limit: -1, maxGap: opts.MaxGap}
	if job.seg != nil {
		w.next, w.limit = w.place.Bounds(job.seg.From, job.seg.Next)
	}
	failing, firstBad, failure := feedFrames(ctx, job, sr, w, tmp, opts, emit)
	if failure == nil && ctx.Err() != nil {
		failure = ctx.Err()
	}
	if failure == nil && failing {
		return problemsError(s, sr)
	}
	if failure == nil && w.pipe == nil {
		first := sr.BadFrames[0]
		failure = fmt.Errorf("no readable frame: all %d frames are bad (e.g. %s: %w); check the run's files", len(s.Frames), first.Path, firstBad)
		if firstBad == nil {
			failure = fmt.Errorf("no readable frame: all %d frames are bad (e.g. %s: %s); check the run's files", len(s.Frames), first.Path, first.Reason)
		}
	}
	if failure == nil {
		failure = w.finish()
	}
	if w.pipe != nil {
		// A failed write means ffmpeg stopped reading: its own exit says why.
		if failure != nil && !errors.Is(failure, errWrite) {
			w.pipe.Abort()
			return failure
		}
		if err := w.pipe.Close(); err != nil {
			return output.WhenFull(filepath.Dir(final), fmt.Errorf("encoding %s: %w", final, err))
		}
	}
	if failure != nil {
		return failure
	}
	sr.FramesWritten, sr.FramesDropped = w.written, w.dropped
	return publishStream(ctx, sr, tmp, final, opts)
}

// feedFrames reads the stream's frames in order and writes the good ones
// to the encoder, starting it at the first, and lists the bad ones. Under
// --strict a stream with problems is not encoded (failing), but still read
// to the end so that the error lists every problem. firstBad is the first
// bad frame's error when it is the stream's first listed problem.
func feedFrames(ctx context.Context, job streamJob, sr *report.Stream, w *slotWriter, tmp string, opts Options, emit func(event.Event)) (failing bool, firstBad, failure error) {
	s := job.Stream
	failing = strictFails(sr, opts)
	shp := job.Shape  // what most frames agree on; unset: the first good frame's
	want := job.Shape // read by the readers; shp is set by this goroutine
	done := 0
	frames.Scan(ctx, s.Frames, opts.checks(), !failing, &want, func(c frames.Checked) bool {
		done++
		defer emit(event.Event{Kind: event.FrameDone, Done: done, Total: len(s.Frames)})
		if c.Err == nil {
			c.Err = shp.Match(c)
		}
		if c.Err != nil {
			if firstBad == nil && len(sr.BadFrames) == 0 {
				firstBad = c.Err
			}
			w.bad++
			sr.BadFrames = append(sr.BadFrames, report.BadFrame{Path: c.Frame.Rel, Reason: c.Err.Error()})
			emit(event.Event{Kind: event.BadFrame, Path: c.Frame.Rel, Err: c.Err})
			if !failing && strictFails(sr, opts) {
				failing = true
				if w.pipe != nil {
					w.pipe.Abort()
					w.pipe = nil
				}
			}
			return true
		}
		sr.FramesRead++
		if failing {
			return true
		}
		if w.pipe == nil {
			if failure = w.start(ctx, sr, c.Info, tmp, opts); failure != nil {
				return false
			}
		}
		failure = w.put(c.Frame.Number, c.Data)
		return failure == nil
	})
	return failing, firstBad, failure
}

// publishStream verifies the finished video and renames it into place.
func publishStream(ctx context.Context, sr *report.Stream, tmp, final string, opts Options) error {
	if err := output.Verify(ctx, sr, tmp, final, opts.Tool); err != nil {
		return err
	}
	if sr.Audio != nil { // the audio the video carries, now that its length is known
		sr.Audio = place.StreamAudio(sr.Audio, sr.Duration, sr.Audio.Offset)
	}
	if info, err := os.Stat(tmp); err == nil {
		sr.Bytes = info.Size()
	}
	if err := output.Publish(tmp, final); err != nil {
		return err
	}
	sr.Status = writtenStatus(sr)
	return nil
}

// writtenStatus is a written stream's status: degraded when frames were
// missing or bad (held, dropped or left out), else ok.
func writtenStatus(sr *report.Stream) report.Status {
	if sr.MissingFrames > 0 || len(sr.BadFrames) > 0 {
		return report.Degraded
	}
	return report.OK
}

// slotWriter writes frames to the encoder, one write per output slot. It
// runs one frame behind: a frame's number of slots is known only when the
// next good frame says where it starts, and until then it holds (missing and
// bad frames show the previous good one; the first good frame also covers
// any bad frames before it).
type slotWriter struct {
	pipe    *ffmpeg.Pipeline
	place   place.Placement
	prev    []byte // the last good frame, not yet written
	next    int64  // the next slot to write
	limit   int64  // the last slot of a live run's chunk; -1: the stream's own end
	good    int    // good frames seen
	written int
	dropped int // good frames never shown: a later one started in the same slot
	// maxGap bounds the slots one frame file may fill when capture times
	// place frames (numbers are bounded before encoding); bad counts the bad
	// files since the last good frame, each of which may fill as many.
	maxGap int64
	bad    int64
}

func (w *slotWriter) start(ctx context.Context, sr *report.Stream, info validate.Info, out string, opts Options) error {
	visual := sr.Visual()
	dec := ffmpeg.Decode{Codec: "png", PixFmt: info.PixFmt, PadEven: visual && (info.Width%2 == 1 || info.Height%2 == 1)}
	if info.Format == tdw.JPEG {
		dec.Codec = "mjpeg"
	}
	enc := ffmpeg.Encode{Width: info.Width, Height: info.Height, PixFmt: info.PixFmt, FPS: opts.FPS,
		Visual: visual, CRF: opts.CRF, Preset: opts.Preset, Output: out}
	if visual {
		dec.PixFmt, enc.PixFmt = "yuv420p", "yuv420p"
		enc.Width, enc.Height = info.Width+info.Width%2, info.Height+info.Height%2
	}
	enc.Threads, enc.StallTimeout = opts.EncoderThreads, opts.StallTimeout
	sr.PixFmt = ffmpeg.StoredPixFmt(enc)
	if opts.OneProcess {
		enc.Images, enc.PixFmt = &dec, info.PixFmt
	}
	sr.Width, sr.Height, sr.SourceFormat = enc.Width, enc.Height, string(info.Format)
	if sr.Audio != nil {
		enc.Audio, enc.AudioRate, enc.AudioOffset = sr.Audio.Path, sr.Audio.SampleRate, sr.Audio.Offset
		enc.Duration = w.place.Duration(sr.FramesFound)
		if w.place.Compact() {
			enc.Duration = 0 // --gaps drop: as long as the good frames, known at the end
		}
	}
	enc.Timestamps = w.place.Timestamps()
	p, err := opts.Tool.Start(ctx, dec, enc)
	if err != nil {
		return err
	}
	w.pipe = p
	return nil
}

// put hands over good frame n: the previous good frame fills the slots up to
// where n starts.
func (w *slotWriter) put(n int64, data []byte) error {
	slot := w.place.Slot(n, w.good)
	if w.prev != nil && w.place.ByTime() && w.maxGap >= 0 && slot-w.next > (w.maxGap+1)*(1+w.bad) {
		return &frames.GapError{Timed: true, Need: slot - w.next, Msg: fmt.Sprintf("frame %d is captured %.2f s after the previous good frame: holding that for %d slots is more than the widest gap allowed (%d; a pause in capture?)",
			n, float64(slot-w.next)/w.place.FPS(), slot-w.next, w.maxGap)}
	}
	w.good++
	w.bad = 0
	if w.prev != nil && w.next >= slot {
		w.dropped++
	}
	if w.prev != nil {
		for ; w.next < slot; w.next++ {
			if err := w.write(w.prev); err != nil {
				return err
			}
		}
	}
	w.prev = data
	return nil
}

// finish writes the last good frame up to the last slot (at least once,
// except in a chunk, whose end is where the next chunk starts).
func (w *slotWriter) finish() error {
	if w.limit >= 0 {
		for ; w.next <= w.limit; w.next++ {
			if err := w.write(w.prev); err != nil {
				return err
			}
		}
		return nil
	}
	last := w.place.LastSlot(w.good)
	for {
		if err := w.write(w.prev); err != nil {
			return err
		}
		if w.next++; w.next > last {
			return nil
		}
	}
}

func (w *slotWriter) write(b []byte) error {
	if _, err := w.pipe.Write(b); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	w.written++
	return nil
}
