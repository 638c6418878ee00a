package live

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// ChunksDir holds a live run's encoded chunks, inside its output folder.
const ChunksDir = ".chunks"

// liveManifestName records a live run's settings and encoded chunks, so that
// recovery after a kill finishes the run as it would have been finished.
const liveManifestName = ".live.json"

// liveManifest is OUT/<run>/.live.json.
type liveManifest struct {
	FPS    float64          `json:"fps"`
	Audio  string           `json:"audio,omitempty"`
	First  map[string]int64 `json:"first"`  // stream ID -> its first frame number
	Chunks []chunkRange     `json:"chunks"` // encoded chunks, in order
}

// chunkRange is one chunk: frames From..To (To < 0: to the end); Next is the
// following chunk's first frame (< 0: this chunk ends the run).
type chunkRange struct {
	Index int   `json:"index"`
	From  int64 `json:"from"`
	To    int64 `json:"to"`
	Next  int64 `json:"next"`
}

// frames names the chunk's frames for messages.
func (c chunkRange) frames() string {
	if c.To < 0 {
		return fmt.Sprintf("frames %d to the end", c.From)
	}
	return fmt.Sprintf("frames %d to %d", c.From, c.To)
}

func (m *liveManifest) write(runOut string) error {
	return report.Write(filepath.Join(runOut, liveManifestName), m)
}

func readManifest(runOut string) (*liveManifest, error) {
	b, err := os.ReadFile(filepath.Join(runOut, liveManifestName))
	if err != nil {
		return nil, err
	}
	var m liveManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(runOut, liveManifestName), err)
	}
	return &m, nil
}

func chunkDir(runOut string, index int) string {
	return filepath.Join(runOut, ChunksDir, fmt.Sprintf("%04d", index))
}

// encodeChunk encodes chunk c of the live run spooled in runOut.
func encodeChunk(ctx context.Context, runOut string, c chunkRange, m *liveManifest, clock *timing.Clock, opts pipeline.Options) error {
	dir := chunkDir(runOut, c.Index)
	w := pipeline.Window{Pack: c.Index, From: c.From, To: c.To, Next: c.Next, First: m.First, Clock: clock, Timed: m.Audio != ""}
	err := pipeline.EncodeChunk(ctx, filepath.Join(runOut, SpoolDir), dir, w, opts)
	if err != nil && ctx.Err() != nil {
		return err // interrupted: the chunk is redone on recovery
	}
	// A chunk whose streams failed is still a chunk: the join reports them.
	m.Chunks = append(m.Chunks, c)
	return m.write(runOut)
}

// openChunk is the part of the spool not yet handed to the chunk encoder.
type openChunk struct {
	// from is the chunk's lowest frame number: the previous chunk's end,
	// below which later frames are late; in the first chunk, its lowest
	// frame so far.
	from int64
	// numbers counts the frame numbers the chunk holds (each once).
	numbers int
	start   float64
	bytes   int64
	frames  int
}

type chunkJob struct {
	r     chunkRange
	files []string
	bytes int64
	first map[string]int64
	clock *timing.Clock
}

// sealsAt reports whether the open chunk ends before frame number, and
// where the next chunk begins (its first frame number, below which later
// frames are late). The chunk must be full; a chunk placed by receive times
// spans two slots at least, so that it fills one, and ends at this frame
// (whose time is known). Otherwise the chunk ends just after the frames in
// step: the frame follows the two before it in order, at most twice their
// step past them (a stray's number, far ahead of real frames still to come,
// does not), and a frame skipped in between still belongs to the next
// chunk. Frames out of order never keep a step: once the chunk is four
// times full and holds every number up to its highest, it ends there.
func (l *live) sealsAt(r *liveRun, number int64, now float64) (next int64, ok bool) {
	c := &r.chunk
	if c.frames == 0 || !l.full(r) || r.opts.VFR {
		return 0, false
	}
	timed := r.opts.Audio != "" || (r.opts.Timing != place.TimingAuto && r.opts.Timing != place.TimingNone)
	if timed && now-c.start < 2/r.opts.FPS {
		return 0, false
	}
	step := r.prev - r.prev2
	inStep := r.prev2 >= 0 && step > 0 && number > r.prev && number-r.prev <= 2*step
	contiguous := r.last-c.from+1 == int64(c.numbers)
	switch {
	case timed && (inStep || c.bytes >= 4*l.so.ChunkBytes && contiguous && number == r.last+1):
		return number, true
	case timed:
		return 0, false
	case inStep:
		return r.prev + 1, true
	case c.bytes >= 4*l.so.ChunkBytes && contiguous && number > r.last:
		return r.last + 1, true
	}
	return 0, false
}

