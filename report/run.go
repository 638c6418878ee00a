package report

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// Run is the report of one run, RunFile in its output folder.
type Run struct {
	Schema  int    `json:"schema"`
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// FFmpeg is the ffmpeg that made the videos, as ffmpeg -version says.
	FFmpeg      string    `json:"ffmpeg,omitempty"`
	Run         string    `json:"run"`
	Output      string    `json:"output"`
	Status      Status    `json:"status"`
	Error       string    `json:"error,omitempty"`
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	Options     Options   `json:"options"`
	Audio       *Audio    `json:"audio"`
	Streams     []*Stream `json:"streams"`
	Ignored     []Ignored `json:"ignored"`
	Warnings    []string  `json:"warnings"`
	// Mosaic is the run's mosaic (every stream side by side, mosaic.mp4),
	// when asked for (--mosaic).
	Mosaic *Stream `json:"mosaic,omitempty"`
	// Legend is the run's segmentation colours (RUN/segmentation_colors.json,
	// saved by the add-on): which object each colour of the _id pass is.
	Legend []LegendEntry `json:"legend,omitempty"`
	// Preview is the mosaic's short animated image (preview.webp or .gif),
	// when asked for (--preview).
	Preview *Stream `json:"preview,omitempty"`
	// FileTimes, in probe only, says whether --timing mtime could be used
	// and what it would correct; empty when another source was used.
	FileTimes string `json:"file_times,omitempty"`
}

// Options records the options that shaped the outputs.
type Options struct {
	FPS    float64 `json:"fps"`
	CRF    int     `json:"crf"`
	Preset string  `json:"preset"`
	Gaps   string  `json:"gaps"`
	OnBad  string  `json:"on_bad"`
	MaxGap int64   `json:"max_gap"` // -1: no limit
	// MaxPixels is the largest frame accepted, in pixels; -1: no limit.
	MaxPixels int64  `json:"max_pixels"`
	Deep      bool   `json:"deep_check"`
	Timing    string `json:"timing"`
	Fit       bool   `json:"fit_audio"`
	VFR       bool   `json:"vfr"`
}

// Stream is one (avatar, pass) stream's outcome.
type Stream struct {
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
	FramesDropped int        `json:"frames_dropped"`
	FirstFrame    int64      `json:"first_frame"`
	LastFrame     int64      `json:"last_frame"`
	FPS           float64    `json:"fps"`
	Duration      float64    `json:"duration"`
	Gaps          []Gap      `json:"gaps"`
	MissingFrames int64      `json:"missing_frames"`
	BadFrames     []BadFrame `json:"bad_frames"`
	// FramesSetAside counts the bad_frames that were neither held nor
	// dropped: duplicates of a frame number, and bad files outside the
	// stream's range (after its last good frame, or before a gap wider
	// than --max-gap).
	FramesSetAside int    `json:"frames_set_aside"`
	Audio          *Audio `json:"audio"`
	// Timing is where frame times came from: "sidecar", "mtime",
	// "fit-audio" or "none" (frames 1/fps apart).
	Timing         TimingSource `json:"timing"`
	TimingEstimate bool         `json:"timing_estimate"`
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
func (r *Run) Path(s *Stream) string {
	return filepath.Join(r.Output, filepath.FromSlash(s.Output))
}

// BadFrame is a frame that was not encoded, and why.
type BadFrame struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Audio is the audio muxed into a stream (or found for the run).
type Audio struct {
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

// Visual reports whether the stream's pass is a picture to look at (H.264
// MP4, playable in a browser), not exact data (lossless FFV1): the one place
// that decides it is tdw.Pass.Visual.
func (s *Stream) Visual() bool { return tdw.Pass(s.Pass).Visual() }

// Gap is a run of missing frame numbers, From to To inclusive.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Missing is how many frame numbers the gap spans.
func (g Gap) Missing() int64 { return g.To - g.From + 1 }

// Ignored is a file in a run that is not a frame or audio, and why.
type Ignored struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Compact is the report without the streams not finished yet (nil slots).
func (r *Run) Compact() *Run {
	c := *r
	c.Streams = slices.DeleteFunc(slices.Clone(r.Streams), func(s *Stream) bool { return s == nil })
	return &c
}

// WrittenStatus is a written stream's status: degraded when frames were
// missing or bad (held, dropped or left out), else ok.
func (s *Stream) WrittenStatus() Status {
	if s.MissingFrames > 0 || len(s.BadFrames) > 0 {
		return Degraded
	}
	return OK
}

// LegendEntry is one object of a run's segmentation legend.
type LegendEntry struct {
	ID       int64  `json:"id"`
	Color    string `json:"color"` // "#rrggbb", as in the _id pass
	Name     string `json:"name"`
	Category string `json:"category"`
}
