package ffmpeg

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	ffgo "github.com/u2takey/ffmpeg-go"
)

// quiet are the global options every process gets: errors only on stderr, and
// no reading of the terminal (stdin carries frames).
var quiet = []string{"-hide_banner", "-nostdin", "-loglevel", "error"}

// FileURL prefixes a path given to ffmpeg, so that no path is taken for
// another protocol's URL or an option.
const FileURL = "file:"

// progressArgs make ffmpeg write key=value progress lines (frame=N among
// them) to its stdout every half second and at its end.
var progressArgs = []string{"-progress", "pipe:1", "-stats_period", "0.5"}

// Decode describes the decoder process: image files in on stdin, raw frames out.
type Decode struct {
	Codec  string // "mjpeg" or "png"
	PixFmt string // raw pixel format to emit, e.g. "yuv420p" or "rgb24"
	// PadEven pads odd widths and heights by one pixel, as H.264 4:2:0 needs.
	PadEven bool
	// Threads is the PNG decoder's thread count; 0 lets it choose (frame
	// threads, one per CPU, at most 16). In one process with the encoder
	// it follows the encoder's share of the cores.
	Threads int
	// Files, when set, makes ffmpeg read the image files itself, as the
	// one-liner does, instead of from stdin: only as the encoder's own
	// input (Encode.Images).
	Files *Files
}

// Files names a stream's image files for ffmpeg's image2 demuxer: Pattern
// is their path with one %0Nd where the frame number goes (every other %
// doubled), Start the first number and Count how many files follow it, one
// per number. Reading them there saves copying every file through this
// process and a pipe, and image2pipe's parsing of it.
type Files struct {
	Pattern string
	Start   int64
	Count   int
	// MaxPixels bounds what ffmpeg's decoder allocates for one picture
	// (its max_pixels; > 0): ffmpeg may read a frame before tdwstitch has
	// checked its header, so a file claiming 8000x8000 pixels among
	// 512x512 ones fails to decode there instead of costing 256 MB.
	MaxPixels int64
}

// DecodeBound is a Files.MaxPixels for pictures of width x height: ffmpeg
// counts its decoders' buffers, which are aligned larger than the picture
// (a 160x160 PNG asked for 192x160), so the bound leaves 256 pixels a side.
func DecodeBound(width, height int) int64 {
	return min((int64(width)+256)*(int64(height)+256), math.MaxInt32)
}

// Args is the decoder's argument vector.
func (d Decode) Args() []string {
	out := ffgo.KwArgs{"f": "rawvideo", "pix_fmt": d.PixFmt, "fps_mode": "passthrough"}
	url, in := d.input()
	if d.PadEven {
		out["vf"] = padEven
	}
	// The colour range of a JPEG (full) is converted to the video's (limited)
	// by swscale here, exactly as ffmpeg's own image2 one-liner converts it.
	args := ffgo.Input(url, in).
		Output("pipe:1", out).GetArgs()
	return slices.Concat(quiet, args)
}

// padEven pads odd widths and heights by one pixel for H.264 4:2:0.
const padEven = "pad=ceil(iw/2)*2:ceil(ih/2)*2"

// input is the input reading image files of the decoder's codec: image2pipe
// on stdin, or image2 reading Files (from Start on, as long as the numbers
// follow each other: the output takes Count of them).
func (d Decode) input() (url string, in ffgo.KwArgs) {
	url, in = "pipe:0", ffgo.KwArgs{"f": "image2pipe", "c:v": d.Codec}
	if f := d.Files; f != nil {
		url = FileURL + f.Pattern
		in["f"], in["pattern_type"], in["start_number"] = "image2", "sequence", f.Start
		if f.MaxPixels > 0 {
			in["max_pixels"] = f.MaxPixels
		}
	}
	switch {
	case d.Codec == "mjpeg":
		// ffmpeg's MJPEG decoder has no frame threads: extra threads only
		// take turns with the encoder's. The PNG decoder does use them.
		in["threads"] = 1
	case d.Threads > 0:
		in["threads"] = d.Threads
	}
	return url, in
}

