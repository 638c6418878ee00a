package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// errUpToDate: every stream's inputs are unchanged since the last report.
var errUpToDate = errors.New("up to date")

// Encode turns the run in runDir into one video per stream under outDir and
// writes the run's report there, keeping outputs that are up to date. It
// returns the report and where it was written (empty when even that
// failed), and an error wrapping ErrFailed when anything failed, or
// ErrDegraded when every output was written but some is degraded.
func Encode(ctx context.Context, runDir, outDir string, opts Options) (*report.Run, string, error) {
	return encode(ctx, runJob{dir: runDir, out: outDir, find: discover.Find}, opts)
}

// EncodeSpool is Encode for a live run whose frames are in spoolDir, as
// stages/spool lays them out.
func EncodeSpool(ctx context.Context, spoolDir, outDir string, opts Options) (*report.Run, string, error) {
	return encode(ctx, runJob{dir: spoolDir, out: outDir, find: spool.Find}, opts)
}

// runJob is one run to encode: where its frames are and how they are laid
// out (find), where its videos go, and, for a chunk of a live run, which of
// its frames (seg).
type runJob struct {
	dir, out string
	find     func(dir string) (*discover.Run, error)
	seg      *segment
}

func encode(ctx context.Context, job runJob, opts Options) (*report.Run, string, error) {
	runDir, outDir := job.dir, job.out
	opts.ApplyDefaults()
	started := time.Now()
	rep := newReport(runDir, outDir, opts, started)
	// The output folder's lock is taken only before its first write: a
	// run with nothing to do writes nothing (a nightly re-run of a whole
	// dataset stays a matter of stat calls).
	var unlock func()
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	lock := func() (err error) {
		if unlock == nil {
			unlock, err = output.Lock(outDir)
		}
		return err
	}
	err := encodeRun(ctx, rep, job, opts, lock)
	var locked *lockedError
	if !errors.As(err, &locked) && !errors.Is(err, errUpToDate) {
		if lerr := lock(); lerr != nil { // to write the report of a run that failed early
			err = &lockedError{lerr}
		}
	}
	if errors.As(err, &locked) {
		// Another process owns the folder: its report is not ours to write.
		rep.Status, rep.Error, rep.Streams = report.Failed, err.Error(), nil
		return rep, "", Failure(err)
	}
	if errors.Is(err, errUpToDate) {
		// Nothing to do: the report on disk already describes the outputs.
		rep.Streams = rep.Compact().Streams
		path := filepath.Join(outDir, report.RunFile)
		switch rep.Status {
		case report.Failed:
			return rep, path, Failure(errors.New(prevError(rep)))
		case report.Degraded:
			return rep, path, fmt.Errorf("%w: kept outputs are degraded (see the report)", ErrDegraded)
		}
		return rep, path, nil
	}
	rep.Streams = rep.Compact().Streams
	path, err := finishReport(rep, outDir, started, err)
	return rep, path, err
}

// finishReport records the outcome of a run (err: why it failed, or
// ErrDegraded) in its report and writes it; the error wraps ErrFailed when
// anything failed, ErrDegraded when everything was written but damaged.
func finishReport(rep *report.Run, outDir string, started time.Time, err error) (string, error) {
	rep.WallSeconds = time.Since(started).Seconds()
	if err != nil && !errors.Is(err, ErrDegraded) {
		rep.Status, rep.Error = report.Failed, err.Error()
	}
	path, werr := writeRun(rep, outDir)
	if werr != nil {
		rep.Status, rep.Error = report.Failed, werr.Error()
		err = errors.Join(err, werr)
	}
	switch {
	case err == nil, werr == nil && errors.Is(err, ErrDegraded):
		return path, err
	default:
		return path, Failure(err)
	}
}

