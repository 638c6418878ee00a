package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/progress"
	"github.com/tdwstitch/tdwstitch/pipeline/batch"
	"github.com/tdwstitch/tdwstitch/pipeline/gallery"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/spf13/cobra"

	"github.com/tdwstitch/tdwstitch/pipeline"
)

// batchCmd holds batch's flags.
type batchCmd struct {
	flags       jobFlags
	outRoot     string
	include     []string
	exclude     []string
	dryRun      bool
	shardFlag   string
	mergeReport bool
	withGallery bool
	progress    progress.Flags
}

func newBatchCmd(io ioStreams) *cobra.Command {
	var b batchCmd
	c := &cobra.Command{
		Use:   "batch ROOT -o OUT_ROOT",
		Short: "Encode every run under ROOT (nightly): resumable, sharded across a scheduler's array",
		Long: `Encode every run found under ROOT, at any depth, into the same relative path
under OUT_ROOT. Runs whose outputs are up to date (same frames, audio, sidecar and
options as their report records) are skipped, so a re-run finishes in seconds and an
interrupted batch resumes. --shard K/N (or a Slurm job array, or a Kubernetes Indexed
Job with TDWSTITCH_SHARD_COUNT) splits the runs between independent processes; the
last shard to finish writes OUT_ROOT/tdwstitch-batch.json.

  tdwstitch batch --merge-reports OUT_ROOT   rebuild the summary from the shards' shares

Exit code: 1 if any run failed, else 3 if any is degraded, else 0 (130/143 when
interrupted, 2 for a wrong command line).`,
		Example: `  # Every run under a dataset (re-runs skip what is up to date)
  tdwstitch batch ~/datasets/tdw_runs -o ~/datasets/tdw_videos

  # What it would do, encoding nothing
  tdwstitch batch ~/datasets/tdw_runs -o ~/datasets/tdw_videos --dry-run

  # Shard 3 of 16 by hand (a Slurm job array sets it itself), and a gallery page
  tdwstitch batch ~/datasets/tdw_runs -o ~/datasets/tdw_videos --shard 3/16 --gallery

  # Rebuild the summary and the gallery from the shards' shares
  tdwstitch batch --merge-reports ~/datasets/tdw_videos --gallery`,
		Args: func(c *cobra.Command, args []string) error {
			if b.mergeReport {
				if len(args) != 1 {
					return usageErrorf("batch --merge-reports takes the output root: tdwstitch batch --merge-reports OUT_ROOT")
				}
				return nil
			}
			return oneDir("ROOT")(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			if b.mergeReport {
				return b.merge(c.Context(), io, args[0])
			}
			return b.run(c, io, args[0])
		},
	}
	b.flags.register(c.Flags(), true)
	c.Flags().StringVarP(&b.outRoot, "output", "o", "", "output `OUT_ROOT` (created if missing)")
	c.Flags().StringArrayVar(&b.include, "include", nil, "encode only runs whose path under ROOT (or last element) matches this `GLOB` (repeatable)")
	c.Flags().StringArrayVar(&b.exclude, "exclude", nil, "skip runs whose path under ROOT (or last element) matches this `GLOB` (repeatable)")
	c.Flags().BoolVar(&b.dryRun, "dry-run", false, "print the plan (runs, streams, what is up to date) and encode nothing")
	c.Flags().StringVar(&b.shardFlag, "shard", "", "encode only shard `K/N` of the runs (K from 0); default: from SLURM_ARRAY_* or JOB_COMPLETION_INDEX + TDWSTITCH_SHARD_COUNT")
	c.Flags().BoolVar(&b.mergeReport, "merge-reports", false, "build OUT_ROOT's batch summary from the shards' summaries and exit")
	b.progress.Register(c.Flags(), "a bar counting runs", "only failures, degraded runs and the summary")
	c.Flags().BoolVar(&b.withGallery, "gallery", false, "write OUT_ROOT/index.html: a card per run with poster, contact sheets, playable videos (with --merge-reports too)")
	c.Flags().Lookup("audio").Usage = "audio `FILE` to mux into every run's img/albedo videos (default: the one audio file in each run's folder)"
	c.Flags().Lookup("no-audio").Usage = "mux no audio, even when a run has some"
	c.Flags().Lookup("jobs").Usage = "`N` streams encoded at once over the whole batch (default: one per CPU, each encoder using one thread)"
	return c
}

// merge is batch --merge-reports OUT_ROOT.
func (b *batchCmd) merge(ctx context.Context, io ioStreams, outRoot string) error {
	br, err := batch.Merge(outRoot)
	if err != nil {
		return pipeline.Failure(err)
	}
	printBatchSummary(io, br, nil)
	fmt.Fprintf(io.Out, "summary: %s\n", filepath.Join(outRoot, report.BatchFile))
	if b.withGallery {
		page, err := gallery.Write(ctx, br, outRoot)
		if err != nil {
			return pipeline.Failure(err)
		}
		fmt.Fprintf(io.Out, "gallery: %s\n", page)
	}
	return batch.Err(br)
}

// run is batch ROOT -o OUT_ROOT (or --dry-run).
func (b *batchCmd) run(c *cobra.Command, io ioStreams, root string) error {
	if b.outRoot == "" && !b.dryRun {
		return usageErrorf("batch needs an output root: -o OUT_ROOT")
	}
	opts, err := b.flags.options(c.Flags())
	if err != nil {
		return err
	}
	for _, g := range append(slices.Clone(b.include), b.exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			return usageErrorf("--include/--exclude %q is not a valid glob: %v", g, err)
		}
	}
	bo := batch.Options{Options: opts, Include: b.include, Exclude: b.exclude, DryRun: b.dryRun, Gallery: b.withGallery}
	if bo.Shard, err = resolveShard(b.shardFlag); err != nil {
		return err
	}
	mode, err := progressMode(&b.progress, io)
	if err != nil {
		return err
	}
	prog := progress.New(io.Err, mode, true)
	prog.Heartbeat(opts.StallTimeout)
	bo.OnEvent = prog.Event
	br, err := batch.Run(c.Context(), root, b.outRoot, bo)
	prog.Close()
	if b.dryRun {
		printPlan(io, br)
		return err
	}
	printBatchSummary(io, br, prog)
	if _, serr := os.Stat(filepath.Join(b.outRoot, report.BatchFile)); serr == nil && (br.Shard == nil || allShardsDone(b.outRoot, br.Shard)) {
		fmt.Fprintf(io.Out, "summary: %s\n", filepath.Join(b.outRoot, report.BatchFile))
		if b.withGallery {
			fmt.Fprintf(io.Out, "gallery: %s\n", filepath.Join(b.outRoot, "index.html"))
		}
	}
	return err
}

