// Package frames reads and checks a stream's frame files: only regular
// files are frames (a FIFO never blocks a read), a frame's structure, size
// and shape are checked from its header before any pixel is decoded (image
// bombs are refused there), the stream's shape is what most of a sample of
// its frames agree on, and its range runs from the evidence (its first and
// last good frames, never a stray number). Scan reads ahead with a bounded
// number of readers and hands frames over in order; deep decodes across
// the process share one memory budget.
package frames

// Checks are the limits a frame is checked against.
type Checks struct {
	// Readers is how many frames are read and checked ahead of the caller.
	Readers int
	// MaxPixels refuses frames whose header claims more pixels; <= 0: none.
	MaxPixels int64
	// MaxGap is the widest gap in frame numbers within a stream's range;
	// < 0: no limit.
	MaxGap int64
	// Deep decodes every frame's pixels, not just its structure.
	Deep bool
}
