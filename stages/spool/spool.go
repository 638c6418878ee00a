package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// ErrTooManyStreams is returned when a run would exceed its stream cap.
var ErrTooManyStreams = errors.New("too many streams in one run")

// IndexName lists the spooled frames: one row per frame image, written
// after its bytes, so a killed serve leaves at most an unlisted tail.
const IndexName = "index.csv"

// Writer spools one run. Each stream's frames are appended to one pack file
// per chunk, <avatar>/<pass>.<chunk>.pack, rather than written as a file
// each: creating a file per frame was the ingest's whole cost on a busy
// disk (92% of serve's CPU time in open(2), 0.3-0.6 ms per frame).
type Writer struct {
	dir        string
	maxStreams int
	streams    map[string]int64 // "avatar/pass" -> its first frame number
	timing     *os.File
	rows       *bufio.Writer
	index      *os.File
	entries    *bufio.Writer
	packs      map[string]*pack // "avatar/pass" -> this chunk's pack
	chunk      int
	frames     int
	dirs       map[string]bool // avatar folders made so far
}

type pack struct {
	f    *os.File
	rel  string // slash-separated, relative to the spool
	size int64
}

// File is one image of a frame, ready to spool.
type File struct {
	Avatar string
	Pass   tdw.Pass
	Ext    string // "png" or "jpg"
	Data   []byte
}

// Create starts a spool in dir (created) allowing at most maxStreams
// (avatar, pass) streams.
func Create(dir string, maxStreams int) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the spool %s: %w", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, timing.SidecarName))
	if err != nil {
		return nil, fmt.Errorf("cannot create the spool's timing sidecar: %w", err)
	}
	idx, err := os.Create(filepath.Join(dir, IndexName))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot create the spool's index: %w", err)
	}
	w := &Writer{dir: dir, maxStreams: maxStreams, streams: map[string]int64{}, timing: f, rows: bufio.NewWriter(f),
		index: idx, entries: bufio.NewWriter(idx), packs: map[string]*pack{}, dirs: map[string]bool{}}
	w.rows.WriteString("event,frame,time\n")
	w.entries.WriteString(indexHeader + "\n")
	return w, nil
}

// Frames is how many frames were spooled.
func (w *Writer) Frames() int { return w.frames }

// First is each stream's first frame number ("avatar/pass" -> number).
func (w *Writer) First() map[string]int64 {
	m := make(map[string]int64, len(w.streams))
	for k, v := range w.streams {
		m[k] = v
	}
	return m
}

// Frame spools one frame number's images, received at the given time
// (seconds on the receiver's clock): Prepare, then Write.
func (w *Writer) Frame(number int64, received float64, images []*wire.Images) error {
	files, err := w.Prepare(number, images)
	if err != nil {
		return err
	}
	_, err = w.Write(number, received, files)
	return err
}

// Prepare checks a frame's images and turns them into what the spool
// stores; nothing is written. The error says which image is unusable and
// why: unsafe avatar names, a stream over the cap, a malformed depth pass.
func (w *Writer) Prepare(number int64, images []*wire.Images) ([]File, error) {
	var files []File
	added := map[string]bool{}
	for _, im := range images {
		if err := wire.SafeName(im.AvatarID); err != nil {
			return nil, fmt.Errorf("avatar id rejected: %w", err)
		}
		for _, p := range im.Passes {
			key := im.AvatarID + "/" + string(p.Pass)
			if _, known := w.streams[key]; !known && !added[key] {
				if len(w.streams)+len(added) >= w.maxStreams {
					return nil, fmt.Errorf("%w: %s would be stream %d (cap %d)", ErrTooManyStreams, key, len(w.streams)+len(added)+1, w.maxStreams)
				}
				added[key] = true
			}
			data, ext, err := fileBytes(im, p)
			if err != nil {
				return nil, fmt.Errorf("%s frame %d: %w", key, number, err)
			}
			files = append(files, File{Avatar: im.AvatarID, Pass: p.Pass, Ext: ext, Data: data})
		}
	}
	return files, nil
}

