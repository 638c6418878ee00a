package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/gallery"
	"github.com/tdwstitch/tdwstitch/pipeline/output"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// shardDir holds each shard's own summary until the shards are merged.
const shardDir = ".tdwstitch-shards"

// Options tune a batch. Options apply to every run; its Jobs is the
// whole machine's budget of streams encoded at once (default: one per CPU,
// each encoder then single-threaded, which kept 2 cores busiest).
type Options struct {
	pipeline.Options
	// Include and Exclude are globs (path.Match) over each run's path relative
	// to the root, or over its last element: "scene1/*", "run_00??".
	Include, Exclude []string
	// Shard limits the batch to one shard's runs. Zero: every run.
	Shard Shard
	// DryRun plans without encoding.
	DryRun bool
	// Gallery writes OUT_ROOT/index.html once the summary is complete.
	Gallery bool
}

// Run encodes every run found under root into the same relative path under
// outRoot, skipping runs whose outputs are up to date, and writes the batch
// summary (or, for a shard, its share, merged once every shard has written
// its own). One failing run never stops the others; the error wraps
// ErrFailed when any failed.
func Run(ctx context.Context, root, outRoot string, bo Options) (*report.Batch, error) {
	started := time.Now()
	if bo.Jobs <= 0 {
		bo.Jobs = runtime.NumCPU()
	}
	if bo.EncoderThreads <= 0 {
		bo.EncoderThreads = max(1, runtime.NumCPU()/bo.Jobs)
	}
	bo.ApplyDefaults()
	br := &report.Batch{Schema: report.Schema, Tool: report.Tool, Version: report.Version(), FFmpeg: bo.Tool.Version, Root: absPath(root), Output: absPath(outRoot),
		Started: started.UTC(), Problems: []report.Problem{}, Failures: []report.BatchRun{}, DegradedRuns: []report.BatchRun{}, RunList: []report.BatchRun{}}
	if bo.Shard.Count > 1 {
		sh := report.Shard(bo.Shard)
		br.Shard = &sh
	}
	rels, problems, err := discover.FindRuns(root)
	if err != nil {
		return br, err
	}
	for _, p := range problems {
		br.Problems = append(br.Problems, report.Problem(p))
	}
	rels = slices.DeleteFunc(rels, func(rel string) bool { return !bo.selects(rel) })

	bo.OnEvent(event.Event{Kind: event.BatchPlanned, Total: len(rels)})
	results := make([]report.BatchRun, len(rels))
	p := pool.New().WithMaxGoroutines(bo.Jobs)
	for i, rel := range rels {
		p.Go(func() { results[i] = bo.runOne(ctx, root, outRoot, rel) })
	}
	p.Wait()
	for _, r := range results {
		br.Add(r)
	}
	br.WallSeconds = time.Since(started).Seconds()
	if bo.DryRun {
		return br, nil
	}
	merged, err := saveBatch(br, outRoot, bo.Shard)
	if err != nil {
		return br, err
	}
	if bo.Gallery && merged != nil {
		if _, err := gallery.Write(ctx, merged, outRoot); err != nil {
			return br, err
		}
	}
	if err := ctx.Err(); err != nil && br.Failed == 0 {
		return br, err
	}
	return br, Err(br)
}

// Err is a batch's outcome as an error: wrapping ErrFailed if any run
// failed, else ErrDegraded if any is degraded, else nil.
func Err(br *report.Batch) error {
	return pipeline.Outcome(int64(br.Failed), int64(br.Degraded), fmt.Sprintf(" of %d", br.Runs), report.BatchFile)
}

// selects applies the shard and the include/exclude globs to a run.
func (bo Options) selects(rel string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			if ok, _ := path.Match(g, rel); ok {
				return true
			}
			if ok, _ := path.Match(g, path.Base(rel)); ok {
				return true
			}
		}
		return false
	}
	if len(bo.Include) > 0 && !match(bo.Include) {
		return false
	}
	return !match(bo.Exclude) && bo.Shard.Owns(rel)
}

