package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tdwstitch/tdwstitch/stages/container"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
	"github.com/tdwstitch/tdwstitch/stages/validate"
)

// encodeStream encodes one stream to a temporary file, verifies it and renames
// it into place. It never returns an error: the outcome is in the report.
func encodeStream(ctx context.Context, s *discover.Stream, outDir string, audio *AudioReport, clock *timing.Clock, opts Options) *StreamReport {
	sr := newStreamReport(s, opts)
	final := filepath.Join(outDir, filepath.FromSlash(sr.Output))
	emit := func(e Event) { e.Stream = sr.ID; opts.OnEvent(e) }
	emit(Event{Kind: StreamStarted, Total: len(s.Frames)})
	err := encodeStreamTo(ctx, s, sr, final, audio, clock, opts, emit)
	switch {
	case err == nil:
	case errors.Is(err, errSkipped):
		sr.Status, sr.Error = Skipped, fmt.Sprintf("%s exists; pass --force to replace it", final)
	case ctx.Err() != nil:
		sr.Status, sr.Error = Failed, fmt.Sprintf("interrupted (%v): no output written; run again to encode this stream", context.Cause(ctx))
	default:
		sr.Status, sr.Error = Failed, err.Error()
	}
	emit(Event{Kind: StreamDone, Status: sr.Status, Output: final, Err: errorOrNil(sr)})
	return sr
}

var (
	errSkipped = errors.New("output exists")
	errWrite   = errors.New("ffmpeg stopped reading frames")
)

func errorOrNil(sr *StreamReport) error {
	if sr.Status == Failed {
		return errors.New(sr.Error)
	}
	return nil
}

func newStreamReport(s *discover.Stream, opts Options) *StreamReport {
	sr := &StreamReport{
		ID: s.ID(), Avatar: s.Avatar, Pass: string(s.Pass), Prefix: s.Prefix, Output: outputName(s),
		FramesFound: len(s.Frames), FPS: opts.FPS, Gaps: s.Gaps(), BadFrames: []BadFrameInfo{},
	}
	if sr.Gaps == nil {
		sr.Gaps = []discover.Gap{}
	}
	if n := len(s.Frames); n > 0 {
		sr.FirstFrame, sr.LastFrame = s.Frames[0].Number, s.Frames[n-1].Number
	}
	for _, g := range sr.Gaps {
		sr.MissingFrames += g.Missing()
	}
	for _, d := range s.Duplicates {
		sr.BadFrames = append(sr.BadFrames, BadFrameInfo{Path: d.Rel, Reason: fmt.Sprintf("duplicate of frame number %d: not encoded", d.Number)})
	}
	return sr
}

func encodeStreamTo(ctx context.Context, s *discover.Stream, sr *StreamReport, final string, audio *AudioReport, clock *timing.Clock, opts Options, emit func(Event)) error {
	if _, err := os.Lstat(final); err == nil && !opts.Force {
		return errSkipped
	}
	if opts.Gaps == FailGaps && len(sr.Gaps) > 0 {
		g := sr.Gaps[0]
		return fmt.Errorf("%d frame numbers are missing (first: %d to %d) and --gaps fail (or --strict) was given; use --gaps hold to repeat the previous frame", sr.MissingFrames, g.From, g.To)
	}
	if opts.OnBad == FailBad && len(s.Duplicates) > 0 {
		return fmt.Errorf("%s duplicates frame number %d and --on-bad fail (or --strict) was given; remove one of the two files", s.Duplicates[0].Rel, s.Duplicates[0].Number)
	}
	tmp, err := tempBeside(final)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed into place

	w := &slotWriter{place: planStream(s, sr, clock, audio, opts), limit: -1}
	if opts.seg != nil {
		w.next, w.limit = opts.seg.bounds(w.place)
	}
	var shp shape
	var failure error
	done := 0
	scan(ctx, s.Frames, opts.Readers, opts.Deep, true, func(c checked) bool {
		done++
		defer emit(Event{Kind: FrameDone, Done: done, Total: len(s.Frames)})
		if c.err == nil {
			c.err = shp.match(c)
		}
		if c.err != nil {
			sr.BadFrames = append(sr.BadFrames, BadFrameInfo{Path: c.frame.Rel, Reason: c.err.Error()})
			emit(Event{Kind: BadFrame, Path: c.frame.Path, Err: c.err})
			if opts.OnBad == FailBad {
				failure = fmt.Errorf("bad frame %s: %v (--on-bad fail or --strict was given; replace or remove the file)", c.frame.Path, c.err)
				return false
			}
			return true
		}
		sr.FramesRead++
		if w.pipe == nil {
			if failure = w.start(ctx, sr, c.info, tmp, opts); failure != nil {
				return false
			}
		}
		if failure = w.put(c.frame.Number, c.data); failure != nil {
			return false
		}
		return true
	})
	if failure == nil && ctx.Err() != nil {
		failure = ctx.Err()
	}
	if failure == nil && w.pipe == nil {
		first := sr.BadFrames[0]
		failure = fmt.Errorf("no readable frame: all %d frames are bad (e.g. %s: %s); check the run's files", len(s.Frames), first.Path, first.Reason)
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
			return fmt.Errorf("encoding %s: %w", final, err)
		}
	}
	if failure != nil {
		return failure
	}
	sr.FramesWritten, sr.FramesDropped = w.written, w.dropped
	if err := verifyOutput(ctx, sr, tmp, final, opts.Tool); err != nil {
		return err
	}
	if err := publish(tmp, final, opts.Force); err != nil {
		return err
	}
	sr.Status = OK
	return nil
}

