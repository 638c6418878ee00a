package video

import (
	"context"
	"fmt"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/validate"
)

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
	// files, when set, has ffmpeg read the frames itself (directFiles):
	// nothing is written, and progress is told the frames it has encoded.
	files    *ffmpeg.Files
	progress func(frames int64)
}

// start begins the encoder at the stream's first good frame: its size and
// pixel format are the video's.
func (w *slotWriter) start(ctx context.Context, sr *report.Stream, info validate.Info, out string, opts Settings) error {
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
	if w.files != nil {
		files := *w.files
		files.MaxPixels = ffmpeg.DecodeBound(info.Width, info.Height)
		dec.Files, enc.Progress = &files, w.progress
	}
	sr.PixFmt = ffmpeg.StoredPixFmt(enc)
	if opts.OneProcess || w.files != nil {
		// ffmpeg reading the files itself decodes beside x264 in one
		// process as fast as a decoder process piping raw frames to it
		// (JPEG), or faster (PNG, 600 512x512 frames on 2 cores: 8.33 s
		// against 9.43 s, docs/performance.md), with less CPU.
		dec.Threads = min(opts.EncoderThreads, 16) // one process: its decoder shares the encoder's share of the cores
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
	if w.files != nil {
		w.good++ // ffmpeg reads it, into slot good-1 (directFiles)
		return nil
	}
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
	if w.files != nil {
		w.written = w.good
		return nil
	}
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

// abort stops the encoder, if it started.
func (w *slotWriter) abort() {
	if w.pipe != nil {
		w.pipe.Abort()
		w.pipe = nil
	}
}

func (w *slotWriter) write(b []byte) error {
	if _, err := w.pipe.Write(b); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	w.written++
	return nil
}