// Write appends a prepared frame to the current chunk's packs and lists it
// in the index and the timing sidecar; it returns the bytes it added.
func (w *Writer) Write(number int64, received float64, files []File) (int64, error) {
	var size int64
	for _, f := range files {
		key := f.Avatar + "/" + string(f.Pass)
		p, err := w.pack(f)
		if err != nil {
			return size, err
		}
		if _, err := p.f.Write(f.Data); err != nil {
			return size, fmt.Errorf("cannot write %s: %w", filepath.Join(w.dir, p.rel), err)
		}
		fmt.Fprintf(w.entries, "%d,%s,%d,%d,%s\n", number, f.Ext, p.size, len(f.Data), p.rel)
		p.size += int64(len(f.Data))
		size += int64(len(f.Data))
		if _, known := w.streams[key]; !known {
			w.streams[key] = number
		}
	}
	fmt.Fprintf(w.rows, "frame,%d,%.6f\n", number, received)
	w.frames++
	// Each frame's rows reach their files with it, so a killed serve leaves
	// an index and a sidecar that cover every spooled frame.
	if err := w.entries.Flush(); err != nil {
		return size, err
	}
	return size, w.rows.Flush()
}

// pack is the open pack file of f's stream in the current chunk.
func (w *Writer) pack(f File) (*pack, error) {
	key := f.Avatar + "/" + string(f.Pass)
	if p, ok := w.packs[key]; ok {
		return p, nil
	}
	dir := filepath.Join(w.dir, f.Avatar)
	if !w.dirs[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create %s: %w", dir, err)
		}
		w.dirs[dir] = true
	}
	rel := fmt.Sprintf("%s/%s.%04d.pack", f.Avatar, f.Pass, w.chunk)
	pf, err := os.OpenFile(filepath.Join(w.dir, filepath.FromSlash(rel)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", rel, err)
	}
	info, err := pf.Stat()
	if err != nil {
		pf.Close()
		return nil, err
	}
	p := &pack{f: pf, rel: rel, size: info.Size()}
	w.packs[key] = p
	return p, nil
}

// Rotate closes the current chunk's packs and returns their paths: the
// frames written so far can be encoded and then removed together. Later
// frames go to new packs.
func (w *Writer) Rotate() []string {
	var paths []string
	for _, p := range w.packs {
		p.f.Close()
		paths = append(paths, filepath.Join(w.dir, filepath.FromSlash(p.rel)))
	}
	w.packs = map[string]*pack{}
	w.chunk++
	return paths
}

// AudioStart records when the run's audio recording started (same clock).
func (w *Writer) AudioStart(t float64) {
	fmt.Fprintf(w.rows, "audio_start,,%.6f\n", t)
	w.rows.Flush()
}

// Close flushes and closes the sidecar, the index and the packs.
func (w *Writer) Close() error {
	err := errors.Join(w.rows.Flush(), w.entries.Flush())
	for _, p := range w.packs {
		err = errors.Join(err, p.f.Close())
	}
	w.packs = map[string]*pack{}
	return errors.Join(err, w.timing.Close(), w.index.Close())
}

// fileBytes is what the spool stores for a pass: image files as they came,
// depth passes (raw RGB, bottom row first) flipped into an uncompressed PNG.
func fileBytes(im *wire.Images, p wire.ImagePass) ([]byte, string, error) {
	if p.Pass == tdw.Depth || p.Pass == tdw.DepthSimple {
		top, err := wire.FlipRows(p.Image, im.Width, im.Height, 3)
		if err != nil {
			return nil, "", err
		}
		m := image.NewRGBA(image.Rect(0, 0, im.Width, im.Height))
		for i := range im.Width * im.Height {
			copy(m.Pix[4*i:4*i+3], top[3*i:3*i+3])
			m.Pix[4*i+3] = 0xFF
		}
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.NoCompression}
		if err := enc.Encode(&buf, m); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "png", nil
	}
	if p.Format == tdw.JPEG {
		return p.Image, "jpg", nil
	}
	return p.Image, "png", nil
}
