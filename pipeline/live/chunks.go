package live

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/report"
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
