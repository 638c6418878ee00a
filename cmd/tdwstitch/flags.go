package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/advice"
	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/flagvalue"
	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// jobFlags are the flags that shape a job, shared by encode and probe.
type jobFlags struct {
	fps     float64
	crf     int
	preset  string
	audio   string
	noAudio bool
	timing  string
	fit     string
	vfr     bool
	passes  []string
	avatars []string
	gaps    string
	onBad   string
	strict  bool
	maxGap  int64
	maxPix  string
	stall   time.Duration
	jobs    int
	deep    bool
	ffmpeg  string
	mosaic  mosaicFlags
	// encodes: the encoding's own flags (--crf, --preset, --stall-timeout,
	// the mosaic's) were registered; probe has none of them.
	encodes bool
}

// mosaicFlags ask for the run's mosaic and shape it.
type mosaicFlags struct {
	on          bool
	preview     string
	width       int
	depthPlanes string
	depthRange  string
}

// register adds the flags that say which frames are read, how they are
// placed in time and checked (every command), and with encodes those of
// the encoding itself (not probe's). Each is filed under a help group.
func (f *jobFlags) register(fs *pflag.FlagSet, encodes bool) {
	f.encodes = encodes
	fs.Float64Var(&f.fps, "fps", 60, "output frame rate, `FPS` (TDW's usual target framerate is 60)")
	fs.StringVar(&f.audio, "audio", "", "audio `FILE` to mux into the img/albedo videos (default: the one audio file in RUN_DIR)")
	fs.BoolVar(&f.noAudio, "no-audio", false, "mux no audio, even when RUN_DIR has some")
	flagvalue.EnumVar(fs, &f.timing, "timing", "auto", []string{"auto", "sidecar", "mtime", "none"}, "frame capture times: auto (the run's timing.csv when it has one), sidecar, mtime (file times, an estimate), none (1/fps apart)")
	flagvalue.EnumVar(fs, &f.fit, "fit", "", []string{"audio"}, "with no capture times: audio spreads the frames evenly over the audio's duration")
	fs.BoolVar(&f.vfr, "vfr", false, "keep each frame's capture time (variable frame rate) instead of --fps slots; needs capture times")
	fs.StringSliceVar(&f.passes, "passes", nil, "only these `PASSES`, e.g. img,id (default: all found)")
	fs.StringSliceVar(&f.avatars, "avatars", nil, "only these `AVATARS`, e.g. a,b (default: all)")
	flagvalue.Group(fs, "Frames, audio and timing", "fps", "audio", "no-audio", "timing", "fit", "vfr", "passes", "avatars")

	flagvalue.EnumVar(fs, &f.gaps, "gaps", "hold", []string{"hold", "drop", "fail"}, "missing or bad frames: hold (repeat the previous frame), drop, or fail")
	flagvalue.EnumVar(fs, &f.onBad, "on-bad", "skip", []string{"skip", "fail"}, "a frame that fails validation: skip (then --gaps applies) or fail")
	fs.BoolVar(&f.strict, "strict", false, "fail a stream on any gap or bad frame (--gaps fail --on-bad fail)")
	fs.Int64Var(&f.maxGap, "max-gap", 600, "fail a stream whose frame numbers jump by more than `N` (a stray file far past the run); 0: no limit")
	fs.StringVar(&f.maxPix, "max-pixels", "8192x8192", "refuse frames whose header claims more pixels than `WxH` (or a count; 0: no limit): image bombs")
	fs.BoolVar(&f.deep, "deep-check", false, "decode every frame's pixels while validating, not just its structure")
	flagvalue.Group(fs, "Missing and damaged frames", "gaps", "on-bad", "strict", "max-gap", "max-pixels", "deep-check")

	fs.IntVar(&f.jobs, "jobs", 0, "`N` streams checked at once (default: half the CPUs)")
	fs.StringVar(&f.ffmpeg, "ffmpeg", "", "ffmpeg `PATH` (default: ffmpeg on PATH; ffprobe is looked for beside it)")
	if !encodes {
		flagvalue.Group(fs, "Running", "jobs", "ffmpeg")
		return
	}
	flagvalue.Group(fs, "Encoding", "jobs", "ffmpeg")
	fs.Lookup("jobs").Usage = "`N` streams encoded at once (default: one per CPU, up to the run's streams; 1: one at a time, all cores to each)"
	fs.IntVar(&f.crf, "crf", 18, "H.264 quality `CRF` of the img and albedo videos, 0-51, lower is better")
	flagvalue.EnumVar(fs, &f.preset, "preset", "medium", ffmpeg.Presets, "x264 speed preset of the img and albedo videos")
	fs.DurationVar(&f.stall, "stall-timeout", 5*time.Minute, "kill an encode whose input and output have not moved for this `DURATION`, e.g. 10m (a stopped ffmpeg, a hung disk); 0: never")
	flagvalue.Group(fs, "Encoding", "crf", "preset", "stall-timeout")

	fs.BoolVar(&f.mosaic.on, "mosaic", false, "also write OUT/mosaic.mp4: every pass side by side, labelled, depth in metres, with the audio (plays in a browser)")
	flagvalue.EnumVar(fs, &f.mosaic.preview, "preview", "", []string{"webp", "gif"}, "also write OUT/preview.webp (or .gif: --preview gif), a few seconds of the mosaic sampled over the run, at most 480 px wide and 2 MB (implies --mosaic)")
	fs.Lookup("preview").NoOptDefVal = "webp"
	fs.IntVar(&f.mosaic.width, "mosaic-width", 1920, "the mosaic's width at most, `PIXELS` (tiles are scaled down, never up)")
	fs.StringVar(&f.mosaic.depthPlanes, "depth-planes", "0.1,100", "the depth camera's `NEAR,FAR` clipping planes in metres (TDW's defaults), to read _depth in metres")
	fs.StringVar(&f.mosaic.depthRange, "depth-range", "", "metres the mosaic's depth colours span, `MIN,MAX` (default: the 1st-99th percentile of a sample of frames)")
	flagvalue.Group(fs, "Mosaic and preview", "mosaic", "preview", "mosaic-width", "depth-planes", "depth-range")
}

