package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// A live run longer than one chunk is encoded while it is still arriving:
// each sealed chunk of spooled frames becomes a video per stream under
// OUT/<run>/.chunks/NNNN (placed on the whole run's slot grid), its frames
// leave the spool, and at the run's end the chunks are joined without
// re-encoding and the audio is muxed. So the spool stays bounded, and a
// killed serve loses only the chunk it was encoding (its frames are still
// spooled; recovery encodes them and joins).

// Window is one chunk of a live run, the part of an encode EncodeChunk
// makes: the frames the spool wrote to pack Pack (the last chunk: to any
// later one too) whose numbers lie in From..To. A frame of the chunk
// outside them (a stray number that arrived before frames below it) is set
// aside, named.
type Window struct {
	Pack     int
	From, To int64            // frame numbers, inclusive; To < 0: no upper bound
	Next     int64            // the next chunk's first frame; < 0: the last chunk
	First    map[string]int64 // stream ID -> its first frame in the whole run
	Clock    *timing.Clock    // receive times of the run's frames so far
	Timed    bool             // the final videos get audio: visual streams are placed by time
}

// segment is a Window being encoded.
type segment struct {
	Window
	// outside holds, per stream ID, the chunk's frames set aside by restrict.
	outside map[string][]report.BadFrame
}

// restrict keeps the chunk's frames of each stream, and the streams that
// have any; frames of the chunk's packs outside its numbers go to outside
// (or, for a stream with none inside, to warnings). Duplicates are sorted
// out among the chunk's own frames: a stray in an earlier chunk that took
// a number first does not make the real frame of that number a duplicate.
func (g *segment) restrict(streams []*discover.Stream) (out []*discover.Stream, warnings []string) {
	g.outside = map[string][]report.BadFrame{}
	for _, s := range streams {
		c := *s
		c.Frames, c.Duplicates = nil, nil
		for _, f := range slices.Concat(s.Frames, s.Duplicates) {
			chunk := spool.ChunkOf(f)
			member := chunk < 0 || chunk == g.Pack || g.To < 0 && chunk > g.Pack
			in := f.Number >= g.From && (g.To < 0 || f.Number <= g.To)
			switch {
			case !member:
			case in:
				c.Frames = append(c.Frames, f)
			case chunk >= 0:
				g.outside[s.ID()] = append(g.outside[s.ID()], report.BadFrame{Path: f.Rel, Reason: fmt.Sprintf(
					"frame number %d arrived with frames %d to %d, ahead of frames still to come: a stray, set aside", f.Number, g.From, max(g.To, g.From))})
			}
		}
		c.Sort()
		if len(c.Frames) > 0 {
			out = append(out, &c)
			continue
		}
		for _, b := range g.outside[s.ID()] {
			// No frame of the stream to encode here: said in the chunk's
			// warnings, which the join keeps.
			warnings = append(warnings, fmt.Sprintf("%s: %s", b.Path, b.Reason))
		}
	}
	return out, warnings
}

// part places stream s of the chunk on the whole run's grid (a nil
// segment: a whole run, whose stream spans its camera's frames, span).
func (g *segment) part(s *discover.Stream, span *place.Span) place.Part {
	if g == nil {
		return place.Part{Span: span} // a whole run: its camera's span
	}
	first, ok := g.First[s.ID()]
	return place.Part{Chunk: true, From: g.From, Next: g.Next, First: first, InRun: ok, Timed: g.Timed}
}

// EncodeChunk encodes window w of the live run spooled in spoolDir into
// outDir, a folder of its own: one video per stream on the whole run's slot
// grid, silent (the join adds the audio), made afresh (a chunk a killed
// serve was writing is replaced), with no events (the run's progress is its
// chunks). A chunk whose streams failed is still written with its report:
// the join says what failed.
func EncodeChunk(ctx context.Context, spoolDir, outDir string, w Window, opts Options) error {
	os.RemoveAll(outDir)
	opts.NoAudio, opts.Audio, opts.Force = true, "", true
	opts.OnEvent = func(event.Event) {}
	_, _, err := encode(ctx, runJob{dir: spoolDir, out: outDir, find: spool.Find, seg: &segment{Window: w}}, opts)
	return err
}

