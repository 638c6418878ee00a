package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/pipeline"
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
	jobs    int
	deep    bool
	ffmpeg  string
}

func (f *jobFlags) register(fs *pflag.FlagSet) {
	fs.Float64Var(&f.fps, "fps", 60, "output frame rate (TDW's usual target framerate is 60)")
	fs.IntVar(&f.crf, "crf", 18, "H.264 quality of the img and albedo videos, 0-51, lower is better")
	fs.StringVar(&f.preset, "preset", "medium", "x264 speed preset (ultrafast ... veryslow)")
	fs.StringVar(&f.audio, "audio", "", "audio `FILE` to mux into the img/albedo videos (default: the one audio file in RUN_DIR)")
	fs.BoolVar(&f.noAudio, "no-audio", false, "mux no audio, even when RUN_DIR has some")
	fs.StringVar(&f.timing, "timing", "auto", "frame capture times: auto (RUN/timing.csv when present), sidecar, mtime (file times, an estimate), none (1/fps apart)")
	fs.StringVar(&f.fit, "fit", "", "with no capture times: 'audio' spreads the frames evenly over the audio's duration")
	fs.BoolVar(&f.vfr, "vfr", false, "keep each frame's capture time (variable frame rate) instead of --fps slots; needs capture times")
	fs.StringSliceVar(&f.passes, "passes", nil, "encode only these passes, e.g. img,id (default: all found)")
	fs.StringSliceVar(&f.avatars, "avatars", nil, "encode only these avatars (sub-folders) (default: all)")
	fs.StringVar(&f.gaps, "gaps", "hold", "missing or bad frames: hold (repeat the previous frame), drop, or fail")
	fs.StringVar(&f.onBad, "on-bad", "skip", "a frame that fails validation: skip (then --gaps applies) or fail")
	fs.BoolVar(&f.strict, "strict", false, "fail a stream on any gap or bad frame (--gaps fail --on-bad fail)")
	fs.IntVar(&f.jobs, "jobs", 0, "streams encoded at once (default: half the CPUs)")
	fs.BoolVar(&f.deep, "deep-check", false, "decode every frame's pixels while validating, not just its structure")
	fs.StringVar(&f.ffmpeg, "ffmpeg", "", "ffmpeg `PATH` (default: ffmpeg on PATH; ffprobe is looked for beside it)")
}

// options turns the flags into pipeline options, locating ffmpeg.
func (f *jobFlags) options() (pipeline.Options, error) {
	o := pipeline.Options{
		FPS: f.fps, CRF: f.crf, Preset: f.preset, Audio: f.audio, NoAudio: f.noAudio,
		Avatars: f.avatars, Gaps: pipeline.GapPolicy(f.gaps), OnBad: pipeline.BadPolicy(f.onBad),
		Jobs: f.jobs, Deep: f.deep, Timing: f.timing, FitAudio: f.fit == "audio", VFR: f.vfr,
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
	if f.fps <= 0 {
		return o, usageErrorf("--fps %v must be positive", f.fps)
	}
	if err := o.Validate(); err != nil {
		return o, usageErrorf("%v", err)
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