// runOne encodes (or, for a dry run, plans) one run.
func (bo Options) runOne(ctx context.Context, root, outRoot, rel string) report.BatchRun {
	runDir := filepath.Join(root, filepath.FromSlash(rel))
	outDir := filepath.Join(outRoot, filepath.FromSlash(rel))
	br := report.BatchRun{Run: rel, Report: path.Join(rel, report.RunFile)}
	if ctx.Err() != nil {
		br.Status, br.Error = report.Failed, "interrupted before it started: run the batch again to encode it"
		return br
	}
	opts := bo.Options
	// The batch's budget is spent on runs side by side, one process each.
	opts.Jobs, opts.OneProcess = 1, true
	if bo.DryRun {
		return planRun(runDir, outDir, rel, opts)
	}
	onEvent := opts.OnEvent
	opts.OnEvent = func(e event.Event) { e.Run = rel; onEvent(e) }
	onEvent(event.Event{Kind: event.RunStarted, Run: rel})
	rep, _, err := pipeline.Encode(ctx, runDir, outDir, opts)
	br.Status, br.Streams, br.Warnings = rep.Status, len(rep.Streams), rep.Warnings
	for _, s := range rep.Streams {
		if !s.Kept {
			br.FramesWritten += s.FramesWritten
			br.VideoSeconds += s.Duration
		}
	}
	if pipeline.IsFailure(err) {
		br.Status, br.Error = report.Failed, err.Error()
	}
	onEvent(event.Event{Kind: event.RunDone, Run: rel, Status: br.Status, Err: err})
	return br
}

// planRun is a dry run's view of one run: its streams and how many are not
// up to date.
func planRun(runDir, outDir, rel string, opts pipeline.Options) report.BatchRun {
	br := report.BatchRun{Run: rel, Report: path.Join(rel, report.RunFile), Status: report.Planned}
	streams, todo, err := pipeline.Plan(runDir, outDir, opts)
	br.Streams, br.ToEncode = streams, todo
	switch {
	case err != nil:
		br.Status, br.Error = report.Failed, err.Error()
	case todo == 0:
		br.Status = report.Skipped
	}
	return br
}

// saveBatch writes the summary; a shard writes its share and, when it finds every
// shard's share written, the merged summary. It returns the complete summary,
// or nil when other shards are still to finish.
func saveBatch(br *report.Batch, outRoot string, shard Shard) (*report.Batch, error) {
	if err := os.MkdirAll(outRoot, 0o755); err != nil {
		return nil, &output.FolderError{What: "create", Dir: outRoot, Err: err}
	}
	if shard.Count <= 1 {
		return br, report.Write(filepath.Join(outRoot, report.BatchFile), br)
	}
	dir := filepath.Join(outRoot, shardDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := report.Write(filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.json", shard.Index, shard.Count)), br); err != nil {
		return nil, err
	}
	for k := range shard.Count {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.json", k, shard.Count))); err != nil {
			return nil, nil // not the last shard: the last one merges
		}
	}
	return Merge(outRoot)
}

// Merge builds the batch summary from every shard's summary in
// outRoot (their runs, problems and wall times) and writes it.
func Merge(outRoot string) (*report.Batch, error) {
	files, _ := filepath.Glob(filepath.Join(outRoot, shardDir, "shard-*-of-*.json"))
	if len(files) == 0 {
		return nil, &NoShardsError{Dir: filepath.Join(outRoot, shardDir)}
	}
	merged := &report.Batch{Schema: report.Schema, Tool: report.Tool, Version: report.Version(), Output: absPath(outRoot),
		Problems: []report.Problem{}, Failures: []report.BatchRun{}, DegradedRuns: []report.BatchRun{}, RunList: []report.BatchRun{}}
	counts := map[int]bool{}
	for _, f := range files {
		var part report.Batch
		b, err := os.ReadFile(f)
		if err == nil {
			err = json.Unmarshal(b, &part)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read shard summary %s: %w (run that shard again)", f, err)
		}
		if part.Shard != nil {
			counts[part.Shard.Count] = true
		}
		merged.Root = part.Root
		if merged.FFmpeg == "" {
			merged.FFmpeg = part.FFmpeg
		}
		if merged.Started.IsZero() || part.Started.Before(merged.Started) {
			merged.Started = part.Started
		}
		end := part.Started.Add(time.Duration(part.WallSeconds * float64(time.Second)))
		merged.WallSeconds = max(merged.WallSeconds, end.Sub(merged.Started).Seconds())
		merged.Problems = append(merged.Problems, part.Problems...)
		for _, r := range part.RunList {
			merged.Add(r)
		}
	}
	if len(counts) > 1 {
		return nil, fmt.Errorf("shard summaries in %s come from different shard counts: remove %s and run the shards again", outRoot, shardDir)
	}
	slices.SortFunc(merged.RunList, func(a, b report.BatchRun) int { return strings.Compare(a.Run, b.Run) })
	slices.SortFunc(merged.Failures, func(a, b report.BatchRun) int { return strings.Compare(a.Run, b.Run) })
	slices.SortFunc(merged.DegradedRuns, func(a, b report.BatchRun) int { return strings.Compare(a.Run, b.Run) })
	return merged, report.Write(filepath.Join(outRoot, report.BatchFile), merged)
}

// absPath is p made absolute for the summary, or p when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
