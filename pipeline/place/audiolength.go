package place

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// AudioLength warns when, with no capture times to place them, the frames
// at --fps last much longer or shorter than the run's audio: the audio is
// then padded with silence or cut, and the likeliest cause is an --fps
// that is not the rate the run was captured at (TDW's framerate is set by
// the controller). Nil when they agree within 10% (or 0.5 s), with capture
// times, with --fit audio, or without audio or a picture stream; and when
// the run has a timing sidecar that could not be used (that is warned of,
// and --fps would not help a run captured at an uneven rate).
func AudioLength(runDir string, audio *report.Audio, streams []*discover.Stream, clock *timing.Clock, cfg Config) error {
	if audio == nil || clock != nil || cfg.FitAudio || audio.SourceDuration <= 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(runDir, timing.SidecarName)); err == nil {
		return nil
	}
	var span int64
	for _, s := range streams {
		if s.Pass.Visual() && len(s.Frames) > 0 {
			span = max(span, s.Frames[len(s.Frames)-1].Number-s.Frames[0].Number+1)
		}
	}
	video := float64(span) / cfg.FPS
	if span == 0 || math.Abs(video-audio.SourceDuration) <= max(0.5, 0.1*max(video, audio.SourceDuration)) {
		return nil
	}
	fate := "cut to the video's length"
	if video > audio.SourceDuration {
		fate = "padded with silence"
	}
	return fmt.Errorf("%d frames at %g fps last %.2f s but the audio %s lasts %.2f s: the audio is %s; if the run was captured at another rate, pass it with --fps (or --fit audio to spread the frames over the audio)",
		span, cfg.FPS, video, filepath.Base(audio.Path), audio.SourceDuration, fate)
}
