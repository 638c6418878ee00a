package mosaic

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// Video is one stream's final video, a tile of a mosaic made from videos.
type Video struct {
	Avatar        string
	Pass          tdw.Pass
	Path          string
	Width, Height int
	// Lead is how many slots of the grid pass before the video's first
	// frame shows (negative: the video starts that many slots earlier).
	Lead int
	// Missing is the stream's own missing frames, held in its video.
	Missing int64
}

// VideosJob is the mosaic of a run whose frames are gone by its end (a
// live run encoded in chunks), made from its final videos: they are on one
// slot grid, the first picture video's (else the first video's).
type VideosJob struct {
	Videos   []Video
	OutDir   string
	Slots    int // frames of the grid's video
	MaxWidth int
	Planes   Planes
	Range    *Range // nil: from a sample of the depth video
	Legend   []report.LegendEntry
	// Strip is the frame number and capture time (t < 0: not known) the
	// grid's slot k shows.
	Strip func(k int) (n int64, t float64)
	// Audio is the run's audio as the grid's video carries it (Offset
	// from its first frame), or nil.
	Audio *report.Audio
}

// sampleFrames is how many frames of a video the legend and depth range
// are sampled from.
const sampleFrames = 8

// FromVideos writes OUT/mosaic.mp4 from the run's final videos: the same
// layout, labels, depth colours, legend and strip as Make, each tile read
// back from its video (lossless passes bit-exact), with the run's audio.
// A slot where a tile has no frame yet (or any more) counts as missing.
func FromVideos(ctx context.Context, job VideosJob, opts Settings) (*report.Stream, error) {
	sr := &report.Stream{ID: "mosaic", Output: FileName, FPS: opts.Place.FPS, Encoder: fmt.Sprintf("libx264 crf=%d preset=%s", crf(opts.CRF), Preset), Codec: "h264",
		BadFrames: []report.BadFrame{}, Gaps: []report.Gap{}, FramesFound: job.Slots, FramesRead: job.Slots}
	if len(job.Videos) == 0 || job.Slots == 0 {
		return sr, fmt.Errorf("no stream of the run has a video")
	}
	var sources []Source
	for _, v := range job.Videos {
		sources = append(sources, Source{Avatar: v.Avatar, Pass: v.Pass, Width: v.Width, Height: v.Height})
	}
	layout := Plan(sources, job.MaxWidth)
	videos := make([]Video, len(layout.Tiles))
	for i, t := range layout.Tiles {
		for _, v := range job.Videos {
			if v.Avatar == t.Avatar && v.Pass == t.Pass {
				videos[i] = v
			}
		}
	}
	inView, rng, err := sampleVideos(ctx, videos, job, opts)
	if err != nil {
		return sr, err
	}
	layout, legendArea := withLegend(layout, len(inView))
	canvas := NewCanvas(layout, job.Planes, rng)
	canvas.legend, canvas.legendArea = inView, legendArea
	sr.FirstFrame, _ = job.Strip(0)
	sr.LastFrame, _ = job.Strip(job.Slots - 1)
	if job.Audio != nil {
		a := *job.Audio
		sr.Audio = &a
	}
	err = render(ctx, sr, job.OutDir, layout, nil, float64(job.Slots)/opts.Place.FPS, opts, func(pipe *ffmpeg.Pipeline) (int, error) {
		written, held, err := feedVideos(ctx, canvas, videos, job, opts, pipe)
		sr.MissingFrames = int64(held)
		for _, v := range videos {
			sr.MissingFrames += v.Missing
		}
		return written, err
	})
	return sr, err
}

// tileReader reads one tile's video, aligned to the grid.
type tileReader struct {
	v    Video
	r    *ffmpeg.FrameReader
	buf  *image.RGBA
	read int // frames read so far
	have bool
	done bool
}

// feedVideos composes one mosaic frame per slot of the grid from the
// tiles' videos, read in step; held counts the slots where a tile had no
// frame of its own.
func feedVideos(ctx context.Context, canvas *Canvas, videos []Video, job VideosJob, opts Settings, pipe *ffmpeg.Pipeline) (written, held int, err error) {
	tiles := make([]*tileReader, len(videos))
	for i, v := range videos {
		r, err := opts.Tool.ReadFrames(ctx, ffmpeg.Frames{Input: v.Path, Width: v.Width, Height: v.Height, FPS: opts.Place.FPS})
		if err != nil {
			return 0, 0, err
		}
		defer r.Close()
		tiles[i] = &tileReader{v: v, r: r, buf: image.NewRGBA(image.Rect(0, 0, v.Width, v.Height))}
	}
	for k := range job.Slots {
		if err := ctx.Err(); err != nil {
			return written, held, err
		}
		missing := false
		for i, t := range tiles {
			pic, err := t.at(k - t.v.Lead)
			if err != nil {
				return written, held, fmt.Errorf("reading %s back: %w", t.v.Path, err)
			}
			canvas.Set(i, pic)
			missing = missing || pic == nil
		}
		if missing {
			held++
		}
		n, tm := job.Strip(k)
		if _, err := pipe.Write(canvas.Frame(n, tm)); err != nil {
			return written, held, err
		}
		written++
	}
	return written, held, nil
}

