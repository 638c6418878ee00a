// Package advice says the library's errors and warnings in tdwstitch's
// flags. The library says what happened in its own words and carries the
// facts in typed errors; only the CLI knows its flags, so the advice that
// names them is made here, by errors.Is and errors.As, never by matching
// message text.
package advice

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/batch"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// Explain is err's message with the flag that would change the outcome,
// when its class has one. The library says what happened in its own words;
// only the CLI knows its flags. One case per error class: the table is
// long, and reads best whole.
func Explain(err error) string {
	if err == nil {
		return "<nil>"
	}
	msg := err.Error()
	var (
		gap      *frames.GapError
		pixels   *frames.PixelsError
		stall    *ffmpeg.StallError
		short    *output.ShortVideoError
		full     *output.NoSpaceError
		folder   *output.FolderError
		busy     *output.BusyError
		timing   *place.TimingError
		sel      *pipeline.SelectionError
		absent   *pipeline.AbsentError
		audio    *pipeline.AudioError
		strict   *video.StrictError
		noShards *batch.NoShardsError
	)
	if errors.As(err, &timing) {
		// Said in the flags that asked for the times, wherever it stands in
		// the message; then the advice for any other class (a gap's).
		msg = strings.ReplaceAll(msg, timing.Error(), timingText(timing))
	}
	switch {
	case errors.As(err, &gap) && gap.Timed && timing != nil && timing.VFR:
		return fmt.Sprintf("%s (--max-gap; if the pause is real, pass --max-gap %d)", msg, gap.Need)
	case errors.As(err, &gap) && gap.Timed:
		return fmt.Sprintf("%s (--max-gap; if the pause is real, pass --max-gap %d, or --timing none)", msg, gap.Need)
	case errors.As(err, &gap):
		return fmt.Sprintf("%s (--max-gap; if the gap is real, pass --max-gap %d, or 0 for no limit)", msg, gap.Need)
	case errors.As(err, &pixels):
		return fmt.Sprintf("%s (--max-pixels %d; raise it if the frame is real)", msg, pixels.Max)
	case errors.As(err, &stall):
		return msg + ", or raise --stall-timeout"
	case errors.As(err, &full):
		return msg + " (or write elsewhere with -o)" // before short: a full disk cuts videos short
	case errors.As(err, &short):
		return msg + ": run again with --deep-check to find it"
	case errors.Is(err, ffmpeg.ErrMissing):
		return msg + ", or pass --ffmpeg /path/to/ffmpeg"
	case errors.As(err, &folder):
		return msg + " (choose a writable folder with -o)"
	case errors.As(err, &busy):
		return msg + " (another -o)"
	case errors.As(err, &sel):
		return msg + ": check --passes and --avatars"
	case errors.As(err, &absent) && absent.Pass != "":
		return "--passes " + absent.Pass + ": " + msg
	case errors.As(err, &absent):
		return "--avatars " + absent.Avatar + ": " + msg
	case errors.As(err, &audio) && len(audio.Choices) > 0:
		return msg + " (--audio FILE names it)"
	case errors.As(err, &audio) && audio.Named:
		return msg + ", or leave the audio out (drop --audio, or pass --no-audio instead)"
	case errors.As(err, &audio) && audio.Strict:
		return msg + " (--strict or --on-bad fail makes it fail the run; without them the videos go without audio), or pass --no-audio"
	case errors.As(err, &audio):
		return msg + ", or pass --no-audio"
	case errors.As(err, &strict):
		return msg + " (--strict, --gaps fail or --on-bad fail asks for that; without it the stream is written, degraded, each such frame held by its neighbour)"
	case errors.As(err, &noShards):
		return msg + " (tdwstitch batch --shard K/N)"
	}
	return msg
}

// timingText says a timing error in the flags that asked for the times,
// and the ways out that the other flags leave open, never one that fails
// too: under --vfr every way needs capture times (a valid sidecar, or
// usable file times); under --strict, going without a bad sidecar means
// --timing none.
func timingText(e *place.TimingError) string {
	switch e.Asked {
	case place.TimingSidecar:
		return fmt.Sprintf("--timing sidecar: %v (fix or write %s%s)", e.Err, e.Path, withoutSidecar(e))
	case place.TimingMtime:
		switch {
		case e.VFR:
			return fmt.Sprintf("--timing mtime: %v (--vfr needs capture times: write a valid timing.csv and pass --timing auto, or drop both --vfr and --timing mtime)", e.Err)
		case e.Strict:
			return fmt.Sprintf("--timing mtime: %v (pass --timing none)", e.Err)
		}
		return fmt.Sprintf("--timing mtime: %v (pass --timing none, or auto)", e.Err)
	case place.AskedVFR:
		mtime := ", or --timing mtime to use file times"
		if e.FileTimes != nil {
			mtime = fmt.Sprintf(" (its file times cannot serve: %v)", e.FileTimes)
		}
		if e.Timing == place.TimingNone {
			return fmt.Sprintf("--vfr needs capture times, and --timing none gives none: pass --timing auto with a valid timing.csv%s, or drop --vfr", mtime)
		}
		return fmt.Sprintf("--vfr needs capture times, and %s has none that can be used: write a valid timing.csv%s, or drop --vfr", e.Path, mtime)
	case place.AskedFit:
		return "--fit audio needs the run's audio, and there is none to use (name one with --audio FILE, without --no-audio; or drop --fit)"
	}
	if e.Strict {
		return fmt.Sprintf("timing: %v (--strict or --on-bad fail: fix or write %s%s)", e.Err, e.Path, withoutSidecar(e))
	}
	return fmt.Sprintf("timing: %v; --timing auto fell back to %s", e.Err, e.Next)
}

// withoutSidecar is the way on without a sidecar that cannot be used, if
// the flags leave one.
func withoutSidecar(e *place.TimingError) string {
	switch {
	case e.VFR && e.FileTimes == nil:
		return ", or pass --timing mtime to use file times"
	case e.VFR:
		return "; only a valid sidecar gives --vfr its times here"
	case e.Strict:
		return ", or pass --timing none to go without capture times"
	}
	return ", or pass --timing auto to go without it"
}

// optionFlags are the flags that set pipeline.Options fields.
var optionFlags = map[string]string{
	"FPS": "--fps", "CRF": "--crf", "Gaps": "--gaps", "OnBad": "--on-bad", "Timing": "--timing",
	"Preset": "--preset", "Jobs": "--jobs", "Audio": "--audio", "NoAudio": "--no-audio",
	"MosaicWidth": "--mosaic-width", "Preview": "--preview", "DepthPlanes": "--depth-planes", "DepthRange": "--depth-range",
}

// FlagError says an *pipeline.OptionError in terms of the flags.
func FlagError(err error) string {
	var oe *pipeline.OptionError
	if !errors.As(err, &oe) {
		return err.Error()
	}
	want := oe.Want
	fields := slices.SortedFunc(maps.Keys(optionFlags), func(a, b string) int { return len(b) - len(a) }) // NoAudio before Audio
	for _, field := range fields {
		want = strings.ReplaceAll(want, field, optionFlags[field])
	}
	name := optionFlags[oe.Option]
	if name == "" {
		name = oe.Option
	}
	return fmt.Sprintf("%s %v %s", name, oe.Value, want)
}

// Batch is Explain for a batch's warnings: batch's --audio names one
// file for every run, so a run with several audio files is fixed in the run.
func Batch(err error) string {
	var audio *pipeline.AudioError
	if errors.As(err, &audio) && len(audio.Choices) > 0 {
		return err.Error() + " (leave one audio file in the run: --audio here would give every run that one file)"
	}
	return Explain(err)
}
