package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/flagvalue"
	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/progress"
	"github.com/tdwstitch/tdwstitch/pipeline/live"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/stages/source"
)

// serveCmd holds serve's flags.
type serveCmd struct {
	flags                   jobFlags
	outDir                  string
	so                      live.Options
	anyIface                bool
	maxPartMB, maxMessageMB int64
	spoolMaxMB, chunkMB     int64
	chunkSeconds            float64
	queueMB                 int64
	recover                 bool
	progress                progress.Flags
	mode                    progress.Mode
}

func newServeCmd(io ioStreams) *cobra.Command {
	var s serveCmd
	c := &cobra.Command{
		Use:   "serve -o OUT_DIR [--listen ADDR | --connect ADDR]",
		Short: "Receive frames live from a TDW controller over ZeroMQ and encode each run as it arrives",
		Long: `Receive frames live from a running TDW controller (ZeroMQ PUSH -> our PULL) and write
the same videos and reports encode writes, one folder per run under OUT_DIR. Messages:
TDW responses (output-data blobs, frame number last), "tdwstitch/begin" + {"run", "fps",
"audio"}, "tdwstitch/end" + {"run"}. Frames are spooled to OUT_DIR/<run>/.spool first;
a run is encoded in chunks while it arrives (--chunk-seconds, --chunk-mb) and joined at its end, so
the spool stays under --spool-max-mb. Runs a killed serve left are finished at the next
start (or with --recover).

Exit code, once stopped: 1 if any run it encoded failed, else 3 if any is degraded,
else 130 after SIGINT and 143 after SIGTERM (0 for --recover). After a signal no new
work starts: runs not yet encoded stay spooled for the next start or --recover.`,
		Example: `  # Wait for frames from controllers on this machine (see: tdwstitch addon)
  tdwstitch serve -o ~/videos/live

  # Let controllers wait until their run is received (the add-on's ack=)
  tdwstitch serve -o ~/videos/live --ack tcp://127.0.0.1:5557

  # From controllers on other machines
  tdwstitch serve -o ~/videos/live --listen tcp://0.0.0.0:5556 --any-interface

  # Finish the runs a killed serve left, then exit
  tdwstitch serve -o ~/videos/live --recover`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if s.outDir == "" {
				return usageErrorf("serve needs an output folder: -o OUT_DIR")
			}
			opts, err := s.flags.options(c.Flags())
			if err != nil {
				return err
			}
			s.so.Options = opts
			if s.mode, err = progressMode(&s.progress, io); err != nil {
				return err
			}
			if err := checkServeSizes(map[string]int64{"max-part-mb": s.maxPartMB, "max-message-mb": s.maxMessageMB, "max-parts": int64(s.so.Source.MaxParts),
				"hwm": int64(s.so.Source.HWM), "max-peers": int64(s.so.Source.MaxPeers), "max-streams": int64(s.so.MaxStreams), "queue-mb": s.queueMB}, s.spoolMaxMB, s.chunkMB, s.so.Idle); err != nil {
				return err
			}
			if !(s.chunkSeconds >= 0) { // NaN too
				return usageErrorf("--chunk-seconds %v: pass 0 or more", s.chunkSeconds)
			}
			if s.recover {
				return s.recoverRuns(c, io)
			}
			return s.serve(c, io)
		},
	}
	s.register(c.Flags())
	s.flags.register(c.Flags(), true)
	c.Flags().Lookup("jobs").Usage = "`N` streams encoded at once over every run, chunk and join serve is encoding (one limit for the process), and runs prepared at once (default: one per CPU; a run's streams then share the cores side by side)"
	c.Flags().Lookup("audio").Usage = "audio `FILE` to mux into every run's img/albedo videos when its begin message names none"
	c.Flags().Lookup("no-audio").Usage = "mux no audio, even when a begin message names some"
	c.Flags().Lookup("timing").Usage = "frame capture times: auto (the add-on's, when it sent them), sidecar, mtime (when frames were spooled, an estimate), none (1/fps apart)"
	return c
}

// register adds serve's own flags.
func (s *serveCmd) register(f *pflag.FlagSet) {
	f.StringVarP(&s.outDir, "output", "o", "", "output `OUT_DIR`: one folder per run")
	f.StringVar(&s.so.Source.Listen, "listen", "tcp://127.0.0.1:5556", "bind the PULL socket at `ADDR` (tcp:// or ipc://)")
	f.StringVar(&s.so.Source.Connect, "connect", "", "connect to a binding PUSH socket at `ADDR` instead of listening")
	f.StringVar(&s.so.Ack, "ack", "", "also bind a socket at `ADDR` that answers a controller's REQ {\"run\": NAME} once that run has ended (requests in any order), so it can wait before exiting (the add-on's ack=)")
	f.BoolVar(&s.anyIface, "any-interface", false, "allow --listen on a non-loopback address")
	f.DurationVar(&s.so.Idle, "idle", 30*time.Second, "end a run when no message arrived for this `DURATION` (its report says idle)")
	f.Int64Var(&s.maxPartMB, "max-part-mb", 64, "largest message part accepted, `MiB` (a bigger announcement disconnects the peer before allocating)")
	f.Int64Var(&s.maxMessageMB, "max-message-mb", 256, "largest whole message accepted, `MiB` (bigger ones are dropped part by part and counted)")
	f.IntVar(&s.so.Source.MaxParts, "max-parts", 256, "most parts in one message, `N` (a TDW response has one per output-data type, plus the frame number)")
	f.IntVar(&s.so.Source.HWM, "hwm", 64, "`N` messages libzmq may queue in memory")
	f.IntVar(&s.so.Source.MaxPeers, "max-peers", 8, "`N` controllers at most connected at once to --listen (more are closed unread): memory for parts still arriving stays under max-peers x max-part-mb")
	f.IntVar(&s.so.MaxStreams, "max-streams", 64, "`N` (avatar, pass) streams at most in one run")
	f.Int64Var(&s.queueMB, "queue-mb", 512, "received messages waiting in memory for the spool writer, `MiB`; the sender blocks only when it is full")
	f.Int64Var(&s.spoolMaxMB, "spool-max-mb", 4096, "cap on frames spooled and not yet encoded, `MiB` (all runs); when full, receiving pauses and the sender blocks until the encoder catches up (0: no cap)")
	f.Int64Var(&s.chunkMB, "chunk-mb", 0, "encode a run in chunks of this many spooled `MiB` while it arrives (default: an eighth of --spool-max-mb)")
	f.Float64Var(&s.chunkSeconds, "chunk-seconds", 5, "also encode a chunk once it holds this many `SECONDS` of frames and the run's encoder is idle, so a run's videos are final soon after its end (0: by --chunk-mb only)")
	flagvalue.Group(f, "Socket", "listen", "connect", "ack", "any-interface", "idle", "hwm", "max-peers")
	flagvalue.Group(f, "Limits", "max-part-mb", "max-message-mb", "max-parts", "max-streams", "queue-mb", "spool-max-mb", "chunk-mb", "chunk-seconds")
	s.progress.Register(f, "a spinner counting runs", "only failures and rejected messages, not each run and chunk")
	f.BoolVar(&s.recover, "recover", false, "encode the runs a killed serve left in OUT_DIR, then exit")
}

