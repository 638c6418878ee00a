package mosaic

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// FileName is the mosaic's file in a run's output folder.
const FileName = "mosaic.mp4"

// Job is a run's mosaic as the planner made it.
type Job struct {
	Streams []frames.Bounded // the run's streams, cut to their evidence, with their shapes
	// Run is every stream the run holds, selected or not: the picture's
	// span, as its video's, takes them all in.
	Run      []*discover.Stream
	OutDir   string
	Audio    *report.Audio // the run's audio, or nil
	Clock    *timing.Clock // capture times, or nil
	MaxWidth int           // the mosaic's width at most
	Planes   Planes        // the depth camera's clipping planes
	Range    *Range        // metres the depth colour map spans; nil: from a sample
	// Legend is the run's segmentation colours; those of the objects in
	// view are listed under the strip.
	Legend []report.LegendEntry
	// Progress, when set, is told after each frame composed: done of total.
	Progress func(done, total int)
}

// Settings are what making a mosaic depends on, from the encode's options.
type Settings struct {
	Tool         ffmpeg.Tool
	CRF          int
	StallTimeout time.Duration
	Place        place.Config
	Space        output.Space
}

// Preset is x264's preset for mosaics: a view of the run, not its record,
// so speed matters more than size. Measured on a 960x354 mosaic of 300
// frames (a 320x240 img+id+depth run), x264's CPU time and size: superfast
// CRF 18 1.17 s, 2.1 MB; ultrafast CRF 18 0.75 s, 3.7 MB; ultrafast CRF 23
// 0.72 s, 2.0 MB. Hence ultrafast, at CRFOffset above the passes' CRF.
const Preset = "ultrafast"

// CRFOffset is how much higher the mosaic's CRF is than the img video's:
// ultrafast's larger files are brought back to superfast's size at CRF 18.
const CRFOffset = 5

// crf is the mosaic's CRF for the passes' crf.
func crf(passes int) int { return min(51, passes+CRFOffset) }

// Make writes OUT/mosaic.mp4: every stream of the run side by side on the
// img video's slot grid, with the run's audio, verified and renamed into
// place. The report describes it (ID "mosaic").
func Make(ctx context.Context, job Job, opts Settings) (*report.Stream, error) {
	sr := &report.Stream{ID: "mosaic", Output: FileName, FPS: opts.Place.FPS, Encoder: fmt.Sprintf("libx264 crf=%d preset=%s", crf(opts.CRF), Preset), Codec: "h264", BadFrames: []report.BadFrame{}, Gaps: []report.Gap{}}
	tiles, layout := planTiles(job.Streams, job.MaxWidth)
	if len(tiles) == 0 {
		return sr, fmt.Errorf("no stream of the run has a readable frame")
	}
	inView := present(ctx, job.Legend, tiles)
	layout, legendArea := withLegend(layout, len(inView))
	rng := job.Range
	if rng == nil {
		r := sampleRange(ctx, tiles, job.Planes)
		rng = &r
	}
	grid, span := gridStream(tiles, job.Run, job.Clock, job.Audio, opts.Place)
	pl := place.Stream(grid, sr, job.Clock, job.Audio, place.Part{Span: span}, opts.Place)
	sr.FramesFound = len(grid.Frames)
	sr.FirstFrame, sr.LastFrame = grid.Frames[0].Number, grid.Frames[len(grid.Frames)-1].Number
	canvas := NewCanvas(layout, job.Planes, *rng)
	canvas.legend, canvas.legendArea = inView, legendArea
	var audioDuration float64
	if sr.Audio != nil {
		audioDuration = pl.Duration(len(grid.Frames))
	}
	err := render(ctx, sr, job.OutDir, layout, pl.Timestamps(), audioDuration, opts, func(pipe *ffmpeg.Pipeline) (int, error) {
		progress := func(done int) {
			if job.Progress != nil {
				job.Progress(done, len(grid.Frames))
			}
		}
		written, held, err := feed(ctx, canvas, tiles, grid, pl, job.Clock, opts.Place.FPS, pipe, progress)
		// A frame number missing from the grid, or where a tile holds an
		// earlier frame, counts as missing: the mosaic is then degraded,
		// like the passes it shows.
		sr.FramesRead, sr.MissingFrames = len(grid.Frames), int64(held)
		for _, g := range spanGaps(grid, span) {
			sr.Gaps = append(sr.Gaps, report.Gap(g))
			sr.MissingFrames += report.Gap(g).Missing()
		}
		return written, err
	})
	return sr, err
}