// Chunk is one encoded chunk of a live run: the folder EncodeChunk wrote,
// and the frame numbers it was given (To < 0: to the end).
type Chunk struct {
	Dir      string
	From, To int64
}

// span names frames from..to (to < 0: to the end) for messages.
func span(from, to int64) string {
	if to < 0 {
		return fmt.Sprintf("frames %d to the end", from)
	}
	return fmt.Sprintf("frames %d to %d", from, to)
}

// JoinChunks makes a chunked live run's final videos and report in runOut:
// per stream, the chunks' videos joined in order (no re-encoding) with the
// run's audio. spoolDir is the run's spool (the report names it as the
// run); clock, the run's receive times (nil: none).
func JoinChunks(ctx context.Context, runOut, spoolDir string, chunks []Chunk, clock *timing.Clock, opts Options) (*report.Run, error) {
	opts.ApplyDefaults()
	started := time.Now()
	rep := newReport(spoolDir, runOut, opts, started)
	_, err := finishReport(rep, runOut, started, joinRun(ctx, rep, runOut, spoolDir, chunks, clock, opts))
	return rep, err
}

func joinRun(ctx context.Context, rep *report.Run, runOut, spoolDir string, chunks []Chunk, clock *timing.Clock, opts Options) error {
	legendOf(rep, spoolDir, opts)
	audio, warnings, err := resolveAudio(ctx, &discover.Run{Dir: spoolDir}, opts)
	rep.Audio = audio
	warn(rep, opts, warnings...)
	if err != nil {
		return err
	}
	var order []string
	byStream := map[string][]*report.Stream{}
	parts := map[string][]string{}
	seen := map[string]bool{}
	lastChunk := map[string]int{} // stream -> position of its last chunk so far
	for pos, c := range chunks {
		dir := c.Dir
		cr := readRun(dir)
		if cr == nil {
			return fmt.Errorf("the chunk of the run with %s has no report in %s: start serve again to recover the run", span(c.From, c.To), dir)
		}
		for _, w := range cr.Warnings {
			if !seen[w] {
				seen[w] = true
				warnText(rep, opts, w)
			}
		}
		for _, sr := range cr.Streams {
			if byStream[sr.ID] == nil {
				order = append(order, sr.ID)
			} else if prev := lastChunk[sr.ID]; pos > prev+1 {
				// No frame of this stream in a whole chunk: there is no frame
				// left to hold there, so its video skips that span.
				warnText(rep, opts, fmt.Sprintf("%s: no frame in %s: its video skips that span instead of holding the previous frame",
					sr.ID, span(chunks[prev+1].From, chunks[pos-1].To)))
			}
			lastChunk[sr.ID] = pos
			byStream[sr.ID] = append(byStream[sr.ID], sr)
			if video.AllBad(sr) {
				// Its bad frames are listed; there is no frame to hold, so
				// the video skips the span, as for a chunk without the stream.
				warnText(rep, opts, fmt.Sprintf("%s: every frame in %s is bad: its video skips that span instead of holding the previous frame",
					sr.ID, span(c.From, c.To)))
				continue
			}
			parts[sr.ID] = append(parts[sr.ID], filepath.Join(dir, filepath.FromSlash(sr.Output)))
		}
	}
	rep.Streams = make([]*report.Stream, len(order))
	var mu sync.Mutex
	p := pool.New().WithMaxGoroutines(opts.Jobs)
	for i, id := range order {
		p.Go(func() {
			release := holdEncoder(ctx, opts)
			defer release()
			sr := video.JoinStream(ctx, byStream[id], parts[id], runOut, audio, clock, opts.video())
			mu.Lock()
			rep.Streams[i] = sr
			mu.Unlock()
		})
	}
	p.Wait()
	err = settle(rep)
	if !opts.Mosaic {
		return err
	}
	// The frames left the spool chunk by chunk: the mosaic is made from
	// the joined videos.
	mosaicErr := joinedMosaic(ctx, rep, runOut, clock, opts)
	err = settleViews(rep, err)
	if mosaicErr != nil {
		rep.Status = report.Failed
		return withMosaicError(err, mosaicErr)
	}
	return err
}
