package place

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// Timing sources Config.Timing takes (the --timing flag's values).
const (
	TimingAuto    = "auto"    // the sidecar when present, else none
	TimingSidecar = "sidecar" // RUN/timing.csv, or a warning and none
	TimingMtime   = "mtime"   // file modification times (an estimate)
	TimingNone    = "none"    // frames 1/fps apart
)

// Config is what placing frames depends on, from the encode's options.
type Config struct {
	FPS      float64
	Timing   string // TimingAuto, TimingSidecar, TimingMtime or TimingNone
	VFR      bool   // one output frame per file at its capture time
	FitAudio bool   // without capture times, spread the frames over the audio
	Drop     bool   // --gaps drop: good frames follow each other
	MaxGap   int64  // the widest gap allowed, in frames; < 0: any
	Strict   bool   // a sidecar that cannot be used is an error, not a warning
}

// withDefaults is cfg with its zero fields meaning what they say: Timing
// "" is TimingAuto.
func (cfg Config) withDefaults() Config {
	if cfg.Timing == "" {
		cfg.Timing = TimingAuto
	}
	return cfg
}

// Part places a chunk of a live run on the whole run's grid; the zero
// value places a whole run.
type Part struct {
	Chunk      bool  // a chunk of a live run
	From, Next int64 // the chunk's first frame number, and the next chunk's (< 0: the last chunk)
	First      int64 // the stream's first frame in the whole run, when InRun
	InRun      bool
	Timed      bool // the run's final videos get audio: visual streams are placed by time
	// Span, for a whole run's stream, widens its video to its camera's
	// frames (nil: its own first to last frame).
	Span *Span
}

// What a TimingError says was asked for, besides the Timing* sources.
const (
	AskedVFR = "vfr" // a variable frame rate (Config.VFR)
	AskedFit = "fit" // frames spread over the audio (Config.FitAudio)
)

// TimingError: the capture times asked for cannot be had. Asked is the
// source asked for (TimingSidecar, TimingMtime, AskedVFR, AskedFit) or
// TimingAuto, whose unusable sidecar is a warning (the frames go by Next
// instead) unless Strict.
type TimingError struct {
	Asked  string
	Path   string // the sidecar, or the run's folder
	Err    error  // why, when there is more to say
	Next   string // TimingAuto: what the frames go by instead
	Strict bool   // Config.Strict: going without capture times is no way out
	VFR    bool   // Config.VFR: capture times are needed
	Timing string // Config.Timing
	// FileTimes, under VFR, is why file times cannot serve either (nil:
	// they could).
	FileTimes error
}

func (e *TimingError) Error() string {
	switch e.Asked {
	case TimingSidecar:
		return fmt.Sprintf("timing sidecar asked for, and it cannot be used: %v", e.Err)
	case TimingMtime:
		return fmt.Sprintf("file times asked for as capture times, and they cannot serve: %v", e.Err)
	case AskedVFR:
		return fmt.Sprintf("a variable frame rate needs capture times, and %s has none that can be used (no valid %s)", e.Path, timing.SidecarName)
	case AskedFit:
		return "spreading the frames over the audio needs the run's audio, and there is none to use"
	}
	if e.Strict {
		return fmt.Sprintf("timing: %v", e.Err)
	}
	return fmt.Sprintf("timing: %v; went on with %s", e.Err, e.Next)
}

func (e *TimingError) Unwrap() error { return e.Err }

// Clock finds the run's capture times as cfg.Timing asks. Under
// --timing auto, a sidecar that cannot be used is a warning naming the file
// and line, and frames go 1/fps apart (or over the audio with --fit audio);
// under --strict it is an error. An explicit --timing sidecar or mtime, or
// --vfr, that cannot be honoured is an error: never a silent fallback.
func Clock(run *discover.Run, streams []*discover.Stream, audio *report.Audio, cfg Config) (*timing.Clock, []error, error) {
	cfg = cfg.withDefaults()
	clock, warnings, err := findClock(run, streams, audio, cfg)
	if err == nil && cfg.VFR && clock == nil {
		err = &TimingError{Asked: AskedVFR, Path: run.Dir, VFR: true}
	}
	var te *TimingError
	if errors.As(err, &te) {
		te.Timing = cfg.Timing
		if cfg.VFR && te.Asked != TimingMtime {
			// --vfr needs capture times: say whether file times could serve.
			_, te.FileTimes = fileTimesClock(streams, audio, cfg)
		}
	}
	return clock, warnings, err
}