// render encodes the frames produce writes (the layout's size, RGBA) into
// OUT/mosaic.mp4 with sr's audio (placed, or nil) padded or cut to
// audioDuration, verifies it and renames it into place; sr then describes
// it. produce returns how many frames it wrote.
func render(ctx context.Context, sr *report.Stream, outDir string, layout Layout, timestamps []float64, audioDuration float64, opts Settings, produce func(*ffmpeg.Pipeline) (int, error)) error {
	sr.Width, sr.Height = layout.Width, layout.Height
	final := filepath.Join(outDir, FileName)
	tmp, err := output.TempBeside(final)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed into place
	enc := ffmpeg.Encode{Width: layout.Width, Height: layout.Height, PixFmt: "rgba", FPS: opts.Place.FPS, Visual: true, CRF: crf(opts.CRF), Preset: Preset,
		Raw: true, Output: tmp, StallTimeout: opts.StallTimeout, Timestamps: timestamps}
	if sr.Audio != nil {
		enc.Audio, enc.AudioRate, enc.AudioOffset, enc.Duration = sr.Audio.Path, sr.Audio.SampleRate, sr.Audio.Offset, audioDuration
	}
	pipe, err := opts.Tool.Start(ctx, ffmpeg.Decode{}, enc)
	if err != nil {
		return err
	}
	written, err := produce(pipe)
	if err != nil && ctx.Err() == nil {
		// A failed write means ffmpeg stopped reading: its exit says why.
		if cerr := pipe.Close(); cerr != nil {
			err = cerr
		}
		return opts.Space.WhenFull(outDir, fmt.Errorf("encoding %s: %w", final, err))
	}
	if err != nil {
		pipe.Abort()
		return err
	}
	if err := pipe.Close(); err != nil {
		return opts.Space.WhenFull(outDir, fmt.Errorf("encoding %s: %w", final, err))
	}
	sr.FramesWritten = written
	if err := output.Verify(ctx, sr, tmp, final, opts.Tool, opts.Space); err != nil {
		return err
	}
	if sr.Audio != nil {
		sr.Audio = place.StreamAudio(sr.Audio, sr.Duration, sr.Audio.Offset)
	}
	if info, err := os.Stat(tmp); err == nil {
		sr.Bytes = info.Size()
	}
	if err := output.Publish(tmp, final); err != nil {
		return err
	}
	sr.Status = sr.WrittenStatus()
	return nil
}

// planTiles lays out the streams that have a shape (a readable frame),
// and returns them in the layout's order.
func planTiles(streams []frames.Bounded, maxWidth int) ([]frames.Bounded, Layout) {
	var tiles []frames.Bounded
	var sources []Source
	for _, b := range streams {
		if b.Err != nil || !b.Shape.Set || len(b.Stream.Frames) == 0 {
			continue
		}
		tiles = append(tiles, b)
		sources = append(sources, Source{Avatar: b.Stream.Avatar, Pass: b.Stream.Pass, Width: b.Shape.Info.Width, Height: b.Shape.Info.Height})
	}
	layout := Plan(sources, maxWidth)
	at := func(b frames.Bounded) int {
		return slices.IndexFunc(layout.Tiles, func(t Tile) bool { return t.Avatar == b.Stream.Avatar && t.Pass == b.Stream.Pass })
	}
	slices.SortFunc(tiles, func(x, y frames.Bounded) int { return at(x) - at(y) })
	return tiles, layout
}

// PlannedFrames is how many frames the mosaic of streams composes at most:
// the frame numbers any stream has within the first picture stream's range
// (its grid; fewer with --gaps drop or --vfr), so that the plan never
// grows.
func PlannedFrames(streams []*discover.Stream) int {
	first, last := int64(math.MinInt64), int64(math.MaxInt64)
	for _, s := range streams {
		if s.Pass.Visual() && len(s.Frames) > 0 {
			first, last = s.Frames[0].Number, s.Frames[len(s.Frames)-1].Number
			break
		}
	}
	numbers := map[int64]bool{}
	for _, s := range streams {
		for _, f := range s.Frames {
			if f.Number >= first && f.Number <= last {
				numbers[f.Number] = true
			}
		}
	}
	return len(numbers)
}

