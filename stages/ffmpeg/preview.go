package ffmpeg

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Preview makes a short animated image of a video for places that show
// images, not videos (a README, an issue, a slide): Frames frames sampled
// evenly over the whole video, shown FPS a second, at most Width pixels
// wide, as an animated WebP (lossy) or a GIF (a palette per file).
type Preview struct {
	Input    string
	Duration float64 // the input's length in seconds
	Frames   int     // frames sampled over it
	FPS      float64 // the preview's frame rate
	Width    int     // at most, aspect kept
	GIF      bool    // a GIF instead of a WebP
	Quality  int     // WebP quality, 0-100
	Output   string
	// StallTimeout kills the conversion when its output has not grown for
	// this long; 0: never.
	StallTimeout time.Duration
}

// Args is the argument vector.
func (p Preview) Args() []string {
	sample := fmt.Sprintf("fps=%s,setpts=N/%s/TB,scale='min(%d,iw)':-2:flags=area", fps(float64(p.Frames)/max(p.Duration, 1e-3)), fps(p.FPS), p.Width)
	args := []string{"-i", "file:" + p.Input, "-an", "-frames:v", fmt.Sprint(p.Frames)}
	if p.GIF {
		// One palette made from the sampled frames, dithered: the
		// segmentation colours and depth gradients survive 256 colours.
		args = append(args, "-filter_complex", sample+",split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=3",
			"-r", fps(p.FPS), "-loop", "0", "-f", "gif")
	} else {
		args = append(args, "-vf", sample, "-r", fps(p.FPS), "-c:v", "libwebp_anim", "-lossless", "0", "-quality", fmt.Sprint(p.Quality),
			"-loop", "0", "-f", "webp")
	}
	return slices.Concat(quiet, args, []string{"-y", "file:" + p.Output})
}

// Preview runs p and waits for it.
func (t Tool) Preview(ctx context.Context, p Preview) error {
	return t.runWatched(ctx, "preview", p.Args(), p.Output, p.StallTimeout, func() int64 { return fileSize(p.Output) })
}
