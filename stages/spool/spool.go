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

// Writer spools one run.
type Writer struct {
	dir        string
	maxStreams int
	streams    map[string]int64 // "avatar/pass" -> its first frame number
	timing     *os.File
	rows       *bufio.Writer
	frames     int
	last       []string // files of the last frame written
	lastBytes  int64
	dirs       map[string]bool // avatar folders made so far
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
	w := &Writer{dir: dir, maxStreams: maxStreams, streams: map[string]int64{}, dirs: map[string]bool{}, timing: f, rows: bufio.NewWriter(f)}
	w.rows.WriteString("event,frame,time\n")
	return w, nil
}

// Frames is how many frames were spooled.
func (w *Writer) Frames() int { return w.frames }

// Last is the files the last Frame call wrote and their size in bytes: live
// encoding removes them once encoded, and counts the spool's size.
func (w *Writer) Last() ([]string, int64) { return w.last, w.lastBytes }

// First is each stream's first frame number ("avatar/pass" -> number).
func (w *Writer) First() map[string]int64 {
	m := make(map[string]int64, len(w.streams))
	for k, v := range w.streams {
		m[k] = v
	}
	return m
}

// Frame spools one frame number's images, received at the given time
// (seconds on the receiver's clock). Nothing is written when any image of
// the frame is unusable: the error says which and why.
func (w *Writer) Frame(number int64, received float64, images []*wire.Images) error {
	type file struct {
		path string
		data []byte
	}
	var files []file
	added := map[string]bool{}
	for _, im := range images {
		if err := wire.SafeName(im.AvatarID); err != nil {
			return fmt.Errorf("avatar id rejected: %w", err)
		}
		for _, p := range im.Passes {
			key := im.AvatarID + "/" + string(p.Pass)
			if _, known := w.streams[key]; !known && !added[key] {
				if len(w.streams)+len(added) >= w.maxStreams {
					return fmt.Errorf("%w: %s would be stream %d (cap %d)", ErrTooManyStreams, key, len(w.streams)+len(added)+1, w.maxStreams)
				}
				added[key] = true
			}
			data, ext, err := fileBytes(im, p)
			if err != nil {
				return fmt.Errorf("%s frame %d: %w", key, number, err)
			}
			name := fmt.Sprintf("%s_%04d.%s", p.Pass, number, ext)
			files = append(files, file{filepath.Join(w.dir, im.AvatarID, name), data})
		}
	}
	w.last, w.lastBytes = w.last[:0], 0
	for _, f := range files {
		if dir := filepath.Dir(f.path); !w.dirs[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot create %s: %w", dir, err)
			}
			w.dirs[dir] = true
		}
		if err := writeWhole(f.path, f.data); err != nil {
			return err
		}
		w.last, w.lastBytes = append(w.last, f.path), w.lastBytes+int64(len(f.data))
	}
	for k := range added {
		w.streams[k] = number
	}
	fmt.Fprintf(w.rows, "frame,%d,%.6f\n", number, received)
	w.frames++
	// Each row reaches the file with its frame, so a killed serve leaves a
	// sidecar that covers every spooled frame.
	return w.rows.Flush()
}

// AudioStart records when the run's audio recording started (same clock).
func (w *Writer) AudioStart(t float64) {
	fmt.Fprintf(w.rows, "audio_start,,%.6f\n", t)
	w.rows.Flush()
}

// Flush makes the timing rows written so far durable in the file.
func (w *Writer) Flush() error { return w.rows.Flush() }

// Close flushes and closes the sidecar.
func (w *Writer) Close() error {
	err := w.rows.Flush()
	if cerr := w.timing.Close(); err == nil {
		err = cerr
	}
	return err
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

// writeWhole writes data under a temporary name beside path (whose folder
// exists), then renames it: a killed serve never leaves half a frame.
func writeWhole(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
