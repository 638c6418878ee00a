package pipeline

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// GapPolicy says what fills a frame number with no good frame.
type GapPolicy string

const (
	// Hold repeats the previous good frame, so later frames keep their time.
	Hold GapPolicy = "hold"
	// Drop leaves the slot out: the video gets shorter and later frames earlier.
	Drop GapPolicy = "drop"
	// FailGaps fails the stream when a frame number is missing, or a bad
	// frame's slot would need filling (--on-bad skip makes it a gap).
	FailGaps GapPolicy = "fail"
)

// BadPolicy says what happens to a frame that fails validation.
type BadPolicy string

const (
	// Skip treats a bad frame as missing: the gap policy fills its slot.
	Skip BadPolicy = "skip"
	// FailBad fails the stream on its first bad frame.
	FailBad BadPolicy = "fail"
)

// Options tune a job. The zero value of every field means its documented default.
type Options struct {
	// FPS is the output frame rate. Default 60: TDW's usual target framerate.
	FPS float64
	// CRF is the H.264 quality of visual passes (lower is better). Default 18:
	// visually lossless for TDW's renders at a moderate size. -1 asks for
	// x264's CRF 0 (0 itself means the default).
	CRF int
	// Preset is x264's speed preset. Default "medium", the one-liner's.
	Preset string
	// Gaps fills missing frame numbers. Default Hold, so timing stays right.
	Gaps GapPolicy
	// OnBad handles frames that fail validation. Default Skip (then Gaps applies).
	OnBad BadPolicy
	// MaxGap is the widest gap, in frame numbers, between consecutive frame
	// files of a stream's range (and, in output slots, between consecutive
	// capture times); a wider one fails the stream, or makes the capture
	// times unusable, since a stray file named like a frame far past the run
	// would otherwise be held for hours. Each file can so add at most MaxGap
	// held slots. Default 600 (10 s at 60 fps); negative: no limit.
	MaxGap int64
	// Audio is the audio file to mux into visual passes. Default: the one
	// audio file in the run folder, if there is exactly one.
	Audio string
	// NoAudio encodes no audio even when the run folder has some.
	NoAudio bool
	// Timing is where frames' capture times come from: place.TimingAuto (default:
	// the run's timing.csv when present), place.TimingSidecar, place.TimingMtime or
	// place.TimingNone. Capture times place frames in streams that carry audio, or
	// in every stream when Timing is given explicitly (not auto).
	Timing string
	// FitAudio spreads the frames evenly over the audio's duration when no
	// capture times are known (both started and stopped together).
	FitAudio bool
	// VFR keeps each frame's exact capture time (a variable frame rate in the
	// container) instead of placing frames in 1/FPS slots. It needs capture
	// times; without them the video is constant-rate as usual.
	VFR bool
	// Passes limits the passes encoded. Default: every pass found.
	Passes []tdw.Pass
	// Avatars limits the avatars (sub-folders) encoded. Default: all.
	Avatars []string
	// Jobs is how many streams are encoded at once. Default: for a run
	// with several streams to encode and no Encoders, as many as there are
	// CPUs (at most one per stream); otherwise half the CPUs (at least 1).
	// Under Encoders (serve: its process-wide slots, one per CPU by
	// default) a run takes up to Jobs of them for its streams.
	// Whenever several streams of a run are encoded at once, each is one
	// ffmpeg (OneProcess) with an equal share of the cores, at least 2, as
	// its EncoderThreads unless those were set: issue 14's whole-run
	// benchmark (docs/performance.md).
	Jobs int
	// jobsAuto, threadsAuto: Jobs and EncoderThreads were left to their
	// defaults, so a run of several streams may choose its own (sideBySide).
	jobsAuto, threadsAuto bool
	// EncoderThreads is the encoder's thread count. Default: 4 per CPU on
	// machines with up to 4 CPUs, where x264's own choice (1.5 per CPU)
	// left about 15% of 2 cores idle in our benchmark for a lone stream;
	// x264's choice above; a share of the cores for streams side by side
	// (see Jobs).
	EncoderThreads int
	// OneProcess runs one ffmpeg per stream that reads the image files
	// itself, instead of a decoder process beside the encoder. The split
	// overlaps decoding with encoding, which pays when one stream has the
	// machine; when streams already run side by side (batch sets this, and
	// a run does for its own streams: see Jobs) the second process and pipe
	// only cost CPU. A stream whose files ffmpeg reads itself (named and
	// numbered as TDW writes them) is one process either way.
	OneProcess bool
	// Encoders, when set, is shared by every encode of the process: a
	// stream's encode, or the join of its chunks, holds one slot while its
	// ffmpeg runs, so that serve's runs, chunks and joins together run at
	// most that many (its weight: Jobs). Default nil: Jobs bounds each job.
	Encoders *semaphore.Weighted
	// Readers is how many frames of one stream are read and validated ahead
	// of the encoder, which bounds memory to about Readers frames per stream.
	// Default: 2 per CPU.
	Readers int
	// MaxPixels refuses frames whose header claims more pixels (an image
	// bomb: a few hundred KB of PNG can claim 16000x16000 and cost GBs to
	// decode). Default 8192x8192; negative: no limit.
	MaxPixels int64
	// StallTimeout kills an encode whose input and output have not moved
	// for this long (a stopped ffmpeg, a hung disk) and fails its stream,
	// saying so. Default 5 minutes; negative: never.
	StallTimeout time.Duration
	// Deep decodes every frame's pixels during validation, not just its
	// structure. Default off: ffmpeg decodes them anyway.
	Deep bool
	// Force re-encodes every selected stream. Default: an output is kept
	// while the report's fingerprint of its inputs (frames, audio, sidecar,
	// options) matches, and made again, replacing it, otherwise.
	Force bool
	// Mosaic also writes OUT/mosaic.mp4: every stream of the run side by
	// side, labelled, on the img video's slot grid with its audio, depth in
	// metres through a colour map (package mosaic).
	Mosaic bool
	// Preview, "webp" or "gif", also writes OUT/preview.<format>: a few
	// seconds of the mosaic sampled over the whole run, small enough for a
	// README or an issue. It implies Mosaic.
	Preview string
	// MosaicWidth bounds the mosaic's width in pixels. Default 1920.
	MosaicWidth int
	// DepthPlanes are the camera's clipping planes that scale TDW's depth
	// encoding. Default TDW's: near 0.1, far 100.
	DepthPlanes mosaic.Planes
	// DepthRange is the metres the depth colour map spans; nil: the 1st to
	// 99th percentile of a sample of the run's depth frames.
	DepthRange *mosaic.Range
	// Tool runs ffmpeg and ffprobe. Required.
	Tool ffmpeg.Tool
	// Space measures free disk space, to name a failed write on a full disk
	// for what it is. Default: the filesystem's (a test stands in for a
	// full disk).
	Space output.Space
	// OnEvent receives progress events; it may be called concurrently. Default: none.
	OnEvent func(event.Event)
	// defaulted: ApplyDefaults has run.
	defaulted bool
}