// at is the video's frame i (nil before its first frame and after its
// last: the tile holds). Frames are read in order; earlier ones are
// skipped.
func (t *tileReader) at(i int) (image.Image, error) {
	if i < 0 || t.done {
		return nil, nil
	}
	for t.read <= i {
		err := t.r.Next(t.buf.Pix)
		if errors.Is(err, io.EOF) {
			t.done = true
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t.read++
	}
	return t.buf, nil
}

// sampleVideos reads sampleFrames frames spread over the _id videos (the
// legend's objects in view) and the first _depth video (the colour map's
// range, unless the job fixes it).
func sampleVideos(ctx context.Context, videos []Video, job VideosJob, opts Settings) ([]report.LegendEntry, Range, error) {
	rng := Range{0, job.Planes.Far}
	if job.Range != nil {
		rng = *job.Range
	}
	var ids []image.Image
	depthDone := job.Range != nil
	for _, v := range videos {
		wantID := v.Pass == tdw.ID && len(job.Legend) > 0
		wantDepth := v.Pass == tdw.Depth && !depthDone
		if !wantID && !wantDepth {
			continue
		}
		sample, err := sampleVideo(ctx, v, job.Slots, opts)
		if err != nil {
			return nil, rng, err
		}
		if wantID {
			ids = append(ids, sample...)
		}
		if wantDepth {
			rng, depthDone = EstimateRange(sample, job.Planes), true
		}
	}
	return InView(job.Legend, ids), rng, nil
}

// sampleVideo decodes up to sampleFrames frames spread over a video of
// about slots frames.
func sampleVideo(ctx context.Context, v Video, slots int, opts Settings) ([]image.Image, error) {
	r, err := opts.Tool.ReadFrames(ctx, ffmpeg.Frames{Input: v.Path, Width: v.Width, Height: v.Height, FPS: opts.Place.FPS, Step: max(1, slots/sampleFrames)})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []image.Image
	for len(out) < sampleFrames {
		img := image.NewRGBA(image.Rect(0, 0, v.Width, v.Height))
		err := r.Next(img.Pix)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s back: %w", v.Path, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// JoinedJob is the mosaic of a run joined from chunks, from its report:
// every written stream's video, on the grid of the first picture video
// (else the first), each led by the slots between the grid's first frame
// and its own, by capture time when clock has both (else by number at
// fps, the run's when its streams do not say). The caller sets the size,
// planes and range.
func JoinedJob(rep *report.Run, runOut string, clock *timing.Clock, fps float64) (VideosJob, error) {
	var written []*report.Stream
	for _, s := range rep.Streams {
		if s.Status.Written() {
			written = append(written, s)
		}
	}
	if len(written) == 0 {
		return VideosJob{}, fmt.Errorf("no stream of the run has a video")
	}
	grid := written[0]
	for _, s := range written {
		if s.Visual() {
			grid = s
			break
		}
	}
	if grid.FPS > 0 {
		fps = grid.FPS
	}
	// at is a frame's time from the grid's first frame: its capture time
	// when known, else its number's.
	at := func(n int64) float64 {
		if clock != nil {
			t, ok := clock.Frames[n]
			t0, ok0 := clock.Frames[grid.FirstFrame]
			if ok && ok0 {
				return t - t0
			}
		}
		return float64(n-grid.FirstFrame) / fps
	}
	job := VideosJob{OutDir: runOut, Slots: grid.FramesWritten, Legend: rep.Legend, Audio: grid.Audio, Strip: stripOf(grid, clock, at, fps)}
	for _, s := range written {
		job.Videos = append(job.Videos, Video{Avatar: s.Avatar, Pass: tdw.Pass(s.Pass), Path: filepath.Join(runOut, filepath.FromSlash(s.Output)),
			Width: s.Width, Height: s.Height, Lead: int(math.Round(at(s.FirstFrame) * fps)), Missing: s.MissingFrames})
	}
	return job, nil
}

// stripOf says which frame number and capture time the grid's slot k
// shows: without capture times, frame numbers are slots; with them, the
// last frame captured by the slot's time.
func stripOf(grid *report.Stream, clock *timing.Clock, at func(int64) float64, fps float64) func(int) (int64, float64) {
	if clock == nil {
		return func(k int) (int64, float64) { return grid.FirstFrame + int64(k), float64(k) / fps }
	}
	var numbers []int64
	for n := range clock.Frames {
		if n >= grid.FirstFrame && n <= grid.LastFrame {
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	return func(k int) (int64, float64) {
		t := float64(k) / fps
		i := sort.Search(len(numbers), func(i int) bool { return at(numbers[i]) > t+1e-9 })
		if i == 0 {
			return grid.FirstFrame, t
		}
		return numbers[i-1], at(numbers[i-1])
	}
}
