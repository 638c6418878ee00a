package frames

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // Decode reads TDW's JPEG frames
	_ "image/png"  // and PNG frames
	"io"
	"os"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/sourcegraph/conc/stream"
	"golang.org/x/sync/semaphore"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/validate"
)

// Checked is one frame after reading and validation.
type Checked struct {
	Frame discover.Frame
	Data  []byte // the file's bytes; nil when the frame was not kept or is bad
	Info  validate.Info
	Err   error // why the frame is bad, or nil
}

// scan reads and validates frames with at most readers in flight and calls fn
// for each in frame order, one call at a time. It stops submitting work when fn
// returns false or ctx is done, and returns once every task has finished.
func Scan(ctx context.Context, frames []discover.Frame, lim Checks, keep bool, want *Shape, fn func(Checked) bool) {
	s := stream.New().WithMaxGoroutines(lim.Readers)
	var stop atomic.Bool
	for _, f := range frames {
		if stop.Load() || ctx.Err() != nil {
			break
		}
		s.Go(func() stream.Callback {
			c := Check(ctx, f, lim, keep, want)
			return func() {
				if !stop.Load() && ctx.Err() == nil && !fn(c) {
					stop.Store(true)
				}
			}
		})
	}
	s.Wait()
}

// check reads and validates one frame: its structure, its size against
// --max-pixels and the stream's Shape (when set) from its header, before any
// pixel is decoded (a 60 KB PNG can claim 8000x8000), then with
// --deep-check its pixels, within the process-wide decode budget.
func Check(ctx context.Context, f discover.Frame, lim Checks, keep bool, want *Shape) Checked {
	c := Checked{Frame: f}
	data, err := Read(f)
	if err != nil {
		c.Err = fmt.Errorf("cannot read: %w", err)
		return c
	}
	c.Info, c.Err = validate.Check(data)
	if c.Err == nil && lim.MaxPixels > 0 && int64(c.Info.Width)*int64(c.Info.Height) > lim.MaxPixels {
		c.Err = &PixelsError{Width: c.Info.Width, Height: c.Info.Height, Max: lim.MaxPixels}
	}
	if c.Err == nil && c.Info.Format != f.Format {
		c.Err = fmt.Errorf("file is %s but named .%s", c.Info.Format, extName(f.Format))
	}
	if c.Err == nil && want != nil && want.Set {
		c.Err = want.Match(c)
	}
	if c.Err == nil && lim.Deep {
		c.Err = decodeWithin(ctx, data, c.Info)
	}
	if c.Err == nil && keep {
		c.Data = data[:c.Info.Length] // the image only, not what follows it
	}
	return c
}

// decodeBudget bounds the memory of deep checks across the process: at most
// this many bytes of decoded pixels live at once, so that readers x a large
// frame cannot add up. A frame larger than the whole budget (allowed by a
// raised MaxPixels) decodes alone. Freed decodes are garbage until the next
// collection, so resident memory can reach about twice the budget.
var decodeBudget int64 = 512 << 20

var decoding = semaphore.NewWeighted(decodeBudget)

// decodeHook, when set (tests), runs while a decode holds its budget.
var decodeHook func()

// decodeCost is what decoding a frame costs Go's decoders at most, from its
// header: 4 bytes a pixel for an 8-bit PNG (RGBA), 8 for a 16-bit one, and
// 20 for a JPEG (a progressive one keeps an int32 per coefficient of up to
// four components besides the image). Counting a baseline JPEG so high
// costs --deep-check some parallelism, never memory.
func decodeCost(info validate.Info) int64 {
	perPixel := int64(4)
	switch {
	case info.Format == tdw.JPEG:
		perPixel = 20
	case strings.HasSuffix(info.PixFmt, "be"):
		perPixel = 8
	}
	return min(int64(info.Width)*int64(info.Height)*perPixel, decodeBudget)
}

// decodeWithin decodes data's pixels once its share of the decode budget
// is free.
func decodeWithin(ctx context.Context, data []byte, info validate.Info) error {
	cost := decodeCost(info)
	if err := decoding.Acquire(ctx, cost); err != nil {
		return err
	}
	defer decoding.Release(cost)
	if decodeHook != nil {
		decodeHook()
	}
	_, err := validate.Deep(data)
	return err
}

// Read reads a frame's bytes: its file, or its range of a pack. Only
// regular files are frames: the open does not wait for a FIFO's writer
// (O_NONBLOCK), and anything but a regular file is a bad frame, so a FIFO
// or device named like a frame can never hang a job.
func Read(f discover.Frame) ([]byte, error) {
	file, err := os.OpenFile(f.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s): only regular files are frames; remove it", discover.FileKind(info.Mode()))
	}
	if !f.Packed {
		data := make([]byte, info.Size())
		n, err := io.ReadFull(file, data)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("file shrank while being read (%d of %d bytes): is it still being written?", n, len(data))
		}
		return data, err
	}
	data := make([]byte, f.Size)
	if _, err := file.ReadAt(data, f.Offset); err != nil {
		return nil, fmt.Errorf("%s bytes %d-%d: %w", f.Path, f.Offset, f.Offset+f.Size, err)
	}
	return data, nil
}

func extName(f tdw.Format) string {
	if f == tdw.JPEG {
		return "jpg"
	}
	return string(f)
}

// Shape is what every frame of a stream must share with its first good frame.
type Shape struct {
	Set  bool
	Info validate.Info
	From string // the frame that set it, for messages
}

// match checks a good frame against the stream's Shape, setting it from the
// first good frame.
func (s *Shape) Match(c Checked) error {
	if !s.Set {
		s.Set, s.Info, s.From = true, c.Info, c.Frame.Rel
		return nil
	}
	a, b := s.Info, c.Info
	switch {
	case a.Format != b.Format:
		return fmt.Errorf("format %s differs from the stream's %s (set by %s)", b.Format, a.Format, s.From)
	case a.Width != b.Width || a.Height != b.Height:
		return fmt.Errorf("size %dx%d differs from the stream's %dx%d (set by %s)", b.Width, b.Height, a.Width, a.Height, s.From)
	case a.PixFmt != b.PixFmt:
		return fmt.Errorf("pixel format %s differs from the stream's %s (set by %s)", b.PixFmt, a.PixFmt, s.From)
	}
	return nil
}

// Decode reads frame f and decodes its pixels, for a picture of it (a
// mosaic tile, a gallery thumbnail). It is checked as Check does first, so
// a bad frame, one over lim.MaxPixels or not of want's shape (nil: any) is
// an error before any pixel is decoded, and the decode then waits for its
// share of the process-wide decode budget, as deep checks do.
func Decode(ctx context.Context, f discover.Frame, lim Checks, want *Shape) (image.Image, error) {
	if want != nil {
		w := *want // Match sets an unset shape: keep the caller's as it is
		want = &w
	}
	c := Check(ctx, f, Checks{MaxPixels: lim.MaxPixels}, true, want)
	if c.Err != nil {
		return nil, c.Err
	}
	cost := decodeCost(c.Info)
	if err := decoding.Acquire(ctx, cost); err != nil {
		return nil, err
	}
	defer decoding.Release(cost)
	img, _, err := image.Decode(bytes.NewReader(c.Data))
	return img, err
}
