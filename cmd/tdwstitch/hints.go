package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// explain is err's message with the flag that would change the outcome,
// when its class has one. The library says what happened in its own words;
// only the CLI knows its flags.
func explain(err error) string {
	if err == nil {
		return "<nil>"
	}
	msg := err.Error()
	var (
		gap    *frames.GapError
		pixels *frames.PixelsError
		stall  *ffmpeg.StallError
		short  *output.ShortVideoError
	)
	switch {
	case errors.As(err, &gap) && gap.Timed:
		return fmt.Sprintf("%s (--max-gap; if the pause is real, pass --max-gap %d, or --timing none)", msg, gap.Need)
	case errors.As(err, &gap):
		return fmt.Sprintf("%s (--max-gap; if the gap is real, pass --max-gap %d, or 0 for no limit)", msg, gap.Need)
	case errors.As(err, &pixels):
		return fmt.Sprintf("%s (--max-pixels %d; raise it if the frame is real)", msg, pixels.Max)
	case errors.As(err, &stall):
		return msg + ", or raise --stall-timeout"
	case errors.As(err, &short):
		return msg + ": run again with --deep-check to find it"
	case errors.Is(err, ffmpeg.ErrMissing):
		return msg + ", or pass --ffmpeg /path/to/ffmpeg"
	}
	return msg
}

// optionFlags are the flags that set pipeline.Options fields.
var optionFlags = map[string]string{
	"FPS": "--fps", "CRF": "--crf", "Gaps": "--gaps", "OnBad": "--on-bad", "Timing": "--timing",
	"Preset": "--preset", "Jobs": "--jobs", "Audio": "--audio", "NoAudio": "--no-audio",
}

// flagError says an *pipeline.OptionError in terms of the flags.
func flagError(err error) string {
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