func encodeRun(ctx context.Context, rep *report.Run, job runJob, opts Options, lock func() error) error {
	// An output is kept only while the report's fingerprint of its inputs
	// and options matches; everything else is made again (--force: all).
	// Whatever happens, the new report lists every video left on disk.
	prev := readRun(job.out)
	run, streams, err := findStreams(ctx, rep, job, prev, opts)
	if err != nil {
		return err
	}
	force := opts.Force || job.seg != nil
	inputs, todo := keepUpToDate(rep, prev, run, streams, job.out, force, opts)
	v := planViews(prev, inputs, job, rep.Legend, opts)
	if todo == 0 && !v.mosaic && !v.preview && prev != nil && len(rep.Streams) == len(prev.Streams) {
		rep.Mosaic, rep.Preview = mosaic.KeptView(prev.Mosaic, opts.Mosaic, job.out), mosaic.KeptView(prev.Preview, opts.Preview != "", job.out)
		settle(rep)
		if rep.Status == prev.Status || rep.Status == report.Skipped && prev.Status == report.OK {
			// The report on disk says so already; what it warned of
			// (audio left out, say) still holds for the outputs kept.
			for _, w := range prev.Warnings {
				if !slices.Contains(rep.Warnings, w) {
					warnText(rep, opts, w)
				}
			}
			return errUpToDate
		}
	}
	if err := lock(); err != nil {
		return &lockedError{err}
	}
	// Decide again under the lock: another process may have written since.
	prev = readRun(job.out)
	inputs, todo = keepUpToDate(rep, prev, run, streams, job.out, force, opts)
	jobs, err := plan(ctx, rep, run, streams, job, opts)
	if err != nil {
		// A run-level failure fails each stream not yet done.
		return failRemaining(rep, err, streams, inputs, job.out, opts)
	}
	v = planViews(prev, inputs[:len(streams)], job, rep.Legend, opts)
	planned := video.Planned(jobs)
	opts.OnEvent(v.plan(planned, streams))
	opts = sideBySide(opts, planned.Streams)
	causes, mosaicErr := encodeBeside(ctx, rep, prev, v, run, streams, job, opts, func() []error {
		return encodeAll(ctx, rep, jobs, inputs, todo > 1, opts)
	})
	err = settle(rep, causes...)
	err = settleViews(rep, err)
	if mosaicErr != nil {
		rep.Status = report.Failed
		return withMosaicError(err, mosaicErr)
	}
	return err
}

// findStreams lists the run's streams that the options select (for a live
// chunk, those with frames in its window), recording in rep what the run
// holds besides.
func findStreams(ctx context.Context, rep *report.Run, job runJob, prev *report.Run, opts Options) (*discover.Run, []*discover.Stream, error) {
	run, err := job.find(job.dir)
	if err != nil {
		rep.Streams = video.Unselected(prev, job.out, nil)
		return nil, nil, err
	}
	rep.Ignored = ignored(run.Ignored)
	streams, err := selectStreams(run, opts)
	if err != nil {
		rep.Streams = video.Unselected(prev, job.out, nil)
		return nil, nil, err
	}
	warn(rep, opts, unmatched(run, opts)...)
	legendOf(rep, run.Dir, opts)
	if seg := job.seg; seg != nil {
		var strays []string
		streams, strays = seg.restrict(streams)
		warnText(rep, opts, strays...)
		if len(streams) == 0 {
			return nil, nil, fmt.Errorf("no frame of %s is in frames %d to %d", job.dir, seg.From, seg.To)
		}
	}
	for _, s := range streams {
		frames.PreferGood(ctx, s, opts.checks())
	}
	return run, streams, nil
}

// plan turns the run's streams still to encode (nil in rep.Streams) into
// stream jobs: each stream cut to its evidence, the run's audio and capture
// times, its output and, for a live chunk, its slot window. Jobs of streams
// already done are nil.
func plan(ctx context.Context, rep *report.Run, run *discover.Run, streams []*discover.Stream, job runJob, opts Options) ([]*video.Job, error) {
	audio, warnings, err := resolveAudio(ctx, run, opts)
	rep.Audio = audio
	warn(rep, opts, warnings...)
	if err != nil {
		return nil, err
	}
	bounds, good := boundStreams(ctx, streams, rep.Streams, job.seg, opts)
	var clock *timing.Clock
	if job.seg != nil {
		clock = job.seg.Clock // the spool's sidecar is still being written
	} else if len(good) > 0 {
		clock, warnings, err = place.Clock(run, good, audio, opts.placing())
		warn(rep, opts, warnings...)
		if err != nil {
			return nil, err
		}
		if w := place.AudioLength(run.Dir, audio, good, clock, opts.placing()); w != nil {
			warn(rep, opts, w)
		}
	}
	spans, notes := place.SpansOf(streams, bounds, rep.Streams, run.Streams, opts.MaxGap)
	if job.seg == nil { // a live run's chunks are placed on the run's own grid
		warnText(rep, opts, notes...)
	}
	jobs := make([]*video.Job, len(streams))
	for i := range streams {
		if rep.Streams[i] == nil {
			jobs[i] = &video.Job{Bounded: bounds[i], OutDir: job.out, Audio: audio, Clock: clock, Part: job.seg.part(streams[i], spans[i])}
		}
	}
	return jobs, nil
}

