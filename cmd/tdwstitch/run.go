package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/advice"
	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/flagvalue"
	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/progress"
	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK       = 0   // everything done and clean
	exitFailed   = 1   // some run or stream failed; the rest still finished
	exitCmdLine  = 2   // the command line itself was wrong
	exitDegraded = 3   // everything written, but some stream is degraded (restic's convention)
	exitSIGINT   = 130 // interrupted (Ctrl-C): 128 + SIGINT
	exitSIGTERM  = 143 // terminated: 128 + SIGTERM
)

// exitCodesHelp documents the exit codes in --help.
const exitCodesHelp = `
Exit codes:
  0    everything done and clean
  1    some run or stream failed (the others still finished; see the report)
  2    the command line was wrong (nothing was done)
  3    everything written, but some stream is degraded (frames missing or bad)
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM)`

// signalError is the cause of the root context's cancellation by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string {
	if e.sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT, Ctrl-C"
}

// usageError is a mistake in the command line itself (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// ioStreams are the command's standard streams, injected so tests run the CLI
// in-process.
type ioStreams struct {
	Out      io.Writer
	Err      io.Writer
	Terminal bool // stderr can redraw a progress bar (canRedraw)
}

// runMain turns SIGINT and SIGTERM into one cancel of the root context,
// whose cause names the signal (the exit code follows it); a second signal
// kills the process at once.
func runMain() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(&signalError{sig})
		signal.Stop(sigs) // the next one takes its default action
	}()
	return run(ctx, os.Args[1:], ioStreams{Out: os.Stdout, Err: os.Stderr, Terminal: canRedraw()})
}

// progressMode is the progress the flags ask for on these streams; a
// contradiction (-q --progress bar) is a usage error.
func progressMode(f *progress.Flags, io ioStreams) (progress.Mode, error) {
	mode, err := f.Mode(io.Terminal)
	if err != nil {
		return mode, usageErrorf("%v", err)
	}
	return mode, nil
}

// canRedraw reports whether stderr is a terminal that can redraw a bar in
// place: not a file or pipe, and not TERM=dumb (Emacs shells, some CI).
func canRedraw() bool {
	return term.IsTerminal(int(os.Stderr.Fd())) && os.Getenv("TERM") != "dumb"
}

// run executes one command line and returns its exit code.
func run(ctx context.Context, args []string, io ioStreams) int {
	root := newRootCmd(io)
	root.SetArgs(joinOptionalValues(args))
	err := root.ExecuteContext(ctx)
	var sig *signalError
	var runs *runsOutcome
	if errors.As(context.Cause(ctx), &sig) && !errors.As(err, &runs) {
		said := "what was finished is in place and in the report; run the command again for the rest"
		if stopped := (*serveStopped)(nil); errors.As(err, &stopped) {
			said = stopped.Error()
		}
		fmt.Fprintf(io.Err, "tdwstitch: interrupted (%v): %s\n", sig, said)
		if sig.sig == syscall.SIGTERM {
			return exitSIGTERM
		}
		return exitSIGINT
	}
	if err != nil {
		// The sentinels decide the exit code; the reader wants only the reason.
		fmt.Fprintln(io.Err, "tdwstitch:", advice.Explain(err))
	}
	return exitCode(err)
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pipeline.ErrDegraded) && !errors.Is(err, pipeline.ErrFailed):
		return exitDegraded
	case errors.As(err, new(*usageError)):
		return exitCmdLine
	case errors.Is(err, pipeline.ErrFailed), errors.Is(err, ffmpeg.ErrMissing), errors.Is(err, context.Canceled):
		return exitFailed
	default:
		return exitFailed
	}
}

// addTemplateFuncs registers cobra's template functions (a global map)
// once, however many roots are made (tests make one per command line).
var addTemplateFuncs sync.Once

func newRootCmd(io ioStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "tdwstitch",
		Short:         "Turn the frames a ThreeDWorld (TDW) run saved into videos",
		Long:          "Turn the frames a ThreeDWorld (TDW) run saved, or streams, into videos: one per avatar and image pass.\n" + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		// A misspelled command is a usage error (exit 2), said in our words.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q (see 'tdwstitch --help')", args[0])
			}
			return nil
		},
		Example: `  tdwstitch encode ~/tdw_output/run1 -o ~/videos/run1 --mosaic
  tdwstitch probe ~/tdw_output/run1
  tdwstitch batch ~/datasets/tdw_runs -o ~/datasets/tdw_videos
  tdwstitch serve -o ~/videos/live`,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	// --version (and -v) print what the version command does.
	root.Version = report.Version()
	addTemplateFuncs.Do(func() {
		cobra.AddTemplateFunc("versionText", func() string { return versionText("") })
		cobra.AddTemplateFunc("flagGroups", flagvalue.Usages)
	})
	root.SetVersionTemplate(`{{versionText}}`)
	root.SetUsageTemplate(groupedUsage(root.UsageTemplate()))
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newEncodeCmd(io), newProbeCmd(io), newBatchCmd(io), newServeCmd(io), newAddonCmd(io), newVersionCmd(io))
	flagvalue.CompleteEnums(root)
	return root
}

// groupedUsage is cobra's usage template with the flags listed in their
// help groups (flagvalue.Group) instead of one alphabetical block.
func groupedUsage(tmpl string) string {
	// Should cobra's template change, help keeps the flat list (and
	// TestHelpShowsWhatApplies fails on serve's missing groups).
	const flat = "\n\nFlags:\n{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}"
	return strings.Replace(tmpl, flat, "{{flagGroups .LocalFlags}}", 1)
}

// oneDir is a cobra.Args check: exactly one argument naming a folder.
func oneDir(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErrorf("%s takes one %s, got %d arguments (see '%s --help')", c.Name(), what, len(args), c.CommandPath())
		}
		info, err := os.Stat(args[0])
		if err != nil {
			return usageErrorf("%s %s: %v", what, args[0], errors.Unwrap(err))
		}
		if !info.IsDir() {
			return usageErrorf("%s %s is not a folder: pass the folder that holds the run's frames", what, args[0])
		}
		return nil
	}
}

// joinOptionalValues lets a flag whose value is optional take it as the
// next word too: pflag reads "--preview gif" as --preview (webp) and a
// stray argument "gif", so "--preview gif" becomes "--preview=gif" (and a
// wrong word, "--preview png", is said as a wrong --preview value). A word
// that names an existing path stays an argument.
func joinOptionalValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--preview" && i+1 < len(args) && previewValue(args[i+1]) {
			out = append(out, "--preview="+args[i+1])
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// previewValue reports whether word after --preview is meant as its value:
// a bare word (no path separator, no flag) that is not an existing path.
func previewValue(word string) bool {
	if word == "" || strings.HasPrefix(word, "-") || strings.ContainsRune(word, filepath.Separator) {
		return false
	}
	_, err := os.Stat(word)
	return err != nil
}
