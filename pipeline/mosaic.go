package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sourcegraph/conc"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// mosaicInputs fingerprints what the mosaic is made from: every stream's
// inputs (see streamInputs) and the options that shape the mosaic.
func mosaicInputs(inputs []string, opts Options) string {
	h := sha256.New()
	fmt.Fprintf(h, "tdwstitch mosaic %d\n%s\nwidth=%d planes=%v range=%v crf=%d preview=%s\n", report.Schema, strings.Join(inputs, ","), opts.MosaicWidth, opts.DepthPlanes, opts.DepthRange, opts.CRF, opts.Preview)
	return hex.EncodeToString(h.Sum(nil))
}

// makeMosaic makes the run's mosaic (or keeps an up-to-date one) and says
// it for the run's report. Asked for, it is part of the run: its failure
// fails the run. audio is the run's (nil: none).
func makeMosaic(ctx context.Context, prev *report.Run, audio *report.Audio, run *discover.Run, streams []*discover.Stream, inputs []string, outDir string, opts Options) (m, preview *report.Stream, err error) {
	key := mosaicInputs(inputs, opts)
	if kept := mosaic.Kept(prev, outDir, key); kept != nil && !opts.Force && (opts.Preview == "" || prev.Preview != nil && output.StillOnDisk(prev.Preview, outDir) != nil) {
		kept.Kept = true
		if opts.Preview != "" {
			prev.Preview.NotSelected = false
		}
		return kept, prev.Preview, nil
	}
	bounds, clock := mosaic.Bound(ctx, run, streams, audio, opts.checks(), opts.placing())
	release := holdEncoder(ctx, opts)
	defer release()
	emit := func(e event.Event) { e.Stream = "mosaic"; opts.OnEvent(e) }
	emit(event.Event{Kind: event.StreamStarted})
	sr, err := mosaic.Make(ctx, mosaic.Job{Streams: bounds, OutDir: outDir, Audio: audio, Clock: clock,
		MaxWidth: opts.MosaicWidth, Planes: opts.DepthPlanes, Range: opts.DepthRange}, opts.mosaic())
	sr.Inputs = key
	if err != nil {
		sr.Status, sr.Error = report.Failed, err.Error()
	}
	emit(event.Event{Kind: event.StreamDone, Status: sr.Status, Output: filepath.Join(outDir, mosaic.FileName), Err: err})
	if err != nil || opts.Preview == "" {
		return sr, nil, err
	}
	preview, err = mosaic.Preview(ctx, sr, outDir, opts.Preview, opts.mosaic())
	if err != nil {
		preview.Status, preview.Error = report.Failed, err.Error()
	}
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
		audio := rep.Audio // read here: encode may write the report meanwhile
		beside.Go(func() {
			mosaicRep, preview, mosaicErr = makeMosaic(ctx, prev, audio, run, streams, inputs, job.out, opts)
		})
	}
	causes = encode()
	beside.Wait()
	if mosaicRep != nil {
		rep.Mosaic, rep.Preview = mosaicRep, preview
	} else if !opts.Mosaic && prev != nil && prev.Mosaic != nil {
		rep.Mosaic = output.StillOnDisk(prev.Mosaic, job.out) // still on disk, so still listed
		if prev.Preview != nil {
			rep.Preview = output.StillOnDisk(prev.Preview, job.out)
		}
	}
	return causes, mosaicErr
}