// ApplyDefaults fills the zero fields with their documented defaults, once:
// a second call (Batch, then Encode) must not read -1 turned 0 as "unset".
func (o *Options) ApplyDefaults() {
	if o.defaulted {
		return
	}
	o.defaulted = true
	if o.FPS == 0 {
		o.FPS = 60
	}
	switch o.CRF {
	case 0:
		o.CRF = 18
	case -1:
		o.CRF = 0
	}
	if o.Preset == "" {
		o.Preset = "medium"
	}
	if o.Preview != "" {
		o.Mosaic = true
	}
	if o.MosaicWidth <= 0 {
		o.MosaicWidth = 1920
	}
	if o.DepthPlanes == (mosaic.Planes{}) {
		o.DepthPlanes = mosaic.DefaultPlanes
	}
	if o.MaxGap == 0 {
		o.MaxGap = 600
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = 5 * time.Minute
	}
	if o.MaxPixels == 0 {
		o.MaxPixels = 8192 * 8192
	}
	if o.Timing == "" {
		o.Timing = place.TimingAuto
	}
	if o.Gaps == "" {
		o.Gaps = Hold
	}
	if o.OnBad == "" {
		o.OnBad = Skip
	}
	if o.Jobs <= 0 {
		o.Jobs, o.jobsAuto = max(1, runtime.NumCPU()/2), true
	}
	if o.EncoderThreads <= 0 {
		o.threadsAuto = true
	}
	if o.EncoderThreads <= 0 && runtime.NumCPU() <= 4 {
		o.EncoderThreads = 4 * runtime.NumCPU()
	}
	if o.Readers <= 0 {
		o.Readers = 2 * runtime.NumCPU()
	}
	if o.OnEvent == nil {
		o.OnEvent = func(event.Event) {}
	}
}

