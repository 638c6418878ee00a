package place

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// AudioAsked is what the command line (or a live run's begin message)
// says of the run's audio.
type AudioAsked struct {
	Path   string // named audio file; "": the one audio file in the run
	None   bool   // --no-audio
	Strict bool   // an unreadable found file fails the run
}

// audioProbeTimeout bounds reading an audio file's header: a file on a hung
// mount must not stall a run (or serve) for ever.
const audioProbeTimeout = time.Minute

// ResolveAudio picks the audio file for the run and reads its length. An
// unreadable file is a warning (the videos go without audio) unless asked.Strict
// (--strict, --on-bad fail), which makes it an error.
func ResolveAudio(ctx context.Context, run *discover.Run, tool ffmpeg.Tool, asked AudioAsked) (*report.Audio, []error, error) {
	if asked.None {
		return nil, nil, nil
	}
	path := asked.Path
	if path == "" {
		switch len(run.Audio) {
		case 0:
			return nil, nil, nil
		case 1:
			path = run.Audio[0]
		default:
			var names []string
			for _, a := range run.Audio {
				names = append(names, filepath.Base(a))
			}
			return nil, []error{&AudioError{Dir: run.Dir, Choices: names}}, nil
		}
	}
	// Only a regular file is audio (ffprobe would wait forever on a FIFO's
	// open), and the probe has a deadline.
	var m ffmpeg.Media
	info, err := os.Stat(path)
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%s)", discover.FileKind(info.Mode()))
	}
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, audioProbeTimeout)
		m, err = tool.Probe(pctx, path, false)
		cancel()
	}
	if err == nil {
		if a, ok := m.Audio(); ok {
			return &report.Audio{Path: absPath(path), Duration: m.Duration, SourceDuration: m.Duration, Codec: a.Codec, SampleRate: a.SampleRate}, nil, nil
		}
		err = errors.New("it has no audio stream")
	}
	bad := &AudioError{Path: path, Err: err, Named: asked.Path != "", Strict: asked.Strict}
	if bad.Named || bad.Strict {
		// Asked for by name (--audio, a live run's begin message): not
		// honoured, so not done.
		return nil, nil, bad
	}
	return nil, []error{bad}, nil
}

// AudioError: the run's audio cannot be used. Named audio (Options.Audio,
// a live run's begin message) that cannot be read fails the run, and so
// does found audio when Strict (OnBad FailBad); otherwise found audio is a
// warning, and so are several candidates (Choices) with none named.
type AudioError struct {
	Path    string
	Err     error
	Named   bool
	Strict  bool
	Dir     string
	Choices []string // file names, when the run has several
}

func (e *AudioError) Error() string {
	switch {
	case len(e.Choices) > 0:
		return fmt.Sprintf("%d audio files in %s (%s): none muxed; name the one to use, or leave only one in the run", len(e.Choices), e.Dir, strings.Join(e.Choices, ", "))
	case e.Named || e.Strict:
		return fmt.Sprintf("audio %s cannot be read (%v): nothing encoded; replace the file", e.Path, e.Err)
	}
	return fmt.Sprintf("audio %s cannot be read (%v): videos are encoded without audio; replace the file", e.Path, e.Err)
}

func (e *AudioError) Unwrap() error { return e.Err }

// absPath is p made absolute, or p when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