// recoverRuns is serve --recover.
func (s *serveCmd) recoverRuns(c *cobra.Command, io ioStreams) error {
	opts := s.so.Options
	prog := progress.New(io.Err, s.mode, true)
	prog.Heartbeat(opts.StallTimeout)
	opts.OnEvent = prog.Event
	err := live.Recover(c.Context(), s.outDir, opts)
	prog.Close()
	return outcomeError(err)
}

// serve checks the addresses, sizes the caps and serves until a signal.
func (s *serveCmd) serve(c *cobra.Command, io ioStreams) error {
	so := s.so
	if so.Source.Connect != "" {
		so.Source.Listen = ""
	}
	if so.Ack != "" && !source.Loopback(so.Ack) && !s.anyIface {
		return usageErrorf("--ack %s is not a loopback address: pass --any-interface to answer other machines", so.Ack)
	}
	if so.Source.Listen != "" && !source.Loopback(so.Source.Listen) {
		if !s.anyIface {
			return usageErrorf("--listen %s is not a loopback address: pass --any-interface to accept frames from other machines", so.Source.Listen)
		}
		fmt.Fprintf(io.Err, "tdwstitch: warning: listening on %s: any machine that reaches it can send frames\n", so.Source.Listen)
	}
	so.Source.MaxPart, so.Source.MaxMessage = s.maxPartMB<<20, s.maxMessageMB<<20
	so.SpoolMax, so.ChunkBytes, so.QueueBytes = s.spoolMaxMB<<20, s.chunkMB<<20, s.queueMB<<20
	so.ChunkSeconds = s.chunkSeconds
	if s.chunkSeconds == 0 {
		so.ChunkSeconds = -1 // by size only
	}
	if s.spoolMaxMB == 0 {
		so.SpoolMax = -1 // no cap
	}
	prog := progress.New(io.Err, s.mode, true)
	prog.Heartbeat(so.StallTimeout)
	so.OnEvent = prog.Event
	err := live.Serve(c.Context(), s.outDir, so)
	prog.Close()
	if sig := (*signalError)(nil); err == nil && errors.As(context.Cause(c.Context()), &sig) {
		return &serveStopped{spooled: live.Spooled(s.outDir)} // for run's interrupted line
	}
	return outcomeError(err)
}

// serveStopped is serve's end by a signal with no run failed or degraded:
// what it says is what stays to do, if anything.
type serveStopped struct{ spooled []string }

func (s *serveStopped) Error() string {
	if len(s.spooled) == 0 {
		return "every run received is encoded and in its reports"
	}
	runs := fmt.Sprintf("%d runs stay", len(s.spooled))
	if len(s.spooled) == 1 {
		runs = "1 run stays"
	}
	return fmt.Sprintf("%s spooled (%s): the next serve start, or serve --recover, encodes them", runs, strings.Join(s.spooled, ", "))
}

// outcomeError marks a library error as a failure for the exit code, unless
// it already says failed or degraded. serve ends only by a signal, so the
// runs' outcome is its result and takes precedence over the signal's code.
func outcomeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pipeline.ErrFailed), errors.Is(err, pipeline.ErrDegraded):
		return &runsOutcome{err}
	}
	return pipeline.Failure(err)
}

// runsOutcome is serve's result when some run it encoded failed or is
// degraded: its exit code (1 or 3) wins over a signal's (130, 143).
type runsOutcome struct{ err error }

func (o *runsOutcome) Error() string { return o.err.Error() }
func (o *runsOutcome) Unwrap() error { return o.err }

// checkServeSizes checks serve's size flags before it starts: each of
// positive at least 1, --spool-max-mb and --chunk-mb 0 or more, --idle > 0.
func checkServeSizes(positive map[string]int64, spoolMaxMB, chunkMB int64, idle time.Duration) error {
	for name, v := range positive {
		if v < 1 {
			return usageErrorf("--%s %d: pass 1 or more", name, v)
		}
	}
	if spoolMaxMB < 0 || chunkMB < 0 || idle <= 0 {
		return usageErrorf("--spool-max-mb and --chunk-mb take 0 or more, --idle a positive duration")
	}
	return nil
}
