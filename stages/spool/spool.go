package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tdwstitch/tdwstitch/stages/discover"
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
	dir string
	// root confines every file the spool makes to dir: a name from the
	// wire, or a link someone placed, cannot lead a write outside it.
	root       *os.Root
	maxStreams int
	streams    map[string]int64 // "avatar/pass" -> its first frame number
	sidecar    *appender        // timing rows
	index      *appender
	packs      map[string]*pack // "avatar/pass" -> this chunk's pack
	chunk      int
	frames     int
	dirs       map[string]bool // avatar folders made so far (by name)
	lost       int             // frames a failed write left out
}

type pack struct {
	*appender
	rel string // slash-separated, relative to the spool
}

// appender adds whole records to a file: a write that fails is cut back,
// so the file always ends at a record's end (a full disk leaves no partial
// frame or row behind).
type appender struct {
	f    *os.File
	size int64
}

func (a *appender) append(b []byte) error {
	if _, err := a.f.Write(b); err != nil {
		a.f.Truncate(a.size)
		return err
	}
	a.size += int64(len(b))
	return nil
}

// cut drops what was appended after size.
func (a *appender) cut(size int64) {
	if a.size > size {
		a.f.Truncate(size)
		a.size = size
	}
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
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open the spool %s: %w", dir, err)
	}
	// Append mode: after a failed write is cut back, the next one starts
	// at the new end, not past it (which would leave a hole of zeros).
	const flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC | os.O_APPEND
	f, err := root.OpenFile(timing.SidecarName, flags, 0o644)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("cannot create the spool's timing sidecar: %w", err)
	}
	idx, err := root.OpenFile(IndexName, flags, 0o644)
	if err != nil {
		f.Close()
		root.Close()
		return nil, fmt.Errorf("cannot create the spool's index: %w", err)
	}
	w := &Writer{dir: dir, root: root, maxStreams: maxStreams, streams: map[string]int64{}, sidecar: &appender{f: f},
		index: &appender{f: idx}, packs: map[string]*pack{}, dirs: map[string]bool{}}
	if err := errors.Join(w.sidecar.append([]byte("event,frame,time\n")), w.index.append([]byte(indexHeader+"\n"))); err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot start the spool in %s: %w", dir, err)
	}
	return w, nil
}

// Frames is how many frames were spooled.
func (w *Writer) Frames() int { return w.frames }

// Save writes a file of the run beside its frames (such as its
// segmentation legend), whole or not at all, confined to the spool.
func (w *Writer) Save(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := w.root.WriteFile(tmp, data, 0o644); err != nil {
		w.root.Remove(tmp)
		return err
	}
	return w.root.Rename(tmp, name)
}

// First is each stream's lowest frame number ("avatar/pass" -> number).
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
// received < 0 says the frame number's time is already recorded (a
// duplicate message): the sidecar, which holds one time per number, gets no
// second row.
//
// A frame is written whole or not at all: when a write fails (the disk is
// full), the packs are cut back to where the frame began, its index rows are
// dropped, and a "lost" row in the sidecar records its number, so that a run
// recovered later still knows it lost frames. The error wraps the cause
// (e.g. syscall.ENOSPC).
func (w *Writer) Write(number int64, received float64, files []File) (int64, error) {
	var size int64
	var rows bytes.Buffer
	type mark struct {
		p    *pack
		size int64
	}
	var marks []mark
	undo := func(err error) (int64, error) {
		for _, m := range marks {
			m.p.cut(m.size)
		}
		w.lost++
		// Cutting the packs back freed the frame's blocks: this short row
		// fits where the frame did not.
		w.sidecar.append(fmt.Appendf(nil, "lost,%d,%.6f\n", number, max(received, 0)))
		return 0, err
	}
	for _, f := range files {
		p, err := w.pack(f)
		if err != nil {
			return undo(err)
		}
		marks = append(marks, mark{p, p.size})
		offset := p.size
		if err := p.append(f.Data); err != nil {
			return undo(fmt.Errorf("cannot write %s: %w", filepath.Join(w.dir, p.rel), err))
		}
		fmt.Fprintf(&rows, "%d,%s,%d,%d,%s\n", number, f.Ext, offset, len(f.Data), p.rel)
		size += int64(len(f.Data))
	}
	// Each frame's rows reach their files with it, so a killed serve leaves
	// an index and a sidecar that cover every spooled frame.
	if err := w.index.append(rows.Bytes()); err != nil {
		return undo(fmt.Errorf("cannot write the spool's index: %w", err))
	}
	if received >= 0 {
		if err := w.sidecar.append(fmt.Appendf(nil, "frame,%d,%.6f\n", number, received)); err != nil {
			w.index.cut(w.index.size - int64(rows.Len()))
			return undo(fmt.Errorf("cannot write the spool's timing sidecar: %w", err))
		}
	}
	for _, f := range files {
		key := f.Avatar + "/" + string(f.Pass)
		if first, known := w.streams[key]; !known || number < first {
			w.streams[key] = number
		}
	}
	w.frames++
	return size, nil
}

// Lost is how many frames a failed write left out of the spool.
func (w *Writer) Lost() int { return w.lost }

// LostFrames counts the "lost" rows of a spool's sidecar: frames the
// spool could not hold (see Write), which a recovered run must report.
func LostFrames(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, timing.SidecarName))
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\nlost,"))
}

// ChunkOf is the chunk whose pack holds frame f (see Rotate), or -1 for a
// frame stored as a file of its own.
func ChunkOf(f discover.Frame) int {
	if !f.Packed {
		return -1
	}
	base := strings.TrimSuffix(filepath.Base(f.Path), ".pack")
	i := strings.LastIndexByte(base, '.')
	n, err := strconv.Atoi(base[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return n
}

// pack is the open pack file of f's stream in the current chunk.
func (w *Writer) pack(f File) (*pack, error) {
	key := f.Avatar + "/" + string(f.Pass)
	if p, ok := w.packs[key]; ok {
		return p, nil
	}
	if !w.dirs[f.Avatar] {
		if err := w.root.Mkdir(f.Avatar, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cannot create %s: %w", filepath.Join(w.dir, f.Avatar), err)
		}
		w.dirs[f.Avatar] = true
	}
	rel := fmt.Sprintf("%s/%s.%04d.pack", f.Avatar, f.Pass, w.chunk)
	pf, err := w.root.OpenFile(filepath.FromSlash(rel), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", rel, err)
	}
	info, err := pf.Stat()
	if err != nil {
		pf.Close()
		return nil, err
	}
	p := &pack{appender: &appender{f: pf, size: info.Size()}, rel: rel}
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
	w.sidecar.append(fmt.Appendf(nil, "audio_start,,%.6f\n", t))
}

// Close closes the sidecar, the index and the packs.
func (w *Writer) Close() error {
	var err error
	for _, p := range w.packs {
		err = errors.Join(err, p.f.Close())
	}
	w.packs = map[string]*pack{}
	return errors.Join(err, w.sidecar.f.Close(), w.index.f.Close(), w.root.Close())
}

// fileBytes is what the spool stores for a pass: image files as they came,
// depth passes (raw RGB, bottom row first) flipped into an uncompressed PNG.
func fileBytes(im *wire.Images, p wire.ImagePass) ([]byte, string, error) {
	if p.Pass == tdw.Depth || p.Pass == tdw.DepthSimple {
		b, err := depthPNG(p.Image, im.Width, im.Height)
		return b, "png", err
	}
	if p.Format == tdw.JPEG {
		return p.Image, "jpg", nil
	}
	return p.Image, "png", nil
}
