package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// mosaicInputs fingerprints what the mosaic is made from: every stream's
// inputs (see streamInputs) and the options that shape the mosaic.
func mosaicInputs(inputs []string, opts Options) string {
	h := sha256.New()
	fmt.Fprintf(h, "tdwstitch mosaic %d\n%s\nwidth=%d planes=%v range=%v crf=%d\n", report.Schema, strings.Join(inputs, ","), opts.MosaicWidth, opts.DepthPlanes, opts.DepthRange, opts.CRF)
	return hex.EncodeToString(h.Sum(nil))
}

// keptMosaic is the previous report's mosaic when its inputs are unchanged
// and its file is still in place, as large as it was written; else nil.
func keptMosaic(prev *report.Run, outDir, inputs string) *report.Stream {
	if prev == nil || prev.Mosaic == nil || prev.Mosaic.Status != report.OK || prev.Mosaic.Inputs != inputs {
		return nil
	}
	info, err := os.Stat(filepath.Join(outDir, mosaic.FileName))
	if err != nil || !info.Mode().IsRegular() || info.Size() != prev.Mosaic.Bytes {
		return nil
	}
	return prev.Mosaic
}

// makeMosaic makes the run's mosaic (or keeps an up-to-date one) and
// records it in rep. Asked for, it is part of the run: its failure fails
// the run.
func makeMosaic(ctx context.Context, rep, prev *report.Run, run *discover.Run, streams []*discover.Stream, inputs []string, outDir string, opts Options) error {
	key := mosaicInputs(inputs, opts)
	if kept := keptMosaic(prev, outDir, key); kept != nil && !opts.Force {
		kept.Kept = true
		rep.Mosaic = kept
		return nil
	}
	bounds := make([]frames.Bounded, len(streams))
	var good []*discover.Stream
	for i, s := range streams {
		if bounds[i] = frames.Bound(ctx, s, opts.checks()); bounds[i].Err == nil {
			good = append(good, bounds[i].Stream)
		}
	}
	var clock *timing.Clock
	if len(good) > 0 {
		// The streams' encodes said what the clock's problems were.
		clock, _, _ = place.Clock(run, good, rep.Audio, opts.placing())
	}
	release := holdEncoder(ctx, opts)
	defer release()
	emit := func(e event.Event) { e.Stream = "mosaic"; opts.OnEvent(e) }
	emit(event.Event{Kind: event.StreamStarted})
	sr, err := mosaic.Make(ctx, mosaic.Job{Streams: bounds, OutDir: outDir, Audio: rep.Audio, Clock: clock,
		MaxWidth: opts.MosaicWidth, Planes: opts.DepthPlanes, Range: opts.DepthRange}, opts.mosaic())
	sr.Inputs = key
	if err != nil {
		sr.Status, sr.Error = report.Failed, err.Error()
	}
	rep.Mosaic = sr
	emit(event.Event{Kind: event.StreamDone, Status: sr.Status, Output: filepath.Join(outDir, mosaic.FileName), Err: err})
	return err
}