// Validate reports option values that cannot work, as an *OptionError.
func (o Options) Validate() error {
	bad := func(option string, value any, want string) error {
		return &OptionError{Option: option, Value: value, Want: want}
	}
	switch {
	case !(o.FPS >= 0 && o.FPS <= 1000): // NaN too
		return bad("FPS", o.FPS, "is out of range (1 to 1000)")
	case o.CRF < -1 || o.CRF > 51:
		return bad("CRF", o.CRF, "is out of range (0 to 51, lower is better)")
	case !slices.Contains([]GapPolicy{"", Hold, Drop, FailGaps}, o.Gaps):
		return bad("Gaps", fmt.Sprintf("%q", o.Gaps), "is not one of hold, drop, fail")
	case !slices.Contains([]BadPolicy{"", Skip, FailBad}, o.OnBad):
		return bad("OnBad", fmt.Sprintf("%q", o.OnBad), "is not one of skip, fail")
	case !slices.Contains([]string{"", place.TimingAuto, place.TimingSidecar, place.TimingMtime, place.TimingNone}, o.Timing):
		return bad("Timing", fmt.Sprintf("%q", o.Timing), "is not one of auto, sidecar, mtime, none")
	case o.Preset != "" && !slices.Contains(ffmpeg.Presets, o.Preset):
		return bad("Preset", fmt.Sprintf("%q", o.Preset), fmt.Sprintf("is not an x264 preset (%s)", strings.Join(ffmpeg.Presets, ", ")))
	case o.Jobs < 0:
		return bad("Jobs", o.Jobs, "is below 1: pass 1 or more")
	case o.Audio != "" && o.NoAudio:
		return bad("Audio", fmt.Sprintf("%q", o.Audio), "contradicts NoAudio: pass one")
	case o.Preview != "" && o.Preview != "webp" && o.Preview != "gif":
		return bad("Preview", fmt.Sprintf("%q", o.Preview), "is not webp or gif")
	case o.MosaicWidth < 0 || o.MosaicWidth > 0 && o.MosaicWidth < 64:
		return bad("MosaicWidth", o.MosaicWidth, "is below 64 pixels")
	case o.DepthPlanes != (mosaic.Planes{}) && !(o.DepthPlanes.Near >= 0 && o.DepthPlanes.Far > o.DepthPlanes.Near):
		return bad("DepthPlanes", fmt.Sprintf("%g,%g", o.DepthPlanes.Near, o.DepthPlanes.Far), "is not NEAR,FAR with 0 <= NEAR < FAR")
	case o.DepthRange != nil && !(o.DepthRange.Max > o.DepthRange.Min && !math.IsInf(o.DepthRange.Max-o.DepthRange.Min, 0)):
		return bad("DepthRange", fmt.Sprintf("%g,%g", o.DepthRange.Min, o.DepthRange.Max), "is not MIN,MAX with MIN < MAX")
	}
	return nil
}

// OptionError is an option value that cannot work: Option names the
// Options field (the CLI names its flag instead).
type OptionError struct {
	Option string
	Value  any
	Want   string
}

func (e *OptionError) Error() string { return fmt.Sprintf("%s %v %s", e.Option, e.Value, e.Want) }

// holdEncoder waits for one of opts.Encoders' slots and returns its
// release. A cancelled ctx returns at once: the encode then finds ctx done
// and reports the interruption.
func holdEncoder(ctx context.Context, opts Options) (release func()) {
	if opts.Encoders == nil || opts.Encoders.Acquire(ctx, 1) != nil {
		return func() {}
	}
	return func() { opts.Encoders.Release(1) }
}

// checks are the limits frames are read and checked against.
func (o Options) checks() frames.Checks {
	return frames.Checks{Readers: o.Readers, MaxPixels: o.MaxPixels, MaxGap: o.MaxGap, Deep: o.Deep}
}

// placing is what place needs of the options.
func (o Options) placing() place.Config {
	return place.Config{FPS: o.FPS, Timing: o.Timing, VFR: o.VFR, FitAudio: o.FitAudio,
		Drop: o.Gaps == Drop, MaxGap: o.MaxGap, Strict: o.OnBad == FailBad}
}

// video is what encoding one stream needs of the options.
func (o Options) video() video.Settings {
	return video.Settings{Tool: o.Tool, FPS: o.FPS, CRF: o.CRF, Preset: o.Preset, EncoderThreads: o.EncoderThreads,
		OneProcess: o.OneProcess, StallTimeout: o.StallTimeout, Checks: o.checks(), Place: o.placing(),
		FailGaps: o.Gaps == FailGaps, FailBad: o.OnBad == FailBad, OnEvent: o.OnEvent, Space: o.Space}
}

// mosaic is what making the mosaic needs of the options.
func (o Options) mosaic() mosaic.Settings {
	return mosaic.Settings{Tool: o.Tool, CRF: o.CRF, StallTimeout: o.StallTimeout, Place: o.placing(), Space: o.Space}
}