// full reports whether the open chunk is worth encoding: ChunkBytes
// spooled, or ChunkSeconds of frames (distinct numbers at the run's fps, at
// least minChunkFrames; a stray's number far ahead adds nothing) while the
// run's chunk encoder is idle.
func (l *live) full(r *liveRun) bool {
	c := &r.chunk
	if c.bytes >= l.so.ChunkBytes {
		return true
	}
	enough := max(l.so.ChunkSeconds*r.opts.FPS, minChunkFrames)
	return l.so.ChunkSeconds > 0 && float64(c.numbers) >= enough && r.unencoded.Load() == 0
}

// minChunkFrames is the fewest frames a chunk sealed by its seconds holds:
// each chunk costs an ffmpeg start per stream and a key frame, so a begin
// message's tiny fps must not make a chunk of every frame.
const minChunkFrames = 30

// seal hands the open chunk, frames before next, to the run's chunk encoder.
func (l *live) seal(ctx context.Context, r *liveRun, next int64) {
	c := chunkRange{Index: r.rep.Chunks, From: r.chunk.from, To: next - 1, Next: next}
	if next < 0 {
		c.To = -1
	}
	r.rep.Chunks++
	if r.jobs == nil {
		r.jobs, r.done = make(chan chunkJob, 64), make(chan struct{})
		l.g.Go(func() error {
			l.encodeChunks(ctx, r)
			return nil
		})
	}
	to := c.To
	if to < 0 {
		to = r.last
	}
	first := r.writer.First()
	job := chunkJob{r: c, files: r.writer.Rotate(), bytes: r.chunk.bytes, first: first, clock: r.clock.Window(c.From, to, c.Next, first)}
	r.chunk = openChunk{from: next}
	l.pending.Add(job.bytes) // before the encoder can free them
	r.unencoded.Add(1)
	select {
	case r.jobs <- job:
	case <-ctx.Done():
		// Stopped: the chunk's frames stay spooled for the next start.
		l.pending.Add(-job.bytes)
		r.unencoded.Add(-1)
	}
}

// encodeChunks encodes a run's chunks in order as they are sealed, and
// removes their frames from the spool once the chunk's videos are written.
// It ends when the run's last chunk is sealed (jobs closed); after a
// signal, at its cancelled chunk (the rest stays spooled).
func (l *live) encodeChunks(ctx context.Context, r *liveRun) {
	defer close(r.done)
	for job := range r.jobs {
		l.encodeJob(ctx, r, job)
		r.unencoded.Add(-1)
	}
}

// encodeJob encodes one sealed chunk of r.
func (l *live) encodeJob(ctx context.Context, r *liveRun, job chunkJob) {
	if ctx.Err() != nil {
		l.pending.Add(-job.bytes) // stays spooled, no longer being freed
		return
	}
	r.manifest.First = job.first
	if err := encodeChunk(ctx, r.dir, job.r, r.manifest, job.clock, r.opts); err != nil {
		// Its frames stay spooled (not freed, no longer being freed).
		l.pending.Add(-job.bytes)
		if ctx.Err() == nil { // a signal's cut is not news: the run stays spooled
			l.so.OnEvent(event.Event{Kind: event.Rejected, Run: r.rep.Run, Err: fmt.Errorf("chunk %d: %w (its frames stay spooled: the next serve start encodes them)", job.r.Index, err)})
		}
		return
	}
	for _, f := range job.files {
		os.Remove(f)
	}
	l.release(job.bytes)
	l.so.OnEvent(event.Event{Kind: event.ChunkDone, Run: r.rep.Run, Done: job.r.Index, Path: job.r.frames()})
}
