package output

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/container"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// Verify checks the finished file before it is moved into place: frame
// count, size, codec and audio, read from the container's own tables
// (stages/container), or by ffprobe when those cannot be parsed.
// space measures free space (nil: the filesystem's).
func Verify(ctx context.Context, sr *report.Stream, path, final string, tool ffmpeg.Tool, space Space) error {
	// A video that fails its checks on a full disk is a write that failed.
	return space.WhenFull(filepath.Dir(final), checkOutput(ctx, sr, path, final, tool))
}

func checkOutput(ctx context.Context, sr *report.Stream, path, final string, tool ffmpeg.Tool) error {
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
		return &ShortVideoError{final: final, sent: sr.FramesWritten, held: got.Frames}
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

// ShortVideoError: the video holds fewer frames than were sent (the CLI
// suggests its deep check). On a disk
// with space left, a frame that passed the header checks but not the
// decoder is the likely cause; on a full one, the write (see WhenFull).
type ShortVideoError struct {
	final      string
	sent, held int
}

func (e *ShortVideoError) Error() string {
	return e.facts() + "; a frame may be corrupt inside"
}

func (e *ShortVideoError) facts() string {
	return fmt.Sprintf("verifying %s: %d frames went to ffmpeg but the video holds %d", e.final, e.sent, e.held)
}