// allShardsDone reports whether every shard's share is in outRoot, i.e.
// the summary there is this batch's merged one.
func allShardsDone(outRoot string, s *report.Shard) bool {
	files, _ := filepath.Glob(filepath.Join(outRoot, ".tdwstitch-shards", fmt.Sprintf("shard-*-of-%d.json", s.Count)))
	return len(files) == s.Count
}

// resolveShard: the flag wins; else a scheduler's variables; else no shard.
func resolveShard(flag string) (batch.Shard, error) {
	if flag != "" {
		s, err := batch.ParseShard(flag)
		if err != nil {
			return s, usageErrorf("--shard %v", err)
		}
		return s, nil
	}
	s, _, err := batch.ShardFromEnv(os.Getenv)
	var env *batch.EnvError
	if errors.As(err, &env) {
		return s, usageErrorf("%v, or pass --shard K/N", err)
	}
	if err != nil {
		return s, usageErrorf("%v", err)
	}
	return s, nil
}

func printPlan(io ioStreams, br *report.Batch) {
	for _, r := range br.RunList {
		switch r.Status {
		case report.Failed:
			fmt.Fprintf(io.Out, "%s: cannot encode: %s\n", r.Run, r.Error)
		case report.Skipped:
			fmt.Fprintf(io.Out, "%s: up to date (%d streams)\n", r.Run, r.Streams)
		default:
			fmt.Fprintf(io.Out, "%s: encode %d of %d streams\n", r.Run, r.ToEncode, r.Streams)
		}
	}
	for _, p := range br.Problems {
		fmt.Fprintf(io.Out, "problem %s: %s\n", p.Path, p.Reason)
	}
	shard := ""
	if br.Shard != nil {
		shard = fmt.Sprintf(" (shard %d/%d from %s)", br.Shard.Index, br.Shard.Count, br.Shard.Source)
	}
	fmt.Fprintf(io.Out, "plan: %d runs%s, %d up to date, %d cannot be encoded\n", br.Runs, shard, br.Skipped, br.Failed)
}

// printBatchSummary is the one-screen summary on stderr: counts, then every
// failure and problem, since those are what a morning reader needs.
// prog, when the runs were encoded here, says their failures with flag
// advice (a merge has only the shards' words).
func printBatchSummary(io ioStreams, br *report.Batch, prog *progress.Display) {
	w := io.Err
	shard := ""
	if br.Shard != nil {
		shard = fmt.Sprintf(" shard %d/%d (%s)", br.Shard.Index, br.Shard.Count, br.Shard.Source)
	}
	fmt.Fprintf(w, "batch%s: %d runs: %d ok, %d degraded, %d failed, %d up to date; %d frames, %.1f s of video, in %.1f s\n",
		shard, br.Runs, br.OK, br.Degraded, br.Failed, br.Skipped, br.FramesWritten, br.VideoSeconds, br.WallSeconds)
	for _, f := range br.Failures {
		msg := f.Error
		if prog != nil {
			msg = prog.Failure(f.Run, f.Error)
		}
		fmt.Fprintf(w, "FAILED %s: %s\n", f.Run, msg)
	}
	for _, d := range br.DegradedRuns {
		fmt.Fprintf(w, "DEGRADED %s: frames missing or bad, see %s\n", d.Run, filepath.Join(br.Output, d.Report))
	}
	for _, r := range br.RunList {
		if len(r.Warnings) > 0 && r.Status != report.Failed {
			more := ""
			if len(r.Warnings) > 1 {
				more = fmt.Sprintf(" (and %d more warnings)", len(r.Warnings)-1)
			}
			fmt.Fprintf(w, "WARNING %s: %s%s, see %s\n", r.Run, r.Warnings[0], more, filepath.Join(br.Output, r.Report))
		}
	}
	for _, p := range br.Problems {
		fmt.Fprintf(w, "problem %s: %s\n", p.Path, p.Reason)
	}
}