// apply sets the mosaic's options from the flags.
func (m mosaicFlags) apply(o *pipeline.Options) error {
	o.Mosaic, o.MosaicWidth, o.Preview = m.on, m.width, m.preview
	near, far, err := parsePair(m.depthPlanes)
	if err != nil {
		return usageErrorf("--depth-planes %q: %v", m.depthPlanes, err)
	}
	if !(near >= 0 && far > near && !math.IsInf(far, 0)) {
		return usageErrorf("--depth-planes %q: want NEAR,FAR in metres with 0 <= NEAR < FAR", m.depthPlanes)
	}
	o.DepthPlanes = mosaic.Planes{Near: near, Far: far}
	if m.depthRange != "" {
		lo, hi, err := parsePair(m.depthRange)
		if err != nil {
			return usageErrorf("--depth-range %q: %v", m.depthRange, err)
		}
		if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			return usageErrorf("--depth-range %q: want MIN,MAX in metres with MIN < MAX", m.depthRange)
		}
		o.DepthRange = &mosaic.Range{Min: lo, Max: hi}
	}
	return nil
}

// parsePair reads "A,B", two numbers.
func parsePair(v string) (a, b float64, err error) {
	x, y, ok := strings.Cut(v, ",")
	a, err1 := strconv.ParseFloat(strings.TrimSpace(x), 64)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(y), 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("want two numbers, A,B")
	}
	return a, b, nil
}

// options turns the flags into pipeline options, locating ffmpeg. Every
// value is checked here, before any work starts (exit 2 when wrong).
func (f *jobFlags) options(fs *pflag.FlagSet) (o pipeline.Options, err error) {
	o = pipeline.Options{
		FPS: f.fps, Audio: f.audio, NoAudio: f.noAudio,
		Avatars: f.avatars, Gaps: pipeline.GapPolicy(f.gaps), OnBad: pipeline.BadPolicy(f.onBad),
		Jobs: f.jobs, Deep: f.deep, Timing: f.timing, FitAudio: f.fit == "audio", VFR: f.vfr, MaxGap: f.maxGap,
	}
	if f.maxGap < 0 {
		return o, usageErrorf("--max-gap %d: pass 0 (no limit) or a number of frames", f.maxGap)
	}
	if f.maxGap == 0 {
		o.MaxGap = -1 // the library's "no limit"
	}
	if o.MaxPixels, err = parsePixels(f.maxPix); err != nil {
		return o, usageErrorf("--max-pixels %q: %v", f.maxPix, err)
	}
	if fs.Changed("jobs") && f.jobs < 1 {
		return o, usageErrorf("--jobs %d: pass 1 or more (default: chosen from the CPUs)", f.jobs)
	}
	if f.fit != "" && f.fit != "audio" {
		return o, usageErrorf("--fit %q: the only fit is 'audio'", f.fit)
	}
	if f.strict {
		o.Gaps, o.OnBad = pipeline.FailGaps, pipeline.FailBad
	}
	for _, p := range f.passes {
		pass, ok := tdw.ParsePass(p)
		if !ok {
			return o, usageErrorf("--passes: %q is not a TDW pass (img, id, category, mask, depth, depth_simple, normals, flow, albedo)", p)
		}
		o.Passes = append(o.Passes, pass)
	}
	if !(f.fps > 0) { // NaN too
		return o, usageErrorf("--fps %v must be positive", f.fps)
	}
	if f.encodes {
		if err := f.encoding(fs, &o); err != nil {
			return o, err
		}
	}
	if err := o.Validate(); err != nil {
		return o, usageErrorf("%s", advice.FlagError(err))
	}
	if f.audio != "" {
		if _, err := os.Stat(f.audio); err != nil {
			return o, usageErrorf("--audio %s: file not found; pass an audio file or --no-audio", f.audio)
		}
	}
	tool, err := ffmpeg.Locate(f.ffmpeg)
	if err != nil {
		return o, err
	}
	o.Tool = tool
	return o, nil
}

// encoding sets the options of the encoding itself from its flags (not
// probe's: it encodes nothing).
func (f *jobFlags) encoding(fs *pflag.FlagSet, o *pipeline.Options) error {
	o.CRF, o.Preset = f.crf, f.preset
	if fs.Changed("crf") && f.crf == 0 {
		o.CRF = -1 // explicit 0 (lossless x264), not the default
	}
	switch {
	case f.stall < 0:
		return usageErrorf("--stall-timeout %v: pass a positive duration, or 0 for never", f.stall)
	case f.stall == 0:
		o.StallTimeout = -1
	default:
		o.StallTimeout = f.stall
	}
	return f.mosaic.apply(o)
}

// parsePixels reads --max-pixels: "WxH" or a pixel count; 0 is no limit
// (the library's -1).
func parsePixels(v string) (int64, error) {
	w, h, isSize := strings.Cut(strings.ToLower(v), "x")
	if !isSize {
		h = "1"
	}
	wn, err1 := strconv.ParseInt(strings.TrimSpace(w), 10, 64)
	hn, err2 := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
	switch {
	case err1 != nil || err2 != nil || wn < 0 || hn < 0 || (wn > 0 && hn > (1<<62)/wn):
		return 0, errors.New("pass WxH (e.g. 8192x8192), a pixel count, or 0 for no limit")
	case wn*hn == 0:
		return -1, nil
	}
	return wn * hn, nil
}