// Encode describes the encoder process: raw frames in on stdin, a video file out.
type Encode struct {
	Width, Height int
	PixFmt        string // raw pixel format the decoder emits
	FPS           float64
	Visual        bool    // H.264 MP4; otherwise lossless FFV1 in Matroska
	CRF           int     // H.264 quality
	Preset        string  // x264 preset
	Threads       int     // encoder threads; 0 lets the encoder choose
	Audio         string  // audio file to mux into a visual stream, or ""
	AudioRate     int     // its sample rate, for sample-exact alignment
	AudioOffset   float64 // seconds the audio starts after the first frame (negative: before)
	// Duration is the video's length in seconds, to which the audio is
	// padded or cut; 0 when it is not known in advance (the audio then ends
	// with the video, -shortest).
	Duration float64
	// Timestamps, when set, are the output frames' times in seconds (one per
	// frame written): a variable-frame-rate video instead of 1/FPS steps.
	Timestamps []float64
	script     string // the file holding the Timestamps filter, set by Start
	// Images, when set, makes the encoder read the image files itself (one
	// process, no decoder beside it): cheaper where many streams already
	// run side by side, as in a batch. PixFmt is then the images' own.
	Images *Decode
	// Raw, when set, makes a lone encoder read raw frames of PixFmt from
	// stdin (frames composed by the caller, such as a mosaic).
	Raw bool
	// Progress, when set, is told the frames encoded so far, about twice a
	// second (from another goroutine), and the stall watchdog counts them:
	// for input that does not pass through this process (Files).
	Progress func(frames int64)
	Output   string // file to write (any name: the container is explicit)
	// StallTimeout kills the encode when neither its input nor its output
	// has moved for this long (a stopped ffmpeg, a hung disk); 0: never.
	StallTimeout time.Duration
}

// Args is the encoder's argument vector.
func (e Encode) Args() []string {
	in := ffgo.KwArgs{"f": "rawvideo", "pix_fmt": e.PixFmt, "video_size": fmt.Sprintf("%dx%d", e.Width, e.Height), "framerate": fps(e.FPS)}
	out := ffgo.KwArgs{}
	url := "pipe:0"
	if e.Images != nil {
		url, in = e.Images.input()
		in["framerate"] = fps(e.FPS)
		// One frame out per image decoded, as the decoder process gives:
		// by default the encoder would fill a frame that failed to decode
		// by repeating the one before, and the count would not tell.
		out["fps_mode"] = "passthrough"
		var vf []string
		if f := e.Images.Files; f != nil && e.Audio != "" {
			// ffmpeg 5.1 ends every stream of an output at one's -frames
			// (the audio too): the filter ends only the video. The demuxer
			// then reads on while numbers follow each other: only files
			// that appeared after the run was found are read and dropped.
			vf = append(vf, fmt.Sprintf("trim=end_frame=%d", f.Count))
		} else if f != nil {
			out["frames:v"] = f.Count // the decoder's threads may have read a few more
		}
		if e.Images.PadEven && e.script == "" {
			vf = append(vf, padEven)
		}
		if len(vf) > 0 {
			out["vf"] = strings.Join(vf, ",")
		}
	}
	video := ffgo.Input(url, in)
	streams := []*ffgo.Stream{video.Video()}
	if e.Visual {
		out["c:v"], out["preset"], out["crf"], out["pix_fmt"] = "libx264", e.Preset, e.CRF, "yuv420p"
		out["movflags"], out["f"] = "+faststart", "mp4"
		// Tag what swscale produced (limited-range BT.601), as ffmpeg's
		// one-liner does for JPEG input, so players show the same colours.
		out["color_range"], out["colorspace"] = "tv", "bt470bg"
		if e.Audio != "" {
			streams = muxAudio(streams, out, e.Audio, e.AudioRate, e.AudioOffset, e.Duration)
		}
	} else {
		out["c:v"], out["level"], out["slices"], out["slicecrc"] = "ffv1", 3, 4, 1
		out["pix_fmt"], out["f"] = LosslessPixFmt(e.PixFmt), "matroska"
	}
	if e.Threads > 0 {
		out["threads"] = e.Threads
	}
	if e.script != "" {
		// Keep the filter's 90 kHz time base to the file: by default the
		// encoder would round every time to 1/FPS.
		out["filter_script:v"], out["fps_mode"], out["enc_time_base:v"] = e.script, "passthrough", "1/90000"
	}
	args := ffgo.Output(streams, "file:"+e.Output, out).OverWriteOutput().GetArgs()
	if e.Progress != nil {
		return slices.Concat(quiet, progressArgs, args)
	}
	return slices.Concat(quiet, args)
}