func findClock(run *discover.Run, streams []*discover.Stream, audio *report.Audio, cfg Config) (*timing.Clock, []error, error) {
	frames := frameNumbers(streams)
	audioDur := 0.0
	if audio != nil {
		audioDur = audio.SourceDuration
	}
	switch cfg.Timing {
	case TimingAuto, TimingSidecar:
		path := filepath.Join(run.Dir, timing.SidecarName)
		if _, err := os.Stat(path); err != nil && cfg.Timing == TimingAuto {
			break
		}
		clock, err := timing.ReadSidecar(path)
		if err == nil {
			err = clock.Check(path, frames, audioDur)
		}
		if err == nil {
			err = checkTimeGaps(clock, frames, cfg, path)
		}
		if err == nil {
			var warnings []error
			if audio != nil && !clock.HasAudio {
				warnings = append(warnings, fmt.Errorf("timing: %s has no audio_start row: the audio is taken to start with the first frame", path))
			}
			return clock, warnings, nil
		}
		if cfg.Timing == TimingSidecar {
			return nil, nil, &TimingError{Asked: TimingSidecar, Path: path, Err: err, Strict: cfg.Strict, VFR: cfg.VFR}
		}
		if cfg.Strict {
			return nil, nil, &TimingError{Asked: TimingAuto, Path: path, Err: err, Strict: true, VFR: cfg.VFR}
		}
		fellBack := &TimingError{Asked: TimingAuto, Path: path, Err: err, Next: "1/fps spacing"}
		if cfg.FitAudio && audio != nil {
			fellBack.Next = "frames spread over the audio"
		}
		clock, err = fitClock(frames, audio, cfg)
		return clock, []error{fellBack}, err
	case TimingMtime:
		clock, err := fileTimesClock(streams, audio, cfg)
		if err != nil {
			return nil, nil, &TimingError{Asked: TimingMtime, Path: run.Dir, Err: err, VFR: cfg.VFR}
		}
		return clock, nil, nil
	}
	clock, err := fitClock(frames, audio, cfg)
	return clock, nil, err
}

// checkTimeGaps bounds capture times like MaxGap bounds frame numbers:
// a time far past the previous frame's (a wrong row, a touched file) would
// hold that frame for as long, so it makes the clock unusable instead.
func checkTimeGaps(clock *timing.Clock, numbers []int64, cfg Config, what string) error {
	if cfg.MaxGap < 0 {
		return nil
	}
	for i := 1; i < len(numbers); i++ {
		dt := clock.Frames[numbers[i]] - clock.Frames[numbers[i-1]]
		if held := dt*cfg.FPS - 1; held > float64(cfg.MaxGap) {
			return &frames.GapError{Timed: true, Need: int64(math.Ceil(held)), Msg: fmt.Sprintf("%s: frame %d is captured %.2f s after frame %d, %.0f frames at %g fps: more than the widest gap allowed (%d; a wrong time? correct it)",
				what, numbers[i], dt, numbers[i-1], held, cfg.FPS, cfg.MaxGap)}
		}
	}
	return nil
}

// fitClock spreads the frames over the audio for --fit audio, which needs
// audio; nil without --fit.
func fitClock(frames []int64, audio *report.Audio, cfg Config) (*timing.Clock, error) {
	if !cfg.FitAudio {
		return nil, nil
	}
	if audio == nil {
		return nil, &TimingError{Asked: AskedFit}
	}
	clock, err := timing.Evenly(frames, audio.SourceDuration)
	if err == nil {
		// A recorder left running an hour must not spread 30 frames over it.
		err = checkTimeGaps(clock, frames, cfg, fmt.Sprintf("frames spread over the audio (%.1f s of audio for %d frames)", audio.SourceDuration, len(frames)))
	}
	return clock, err
}

// fileTimesClock is the capture clock file modification times give, or why
// they cannot serve: out of order, or far too close together for the
// frames at --fps (the files were copied without their times). probe and
// encode both use it.
func fileTimesClock(streams []*discover.Stream, audio *report.Audio, cfg Config) (*timing.Clock, error) {
	frames := frameNumbers(streams)
	clock := modTimeClock(streams, audio)
	dur := 0.0
	if audio != nil {
		dur = audio.SourceDuration
	}
	if err := clock.Check("file modification times", frames, dur); err != nil {
		return nil, err
	}
	if err := checkTimeGaps(clock, frames, cfg, "file modification times"); err != nil {
		return nil, err
	}
	if len(frames) < 2 {
		return clock, nil
	}
	span := clock.Frames[frames[len(frames)-1]] - clock.Frames[frames[0]]
	nominal := float64(len(frames)-1) / cfg.FPS
	if span < nominal/4 {
		return nil, fmt.Errorf("file modification times span %.3f s where %d frames at %g fps take %.2f s: the files were copied without their times (cp without -p?), so they say nothing about capture", span, len(frames), cfg.FPS, nominal)
	}
	return clock, nil
}

