package frames

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/validate"
	"golang.org/x/sync/semaphore"
)

// bombPNG is a structurally valid PNG of a few dozen bytes whose header
// claims w x h pixels.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})
	chunk := func(typ string, body []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(body)))
		b.WriteString(typ)
		b.Write(body)
		binary.Write(&b, binary.BigEndian, crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, body))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// TestImageBombRefusedFromItsHeader: a frame whose header claims more than
// MaxPixels is bad before any pixel is decoded, with --deep-check too.
func TestImageBombRefusedFromItsHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id_0000.png")
	if err := os.WriteFile(path, bombPNG(16000, 16000), 0o644); err != nil {
		t.Fatal(err)
	}
	f := discover.Frame{Path: path, Rel: "a/id_0000.png", Format: tdw.PNG}
	for _, deep := range []bool{false, true} {
		c := Check(t.Context(), f, Checks{MaxPixels: 8192 * 8192, Deep: deep}, true, nil)
		if c.Err == nil || !strings.Contains(c.Err.Error(), "frame is 16000x16000, more pixels than the limit (67108864) allows") || c.Data != nil {
			t.Errorf("deep %v: %v", deep, c.Err)
		}
	}
	if c := Check(t.Context(), f, Checks{MaxPixels: -1}, false, nil); c.Err != nil {
		t.Errorf("no limit: %v (the header alone is valid)", c.Err)
	}
}

// TestDeepDecodesShareOneBudget: decodes that together fill the budget
// hold all of it while they run, so no other decode can start (without the
// semaphore the budget would be free and TryAcquire would succeed).
func TestDeepDecodesShareOneBudget(t *testing.T) {
	png := synth.EncodePNG(image.NewRGBA(image.Rect(0, 0, 64, 64)))
	info, err := validate.Check(png)
	if err != nil {
		t.Fatal(err)
	}
	cost := decodeCost(info)
	if cost != 64*64*4 {
		t.Fatalf("an RGBA PNG of 64x64 costs %d, want %d", cost, 64*64*4)
	}
	decodeBudget, decoding = 2*cost, semaphore.NewWeighted(2*cost)
	entered, release := make(chan struct{}), make(chan struct{})
	decodeHook = func() { entered <- struct{}{}; <-release }
	defer func() { decodeBudget, decoding, decodeHook = 512<<20, semaphore.NewWeighted(512<<20), nil }()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := decodeWithin(t.Context(), png, info); err != nil {
				t.Error(err)
			}
		})
	}
	<-entered
	<-entered
	if decoding.TryAcquire(1) {
		t.Error("two decodes worth the whole budget are running, yet the budget has room")
	}
	close(release)
	wg.Wait()
	if !decoding.TryAcquire(2 * cost) {
		t.Error("the budget was not given back")
	}
}

func TestDecodeCostByFormat(t *testing.T) {
	for _, tc := range []struct {
		info validate.Info
		want int64
	}{
		{validate.Info{Format: tdw.PNG, Width: 10, Height: 10, PixFmt: "rgb24"}, 400},
		{validate.Info{Format: tdw.PNG, Width: 10, Height: 10, PixFmt: "rgb48be"}, 800},
		{validate.Info{Format: tdw.JPEG, Width: 10, Height: 10}, 2000},
		{validate.Info{Format: tdw.JPEG, Width: 65535, Height: 65535}, 512 << 20},
	} {
		if got := decodeCost(tc.info); got != tc.want {
			t.Errorf("%+v: cost %d, want %d", tc.info, got, tc.want)
		}
	}
}
