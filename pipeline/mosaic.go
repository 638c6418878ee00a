package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/sourcegraph/conc"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// mosaicInputs fingerprints what the mosaic is made from (mosaic.Inputs).
func mosaicInputs(inputs []string, opts Options, legend []report.LegendEntry) string {
	return mosaic.Inputs(inputs, fmt.Sprintf("width=%d planes=%v range=%v crf=%d legend=%v", opts.MosaicWidth, opts.DepthPlanes, opts.DepthRange, opts.CRF, legend))
}

// mosaicPlanned reports whether encodeBeside will make the run's mosaic
// (asked for, and none up to date is kept).
func mosaicPlanned(prev *report.Run, inputs []string, job runJob, legend []report.LegendEntry, opts Options) bool {
	return opts.Mosaic && job.seg == nil && (opts.Force || mosaic.Kept(prev, job.out, mosaicInputs(inputs, opts, legend)) == nil)
}

// makeMosaic makes the run's mosaic (or keeps an up-to-date one) and says
// it for the run's report. Asked for, it is part of the run: its failure
// fails the run. audio is the run's (nil: none).
func makeMosaic(ctx context.Context, prev *report.Run, audio *report.Audio, legend []report.LegendEntry, run *discover.Run, streams []*discover.Stream, inputs []string, outDir string, opts Options) (m, preview *report.Stream, err error) {
	key := mosaicInputs(inputs, opts, legend)
	if kept := mosaic.Kept(prev, outDir, key); kept != nil && !opts.Force {
		m = mosaic.KeptView(kept, true, outDir)
		if opts.Preview != "" && mosaic.PreviewKept(prev, outDir, opts.Preview) {
			return m, mosaic.KeptView(prev.Preview, true, outDir), nil
		}
		preview, err = mosaic.MakePreview(ctx, m, outDir, opts.Preview, opts.mosaic())
		return m, preview, err
	}
	bounds, clock := mosaic.Bound(ctx, run, streams, audio, opts.checks(), opts.placing())
	defer holdEncoder(ctx, opts)()
	emit := func(e event.Event) { e.Stream = "mosaic"; opts.OnEvent(e) }
	emit(event.Event{Kind: event.StreamStarted})
	sr, err := mosaic.Make(ctx, mosaic.Job{Streams: bounds, OutDir: outDir, Audio: audio, Clock: clock,
		MaxWidth: opts.MosaicWidth, Planes: opts.DepthPlanes, Range: opts.DepthRange, Legend: legend}, opts.mosaic())
	sr.Inputs = key
	if err != nil {
		sr.Status, sr.Error = report.Failed, err.Error()
		video.MarkStale(sr, filepath.Join(outDir, mosaic.FileName))
	}
	emit(event.Event{Kind: event.StreamDone, Status: sr.Status, Output: filepath.Join(outDir, mosaic.FileName), Err: err})
	if err != nil {
		return sr, nil, err
	}
	preview, err = mosaic.MakePreview(ctx, sr, outDir, opts.Preview, opts.mosaic())
	return sr, preview, err
}

// encodeBeside runs encode (the streams' encodes) and, when asked, the
// run's mosaic beside it: the mosaic reads the run's frames itself, so it
// need not wait for the videos. It returns encode's causes and the
// mosaic's error, and puts the mosaic in rep once both are done.
func encodeBeside(ctx context.Context, rep, prev *report.Run, run *discover.Run, streams []*discover.Stream, inputs []string, job runJob, opts Options, encode func() []error) (causes []error, mosaicErr error) {
	var (
		beside    conc.WaitGroup
		mosaicRep *report.Stream
		preview   *report.Stream
	)
	if opts.Mosaic && job.seg == nil {
		audio, legend := rep.Audio, rep.Legend // read here: encode may write the report meanwhile
		beside.Go(func() {
			mosaicRep, preview, mosaicErr = makeMosaic(ctx, prev, audio, legend, run, streams, inputs, job.out, opts)
		})
	}
	causes = encode()
	beside.Wait()
	if mosaicRep != nil {
		rep.Mosaic, rep.Preview = mosaicRep, preview
	} else if !opts.Mosaic && prev != nil {
		rep.Mosaic, rep.Preview = mosaic.Listed(prev, job.out, mosaicInputs(inputs, opts, rep.Legend))
	}
	return causes, mosaicErr
}

// withMosaicError is the run's outcome with its mosaic's failure, on one
// line: a batch prints each run's error as one.
func withMosaicError(err, mosaicErr error) error {
	if err == nil {
		return Failure(fmt.Errorf("mosaic: %w", mosaicErr))
	}
	return Failure(fmt.Errorf("%w; mosaic: %w", err, mosaicErr))
}

// settleViews lets the mosaic and preview asked for count in the run's
// status (see mosaic.Settle).
func settleViews(rep *report.Run, err error) error {
	if id := mosaic.Settle(rep); id != "" {
		return fmt.Errorf("%w: %s: frames were missing or bad (see the report)", ErrDegraded, id)
	}
	return err
}

// legendOf puts the run's segmentation legend in rep (mosaic.ReadLegend);
// the videos do not need it, so a broken one is a warning.
func legendOf(rep *report.Run, dir string, opts Options) {
	legend, err := mosaic.ReadLegend(dir)
	if err != nil {
		warn(rep, opts, err)
	}
	rep.Legend = legend
}

// joinedMosaic makes the mosaic (and preview) of a live run encoded in
// chunks from its joined videos (mosaic.FromVideos), and puts them in rep.
func joinedMosaic(ctx context.Context, rep *report.Run, runOut string, clock *timing.Clock, opts Options) error {
	job, err := mosaic.JoinedJob(rep, runOut, clock, opts.FPS)
	if err != nil {
		return err
	}
	job.MaxWidth, job.Planes, job.Range = opts.MosaicWidth, opts.DepthPlanes, opts.DepthRange
	emit := func(e event.Event) { e.Stream = "mosaic"; opts.OnEvent(e) }
	emit(event.Event{Kind: event.StreamStarted})
	defer holdEncoder(ctx, opts)()
	m, err := mosaic.FromVideos(ctx, job, opts.mosaic())
	if err != nil {
		m.Status, m.Error = report.Failed, err.Error()
		video.MarkStale(m, filepath.Join(runOut, mosaic.FileName))
	}
	emit(event.Event{Kind: event.StreamDone, Status: m.Status, Output: filepath.Join(runOut, mosaic.FileName), Err: err})
	rep.Mosaic = m
	if err != nil {
		return err
	}
	rep.Preview, err = mosaic.MakePreview(ctx, m, runOut, opts.Preview, opts.mosaic())
	return err
}
