package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
)

// The library says what happened and what would fix it in its own words;
// these types carry the facts, so that the CLI can name its flags (see
// cmd/tdwstitch/hints.go).

// SelectionError: the run has streams, but none of the passes and avatars
// asked for (Options.Passes, Options.Avatars).
type SelectionError struct {
	Dir             string
	Found           []string // the run's stream IDs
	Passes, Avatars []string // what was asked for
}

func (e *SelectionError) Error() string {
	var asked []string
	if len(e.Passes) > 0 {
		asked = append(asked, "passes "+strings.Join(e.Passes, ","))
	}
	if len(e.Avatars) > 0 {
		asked = append(asked, "avatars "+strings.Join(e.Avatars, ","))
	}
	return fmt.Sprintf("no stream in %s matches the %s asked for (found: %s)", e.Dir, strings.Join(asked, " and "), strings.Join(e.Found, ", "))
}

// AbsentError: a pass or avatar asked for that the run does not have; the
// rest is encoded (a warning).
type AbsentError struct {
	Pass, Avatar string // one of them
	Dir          string
}

func (e *AbsentError) Error() string {
	if e.Pass != "" {
		return fmt.Sprintf("%s has no %s frames", e.Dir, e.Pass)
	}
	return fmt.Sprintf("%s has no avatar folder %q with frames", e.Dir, e.Avatar)
}

// AudioError: the run's audio cannot be used (place.AudioError).
type AudioError = place.AudioError

// warn records warnings in the run's report (their text) and tells them as
// events (their values, which the CLI turns into advice).
func warn(rep *report.Run, opts Options, warnings ...error) {
	for _, w := range warnings {
		rep.Warnings = append(rep.Warnings, w.Error())
		opts.OnEvent(event.Event{Kind: event.Warning, Err: w})
	}
}

// warnText is warn for warnings that are text only.
func warnText(rep *report.Run, opts Options, warnings ...string) {
	for _, w := range warnings {
		warn(rep, opts, errors.New(w))
	}
}