// sideBySide is opts for a run that will encode streams streams. With
// Jobs left to the default, as many run at once as there are CPUs (at most
// one per stream); under serve's process-wide limit (Encoders), at most
// its Jobs. Whenever several run at once, each is one ffmpeg that reads
// its image files itself (OneProcess): the streams fill the cores between
// them, so a decoder process and pipe beside each encoder would only cost
// CPU. Each gets an equal share of the cores as its threads, at least 2,
// so that the costliest stream, started first and ending alone, can still
// use more than one (unless EncoderThreads was set). A caller that chose
// OneProcess itself (batch) keeps its settings.
func sideBySide(opts Options, streams int) Options {
	if opts.OneProcess || streams < 2 {
		return opts
	}
	switch {
	case opts.Encoders != nil: // serve: its slots, shared by every run
		opts.Jobs = min(streams, opts.Jobs)
	case opts.jobsAuto:
		opts.Jobs = min(streams, runtime.NumCPU())
	}
	if opts.Jobs > 1 {
		opts.OneProcess = true
		if opts.threadsAuto {
			opts.EncoderThreads = max(2, (runtime.NumCPU()+opts.Jobs-1)/opts.Jobs)
		}
	}
	return opts
}

// encodeAll runs the stream jobs, Options.Jobs at once (each holding an
// encoder slot), and puts each stream's report in its place in rep. With
// rewrite, the report is written as each stream finishes, so a run killed
// half-way keeps what it finished (status "running" tells it stopped).
func encodeAll(ctx context.Context, rep *report.Run, jobs []*video.Job, inputs []string, rewrite bool, opts Options) (causes []error) {
	causes = make([]error, len(jobs))
	var mu sync.Mutex
	rep.Status = report.Running
	p := pool.New().WithMaxGoroutines(opts.Jobs)
	// The costliest streams start first, so that the cheap ones fill the
	// other cores around them instead of one costly stream ending alone.
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(jobs[b].Cost(), jobs[a].Cost()) })
	for _, i := range order {
		job := jobs[i]
		if job == nil {
			continue
		}
		p.Go(func() {
			release := holdEncoder(ctx, opts)
			defer release()
			sr, cause := video.Encode(ctx, *job, opts.video())
			sr.Inputs = inputs[i]
			mu.Lock()
			defer mu.Unlock()
			rep.Streams[i], causes[i] = sr, cause
			if rewrite {
				writeRun(rep, job.OutDir)
			}
		})
	}
	p.Wait()
	return causes
}

// failRemaining records a run-level failure (err) for each stream not yet done,
// saying whether an earlier video of it is still on disk, and returns err.
func failRemaining(rep *report.Run, err error, streams []*discover.Stream, inputs []string, outDir string, opts Options) error {
	for i, s := range streams {
		if rep.Streams[i] == nil {
			sr := video.NewReport(frames.Bounded{Stream: s}, opts.video())
			sr.Status, sr.Error, sr.Inputs = report.Failed, "not encoded: "+err.Error(), inputs[i]
			video.MarkStale(sr, filepath.Join(outDir, filepath.FromSlash(sr.Output)))
			rep.Streams[i] = sr
		}
	}
	return err
}