// gridStream is the mosaic's own stream, placed as img.mp4 is: the first
// picture stream's frames, and within their range the frame numbers it
// lacks that another tile has (img.mp4 holds over them; the mosaic shows
// the tiles that have them and says which tile holds), or, without a
// picture stream, every frame number any tile has. It carries the audio.
// With --vfr, or --gaps drop without capture times, a frame the picture
// lacks has no slot of its own in img.mp4, so none is added.
func gridStream(tiles []frames.Bounded, run []*discover.Stream, clock *timing.Clock, audio *report.Audio, cfg place.Config) (g *discover.Stream, span *place.Span) {
	var picture *discover.Stream
	for _, b := range tiles {
		if b.Stream.Pass.Visual() {
			picture = b.Stream
			break
		}
	}
	byNumber := map[int64]discover.Frame{}
	add := func(f discover.Frame) {
		if _, ok := byNumber[f.Number]; !ok {
			byNumber[f.Number] = f
		}
	}
	if picture != nil {
		for _, f := range picture.Frames {
			add(f)
		}
	}
	first, last := int64(math.MinInt64), int64(math.MaxInt64)
	if picture != nil {
		first, last = picture.Frames[0].Number, picture.Frames[len(picture.Frames)-1].Number
		if span = place.Held(picture, clock, audio, place.Part{Span: pictureSpan(tiles, run, picture, cfg.MaxGap)}, cfg); span != nil {
			first, last = span.From, span.To // img.mp4 spans its camera's frames
		}
	}
	if picture == nil || !cfg.VFR && !(cfg.Drop && clock == nil) {
		for _, b := range tiles {
			for _, f := range b.Stream.Frames {
				if f.Number >= first && f.Number <= last {
					add(f)
				}
			}
		}
	}
	g = &discover.Stream{Pass: tdw.Img}
	if picture != nil {
		g = &discover.Stream{Avatar: picture.Avatar, Prefix: picture.Prefix, Pass: picture.Pass}
	}
	for _, f := range byNumber {
		g.Frames = append(g.Frames, f)
	}
	slices.SortFunc(g.Frames, func(a, b discover.Frame) int { return cmp.Compare(a.Number, b.Number) })
	return g, span
}

// spanGaps are the grid's missing frame numbers: between its frames, and
// before and after them within the picture's span (nil: none).
func spanGaps(grid *discover.Stream, span *place.Span) []discover.Gap {
	gaps := grid.Gaps()
	if span == nil {
		return gaps
	}
	if first := grid.Frames[0].Number; first > span.From {
		gaps = append([]discover.Gap{{From: span.From, To: first - 1}}, gaps...)
	}
	if last := grid.Frames[len(grid.Frames)-1].Number; last < span.To {
		gaps = append(gaps, discover.Gap{From: last + 1, To: span.To})
	}
	return gaps
}

// pictureSpan is the picture stream's span among the tiles, as its video
// was placed (place.Spans), or nil.
func pictureSpan(tiles []frames.Bounded, run []*discover.Stream, picture *discover.Stream, maxGap int64) *place.Span {
	streams := make([]*discover.Stream, len(tiles))
	for i, b := range tiles {
		streams[i] = b.Stream
	}
	at := slices.Index(streams, picture)
	if at < 0 {
		return nil
	}
	spans, _ := place.SpansOf(streams, tiles, make([]*report.Stream, len(tiles)), run, maxGap) // the passes' encodes warned
	return spans[at]
}

// feed composes a mosaic frame for each frame number and writes it to its
// slots: a frame shows until the next one starts, like the pass videos.
// held counts the frame numbers where a tile holds an earlier frame;
// progress is told how many frames are composed.
func feed(ctx context.Context, canvas *Canvas, tiles []frames.Bounded, grid *discover.Stream, pl place.Placement, clock *timing.Clock, fps float64, pipe *ffmpeg.Pipeline, progress func(int)) (written, held int, err error) {
	byNumber := make([]map[int64]discover.Frame, len(tiles))
	for i, b := range tiles {
		byNumber[i] = map[int64]discover.Frame{}
		for _, f := range b.Stream.Frames {
			byNumber[i][f.Number] = f
		}
	}
	first := grid.Frames[0].Number
	var prev []byte
	next, good := int64(0), 0
	write := func(b []byte) error {
		if _, err := pipe.Write(b); err != nil {
			return err
		}
		written++
		return nil
	}
	for _, gf := range grid.Frames {
		if err := ctx.Err(); err != nil {
			return written, held, err
		}
		n := gf.Number
		slot := pl.Slot(n, good)
		for ; prev != nil && next < slot; next++ {
			if err := write(prev); err != nil {
				return written, held, err
			}
		}
		for i, b := range tiles {
			canvas.Set(i, decode(ctx, byNumber[i], n, b.Shape))
		}
		if canvas.Held() {
			held++
		}
		t := float64(n-first) / fps
		if clock != nil {
			t = clock.Frames[n] - clock.Frames[first]
		}
		prev = canvas.Frame(n, t)
		good++
		progress(good)
	}
	for last := pl.LastSlot(good); next <= last || written == 0; next++ {
		if err := write(prev); err != nil {
			return written, held, err
		}
	}
	return written, held, nil
}