// muxAudio adds the audio file to the output as AAC, starting offset
// seconds after the first frame. The video's length governs: silence pads a
// short track, -t trims a long one to duration.
func muxAudio(streams []*ffgo.Stream, out ffgo.KwArgs, path string, rate int, offset, duration float64) []*ffgo.Stream {
	out["c:a"], out["b:a"], out["af"] = "aac", "192k", alignAudio(offset, rate)
	if duration > 0 {
		out["t"] = strconv.FormatFloat(duration, 'f', 6, 64)
	} else {
		out["shortest"] = "" // the video's length is known only at its end
	}
	return append(streams, ffgo.Input("file:"+path).Audio())
}

// LosslessPixFmt is the FFV1 pixel format that holds raw pixels of format in
// exactly, bit for bit (FFV1 stores packed RGB as BGR0 with a reversible
// colour transform).
func LosslessPixFmt(in string) string {
	switch in {
	case "rgba":
		return "bgra"
	case "gray16be":
		return "gray16le"
	case "rgb48be":
		return "rgb48le"
	case "rgba64be":
		return "rgba64le"
	case "gray":
		return "gray"
	}
	return "bgr0"
}

// ptsFilter is a filter graph that gives frame N the time ts[N]: settb to
// 90 kHz (MPEG's clock), then setpts with a balanced tree of if(lt(N,..)) over the
// times, so that each frame costs a logarithmic number of comparisons and a
// run of any length fits (it is passed as a file, not an argument).
func ptsFilter(ts []float64, pad bool) string {
	var b strings.Builder
	if pad {
		b.WriteString(padEven + ",")
	}
	b.WriteString("settb=1/90000,setpts='")
	var tree func(lo, hi int)
	tree = func(lo, hi int) { // frames lo..hi-1
		if hi-lo == 1 {
			fmt.Fprintf(&b, "%d", int64(math.Round(ts[lo]*90000)))
			return
		}
		mid := (lo + hi) / 2
		fmt.Fprintf(&b, "if(lt(N,%d),", mid)
		tree(lo, mid)
		b.WriteByte(',')
		tree(mid, hi)
		b.WriteByte(')')
	}
	tree(0, len(ts))
	b.WriteString("'\n")
	return b.String()
}

// alignAudio is the audio filter chain that starts the recording offset
// seconds after the first frame, to the sample: silence before a late
// start, a trim of an early one, and silence after its end.
func alignAudio(offset float64, rate int) string {
	if rate <= 0 {
		rate = 48000
	}
	samples := int64(math.Round(math.Abs(offset) * float64(rate)))
	switch {
	case samples == 0:
		return "apad"
	case offset > 0:
		return fmt.Sprintf("adelay=delays=%dS:all=1,apad", samples)
	default:
		return fmt.Sprintf("atrim=start_sample=%d,asetpts=PTS-STARTPTS,apad", samples)
	}
}

// Presets are x264's speed presets, fastest first: the values its -preset
// takes (anything else fails only once ffmpeg starts).
var Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}

// StoredPixFmt is the pixel format a decoder of e's output reports: yuv420p
// for H.264; for FFV1 the lossless format, which FFV1 keeps planar at 16 bits.
func StoredPixFmt(e Encode) string {
	if e.Visual {
		return "yuv420p"
	}
	switch f := LosslessPixFmt(e.PixFmt); f {
	case "rgb48le":
		return "gbrp16le"
	case "rgba64le":
		return "gbrap16le"
	default:
		return f
	}
}

func fps(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
