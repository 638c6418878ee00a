package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK      = 0 // everything done
	exitFailed  = 1 // some run or stream failed; the rest still finished
	exitCmdLine = 2 // the command line itself was wrong
)

// errUsage marks errors in the command line itself.
var errUsage = errors.New("usage")

func usageErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// ioStreams are the command's standard streams, injected so tests run the CLI
// in-process.
type ioStreams struct {
	Out      io.Writer
	Err      io.Writer
	Terminal bool // stderr is a terminal: draw progress bars
}

// runMain turns SIGINT and SIGTERM into one cancel of the root context; a
// second signal kills the process at once.
func runMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); stop() }()
	return run(ctx, os.Args[1:], ioStreams{Out: os.Stdout, Err: os.Stderr, Terminal: term.IsTerminal(int(os.Stderr.Fd()))})
}

// run executes one command line and returns its exit code.
func run(ctx context.Context, args []string, io ioStreams) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		// The sentinels decide the exit code; the reader wants only the reason.
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		msg = strings.TrimPrefix(msg, pipeline.ErrFailed.Error()+": ")
		fmt.Fprintln(io.Err, "tdwstitch:", msg)
	}
	return exitCode(err)
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitCmdLine
	case errors.Is(err, pipeline.ErrFailed), errors.Is(err, ffmpeg.ErrMissing), errors.Is(err, context.Canceled):
		return exitFailed
	case strings.HasPrefix(err.Error(), "unknown command"):
		return exitCmdLine // cobra's own error for a misspelled sub-command
	default:
		return exitFailed
	}
}

func newRootCmd(io ioStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "tdwstitch",
		Short:         "Turn the frames a ThreeDWorld (TDW) run saved into videos",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see 'tdwstitch %s --help')", err, c.Name())
	})
	root.AddCommand(newEncodeCmd(io), newProbeCmd(io), newBatchCmd(io), newServeCmd(io), newAddonCmd(io))
	return root
}

// oneDir is a cobra.Args check: exactly one argument naming a folder.
func oneDir(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErrorf("%s takes one %s, got %d arguments (see 'tdwstitch %s --help')", c.Name(), what, len(args), c.Name())
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