// frameNumbers is every frame number of the streams, ascending, once.
func frameNumbers(streams []*discover.Stream) []int64 {
	var ns []int64
	for _, s := range streams {
		for _, f := range s.Frames {
			ns = append(ns, f.Number)
		}
	}
	slices.Sort(ns)
	return slices.Compact(ns)
}

// modTimeClock takes each frame number's earliest file time: ImageCapture
// writes every pass of a frame right after it arrives.
func modTimeClock(streams []*discover.Stream, audio *report.Audio) *timing.Clock {
	times := map[int64]time.Time{}
	for _, s := range streams {
		for _, f := range s.Frames {
			if t, ok := times[f.Number]; !ok || f.ModTime.Before(t) {
				times[f.Number] = f.ModTime
			}
		}
	}
	var audioMod time.Time
	dur := 0.0
	if audio != nil {
		if info, err := os.Stat(audio.Path); err == nil {
			audioMod, dur = info.ModTime(), audio.SourceDuration
		}
	}
	return timing.FromModTimes(times, audioMod, dur)
}

// Stream decides how a stream is timed and what audio it carries, and
// records both in its report. Capture times place frames when the stream
// carries audio or --timing was given; a silent video under --timing auto
// keeps one frame per 1/fps, the simulation's own time step.
func Stream(s *discover.Stream, sr *report.Stream, clock *timing.Clock, audio *report.Audio, part Part, cfg Config) Placement {
	cfg = cfg.withDefaults()
	withAudio := audio != nil && s.Pass.Visual()
	clock = placedBy(s, clock, audio, part, cfg)
	p := newPlacement(s, clock, part, cfg)
	sr.Timing = report.TimingNone
	if clock != nil {
		sr.Timing, sr.TimingEstimate = report.TimingSource(clock.Source), clock.Estimate()
		sr.CaptureSpan = clock.Frames[p.last] - p.t0
		sr.OneLinerDrift = sr.CaptureSpan - float64(len(s.Frames)-1)/cfg.FPS
	}
	sr.VFR = p.vfr
	if withAudio {
		sr.Audio = StreamAudio(audio, p.Duration(len(s.Frames)), p.AudioOffset())
	}
	return p
}

// placedBy is the clock that places the stream's frames: nil when they go
// by number. A chunk of a live run is placed as its final video, which
// gets the audio.
func placedBy(s *discover.Stream, clock *timing.Clock, audio *report.Audio, part Part, cfg Config) *timing.Clock {
	timed := audio != nil && s.Pass.Visual() || (part.Timed && s.Pass.Visual())
	if !timed && cfg.Timing == TimingAuto && !cfg.VFR {
		return nil
	}
	return clock
}

// Held is the span the stream's video is held out to (its report lists
// Missing), or nil: only a whole run's stream placed by frame number (with
// capture times, each stream's slots already follow its own frames' times,
// and its audio lines up with its own first frame).
func Held(s *discover.Stream, clock *timing.Clock, audio *report.Audio, part Part, cfg Config) *Span {
	if part.Span == nil || part.Chunk || placedBy(s, clock, audio, part, cfg.withDefaults()) != nil {
		return nil
	}
	return part.Span
}

// StreamAudio is the run's audio as a stream of duration seconds carries it,
// starting offset seconds after the first frame.
func StreamAudio(run *report.Audio, duration, offset float64) *report.Audio {
	a := *run
	a.Offset, a.Codec = offset, "aac"
	// The part of the recording inside [0, duration) of the video.
	a.Duration = max(0, min(a.SourceDuration+offset, duration)-max(offset, 0))
	return &a
}

// Placement decides in which output slot (1/fps each) every frame number
// starts to show. With capture times, slot k shows the frame captured at or
// before k/fps, so frames are repeated when the controller was slow and
// dropped when it was fast; without, frame numbers are 1/fps apart (the
// simulation's time), or with --gaps drop good frames follow each other.
type Placement struct {
	clock *timing.Clock // nil: no capture times
	t0    float64       // capture time of the stream's first frame
	fps   float64
	first int64
	last  int64
	drop  bool
	// vfr: one output frame per frame file, stamped with its capture time
	// (holding the previous frame for a bad one); position maps numbers to
	// output frames.
	vfr      bool
	position map[int64]int64
	frames   []int64
}

