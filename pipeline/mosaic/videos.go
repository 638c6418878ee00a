package mosaic

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
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
	// Index is the frame of the video that shows frame number n.
	Index func(n int64) int
	// Holds reports whether the tile holds an earlier frame at frame
	// number n: n is before or after the stream's frames, or missing.
	Holds func(n int64) bool
}

// VideosJob is the mosaic of a run whose frames are gone by its end (a
// live run encoded in chunks), made from its final videos: the grid is the
// first picture video's (else the first video's), every tile showing the
// frame number the grid shows, as Make composes them.
type VideosJob struct {
	Videos []Video
	OutDir string
	// Frames are the grid's frame numbers, ascending; Slot is where frame
	// n starts to show; Slots, the grid video's length.
	Frames []int64
	Slot   func(n int64) int
	Slots  int
	// Time is frame n's capture time from the grid's first frame.
	Time func(n int64) float64
	// Gaps are the grid's missing frame numbers; BadFrames, the tiles'
	// bad frames (held in their videos), named by stream.
	Gaps      []report.Gap
	BadFrames []report.BadFrame
	MaxWidth  int
	Planes    Planes
	Range     *Range // nil: from a sample of the depth video
	Legend    []report.LegendEntry
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
// A grid frame where a tile holds counts as missing, as in Make.
func FromVideos(ctx context.Context, job VideosJob, opts Settings) (*report.Stream, error) {
	sr := &report.Stream{ID: "mosaic", Output: FileName, FPS: opts.Place.FPS, Encoder: fmt.Sprintf("libx264 crf=%d preset=%s", crf(opts.CRF), Preset), Codec: "h264",
		BadFrames: append([]report.BadFrame{}, job.BadFrames...), Gaps: append([]report.Gap{}, job.Gaps...)}
	if len(job.Videos) == 0 || len(job.Frames) == 0 {
		return sr, fmt.Errorf("no stream of the run has a video")
	}
	sr.FramesFound, sr.FramesRead = len(job.Frames), len(job.Frames)
	sr.FirstFrame, sr.LastFrame = job.Frames[0], job.Frames[len(job.Frames)-1]
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
	if job.Audio != nil {
		a := *job.Audio
		sr.Audio = &a
	}
	err = render(ctx, sr, job.OutDir, layout, nil, float64(job.Slots)/opts.Place.FPS, opts, func(pipe *ffmpeg.Pipeline) (int, error) {
		written, held, err := feedVideos(ctx, canvas, videos, job, opts, pipe)
		sr.MissingFrames = int64(held)
		for _, g := range job.Gaps {
			sr.MissingFrames += g.Missing()
		}
		return written, err
	})
	return sr, err
}

// tileReader reads one tile's video forward.
type tileReader struct {
	r    *ffmpeg.FrameReader
	buf  *image.RGBA
	read int // frames read so far
	done bool
}

// feedVideos composes a mosaic frame for each grid frame number, every
// tile at that number, and writes it to its slots: a frame shows until the
// next one starts, as in Make. held counts the grid frames where a tile
// holds.
func feedVideos(ctx context.Context, canvas *Canvas, videos []Video, job VideosJob, opts Settings, pipe *ffmpeg.Pipeline) (written, held int, err error) {
	tiles := make([]*tileReader, len(videos))
	for i, v := range videos {
		r, err := opts.Tool.ReadFrames(ctx, ffmpeg.Frames{Input: v.Path, Width: v.Width, Height: v.Height, FPS: opts.Place.FPS})
		if err != nil {
			return 0, 0, err
		}
		defer r.Close()
		tiles[i] = &tileReader{r: r, buf: image.NewRGBA(image.Rect(0, 0, v.Width, v.Height))}
	}
	var prev []byte
	next := 0
	write := func(b []byte) error {
		if _, err := pipe.Write(b); err != nil {
			return err
		}
		written++
		return nil
	}
	for _, n := range job.Frames {
		if err := ctx.Err(); err != nil {
			return written, held, err
		}
		for slot := job.Slot(n); prev != nil && next < slot; next++ {
			if err := write(prev); err != nil {
				return written, held, err
			}
		}
		for i, v := range videos {
			var pic image.Image
			if !v.Holds(n) {
				if pic, err = tiles[i].at(v.Index(n)); err != nil {
					return written, held, fmt.Errorf("reading %s back: %w", v.Path, err)
				}
			}
			canvas.Set(i, pic)
		}
		if canvas.Held() {
			held++
		}
		prev = canvas.Frame(n, job.Time(n))
	}
	for ; next < job.Slots || written == 0; next++ {
		if err := write(prev); err != nil {
			return written, held, err
		}
	}
	return written, held, nil
}

// at is the video's frame i, or nil after its last (the tile holds).
// Frames are read forward; an earlier i gets the frame read last.
func (t *tileReader) at(i int) (image.Image, error) {
	if t.done {
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
// every written stream's video, each frame number placed as its stream
// placed it (by capture time from clock for a timed stream, by number
// otherwise, at fps), on the grid of the first picture video (else the
// first). The caller sets the size, planes and range. Streams placed with
// gaps dropped or at variable frame rate are refused: their frames' slots
// are not in the report.
func JoinedJob(rep *report.Run, runOut string, clock *timing.Clock, fps float64) (VideosJob, error) {
	if rep.Options.Gaps == "drop" || rep.Options.VFR {
		return VideosJob{}, fmt.Errorf("a run encoded in chunks has a mosaic only with frames held in place (not --gaps drop or --vfr)")
	}
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
	job := VideosJob{OutDir: runOut, Slots: grid.FramesWritten, Legend: rep.Legend, Audio: grid.Audio, Gaps: grid.Gaps, Slot: slotOf(grid, clock, fps)}
	for n := grid.FirstFrame; n <= grid.LastFrame; n++ {
		if !inGaps(grid.Gaps, n) {
			job.Frames = append(job.Frames, n)
		}
	}
	job.Time = func(n int64) float64 { return float64(n-grid.FirstFrame) / fps }
	if timed(grid, clock) {
		job.Time = func(n int64) float64 { return clock.Frames[n] - clock.Frames[grid.FirstFrame] }
	}
	for _, s := range written {
		at := slotOf(s, clock, fps)
		job.Videos = append(job.Videos, Video{Avatar: s.Avatar, Pass: tdw.Pass(s.Pass), Path: filepath.Join(runOut, filepath.FromSlash(s.Output)),
			Width: s.Width, Height: s.Height, Index: at, Holds: func(n int64) bool { return n < s.FirstFrame || n > s.LastFrame || inGaps(s.Gaps, n) }})
		for _, b := range s.BadFrames {
			job.BadFrames = append(job.BadFrames, report.BadFrame{Path: b.Path, Reason: s.ID + ": " + b.Reason})
		}
	}
	return job, nil
}

// timed reports whether a stream was placed by capture time.
func timed(s *report.Stream, clock *timing.Clock) bool {
	if clock == nil || s.Timing == "" || s.Timing == report.TimingNone {
		return false
	}
	_, ok := clock.Frames[s.FirstFrame]
	return ok
}

// slotOf is the slot of a stream's video where frame n starts to show, as
// place.Placement puts it: by capture time (a time on a slot boundary stays
// in that slot), or by number.
func slotOf(s *report.Stream, clock *timing.Clock, fps float64) func(int64) int {
	if timed(s, clock) {
		t0 := clock.Frames[s.FirstFrame]
		return func(n int64) int {
			t, ok := clock.Frames[n]
			if !ok {
				t = t0 + float64(n-s.FirstFrame)/fps
			}
			return int(math.Ceil((t-t0)*fps - 1e-6))
		}
	}
	return func(n int64) int { return int(n - s.FirstFrame) }
}

// inGaps reports whether n is one of the missing frame numbers.
// The gaps are ascending, as reports list them.
func inGaps(gaps []report.Gap, n int64) bool {
	i := sort.Search(len(gaps), func(i int) bool { return gaps[i].To >= n })
	return i < len(gaps) && gaps[i].From <= n
}
