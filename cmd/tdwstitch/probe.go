package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/advice"
	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/progress"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/spf13/cobra"

	"github.com/tdwstitch/tdwstitch/pipeline"
)

func newProbeCmd(io ioStreams) *cobra.Command {
	var (
		flags  jobFlags
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "probe RUN_DIR",
		Short: "Show what encode would do: streams, frame ranges, sizes, gaps, bad frames, audio",
		Long: `Show what encode would do with RUN_DIR, reading and checking every frame but
encoding nothing: streams, frame ranges, sizes, gaps, bad frames, audio, timing,
and each stream's verdict (planned, degraded, failed) with encode's rules.

Exit code: 0 if encode would write every stream clean, 3 if some would be
degraded, 1 if some would fail, 2 for a wrong command line.`,
		Example: `  # What encode would make of a run, encoding nothing
  tdwstitch probe ~/tdw_output/run1

  # The plan as JSON (the report's schema), e.g. each stream's verdict
  tdwstitch probe ~/tdw_output/run1 --json | jq -r '.streams[] | "\(.id) \(.status)"'`,
		Args: oneDir("RUN_DIR"),
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := flags.options(c.Flags())
			if err != nil {
				return err
			}
			// Warnings and failures with their values, for the flags that
			// bear on them (the report has their words).
			said := probeSaid{failed: map[string]error{}}
			opts.OnEvent = said.event
			rep, err := pipeline.Probe(c.Context(), args[0], opts)
			if err != nil && len(rep.Streams) == 0 && !asJSON {
				return pipeline.Failure(err)
			}
			if asJSON {
				b, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintln(io.Out, string(b))
			} else {
				printProbe(io, rep, &said)
			}
			if err != nil {
				return pipeline.Failure(err)
			}
			return verdict(rep)
		},
	}
	flags.register(c.Flags(), false)
	c.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (the report's schema, status \"planned\")")
	return c
}

// verdict is probe's outcome as an error for the exit code: failed if
// encode would fail a stream, degraded if it would write one degraded.
func verdict(rep *report.Run) error {
	var failed, degraded []string
	for _, s := range rep.Streams {
		switch s.Status {
		case report.Failed:
			failed = append(failed, s.ID)
		case report.Degraded:
			degraded = append(degraded, s.ID)
		}
	}
	switch {
	case len(failed) > 0:
		return pipeline.Failure(fmt.Errorf("encode would fail %s (see above)", strings.Join(failed, ", ")))
	case len(degraded) > 0:
		return fmt.Errorf("%w: encode would write %s degraded: frames missing or bad (see above)", pipeline.ErrDegraded, strings.Join(degraded, ", "))
	}
	return nil
}

func printProbe(io ioStreams, rep *report.Run, said *probeSaid) {
	w := io.Out
	fmt.Fprintf(w, "run %s\n", rep.Run)
	if a := rep.Audio; a != nil {
		fmt.Fprintf(w, "audio %s (%.2f s, %s)\n", a.Path, a.SourceDuration, a.Codec)
	} else {
		fmt.Fprintln(w, "audio: none")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tFRAMES\tRANGE\tSIZE\tSOURCE\tGAPS\tBAD\tOUTPUT\tCODEC\tDURATION\tVERDICT")
	for _, s := range rep.Streams {
		fmt.Fprintf(tw, "%s\t%d\t%d-%d\t%dx%d\t%s\t%d\t%d\t%s\t%s\t%.2f s\t%s\n", s.ID, s.FramesFound, s.FirstFrame, s.LastFrame,
			s.Width, s.Height, s.SourceFormat, s.MissingFrames, len(s.BadFrames), s.Output, s.Codec, s.Duration, s.Status)
	}
	tw.Flush()
	for _, s := range rep.Streams {
		printProblems(w, s, said.failed[s.ID])
	}
	for _, s := range rep.Streams {
		printTiming(w, s)
	}
	if rep.FileTimes != "" {
		// No capture times: say how frames are placed, and what file times
		// could do when they could do something (why they cannot is in
		// --json's file_times, and in --timing mtime's error).
		why := "no timing.csv"
		if rep.Options.Timing == "none" {
			why = "--timing none"
		}
		note := ""
		if strings.HasPrefix(rep.FileTimes, "usable") {
			note = "; file times are " + rep.FileTimes + " (--timing mtime uses them)"
		}
		fmt.Fprintf(w, "timing: frames placed by number, 1/fps apart (%s)%s\n", why, note)
	}
	for _, ig := range rep.Ignored {
		fmt.Fprintf(w, "ignored %s: %s\n", ig.Path, ig.Reason)
	}
	for _, warn := range said.warnings {
		fmt.Fprintf(w, "warning: %s\n", advice.Explain(warn))
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "error: %s\n", strings.TrimSpace(rep.Error))
	}
}

// printProblems says why a stream would fail, and its first gaps and bad
// frames (probe --json has them all).
func printProblems(w io.Writer, s *report.Stream, failure error) {
	if s.Status == report.Failed {
		msg := s.Error
		if failure != nil {
			msg = advice.Explain(failure)
		}
		fmt.Fprintf(w, "%s would FAIL: %s\n", s.ID, msg)
	}
	lines := 0
	held := ""
	if s.Status != report.Failed {
		held = " (held by the previous frame unless --gaps drop)"
	}
	for _, g := range s.Gaps {
		if lines++; lines <= progress.ProblemLines {
			frames := fmt.Sprintf("frames %d-%d", g.From, g.To)
			if g.From == g.To {
				frames = fmt.Sprintf("frame %d", g.From)
			}
			how := held
			if held != "" && g.To < s.FirstFrame {
				how = " (held by its first frame, as its camera's other passes have them, unless --gaps drop)"
			}
			fmt.Fprintf(w, "gap in %s: %s missing%s\n", s.ID, frames, how)
		}
	}
	for _, b := range s.BadFrames {
		if lines++; lines <= progress.ProblemLines {
			fmt.Fprintf(w, "bad frame %s: %s\n", b.Path, b.Reason)
		}
	}
	if lines > progress.ProblemLines {
		fmt.Fprintf(w, "%s: ... and %d more gaps or bad frames (probe --json lists them all)\n", s.ID, lines-progress.ProblemLines)
	}
}

// printTiming says how a timed stream's frames are placed, what the plain
// one-liner would get wrong, and where its audio starts.
func printTiming(w io.Writer, s *report.Stream) {
	if s.Timing == "none" || s.Timing == "" {
		return
	}
	estimate := ""
	if s.TimingEstimate {
		estimate = ", an estimate"
	}
	fmt.Fprintf(w, "timing %s: %s%s; captured over %.2f s, %d frames at %g fps make %.2f s: the plain one-liner would drift %.2f s by the last frame\n",
		s.ID, s.Timing, estimate, s.CaptureSpan, s.FramesFound, s.FPS, float64(s.FramesFound-1)/s.FPS, s.OneLinerDrift)
	if a := s.Audio; a != nil {
		fmt.Fprintf(w, "audio %s: %.2f s recorded, starting %+.3f s from the first frame\n", s.ID, a.SourceDuration, a.Offset)
	}
}

// probeSaid collects what probe's events carry: warnings and each failed
// stream's error, as values (events come from several goroutines).
type probeSaid struct {
	mu       sync.Mutex
	warnings []error
	failed   map[string]error
}

func (p *probeSaid) event(e event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case e.Kind == event.Warning:
		p.warnings = append(p.warnings, e.Err)
	case e.Kind == event.StreamDone && e.Err != nil:
		p.failed[e.Stream] = e.Err
	}
}
