package pipeline

import (
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

// Timing sources the --timing flag accepts.
const (
	TimingAuto    = "auto"    // the sidecar when present, else none
	TimingSidecar = "sidecar" // RUN/timing.csv, or a warning and none
	TimingMtime   = "mtime"   // file modification times (an estimate)
	TimingNone    = "none"    // frames 1/fps apart
)

// resolveClock finds the run's capture times as opts.Timing asks. Under
// --timing auto, a sidecar that cannot be used is a warning naming the file
// and line, and frames go 1/fps apart (or over the audio with --fit audio);
// under --strict it is an error. An explicit --timing sidecar or mtime, or
// --vfr, that cannot be honoured is an error: never a silent fallback.
func resolveClock(run *discover.Run, streams []*discover.Stream, audio *report.Audio, opts Options) (*timing.Clock, []string, error) {
	clock, warnings, err := findClock(run, streams, audio, opts)
	if err == nil && opts.VFR && clock == nil {
		err = fmt.Errorf("--vfr needs capture times, and %s has none that can be used (no valid %s; pass --timing mtime to use file times, or drop --vfr)", run.Dir, timing.SidecarName)
	}
	return clock, warnings, err
}

func findClock(run *discover.Run, streams []*discover.Stream, audio *report.Audio, opts Options) (*timing.Clock, []string, error) {
	frames := frameNumbers(streams)
	audioDur := 0.0
	if audio != nil {
		audioDur = audio.SourceDuration
	}
	switch opts.Timing {
	case TimingAuto, TimingSidecar:
		path := filepath.Join(run.Dir, timing.SidecarName)
		if _, err := os.Stat(path); err != nil && opts.Timing == TimingAuto {
			break
		}
		clock, err := timing.ReadSidecar(path)
		if err == nil {
			err = clock.Check(path, frames, audioDur)
		}
		if err == nil {
			err = checkTimeGaps(clock, frames, opts, path)
		}
		if err == nil {
			var warnings []string
			if audio != nil && !clock.HasAudio {
				warnings = append(warnings, fmt.Sprintf("timing: %s has no audio_start row: the audio is taken to start with the first frame", path))
			}
			return clock, warnings, nil
		}
		if opts.Timing == TimingSidecar {
			return nil, nil, fmt.Errorf("--timing sidecar: %w (fix or write %s, or pass --timing auto to go without it)", err, path)
		}
		if opts.OnBad == FailBad {
			return nil, nil, fmt.Errorf("timing: %v (--strict)", err)
		}
		next := "1/fps spacing"
		if opts.FitAudio && audio != nil {
			next = "frames spread over the audio (--fit audio)"
		}
		warning := fmt.Sprintf("timing: %v; --timing auto fell back to %s", err, next)
		clock, err = fitClock(frames, audio, opts)
		return clock, []string{warning}, err
	case TimingMtime:
		clock, err := fileTimesClock(streams, audio, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("--timing mtime: %w (pass --timing none, or auto)", err)
		}
		return clock, nil, nil
	}
	clock, err := fitClock(frames, audio, opts)
	return clock, nil, err
}

// checkTimeGaps bounds capture times like MaxGap bounds frame numbers:
// a time far past the previous frame's (a wrong row, a touched file) would
// hold that frame for as long, so it makes the clock unusable instead.
func checkTimeGaps(clock *timing.Clock, numbers []int64, opts Options, what string) error {
	if opts.MaxGap < 0 {
		return nil
	}
	for i := 1; i < len(numbers); i++ {
		dt := clock.Frames[numbers[i]] - clock.Frames[numbers[i-1]]
		if held := dt*opts.FPS - 1; held > float64(opts.MaxGap) {
			return &frames.GapError{Timed: true, Need: int64(math.Ceil(held)), Msg: fmt.Sprintf("%s: frame %d is captured %.2f s after frame %d, %.0f frames at %g fps: more than the widest gap allowed (%d; a wrong time? correct it)",
				what, numbers[i], dt, numbers[i-1], held, opts.FPS, opts.MaxGap)}
		}
	}
	return nil
}

// fitClock spreads the frames over the audio for --fit audio, which needs
// audio; nil without --fit.
func fitClock(frames []int64, audio *report.Audio, opts Options) (*timing.Clock, error) {
	if !opts.FitAudio {
		return nil, nil
	}
	if audio == nil {
		return nil, fmt.Errorf("--fit audio needs the run's audio, and there is none to use (pass --audio FILE, or drop --fit)")
	}
	clock, err := timing.Evenly(frames, audio.SourceDuration)
	if err == nil {
		// A recorder left running an hour must not spread 30 frames over it.
		err = checkTimeGaps(clock, frames, opts, fmt.Sprintf("--fit audio (%.1f s of audio for %d frames)", audio.SourceDuration, len(frames)))
	}
	return clock, err
}

// fileTimesClock is the capture clock file modification times give, or why
// they cannot serve: out of order, or far too close together for the
// frames at --fps (the files were copied without their times). probe and
// encode both use it.
func fileTimesClock(streams []*discover.Stream, audio *report.Audio, opts Options) (*timing.Clock, error) {
	frames := frameNumbers(streams)
	clock := modTimeClock(streams, audio)
	dur := 0.0
	if audio != nil {
		dur = audio.SourceDuration
	}
	if err := clock.Check("file modification times", frames, dur); err != nil {
		return nil, err
	}
	if err := checkTimeGaps(clock, frames, opts, "file modification times"); err != nil {
		return nil, err
	}
	if len(frames) < 2 {
		return clock, nil
	}
	span := clock.Frames[frames[len(frames)-1]] - clock.Frames[frames[0]]
	nominal := float64(len(frames)-1) / opts.FPS
	if span < nominal/4 {
		return nil, fmt.Errorf("file modification times span %.3f s where %d frames at %g fps take %.2f s: the files were copied without their times (cp without -p?), so they say nothing about capture", span, len(frames), opts.FPS, nominal)
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

// planStream decides how a stream is timed and what audio it carries, and
// records both in its report. Capture times place frames when the stream
// carries audio or --timing was given; a silent video under --timing auto
// keeps one frame per 1/fps, the simulation's own time step.
func planStream(s *discover.Stream, sr *report.Stream, clock *timing.Clock, audio *report.Audio, seg *segment, opts Options) placement {
	withAudio := audio != nil && s.Pass.Visual()
	// A chunk of a live run is placed as its final video, which gets the audio.
	timed := withAudio || (seg != nil && seg.Timed && s.Pass.Visual())
	if !timed && opts.Timing == TimingAuto && !opts.VFR {
		clock = nil
	}
	p := newPlacement(s, clock, seg, opts)
	sr.Timing = report.TimingNone
	if clock != nil {
		sr.Timing, sr.TimingEstimate = report.TimingSource(clock.Source), clock.Estimate()
		sr.CaptureSpan = clock.Frames[p.last] - p.t0
		sr.OneLinerDrift = sr.CaptureSpan - float64(len(s.Frames)-1)/opts.FPS
	}
	sr.VFR = p.vfr
	if withAudio {
		sr.Audio = streamAudio(audio, p.duration(len(s.Frames)), p.audioOffset())
	}
	return p
}

// streamAudio is the run's audio as a stream of duration seconds carries it,
// starting offset seconds after the first frame.
func streamAudio(run *report.Audio, duration, offset float64) *report.Audio {
	a := *run
	a.Offset, a.Codec = offset, "aac"
	// The part of the recording inside [0, duration) of the video.
	a.Duration = max(0, min(a.SourceDuration+offset, duration)-max(offset, 0))
	return &a
}

// placement decides in which output slot (1/fps each) every frame number
// starts to show. With capture times, slot k shows the frame captured at or
// before k/fps, so frames are repeated when the controller was slow and
// dropped when it was fast; without, frame numbers are 1/fps apart (the
// simulation's time), or with --gaps drop good frames follow each other.
type placement struct {
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

func newPlacement(s *discover.Stream, clock *timing.Clock, seg *segment, opts Options) placement {
	p := placement{clock: clock, fps: opts.FPS, first: s.Frames[0].Number, last: s.Frames[len(s.Frames)-1].Number, drop: opts.Gaps == Drop}
	if first, ok := seg.firstOf(s); ok {
		p.first = first // a later chunk: slots count from the stream's first frame in the run
	}
	if clock != nil {
		p.t0 = clock.Frames[p.first]
		if opts.VFR {
			p.vfr, p.position = true, make(map[int64]int64, len(s.Frames))
			for i, f := range s.Frames {
				p.position[f.Number] = int64(i)
				p.frames = append(p.frames, f.Number)
			}
		}
	}
	return p
}

// timestamps are the output frames' times in a variable-frame-rate video.
func (p placement) timestamps() []float64 {
	if !p.vfr {
		return nil
	}
	ts := make([]float64, len(p.frames))
	for i, n := range p.frames {
		ts[i] = p.clock.Frames[n] - p.t0
	}
	return ts
}

// duration is the video's length in seconds if every frame is good.
func (p placement) duration(frames int) float64 {
	if p.vfr {
		return p.clock.Frames[p.last] - p.t0 + 1/p.fps
	}
	return float64(p.plannedSlots(frames)) / p.fps
}

// slot is where frame n starts to show; good counts the good frames before it.
func (p placement) slot(n int64, good int) int64 {
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

// lastSlot is the final slot of the video when good frames are written.
func (p placement) lastSlot(good int) int64 {
	if p.drop && p.clock == nil {
		return int64(good) - 1
	}
	return p.slot(p.last, good)
}

// plannedSlots is the video's length in frames if every frame is good.
func (p placement) plannedSlots(frames int) int64 {
	return p.lastSlot(frames) + 1
}

// audioOffset is when the audio starts relative to the first frame, in
// seconds (positive: later, padded with silence; negative: earlier, trimmed).
func (p placement) audioOffset() float64 {
	if p.clock == nil || !p.clock.HasAudio {
		return 0
	}
	return p.clock.AudioStart - p.t0
}

// assessFileTimes tells whether file modification times could serve as
// capture times, and what they would correct, for probe.
func assessFileTimes(streams []*discover.Stream, audio *report.Audio, opts Options) string {
	clock, err := fileTimesClock(streams, audio, opts)
	if err != nil {
		return fmt.Sprintf("not usable (--timing mtime would fail): %v", err)
	}
	frames := frameNumbers(streams)
	span := clock.Frames[frames[len(frames)-1]] - clock.Frames[frames[0]]
	drift := span - float64(len(frames)-1)/opts.FPS
	return fmt.Sprintf("usable as an estimate: frames span %.2f s where %d frames at %g fps make %.2f s; --timing mtime would correct %.2f s of drift",
		span, len(frames), opts.FPS, float64(len(frames)-1)/opts.FPS, drift)
}
