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
			p.Frames = max(1, p.Frames/2) // as long, more jerky
			continue
		default:
			return sr, fmt.Errorf("%s would be %d bytes even as one frame, over the %d a preview may take", final, sr.Bytes, PreviewBytes)
		}
		break
	}
	sr.FramesWritten, sr.Duration = p.Frames, float64(p.Frames)/PreviewFPS
	sr.Width = min(PreviewWidth, m.Width)
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
