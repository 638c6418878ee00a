package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrMissing is wrapped by Locate's error when ffmpeg or ffprobe is not found.
var ErrMissing = errors.New("ffmpeg not found")

// Tool is where ffmpeg and ffprobe live and how their processes are made.
type Tool struct {
	FFmpeg  string
	FFprobe string
	// Version is what ffmpeg -version says ("5.1.6-0+deb12u1"), as the
	// reports record it.
	Version string
	// Command makes each child process. Nil means exec.CommandContext; tests
	// set it to watch or fake processes.
	Command func(ctx context.Context, name string, arg ...string) *exec.Cmd
	// WaitDelay bounds how long Wait waits for a killed process's pipes to
	// close. Zero means 5 seconds.
	WaitDelay time.Duration
}

// Locate finds ffmpeg (ffmpegPath, or "ffmpeg" on PATH) and the ffprobe beside
// it (or on PATH), and checks ffmpeg is at least MinVersion.
func Locate(ffmpegPath string) (Tool, error) {
	if ffmpegPath == "" {
		ffmpegPath = "ffmpeg"
	}
	ff, err := exec.LookPath(ffmpegPath)
	if err != nil {
		return Tool{}, fmt.Errorf("%w: %q is not an executable (%v); install it (Debian/Ubuntu: apt-get install ffmpeg)", ErrMissing, ffmpegPath, errors.Unwrap(err))
	}
	probe, err := exec.LookPath(filepath.Join(filepath.Dir(ff), "ffprobe"))
	if err != nil {
		if probe, err = exec.LookPath("ffprobe"); err != nil {
			return Tool{}, fmt.Errorf("%w: ffprobe is not beside %s nor on PATH; install ffmpeg's full package (Debian/Ubuntu: apt-get install ffmpeg)", ErrMissing, ff)
		}
	}
	text, ok, err := version(ff)
	if err != nil {
		return Tool{}, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	if !ok {
		return Tool{}, fmt.Errorf("%w: %s is ffmpeg %s; tdwstitch needs ffmpeg %d.%d or later (for -fps_mode): install a newer one (Debian 12 or Ubuntu 23.04 and later: apt-get install ffmpeg; elsewhere a static build from ffmpeg.org/download.html) and pass it with --ffmpeg PATH if it is not first on PATH",
			ErrTooOld, ff, text, MinVersion[0], MinVersion[1])
	}
	return Tool{FFmpeg: ff, FFprobe: probe, Version: text}, nil
}

func (t Tool) command(ctx context.Context, name string, args []string) *exec.Cmd {
	mk := t.Command
	if mk == nil {
		mk = exec.CommandContext
	}
	cmd := mk(ctx, name, args...)
	dieWithParent(cmd)
	cmd.WaitDelay = t.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	return cmd
}