// decode is stream's frame n as an image, or nil when it has none or it
// cannot be used: not readable, not of the stream's shape (checked from
// the header, before any decoding), or not decodable. The tile then holds.
// Decodes share the process's decode budget (frames.Decode).
func decode(ctx context.Context, stream map[int64]discover.Frame, n int64, shape frames.Shape) image.Image {
	f, ok := stream[n]
	if !ok {
		return nil
	}
	img, err := frames.Decode(ctx, f, frames.Checks{}, &shape)
	if err != nil {
		return nil
	}
	return img
}

// sampleRange estimates the depth colour map's range from up to 8 frames
// spread over the first depth stream; without one it does not matter.
func sampleRange(ctx context.Context, tiles []frames.Bounded, p Planes) Range {
	for _, b := range tiles {
		if b.Stream.Pass != tdw.Depth {
			continue
		}
		fs := b.Stream.Frames
		var sample []image.Image
		for k := range min(8, len(fs)) {
			f := fs[k*len(fs)/min(8, len(fs))]
			if img := decode(ctx, map[int64]discover.Frame{f.Number: f}, f.Number, b.Shape); img != nil {
				sample = append(sample, img)
			}
		}
		return EstimateRange(sample, p)
	}
	return Range{0, p.Far}
}

// Kept is the previous report's mosaic when its inputs are unchanged
// and its file is still in place, as large as it was written; else nil.
func Kept(prev *report.Run, outDir, inputs string) *report.Stream {
	if prev == nil || prev.Mosaic == nil || prev.Mosaic.Inputs != inputs || !OnDisk(prev.Mosaic, outDir) {
		return nil
	}
	return prev.Mosaic
}

// OnDisk reports whether a written mosaic or preview is still in place, as
// large as it was written.
func OnDisk(sr *report.Stream, outDir string) bool {
	if sr == nil || !sr.Status.Written() {
		return false
	}
	info, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(sr.Output)))
	return err == nil && info.Mode().IsRegular() && info.Size() == sr.Bytes
}

// KeptView is a previous report's mosaic or preview, as an up-to-date run
// lists it: kept, and selected when asked for.
func KeptView(sr *report.Stream, asked bool, outDir string) *report.Stream {
	if !OnDisk(sr, outDir) {
		return nil // gone: not listed
	}
	v := *sr
	v.Kept, v.NotSelected = true, !asked
	return &v
}

// Bound cuts each stream to its evidence and finds the run's capture clock,
// as the planner does for the streams' own videos (whose encodes say what
// a clock's problems are: here they only leave the mosaic without one).
func Bound(ctx context.Context, run *discover.Run, streams []*discover.Stream, audio *report.Audio, checks frames.Checks, cfg place.Config) ([]frames.Bounded, *timing.Clock) {
	bounds := make([]frames.Bounded, len(streams))
	var good []*discover.Stream
	for i, s := range streams {
		if bounds[i] = frames.Bound(ctx, s, checks); bounds[i].Err == nil {
			good = append(good, bounds[i].Stream)
		}
	}
	var clock *timing.Clock
	if len(good) > 0 {
		clock, _, _ = place.Clock(run, good, audio, cfg)
	}
	return bounds, clock
}

// Settle lets the mosaic and preview asked for count in the run's status:
// written afresh, the run did something (not skipped); degraded, the run
// is degraded too, and Settle returns the view's ID.
func Settle(rep *report.Run) (degraded string) {
	for _, v := range []*report.Stream{rep.Mosaic, rep.Preview} {
		if v == nil || v.NotSelected {
			continue
		}
		if rep.Status == report.Skipped && !v.Kept {
			rep.Status = report.OK
		}
		if v.Status == report.Degraded && (rep.Status == report.OK || rep.Status == report.Skipped) {
			rep.Status, degraded = report.Degraded, v.ID
		}
	}
	return degraded
}

// Inputs fingerprints what a mosaic is made from: every stream's inputs
// (their own fingerprints) and the settings that shape the mosaic.
func Inputs(streams []string, settings string) string {
	h := sha256.New()
	fmt.Fprintf(h, "tdwstitch mosaic %d\n%s\n%s\n", report.Schema, strings.Join(streams, ","), settings)
	return hex.EncodeToString(h.Sum(nil))
}

// Listed are the previous report's mosaic and preview as a run that did
// not ask for them lists them: still on disk, so still listed, and stale
// when the mosaic's inputs (now key) changed.
func Listed(prev *report.Run, outDir, key string) (m, preview *report.Stream) {
	m, preview = KeptView(prev.Mosaic, false, outDir), KeptView(prev.Preview, false, outDir)
	if m != nil && m.Inputs != key {
		m.StaleOutput = true
		if preview != nil {
			preview.StaleOutput = true
		}
	}
	return m, preview
}
