package spool

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// depthRaw is a 3x2 raw RGB depth image as TDW sends it: bottom row first.
var depthRaw = []byte{
	7, 8, 9, 10, 11, 12, 13, 14, 15, // bottom row
	1, 2, 3, 4, 5, 6, 70, 80, 90, // top row
}

func frameImages(avatar string) []*wire.Images {
	return []*wire.Images{{AvatarID: avatar, Width: 3, Height: 2, Passes: []wire.ImagePass{
		{Pass: tdw.Img, Format: tdw.JPEG, Image: []byte("\xff\xd8jpeg\xff\xd9")},
		{Pass: tdw.ID, Format: tdw.PNG, Image: []byte("\x89PNG...")},
		{Pass: tdw.Depth, Format: tdw.PNG, Image: depthRaw},
	}}}
}

func TestSpoolWritesWhatEncodeReads(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	w.AudioStart(99.5)
	for n := range 3 {
		if err := w.Frame(int64(n), 100+0.03*float64(n), frameImages("a")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := Find(dir)
	if err != nil || len(run.Streams) != 3 || len(run.Streams[0].Frames) != 3 {
		t.Fatalf("Find: %v, %+v", err, run)
	}
	frame := func(id string, n int) []byte {
		for _, s := range run.Streams {
			if s.ID() == id {
				f := s.Frames[n]
				b, _ := os.ReadFile(f.Path)
				return b[f.Offset : f.Offset+f.Size]
			}
		}
		t.Fatalf("no stream %s", id)
		return nil
	}
	clock, err := timing.ReadSidecar(filepath.Join(dir, timing.SidecarName))
	if err != nil || !clock.HasAudio || clock.AudioStart != 99.5 || clock.Frames[2] != 100.06 {
		t.Fatalf("sidecar: %+v, %v", clock, err)
	}
	m, err := png.Decode(bytes.NewReader(frame("a/depth", 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Top row first now, every byte as sent.
	want := []byte{1, 2, 3, 4, 5, 6, 70, 80, 90, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	var got []byte
	for y := range 2 {
		for x := range 3 {
			r, g, b, _ := m.At(x, y).RGBA()
			got = append(got, byte(r>>8), byte(g>>8), byte(b>>8))
		}
	}
	if !bytes.Equal(got, want) || m.Bounds() != image.Rect(0, 0, 3, 2) {
		t.Fatalf("depth pixels %v, want %v", got, want)
	}
	if b := frame("a/img", 2); string(b) != "\xff\xd8jpeg\xff\xd9" {
		t.Fatal("img bytes were not stored as sent")
	}
}

func TestSpoolRejectsHostileFrames(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(filepath.Join(dir, "run"), 3)
	defer w.Close()
	for _, bad := range []string{"../escape", "a/b", "x\x00", ".."} {
		if err := w.Frame(0, 1, frameImages(bad)); err == nil {
			t.Errorf("avatar %q accepted", bad)
		}
	}
	short := frameImages("a")
	short[0].Passes[2].Image = depthRaw[:5]
	if err := w.Frame(0, 1, short); err == nil {
		t.Error("a truncated depth pass was accepted")
	}
	if err := w.Frame(0, 1, frameImages("a")); err != nil {
		t.Fatalf("a good frame after bad ones: %v", err)
	}
	if err := w.Frame(1, 2, frameImages("b")); !errors.Is(err, ErrTooManyStreams) {
		t.Errorf("stream cap: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "run" {
		t.Fatalf("something was written outside the spool: %v", entries)
	}
	if w.Frames() != 1 {
		t.Fatalf("%d frames spooled, want 1", w.Frames())
	}
	run, err := Find(filepath.Join(dir, "run"))
	if err != nil || len(run.Streams) != 3 || len(run.Streams[0].Frames) != 1 {
		t.Fatalf("the good frame is missing: %v, %+v", err, run)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "b")); err == nil {
		t.Fatal("a frame over the stream cap was written")
	}
}

// BenchmarkFrame spools one 256x256 id frame (about 1.5 KB of PNG, as TDW's
// segmentation compresses) per op: the per-frame cost of serve's ingest.
func BenchmarkFrame(b *testing.B) {
	w, err := Create(b.TempDir(), 8)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ims := []*wire.Images{{AvatarID: "a", Width: 256, Height: 256, Passes: []wire.ImagePass{
		{Pass: tdw.ID, Format: tdw.PNG, Image: bytes.Repeat([]byte{1}, 1500)},
	}}}
	n := int64(0)
	for b.Loop() {
		if err := w.Frame(n, float64(n), ims); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// TestFindSkipsACutRow: a serve killed while writing a frame leaves an index
// row without its newline; Find leaves that frame out and lists the rest.
// Packs rotate per chunk and both chunks' frames are found.
func TestFindSkipsACutRow(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(dir, 8)
	for n := range 4 {
		if n == 2 {
			if packs := w.Rotate(); len(packs) != 3 {
				t.Fatalf("rotate closed %d packs, want 3", len(packs))
			}
		}
		if err := w.Frame(int64(n), float64(n), frameImages("a")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	f, _ := os.OpenFile(filepath.Join(dir, IndexName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("4,png,0,9,a/id.00") // cut short
	f.Close()
	run, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Streams {
		if len(s.Frames) != 4 || s.Frames[3].Number != 3 || !strings.HasSuffix(s.Frames[3].Path, ".0001.pack") {
			t.Fatalf("%s: %+v", s.ID(), s.Frames)
		}
	}
}

// TestDepthSimpleIsFlippedToo: _depth_simple arrives raw and bottom-up like
// _depth and is stored the same way.
func TestDepthSimpleIsFlippedToo(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(dir, 8)
	ims := []*wire.Images{{AvatarID: "a", Width: 3, Height: 2, Passes: []wire.ImagePass{{Pass: tdw.DepthSimple, Format: tdw.PNG, Image: depthRaw}}}}
	if err := w.Frame(0, 0, ims); err != nil {
		t.Fatal(err)
	}
	w.Close()
	run, err := Find(dir)
	if err != nil || len(run.Streams) != 1 || run.Streams[0].Pass != tdw.DepthSimple {
		t.Fatalf("%v %+v", err, run)
	}
	f := run.Streams[0].Frames[0]
	b, _ := os.ReadFile(f.Path)
	m, err := png.Decode(bytes.NewReader(b[f.Offset : f.Offset+f.Size]))
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := m.At(0, 0).RGBA(); byte(r>>8) != 1 || byte(g>>8) != 2 || byte(b>>8) != 3 {
		t.Fatalf("top-left pixel %d,%d,%d, want 1,2,3 (the top row, sent last)", r>>8, g>>8, b>>8)
	}
}

// TestWriteIsWholeOrNothing: a write that fails half-way through a frame
// (here the id pack refuses it, as a full disk would) leaves no byte of
// that frame in any pack or in the index, records it as lost in the
// sidecar, and the frames after it are stored at the right offsets.
func TestWriteIsWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(dir, 8)
	if err := w.Frame(0, 1, frameImages("a")); err != nil {
		t.Fatal(err)
	}
	id := w.packs["a/id"]
	good := id.f
	ro, err := os.Open(good.Name()) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	id.f = ro
	if err := w.Frame(1, 2, frameImages("a")); err == nil || !strings.Contains(err.Error(), "id.0000.pack") {
		t.Fatalf("the failed write's error: %v", err)
	}
	id.f = good
	ro.Close()
	for n := int64(2); n < 4; n++ {
		if err := w.Frame(n, float64(n)+1, frameImages("a")); err != nil {
			t.Fatal(err)
		}
	}
	// A duplicate message: stored, but its number keeps its first time.
	if err := w.Frame(2, -1, frameImages("a")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if w.Lost() != 1 || LostFrames(dir) != 1 {
		t.Fatalf("lost %d, sidecar lost rows %d; want 1 and 1", w.Lost(), LostFrames(dir))
	}
	clock, err := timing.ReadSidecar(filepath.Join(dir, timing.SidecarName))
	if err != nil || len(clock.Frames) != 3 || clock.Frames[2] != 3 {
		t.Fatalf("sidecar: %v %+v (want frames 0, 2, 3; frame 2 at 3 s)", err, clock)
	}
	run, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Streams {
		var numbers []int64
		for _, f := range append(s.Frames, s.Duplicates...) {
			numbers = append(numbers, f.Number)
			b, _ := os.ReadFile(f.Path)
			want := frameImages("a")[0].Passes[0].Image
			if s.Pass == tdw.ID {
				want = frameImages("a")[0].Passes[1].Image
			}
			if s.Pass != tdw.Depth && !bytes.Equal(b[f.Offset:f.Offset+f.Size], want) {
				t.Fatalf("%s frame %d: bytes %q at offset %d", s.ID(), f.Number, b[f.Offset:f.Offset+f.Size], f.Offset)
			}
			if ChunkOf(f) != 0 {
				t.Fatalf("%s: chunk %d, want 0", f.Path, ChunkOf(f))
			}
		}
		if len(numbers) != 4 || numbers[0] != 0 || numbers[1] != 2 || numbers[2] != 3 {
			t.Fatalf("%s: frames %v, want 0 2 3 and a duplicate 2", s.ID(), numbers)
		}
	}
}

// TestSpoolStaysInside: a link placed in the spool under an avatar's name,
// pointing outside, does not lead the spool's writes out: the frame fails
// and nothing is written there.
func TestSpoolStaysInside(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	w, _ := Create(dir, 8)
	defer w.Close()
	if err := os.Symlink(outside, filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := w.Frame(0, 0, frameImages("a")); err == nil {
		t.Fatal("a frame was written through a link out of the spool")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("written outside the spool: %v", entries)
	}
}

// TestFailedRowLeavesNoHole: when the sidecar refuses a frame's row (after
// its pack and index rows were written), the index is cut back too, and
// the frames after it are listed and timed without a gap or a hole of
// zeros in either file.
func TestFailedRowLeavesNoHole(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(dir, 8)
	if err := w.Frame(0, 1, frameImages("a")); err != nil {
		t.Fatal(err)
	}
	good := w.sidecar.f
	ro, _ := os.Open(good.Name())
	w.sidecar.f = ro
	if err := w.Frame(1, 2, frameImages("a")); err == nil {
		t.Fatal("a refused sidecar row went unnoticed")
	}
	w.sidecar.f = good
	ro.Close()
	for n := int64(2); n < 4; n++ {
		if err := w.Frame(n, float64(n)+1, frameImages("a")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	for _, name := range []string{IndexName, timing.SidecarName} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); bytes.IndexByte(b, 0) >= 0 {
			t.Fatalf("%s has a hole of zeros:\n%q", name, b)
		}
	}
	run, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Streams {
		if len(s.Frames) != 3 || s.Frames[1].Number != 2 || len(s.Duplicates) != 0 {
			t.Fatalf("%s: %+v, want frames 0, 2, 3", s.ID(), s.Frames)
		}
	}
	if clock, err := timing.ReadSidecar(filepath.Join(dir, timing.SidecarName)); err != nil || len(clock.Frames) != 3 {
		t.Fatalf("sidecar: %v %+v", err, clock)
	}
}