// keepUpToDate fingerprints each selected stream's inputs and puts the
// previous report's entry in rep.Streams for those whose outputs are up to
// date (none when force) (nil slots are to encode, todo of them), then the entries of the
// streams not selected whose videos are still on disk.
func keepUpToDate(rep, prev *report.Run, run *discover.Run, streams []*discover.Stream, outDir string, force bool, opts Options) (inputs []string, todo int) {
	rep.Streams = make([]*report.Stream, len(streams))
	inputs = make([]string, len(streams))
	for i, s := range streams {
		inputs[i] = streamInputs(run, s, opts)
		if !force {
			rep.Streams[i] = upToDate(prev, outDir, s.ID(), inputs[i])
		}
		if rep.Streams[i] == nil {
			todo++
		} else {
			rep.Streams[i].Kept = true
		}
	}
	rep.Streams = append(rep.Streams, video.Unselected(prev, outDir, streams)...)
	return inputs, todo
}

// boundStreams bounds the range of each stream to encode (nil in done) by
// its good frames, before anything is timed or encoded: a few reads per
// stream. good are the streams that can be encoded, for the clock.
func boundStreams(ctx context.Context, streams []*discover.Stream, done []*report.Stream, seg *segment, opts Options) (bounds []frames.Bounded, good []*discover.Stream) {
	bounds = make([]frames.Bounded, len(streams))
	for i, s := range streams {
		if done[i] != nil {
			continue
		}
		// A live run's chunks end where the next begins; its last chunk
		// ends at the last good frame, like any run.
		bounds[i] = frames.Bounded{Stream: s}
		if seg == nil || seg.Next < 0 {
			bounds[i] = frames.Bound(ctx, s, opts.checks())
		}
		if seg != nil {
			bounds[i].Outside = slices.Concat(seg.outside[s.ID()], bounds[i].Outside)
		}
		if bounds[i].Err == nil {
			good = append(good, bounds[i].Stream)
		}
	}
	return bounds, good
}

// prevError is what failed in a run whose report is unchanged: its failed
// streams' errors.
func prevError(rep *report.Run) string {
	var msgs []string
	for _, sr := range rep.Streams {
		if sr.Status == report.Failed && !sr.NotSelected {
			msgs = append(msgs, sr.ID+": "+sr.Error)
		}
	}
	return "unchanged since it failed: " + strings.Join(msgs, "; ")
}

// lockedError: the output folder is another process's (see output.Lock).
type lockedError struct{ err error }

func (e *lockedError) Error() string { return e.err.Error() }
func (e *lockedError) Unwrap() error { return e.err }

// Outcome is the outcome of many runs as an error: wrapping ErrFailed if
// any failed, else ErrDegraded if any is degraded, else nil. of says out of
// how many (" of 6"; "" when open-ended), see where the details are.
func Outcome(failed, degraded int64, of, see string) error {
	switch {
	case failed > 0:
		return Failure(fmt.Errorf("%d%s runs failed (see %s)", failed, of, see))
	case degraded > 0:
		return fmt.Errorf("%w: %d%s runs are degraded: frames missing or bad (see %s)", ErrDegraded, degraded, of, see)
	}
	return nil
}

// IsFailure reports whether err means something failed: any error but one
// that only says the outputs are degraded.
func IsFailure(err error) bool {
	return err != nil && (errors.Is(err, ErrFailed) || !errors.Is(err, ErrDegraded))
}

// settle sets the run's status from its selected streams': failed if any
// failed (the error lists them, wrapping the first one's cause), degraded if any is (the
// error wraps ErrDegraded), skipped if every one was kept up to date, else
// ok. Streams listed only because their videos are on disk do not count.
func settle(rep *report.Run, causes ...error) error {
	var failed, degraded []string
	var first error // the first failed stream's cause, for the CLI's advice
	kept, selected := 0, 0
	for i, sr := range rep.Streams {
		if sr.NotSelected {
			continue // listed with its last result; not this run's outcome
		}
		selected++
		switch sr.Status {
		case report.Failed:
			failed = append(failed, sr.ID+": "+sr.Error)
			if first == nil && i < len(causes) {
				first = causes[i]
			}
		case report.Degraded:
			degraded = append(degraded, sr.ID)
		}
		if sr.Kept {
			kept++
		}
	}
	switch {
	case len(failed) > 0:
		rep.Status = report.Failed
		return &video.ReportedError{Msg: fmt.Sprintf("%d of %d streams failed: %s", len(failed), selected, strings.Join(failed, "; ")), Cause: first}
	case len(degraded) > 0:
		rep.Status = report.Degraded
		return fmt.Errorf("%w: %s: frames were missing or bad (see the report)", ErrDegraded, strings.Join(degraded, ", "))
	case kept == selected:
		rep.Status = report.Skipped
	default:
		rep.Status = report.OK
	}
	return nil
}