// slotWriter writes frames to the encoder, one write per output slot. It
// runs one frame behind: a frame's number of slots is known only when the
// next good frame says where it starts, and until then it holds (missing and
// bad frames show the previous good one; the first good frame also covers
// any bad frames before it).
type slotWriter struct {
	pipe    *ffmpeg.Pipeline
	place   placement
	prev    []byte // the last good frame, not yet written
	next    int64  // the next slot to write
	limit   int64  // the last slot of a live run's chunk; -1: the stream's own end
	good    int    // good frames seen
	written int
	dropped int // good frames never shown: a later one started in the same slot
}

func (w *slotWriter) start(ctx context.Context, sr *StreamReport, info validate.Info, out string, opts Options) error {
	visual := tdw.Pass(sr.Pass).Visual()
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
	enc.Threads = opts.EncoderThreads
	sr.PixFmt = ffmpeg.StoredPixFmt(enc)
	if opts.OneProcess {
		enc.Images, enc.PixFmt = &dec, info.PixFmt
	}
	sr.Width, sr.Height, sr.SourceFormat = enc.Width, enc.Height, string(info.Format)
	if sr.Audio != nil {
		enc.Audio, enc.AudioRate, enc.AudioOffset = sr.Audio.Path, sr.Audio.SampleRate, sr.Audio.Offset
		enc.Duration = w.place.duration(sr.FramesFound)
	}
	enc.Timestamps = w.place.timestamps()
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
	slot := w.place.slot(n, w.good)
	w.good++
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
	last := w.place.lastSlot(w.good)
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

// tempBeside creates the empty temporary file a video is written to before
// it is renamed to final, in final's folder (made if needed). A process
// killed mid-encode (kill -9) leaves its temporary file; the next one for
// the same output clears it.
func tempBeside(final string) (string, error) {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the output folder %s: %w (choose a writable folder with -o)", dir, err)
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(filepath.Base(final))+".tmp-*"))
	for _, f := range stale {
		os.Remove(f)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("cannot write in the output folder %s: %w (choose a writable folder with -o)", dir, err)
	}
	return tmp.Name(), tmp.Close()
}

// verifyOutput checks the finished file before it is moved into place: frame
// count, size, codec and audio, read from the container's own tables
// (stages/container), or by ffprobe when those cannot be parsed.
func verifyOutput(ctx context.Context, sr *StreamReport, path, final string, tool ffmpeg.Tool) error {
	var got container.Info
	if info, err := container.Inspect(path); err == nil {
		got = info
	} else {
		m, err := tool.Probe(ctx, path, true)
		if err != nil {
			return fmt.Errorf("verifying %s: %w", final, err)
		}
		v, ok := m.Video()
		if !ok {
			return fmt.Errorf("verifying %s: ffmpeg wrote no video stream", final)
		}
		_, audio := m.Audio()
		got = container.Info{Codec: v.Codec, Width: v.Width, Height: v.Height, Frames: v.Packets, HasAudio: audio}
		sr.PixFmt = v.PixFmt
	}
	sr.Codec = got.Codec
	if got.Frames != sr.FramesWritten {
		return fmt.Errorf("verifying %s: %d frames were sent but the video holds %d; a frame may be corrupt inside: run again with --deep-check to find it", final, sr.FramesWritten, got.Frames)
	}
	if got.Width != sr.Width || got.Height != sr.Height {
		return fmt.Errorf("verifying %s: video is %dx%d, expected %dx%d", final, got.Width, got.Height, sr.Width, sr.Height)
	}
	if sr.Audio != nil && !got.HasAudio {
		return fmt.Errorf("verifying %s: the audio track is missing", final)
	}
	sr.Duration = float64(sr.FramesWritten) / sr.FPS
	if sr.VFR {
		sr.Duration = sr.CaptureSpan + 1/sr.FPS
	}
	sr.Verified = true
	return nil
}

// globEscape quotes the characters filepath.Glob treats specially.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}

// publish moves the finished video into place. Without replace it never
// overwrites: a hard link fails if another process put a file there since
// the check at the start (a plain rename would silently replace it).
func publish(tmp, final string, replace bool) error {
	// CreateTemp made the file private; a video is as readable as any
	// file the user makes (a gallery's web server, a shared dataset).
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("cannot make %s readable: %w", tmp, err)
	}
	if !replace {
		err := os.Link(tmp, final)
		if err == nil {
			return os.Remove(tmp)
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s appeared while this stream was encoding (another tdwstitch?); pass --force to replace it", final)
		}
		// No hard links on this file system: fall back to a rename.
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("cannot move the finished video into place at %s: %w", final, err)
	}
	return nil
}
