package mosaic

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// The preview's bounds: a glance, small enough for an issue tracker.
const (
	PreviewWidth   = 480     // pixels, at most
	PreviewSeconds = 6       // at most
	PreviewFPS     = 10      // frames a second
	PreviewBytes   = 2 << 20 // at most
)

// PreviewFormats are the formats a preview can be.
var PreviewFormats = []string{"webp", "gif"}

// isRegular reports whether path is a regular file (not a folder or link
// a user put there).
func isRegular(path string) bool {
	info, err := os.Lstat(path)
	return err == nil && info.Mode().IsRegular()
}

// PreviewName is the preview's file in a run's output folder, by format.
func PreviewName(format string) string { return "preview." + format }

// Preview writes OUT/preview.webp (or .gif) from the run's mosaic: at most
// PreviewSeconds of frames sampled evenly over the whole run (a short run
// in real time), at most
// PreviewWidth wide. A WebP over PreviewBytes is made again at a lower
// quality, then with half the frames; one that still is not is an error.
func Preview(ctx context.Context, m *report.Stream, outDir, format string, opts Settings) (*report.Stream, error) {
	name := PreviewName(format)
	sr := &report.Stream{ID: "preview", Output: name, Codec: format, FPS: PreviewFPS, BadFrames: []report.BadFrame{}, Gaps: []report.Gap{}}
	final := filepath.Join(outDir, name)
	tmp, err := output.TempBeside(final)
	if err != nil {
		return sr, err
	}
	defer os.Remove(tmp)
	p := ffmpeg.Preview{Input: filepath.Join(outDir, m.Output), Duration: m.Duration, Frames: previewFrames(m),
		FPS: PreviewFPS, Width: PreviewWidth, GIF: format == "gif", Quality: 70, Output: tmp, StallTimeout: opts.StallTimeout}
	for {
		if err := opts.Tool.Preview(ctx, p); err != nil {
			return sr, opts.Space.WhenFull(outDir, fmt.Errorf("making %s: %w", final, err))
		}
		info, err := os.Stat(tmp)
		if err != nil {
			return sr, err
		}
		sr.Bytes = info.Size()
		switch {
		case sr.Bytes <= PreviewBytes:
		case !p.GIF && p.Quality > 40:
			p.Quality = 40
			continue
		case p.Frames > 1:
			p.Frames = max(1, p.Frames/2)
			continue
		default:
			return sr, fmt.Errorf("%s would be %d bytes even as one frame, over the %d a preview may take", final, sr.Bytes, PreviewBytes)
		}
		break
	}
	sr.FramesWritten, sr.Duration = p.Frames, float64(p.Frames)/PreviewFPS
	sr.Width = min(PreviewWidth, m.Width)
	sr.Height = 2 * int(math.Round(float64(m.Height*sr.Width)/float64(max(1, m.Width))/2)) // scale=W:-2
	if err := checkPreview(ctx, tmp, sr, opts.Tool); err != nil {
		return sr, fmt.Errorf("%s is not the preview it should be: %w", final, err)
	}
	sr.Verified = true
	if err := output.Publish(tmp, final); err != nil {
		return sr, err
	}
	sr.Status = report.OK
	return sr, nil
}

// MakePreview makes the preview of format asked for (""; none: nil) from
// mosaic m; a failed one is said, and a file left from before is stale.
func MakePreview(ctx context.Context, m *report.Stream, outDir, format string, opts Settings) (*report.Stream, error) {
	if format == "" {
		return nil, nil
	}
	preview, err := Preview(ctx, m, outDir, format, opts)
	if err != nil {
		preview.Status, preview.Error = report.Failed, err.Error()
		video.MarkStale(preview, filepath.Join(outDir, preview.Output))
		return preview, err
	}
	// A preview of the other format, from an earlier run, would be a file
	// no report describes, showing what may be outdated.
	for _, other := range PreviewFormats {
		if other != format {
			if old := filepath.Join(outDir, PreviewName(other)); isRegular(old) {
				os.Remove(old)
			}
		}
	}
	return preview, nil
}

// PreviewKept reports whether the previous report's preview is of format
// and still in place as written.
func PreviewKept(prev *report.Run, outDir, format string) bool {
	return prev != nil && prev.Preview != nil && prev.Preview.Output == PreviewName(format) && OnDisk(prev.Preview, outDir)
}

// previewFrames is how many frames the preview samples: the run in real
// time when it is short, PreviewSeconds' worth sampled over it when long.
func previewFrames(m *report.Stream) int {
	real := int(math.Round(m.Duration * PreviewFPS))
	return max(1, min(PreviewSeconds*PreviewFPS, real, m.FramesWritten))
}

// checkPreview reads the written preview back: an animated WebP's
// container (ffprobe does not read animated WebP) or a GIF through
// ffprobe, which must have sr's frames (WebP) and width.
func checkPreview(ctx context.Context, path string, sr *report.Stream, tool ffmpeg.Tool) error {
	if sr.Codec == "gif" {
		m, err := tool.Probe(ctx, path, false)
		if err != nil {
			return err
		}
		if v, ok := m.Video(); !ok || v.Codec != "gif" || v.Width != sr.Width {
			return fmt.Errorf("ffprobe reads %+v, want a GIF %d px wide", v, sr.Width)
		}
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	frames, width, err := WebPAnimation(b)
	if err != nil {
		return err
	}
	if frames != sr.FramesWritten || width != sr.Width {
		return fmt.Errorf("%d frames %d px wide, want %d frames %d px wide", frames, width, sr.FramesWritten, sr.Width)
	}
	return nil
}

// WebPAnimation reads a WebP's container: its frames (ANMF chunks of an
// animation; 1 for a still, as a one-frame preview is written) and its
// width (VP8X canvas, or the VP8/VP8L image's).
func WebPAnimation(b []byte) (frames, width int, err error) {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, fmt.Errorf("not a WebP")
	}
	switch string(b[12:16]) {
	case "VP8 ":
		return 1, int(b[26]) | int(b[27]&0x3f)<<8, nil
	case "VP8L":
		return 1, 1 + (int(b[21]) | int(b[22]&0x3f)<<8), nil
	case "VP8X":
	default:
		return 0, 0, fmt.Errorf("not a WebP image (chunk %q)", b[12:16])
	}
	width = 1 + (int(b[24]) | int(b[25])<<8 | int(b[26])<<16)
	if b[20]&0x02 == 0 {
		return 1, width, nil
	}
	for at := 12; at+8 <= len(b); {
		size := int(b[at+4]) | int(b[at+5])<<8 | int(b[at+6])<<16 | int(b[at+7])<<24
		if string(b[at:at+4]) == "ANMF" {
			frames++
		}
		at += 8 + size + size%2
	}
	return frames, width, nil
}