func newPlacement(s *discover.Stream, clock *timing.Clock, part Part, cfg Config) Placement {
	p := Placement{clock: clock, fps: cfg.FPS, first: s.Frames[0].Number, last: s.Frames[len(s.Frames)-1].Number, drop: cfg.Drop}
	if part.InRun && part.First <= p.first {
		p.first = part.First // a later chunk: slots count from the stream's first frame in the run
	}
	if sp := part.Span; sp != nil && !part.Chunk && clock == nil {
		// Held out to the camera's first and last frames (Held); with
		// --gaps drop, good frames follow each other regardless.
		p.first, p.last = min(p.first, sp.From), max(p.last, sp.To)
	}
	if clock != nil {
		p.t0 = clock.Frames[p.first]
		if cfg.VFR {
			p.vfr, p.position = true, make(map[int64]int64, len(s.Frames))
			for i, f := range s.Frames {
				p.position[f.Number] = int64(i)
				p.frames = append(p.frames, f.Number)
			}
		}
	}
	return p
}

// Timestamps are the output frames' times in a variable-frame-rate video.
func (p Placement) Timestamps() []float64 {
	if !p.vfr {
		return nil
	}
	ts := make([]float64, len(p.frames))
	for i, n := range p.frames {
		ts[i] = p.clock.Frames[n] - p.t0
	}
	return ts
}

// Duration is the video's length in seconds if every frame is good.
func (p Placement) Duration(frames int) float64 {
	if p.vfr {
		return p.clock.Frames[p.last] - p.t0 + 1/p.fps
	}
	return float64(p.PlannedSlots(frames)) / p.fps
}

// Slot is where frame n starts to show; good counts the good frames before it.
func (p Placement) Slot(n int64, good int) int64 {
	switch {
	case p.vfr:
		return p.position[n]
	case p.clock != nil:
		// The epsilon keeps a time that is a whole number of slots in that slot.
		return int64(math.Ceil((p.clock.Frames[n]-p.t0)*p.fps - 1e-6))
	case p.drop:
		return int64(good)
	default:
		return n - p.first
	}
}

// LastSlot is the final slot of the video when good frames are written.
func (p Placement) LastSlot(good int) int64 {
	if p.Compact() {
		return int64(good) - 1
	}
	return p.Slot(p.last, good)
}

// PlannedSlots is the video's length in frames if every frame is good.
func (p Placement) PlannedSlots(frames int) int64 {
	return p.LastSlot(frames) + 1
}

// AudioOffset is when the audio starts relative to the first frame, in
// seconds (positive: later, padded with silence; negative: earlier, trimmed).
func (p Placement) AudioOffset() float64 {
	if p.clock == nil || !p.clock.HasAudio {
		return 0
	}
	return p.clock.AudioStart - p.t0
}

// AssessFileTimes tells whether file modification times could serve as
// capture times, and what they would correct, for probe.
func AssessFileTimes(streams []*discover.Stream, audio *report.Audio, cfg Config) string {
	clock, err := fileTimesClock(streams, audio, cfg)
	if err != nil {
		return fmt.Sprintf("not usable as capture times: %v", err)
	}
	frames := frameNumbers(streams)
	span := clock.Frames[frames[len(frames)-1]] - clock.Frames[frames[0]]
	drift := span - float64(len(frames)-1)/cfg.FPS
	return fmt.Sprintf("usable as an estimate: frames span %.2f s where %d frames at %g fps make %.2f s; as capture times they would correct %.2f s of drift",
		span, len(frames), cfg.FPS, float64(len(frames)-1)/cfg.FPS, drift)
}

// ByNumber reports whether slots follow frame numbers (no capture times,
// no --gaps drop), so a missing frame keeps its slot.
func (p Placement) ByNumber() bool { return p.clock == nil && !p.drop }

// Bounds are chunk part's first and last output slots on the run's grid
// (last -1: the stream's own end). Without times under --gaps drop, chunks
// simply follow each other.
func (p Placement) Bounds(part Part) (start, last int64) {
	from, next := part.From, part.Next
	if p.Compact() {
		return 0, -1
	}
	if p.clock != nil {
		if _, ok := p.clock.Frames[from]; !ok {
			return 0, -1
		}
	}
	start, last = max(0, p.Slot(from, 0)), -1
	if next >= 0 {
		last = p.Slot(next, 0) - 1
	}
	return start, last
}

// Compact reports whether good frames simply follow each other (--gaps
// drop without capture times): the video is as long as its good frames.
func (p Placement) Compact() bool { return p.drop && p.clock == nil }

// ByTime reports whether frames sit on the 1/fps grid at their capture
// times, so a late frame holds the one before it for as long.
func (p Placement) ByTime() bool { return p.clock != nil && !p.vfr }

// FPS is the output's frame rate.
func (p Placement) FPS() float64 { return p.fps }
