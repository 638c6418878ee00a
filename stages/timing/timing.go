package timing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// SidecarName is the timing sidecar's file name inside a run folder.
const SidecarName = "timing.csv"

// Source names where capture times came from; reports carry it.
type Source string

const (
	Sidecar  Source = "sidecar"   // the controller wrote them: exact
	ModTime  Source = "mtime"     // file modification times: an estimate
	FitAudio Source = "fit-audio" // frames spread evenly over the audio (--fit audio)
	None     Source = "none"      // frames 1/fps apart: simulation time
)

// Clock holds capture times on one clock, in seconds from any origin.
type Clock struct {
	Source     Source
	Frames     map[int64]float64 // capture time by frame number
	AudioStart float64           // when the audio recording started
	HasAudio   bool              // AudioStart is known
}

// Estimate reports whether the times are guesses rather than measurements.
func (c *Clock) Estimate() bool { return c.Source == ModTime || c.Source == FitAudio }

// LineError is a problem at one line of a sidecar.
type LineError struct {
	Path string
	Line int // 1-based; 0 when the problem is the whole file
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// ReadSidecar parses a timing sidecar: a header "event,frame,time", then rows
// "frame,<N>,<seconds>" (one per saved frame) and "audio_start,,<seconds>".
// Rows with other event names are ignored. Any other problem is an error
// naming the line, and the caller falls back to another source.
//
// Only a regular file is a sidecar: the open does not wait for a FIFO's
// writer (O_NONBLOCK), so a FIFO named timing.csv is an error, never a hang.
// Its size is bounded by MaxSidecarBytes (millions of rows), so a runaway
// file costs an error, not the machine's memory.
func ReadSidecar(path string) (*Clock, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &LineError{Path: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, &LineError{Path: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	if !info.Mode().IsRegular() {
		return nil, &LineError{Path: path, Msg: fmt.Sprintf("not a regular file (%s)", discover.FileKind(info.Mode()))}
	}
	if info.Size() > MaxSidecarBytes {
		return nil, &LineError{Path: path, Msg: fmt.Sprintf("is %d bytes, more than a timing sidecar's limit of %d (about 8 million frames): is it the right file?", info.Size(), int64(MaxSidecarBytes))}
	}
	return parseSidecar(path, io.LimitReader(f, MaxSidecarBytes))
}

// MaxSidecarBytes bounds a timing sidecar's size: at about 30 bytes a row,
// 256 MiB holds about 8 million frames, over 70 hours at 30 fps.
const MaxSidecarBytes = 256 << 20

func parseSidecar(path string, r io.Reader) (*Clock, error) {
	c := &Clock{Source: Sidecar, Frames: map[int64]float64{}}
	sc := bufio.NewScanner(r)
	line := 0
	bad := func(format string, a ...any) error {
		return &LineError{Path: path, Line: line, Msg: fmt.Sprintf(format, a...)}
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == 1 {
			if strings.ReplaceAll(text, " ", "") != "event,frame,time" {
				return nil, bad("header is %q, want \"event,frame,time\"", text)
			}
			continue
		}
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != 3 {
			return nil, bad("%q has %d fields, want event,frame,time", text, len(fields))
		}
		event, frame, ts := strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1]), strings.TrimSpace(fields[2])
		switch event {
		case "frame":
			n, err := strconv.ParseInt(frame, 10, 64)
			if err != nil || n < 0 {
				return nil, bad("frame number %q is not a whole number", frame)
			}
			t, err := seconds(ts)
			if err != nil {
				return nil, bad("%v", err)
			}
			if _, dup := c.Frames[n]; dup {
				return nil, bad("frame %d is listed twice", n)
			}
			c.Frames[n] = t
		case "audio_start":
			t, err := seconds(ts)
			if err != nil {
				return nil, bad("%v", err)
			}
			c.AudioStart, c.HasAudio = t, true
		default:
			// Unknown events leave room for later writers.
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad("cannot read: %v", err)
	}
	if line == 0 {
		return nil, &LineError{Path: path, Msg: "file is empty"}
	}
	return c, nil
}

func seconds(s string) (float64, error) {
	t, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, fmt.Errorf("time %q is not a number of seconds", s)
	}
	return t, nil
}

// Check tells whether the clock can place the given frame numbers (ascending)
// and, when audioDuration > 0, the audio: every frame has a time, times grow
// with frame numbers, and the audio overlaps the frames (else the two were
// taken on different clocks).
func (c *Clock) Check(path string, frames []int64, audioDuration float64) error {
	prev, prevN := math.Inf(-1), int64(-1)
	for _, n := range frames {
		t, ok := c.Frames[n]
		if !ok {
			return &LineError{Path: path, Msg: fmt.Sprintf("has no time for frame %d (a frame file exists for it)", n)}
		}
		if t <= prev {
			return &LineError{Path: path, Msg: fmt.Sprintf("times do not increase: frame %d at %.6f s is not after frame %d at %.6f s", n, t, prevN, prev)}
		}
		prev, prevN = t, n
	}
	if audioDuration > 0 && c.HasAudio && len(frames) > 0 {
		first, last := c.Frames[frames[0]], c.Frames[frames[len(frames)-1]]
		if c.AudioStart+audioDuration < first || c.AudioStart > last {
			return &LineError{Path: path, Msg: fmt.Sprintf(
				"audio_start %.3f s with %.3f s of audio does not overlap the frames' %.3f to %.3f s: were they taken on different clocks? (use one clock, e.g. time.monotonic())",
				c.AudioStart, audioDuration, first, last)}
		}
	}
	return nil
}

// FromModTimes estimates capture times from frame files' modification times
// (ImageCapture writes each frame right after it arrives) and the audio start
// from the audio file's: a recorder writes its WAV until it stops, so the
// recording started its duration before the file's modification time.
func FromModTimes(frames map[int64]time.Time, audioMod time.Time, audioDuration float64) *Clock {
	c := &Clock{Source: ModTime, Frames: make(map[int64]float64, len(frames))}
	var origin time.Time
	for _, t := range frames {
		if origin.IsZero() || t.Before(origin) {
			origin = t
		}
	}
	for n, t := range frames {
		c.Frames[n] = t.Sub(origin).Seconds()
	}
	if !audioMod.IsZero() && audioDuration > 0 {
		c.AudioStart, c.HasAudio = audioMod.Sub(origin).Seconds()-audioDuration, true
	}
	return c
}

// Evenly spreads frames (ascending) over the audio's duration, for runs
// whose frames and audio started and stopped together (--fit audio).
func Evenly(frames []int64, audioDuration float64) (*Clock, error) {
	if len(frames) == 0 || audioDuration <= 0 {
		return nil, errors.New("spreading frames over the audio needs frames and an audio file with a duration")
	}
	c := &Clock{Source: FitAudio, Frames: make(map[int64]float64, len(frames)), HasAudio: true}
	first, last := frames[0], frames[len(frames)-1]
	step := audioDuration / float64(last-first+1)
	for _, n := range frames {
		c.Frames[n] = float64(n-first) * step
	}
	return c, nil
}

// Window copies what the encode of a live run's chunk needs of the run's
// clock, which goes on growing: the times of frames from..to and of next
// (where the chunk ends) and of each stream's first frame (where its slots
// count from). Copying only those keeps sealing a chunk cheap in a long run.
// The cost is bounded by the frames the clock holds, never by the span a
// number claims: a stray numbered 2^53 makes to huge, not the work.
func (c *Clock) Window(from, to, next int64, first map[string]int64) *Clock {
	cp := *c
	span := to - from + 1
	cp.Frames = make(map[int64]float64, min(max(span, 0), int64(len(c.Frames)))+1+int64(len(first)))
	keep := func(n int64) {
		if t, ok := c.Frames[n]; ok {
			cp.Frames[n] = t
		}
	}
	if span > int64(len(c.Frames)) {
		for n, t := range c.Frames {
			if n >= from && n <= to {
				cp.Frames[n] = t
			}
		}
	} else {
		for n := from; n <= to; n++ {
			keep(n)
		}
	}
	keep(next)
	for _, n := range first {
		keep(n)
	}
	return &cp
}
