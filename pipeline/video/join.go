package video

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// Join makes a chunked stream's video at final: its chunks' videos (parts,
// in order) joined without re-encoding, with the run's audio lined up by
// clock, verified and renamed into place. sr is the stream's merged report.
func Join(ctx context.Context, sr *report.Stream, parts []string, final string, audio *report.Audio, clock *timing.Clock, opts Settings) error {
	if clock != nil && sr.Timing != "" && sr.Timing != report.TimingNone {
		t0 := clock.Frames[sr.FirstFrame]
		sr.CaptureSpan = clock.Frames[sr.LastFrame] - t0
		sr.OneLinerDrift = sr.CaptureSpan - float64(sr.FramesFound-1)/opts.FPS
	}
	visual := sr.Visual()
	job := ffmpeg.Concat{Parts: parts, Visual: visual, StallTimeout: opts.StallTimeout}
	if audio != nil && visual {
		offset := 0.0
		if clock != nil && clock.HasAudio && sr.Timing != report.TimingNone {
			offset = clock.AudioStart - clock.Frames[sr.FirstFrame]
		}
		duration := float64(sr.FramesWritten) / opts.FPS
		sr.Audio = place.StreamAudio(audio, duration, offset)
		job.Audio, job.AudioRate, job.AudioOffset, job.Duration = audio.Path, audio.SampleRate, offset, duration
	}
	tmp, err := output.TempBeside(final)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed into place
	job.Output = tmp
	if err := opts.Tool.Concat(ctx, job); err != nil {
		return opts.Space.WhenFull(filepath.Dir(final), fmt.Errorf("joining the chunks of %s: %w", final, err))
	}
	if err := output.Verify(ctx, sr, tmp, final, opts.Tool, opts.Space); err != nil {
		return err
	}
	if info, err := os.Stat(tmp); err == nil {
		sr.Bytes = info.Size()
	}
	return output.Publish(tmp, final)
}
