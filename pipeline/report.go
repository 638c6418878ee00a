package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// ReportName is the file name of the JSON report written in the output folder.
const ReportName = "tdwstitch-report.json"

// ReportSchema is bumped only when a field changes meaning or goes away; new
// fields may be added within one schema version.
const ReportSchema = 1

// Status is the outcome of a run or a stream.
type Status string

const (
	OK Status = "ok"
	// Degraded: written and verified, but frames were missing or bad (held
	// or dropped; frames superseded within one slot by a controller faster
	// than --fps are normal, not damage).
	Degraded Status = "degraded"
	Failed   Status = "failed"
	// Skipped: a run whose every output was up to date, so nothing was done.
	Skipped Status = "skipped"
)

// Report is the JSON report of one run. Field names are a contract with the
// tools that read it: README.md documents them; keep them stable.
type Report struct {
	Schema      int                `json:"schema"`
	Tool        string             `json:"tool"`
	Version     string             `json:"version"`
	Run         string             `json:"run"`
	Output      string             `json:"output"`
	Status      Status             `json:"status"`
	Error       string             `json:"error,omitempty"`
	Started     time.Time          `json:"started"`
	WallSeconds float64            `json:"wall_seconds"`
	Options     ReportOptions      `json:"options"`
	Audio       *AudioReport       `json:"audio"`
	Streams     []*StreamReport    `json:"streams"`
	Ignored     []discover.Ignored `json:"ignored"`
	Warnings    []string           `json:"warnings"`
	// FileTimes, in probe only, says whether --timing mtime could be used
	// and what it would correct; empty when another source was used.
	FileTimes string `json:"file_times,omitempty"`
}

// ReportOptions records the options that shaped the outputs.
type ReportOptions struct {
	FPS    float64   `json:"fps"`
	CRF    int       `json:"crf"`
	Preset string    `json:"preset"`
	Gaps   GapPolicy `json:"gaps"`
	OnBad  BadPolicy `json:"on_bad"`
	MaxGap int64     `json:"max_gap"` // -1: no limit
	// MaxPixels is the largest frame accepted, in pixels; -1: no limit.
	MaxPixels int64  `json:"max_pixels"`
	Deep      bool   `json:"deep_check"`
	Timing    string `json:"timing"`
	Fit       bool   `json:"fit_audio"`
	VFR       bool   `json:"vfr"`
}

// StreamReport is one (avatar, pass) stream's outcome.
type StreamReport struct {
	ID     string `json:"id"`
	Avatar string `json:"avatar"`
	Pass   string `json:"pass"`
	Prefix string `json:"prefix,omitempty"`
	Output string `json:"output"` // relative to the report's output folder, slash-separated
	Codec  string `json:"codec"`
	// Encoder is how the video was encoded: "libx264 crf=18 preset=medium"
	// or "ffv1". Kept streams keep theirs, whatever this run's options.
	Encoder       string `json:"encoder"`
	PixFmt        string `json:"pix_fmt"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	SourceFormat  string `json:"source_format"`
	FramesFound   int    `json:"frames_found"`
	FramesRead    int    `json:"frames_read"`
	FramesWritten int    `json:"frames_written"`
	// FramesDropped counts good frames not in the video because the next
	// one was captured within the same output slot (a controller faster
	// than --fps, with capture-time placement).
	FramesDropped int            `json:"frames_dropped"`
	FirstFrame    int64          `json:"first_frame"`
	LastFrame     int64          `json:"last_frame"`
	FPS           float64        `json:"fps"`
	Duration      float64        `json:"duration"`
	Gaps          []discover.Gap `json:"gaps"`
	MissingFrames int64          `json:"missing_frames"`
	BadFrames     []BadFrameInfo `json:"bad_frames"`
	// FramesSetAside counts the bad_frames that were neither held nor
	// dropped: duplicates of a frame number, and bad files outside the
	// stream's range (after its last good frame, or before a gap wider
	// than --max-gap).
	FramesSetAside int          `json:"frames_set_aside"`
	Audio          *AudioReport `json:"audio"`
	// Timing is where frame times came from: "sidecar", "mtime",
	// "fit-audio" or "none" (frames 1/fps apart).
	Timing         string `json:"timing"`
	TimingEstimate bool   `json:"timing_estimate"`
	// CaptureSpan is the seconds from the first frame's capture to the last's.
	CaptureSpan float64 `json:"capture_span"`
	// VFR: frames keep their capture times (variable frame rate); fps is then
	// only the nominal rate.
	VFR bool `json:"vfr"`
	// OneLinerDrift is how far the last frame of a plain "ffmpeg -framerate
	// FPS" video would sit from its capture time, in seconds (0 without
	// capture times).
	OneLinerDrift float64 `json:"one_liner_drift"`
	// Inputs fingerprints the frames, audio, sidecar and options the video
	// was made from; encode and batch keep a stream whose inputs are unchanged.
	Inputs string `json:"inputs"`
	// Bytes is the video file's size: an output whose size differs from
	// its report's was changed since, and is not kept.
	Bytes    int64 `json:"bytes"`
	Verified bool  `json:"verified"`
	// Kept: the invocation that wrote this report left the video as an
	// earlier one made it (its inputs and options were unchanged, or the
	// stream was not selected).
	Kept bool `json:"kept"`
	// NotSelected: kept because --passes/--avatars left the stream out.
	NotSelected bool `json:"-"`
	// StaleOutput: the stream failed, and the file at output is an earlier
	// encode's, left in place (it does not match the current inputs).
	StaleOutput bool   `json:"stale_output"`
	Status      Status `json:"status"`
	Error       string `json:"error,omitempty"`
}

// Path is where stream s's video is on disk.
func (r *Report) Path(s *StreamReport) string {
	return filepath.Join(r.Output, filepath.FromSlash(s.Output))
}

// BadFrameInfo is a frame that was not encoded, and why.
type BadFrameInfo struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// AudioReport is the audio muxed into a stream (or found for the run).
type AudioReport struct {
	Path string `json:"path"`
	// Offset is where the audio starts relative to the first frame, in
	// seconds; positive means it starts later (padded with silence).
	Offset float64 `json:"offset"`
	// Duration is how much of the audio the video carries, in seconds.
	Duration float64 `json:"duration"`
	// SourceDuration is the audio file's own length, in seconds.
	SourceDuration float64 `json:"source_duration"`
	// Codec is the audio's codec in the video ("aac"); at run level, the
	// source file's codec.
	Codec string `json:"codec"`
	// SampleRate is the source's sample rate in Hz.
	SampleRate int `json:"sample_rate"`
}

// write stores the report at dir/ReportName atomically.
func (r *Report) write(dir string) (string, error) {
	b, err := json.MarshalIndent(r.compact(), "", "  ")
	if err != nil {
		return "", err
	}
	final := filepath.Join(dir, ReportName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot write the report %s: %w (choose a writable folder with -o)", final, err)
	}
	if err := writeFileAtomic(final, append(b, '\n')); err != nil {
		return "", fmt.Errorf("cannot write the report %s: %w", final, err)
	}
	return final, nil
}

// compact is the report without the streams not finished yet (nil slots).
func (r *Report) compact() *Report {
	c := *r
	c.Streams = slices.DeleteFunc(slices.Clone(r.Streams), func(s *StreamReport) bool { return s == nil })
	return &c
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so a reader sees the old file or the new one, never half.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil { // CreateTemp makes it private
		return err
	}
	return os.Rename(f.Name(), path)
}
