package pipeline

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

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// BatchReportName is the batch summary's file name in the output root.
const BatchReportName = "tdwstitch-batch.json"

// shardDir holds each shard's own summary until the shards are merged.
const shardDir = ".tdwstitch-shards"

// BatchOptions tune a batch. Options apply to every run; its Jobs is the
// whole machine's budget of streams encoded at once (default: one per CPU,
// each encoder then single-threaded, which kept 2 cores busiest).
type BatchOptions struct {
	Options
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

// BatchRun is one run's line in the batch summary.
type BatchRun struct {
	Run           string  `json:"run"`    // relative to the root, slash-separated
	Status        Status  `json:"status"` // ok, degraded, failed, skipped (up to date), planned (dry run)
	Error         string  `json:"error,omitempty"`
	Report        string  `json:"report"` // the run's report, relative to the output root
	Streams       int     `json:"streams"`
	ToEncode      int     `json:"to_encode"` // streams not up to date (dry run and live)
	FramesWritten int     `json:"frames_written"`
	VideoSeconds  float64 `json:"video_seconds"`
}

// BatchReport is the summary of a batch, OUT_ROOT/tdwstitch-batch.json.
// Field names are a contract like the run report's (README.md).
type BatchReport struct {
	Schema        int                `json:"schema"`
	Tool          string             `json:"tool"`
	Version       string             `json:"version"`
	Root          string             `json:"root"`
	Output        string             `json:"output"`
	Shard         *Shard             `json:"shard"`
	Started       time.Time          `json:"started"`
	WallSeconds   float64            `json:"wall_seconds"`
	Runs          int                `json:"runs"`
	OK            int                `json:"ok"`
	Degraded      int                `json:"degraded"` // written (or up to date), but frames were missing or bad
	Failed        int                `json:"failed"`
	Skipped       int                `json:"skipped"`
	FramesWritten int                `json:"frames_written"`
	VideoSeconds  float64            `json:"video_seconds"`
	Problems      []discover.Problem `json:"problems"`
	Failures      []BatchRun         `json:"failures"`
	// DegradedRuns lists the degraded runs (their reports say which frames).
	DegradedRuns []BatchRun `json:"degraded_runs"`
	RunList      []BatchRun `json:"run_list"`
}

// Batch encodes every run found under root into the same relative path under
// outRoot, skipping runs whose outputs are up to date, and writes the batch
// summary (or, for a shard, its share, merged once every shard has written
// its own). One failing run never stops the others; the error wraps
// ErrFailed when any failed.
func Batch(ctx context.Context, root, outRoot string, bo BatchOptions) (*BatchReport, error) {
	started := time.Now()
	if bo.Jobs <= 0 {
		bo.Jobs = runtime.NumCPU()
	}
	if bo.EncoderThreads <= 0 {
		bo.EncoderThreads = max(1, runtime.NumCPU()/bo.Jobs)
	}
	bo.applyDefaults()
	br := &BatchReport{Schema: ReportSchema, Tool: "tdwstitch", Version: version(), Root: absPath(root), Output: absPath(outRoot),
		Started: started.UTC(), Problems: []discover.Problem{}, Failures: []BatchRun{}, DegradedRuns: []BatchRun{}, RunList: []BatchRun{}}
	if bo.Shard.Count > 1 {
		br.Shard = &bo.Shard
	}
	rels, problems, err := discover.FindRuns(root)
	if err != nil {
		return br, err
	}
	br.Problems = append(br.Problems, problems...)
	rels = slices.DeleteFunc(rels, func(rel string) bool { return !bo.selects(rel) })

	bo.OnEvent(Event{Kind: BatchPlanned, Total: len(rels)})
	results := make([]BatchRun, len(rels))
	p := pool.New().WithMaxGoroutines(bo.Jobs)
	for i, rel := range rels {
		p.Go(func() { results[i] = bo.runOne(ctx, root, outRoot, rel) })
	}
	p.Wait()
	for _, r := range results {
		br.add(r)
	}
	br.WallSeconds = time.Since(started).Seconds()
	if bo.DryRun {
		return br, nil
	}
	merged, err := br.save(outRoot, bo.Shard)
	if err != nil {
		return br, err
	}
	if bo.Gallery && merged != nil {
		if _, err := WriteGallery(merged, outRoot); err != nil {
			return br, err
		}
	}
	if err := ctx.Err(); err != nil && br.Failed == 0 {
		return br, err
	}
	return br, br.Err()
}

// Err is the batch's outcome as an error: wrapping ErrFailed if any run
// failed, else ErrDegraded if any is degraded, else nil.
func (br *BatchReport) Err() error {
	return runsOutcome(int64(br.Failed), int64(br.Degraded), fmt.Sprintf(" of %d", br.Runs), BatchReportName)
}

// selects applies the shard and the include/exclude globs to a run.
func (bo BatchOptions) selects(rel string) bool {
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
func (bo BatchOptions) runOne(ctx context.Context, root, outRoot, rel string) BatchRun {
	runDir := filepath.Join(root, filepath.FromSlash(rel))
	outDir := filepath.Join(outRoot, filepath.FromSlash(rel))
	br := BatchRun{Run: rel, Report: path.Join(rel, ReportName)}
	if ctx.Err() != nil {
		br.Status, br.Error = Failed, "interrupted before it started: run the batch again to encode it"
		return br
	}
	opts := bo.Options
	// The batch's budget is spent on runs side by side, one process each.
	opts.Jobs, opts.OneProcess = 1, true
	if bo.DryRun {
		return planRun(runDir, outDir, rel, opts)
	}
	onEvent := opts.OnEvent
	opts.OnEvent = func(e Event) { e.Run = rel; onEvent(e) }
	onEvent(Event{Kind: RunStarted, Run: rel})
	rep, _, err := Encode(ctx, runDir, outDir, opts)
	br.Status, br.Streams = rep.Status, len(rep.Streams)
	for _, s := range rep.Streams {
		if !s.Kept {
			br.FramesWritten += s.FramesWritten
			br.VideoSeconds += s.Duration
		}
	}
	if isFailure(err) {
		br.Status, br.Error = Failed, strings.TrimPrefix(err.Error(), ErrFailed.Error()+": ")
	}
	onEvent(Event{Kind: RunDone, Run: rel, Status: br.Status, Err: err})
	return br
}

// planRun is a dry run's view of one run: its streams and how many are not
// up to date.
func planRun(runDir, outDir, rel string, opts Options) BatchRun {
	br := BatchRun{Run: rel, Report: path.Join(rel, ReportName), Status: Planned}
	run, err := discover.Find(runDir)
	if err == nil {
		var streams []*discover.Stream
		if streams, err = selectStreams(run, opts); err == nil {
			prev := readPrevious(outDir)
			br.Streams = len(streams)
			for _, s := range streams {
				if upToDate(prev, outDir, s.ID(), streamInputs(run, s, opts)) == nil {
					br.ToEncode++
				}
			}
			if br.ToEncode == 0 {
				br.Status = Skipped
			}
		}
	}
	if err != nil {
		br.Status, br.Error = Failed, err.Error()
	}
	return br
}

func (br *BatchReport) add(r BatchRun) {
	br.Runs++
	br.RunList = append(br.RunList, r)
	switch r.Status {
	case OK:
		br.OK++
	case Failed:
		br.Failed++
		br.Failures = append(br.Failures, r)
	case Degraded:
		br.Degraded++
		br.DegradedRuns = append(br.DegradedRuns, r)
	case Skipped:
		br.Skipped++
	}
	br.FramesWritten += r.FramesWritten
	br.VideoSeconds += r.VideoSeconds
}

// save writes the summary; a shard writes its share and, when it finds every
// shard's share written, the merged summary. It returns the complete summary,
// or nil when other shards are still to finish.
func (br *BatchReport) save(outRoot string, shard Shard) (*BatchReport, error) {
	if err := os.MkdirAll(outRoot, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output root %s: %w (choose a writable folder with -o)", outRoot, err)
	}
	if shard.Count <= 1 {
		return br, writeJSON(filepath.Join(outRoot, BatchReportName), br)
	}
	dir := filepath.Join(outRoot, shardDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.json", shard.Index, shard.Count)), br); err != nil {
		return nil, err
	}
	for k := range shard.Count {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.json", k, shard.Count))); err != nil {
			return nil, nil // not the last shard: the last one merges
		}
	}
	return MergeReports(outRoot)
}

// MergeReports builds the batch summary from every shard's summary in
// outRoot (their runs, problems and wall times) and writes it.
func MergeReports(outRoot string) (*BatchReport, error) {
	files, _ := filepath.Glob(filepath.Join(outRoot, shardDir, "shard-*-of-*.json"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no shard summaries in %s: run the shards (tdwstitch batch --shard K/N) first", filepath.Join(outRoot, shardDir))
	}
	merged := &BatchReport{Schema: ReportSchema, Tool: "tdwstitch", Version: version(), Output: absPath(outRoot),
		Problems: []discover.Problem{}, Failures: []BatchRun{}, DegradedRuns: []BatchRun{}, RunList: []BatchRun{}}
	counts := map[int]bool{}
	for _, f := range files {
		var part BatchReport
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
		if merged.Started.IsZero() || part.Started.Before(merged.Started) {
			merged.Started = part.Started
		}
		end := part.Started.Add(time.Duration(part.WallSeconds * float64(time.Second)))
		merged.WallSeconds = max(merged.WallSeconds, end.Sub(merged.Started).Seconds())
		merged.Problems = append(merged.Problems, part.Problems...)
		for _, r := range part.RunList {
			merged.add(r)
		}
	}
	if len(counts) > 1 {
		return nil, fmt.Errorf("shard summaries in %s come from different shard counts: remove %s and run the shards again", outRoot, shardDir)
	}
	slices.SortFunc(merged.RunList, func(a, b BatchRun) int { return strings.Compare(a.Run, b.Run) })
	slices.SortFunc(merged.Failures, func(a, b BatchRun) int { return strings.Compare(a.Run, b.Run) })
	slices.SortFunc(merged.DegradedRuns, func(a, b BatchRun) int { return strings.Compare(a.Run, b.Run) })
	return merged, writeJSON(filepath.Join(outRoot, BatchReportName), merged)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