func newReport(runDir, outDir string, opts Options, started time.Time) *report.Run {
	return &report.Run{
		Schema: report.Schema, Tool: report.Tool, Version: report.Version(), FFmpeg: opts.Tool.Version,
		Run: absPath(runDir), Output: absPath(outDir), Started: started.UTC(),
		Options: report.Options{FPS: opts.FPS, CRF: opts.CRF, Preset: opts.Preset, Gaps: string(opts.Gaps), OnBad: string(opts.OnBad), MaxGap: opts.MaxGap, MaxPixels: opts.MaxPixels, Deep: opts.Deep,
			Timing: opts.Timing, Fit: opts.FitAudio, VFR: opts.VFR},
		Streams: []*report.Stream{}, Ignored: []report.Ignored{}, Warnings: []string{},
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// unmatched says which of the passes and avatars asked for the run does not
// have: the rest is encoded, and the report says what was not there.
func unmatched(run *discover.Run, opts Options) []error {
	var notes []error
	for _, p := range opts.Passes {
		if !slices.ContainsFunc(run.Streams, func(s *discover.Stream) bool { return s.Pass == p }) {
			notes = append(notes, &AbsentError{Pass: string(p), Dir: run.Dir})
		}
	}
	for _, a := range opts.Avatars {
		if !slices.ContainsFunc(run.Streams, func(s *discover.Stream) bool { return s.Avatar == a }) {
			notes = append(notes, &AbsentError{Avatar: a, Dir: run.Dir})
		}
	}
	return notes
}

// selectStreams applies --passes and --avatars and explains an empty result.
func selectStreams(run *discover.Run, opts Options) ([]*discover.Stream, error) {
	var out []*discover.Stream
	for _, s := range run.Streams {
		if len(opts.Passes) > 0 && !slices.Contains(opts.Passes, s.Pass) {
			continue
		}
		if len(opts.Avatars) > 0 && !slices.Contains(opts.Avatars, s.Avatar) {
			continue
		}
		out = append(out, s)
	}
	if len(out) > 0 {
		return out, nil
	}
	msg := fmt.Sprintf("no TDW frames found in %s (expected e.g. RUN/<avatar>/img_0000.jpg or RUN/img_0000.jpg)", run.Dir)
	if len(run.Streams) > 0 {
		var have []string
		for _, s := range run.Streams {
			have = append(have, s.ID())
		}
		sel := &SelectionError{Dir: run.Dir, Found: have, Avatars: opts.Avatars}
		for _, p := range opts.Passes {
			sel.Passes = append(sel.Passes, string(p))
		}
		return nil, sel
	} else if len(run.Ignored) > 0 {
		msg += fmt.Sprintf("; %d image files were not TDW frame names, e.g. %s: %s", len(run.Ignored), run.Ignored[0].Path, run.Ignored[0].Reason)
	}
	return nil, errors.New(msg)
}

// resolveAudio picks the audio file for the run (place.ResolveAudio).
func resolveAudio(ctx context.Context, run *discover.Run, opts Options) (*report.Audio, []error, error) {
	return place.ResolveAudio(ctx, run, opts.Tool, place.AudioAsked{Path: opts.Audio, None: opts.NoAudio, Strict: opts.OnBad == FailBad})
}

// Plan is what Encode would do with the run in runDir, from stat calls
// only: how many streams it selects, and how many of them are not up to
// date in outDir (a dry run).
func Plan(runDir, outDir string, opts Options) (streams, toEncode int, err error) {
	opts.ApplyDefaults()
	run, err := discover.Find(runDir)
	if err != nil {
		return 0, 0, err
	}
	selected, err := selectStreams(run, opts)
	if err != nil {
		return 0, 0, err
	}
	prev := readRun(outDir)
	for _, s := range selected {
		if upToDate(prev, outDir, s.ID(), streamInputs(run, s, opts)) == nil {
			toEncode++
		}
	}
	return len(selected), toEncode, nil
}
