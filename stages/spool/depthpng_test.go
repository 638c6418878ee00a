package spool

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"
)

// TestDepthPNG: the PNG decodes (Go's decoder checks every CRC and the
// Adler-32) to the raw pixels top row first, including images whose rows
// straddle stored blocks (300x250 is 225 KB: four blocks); a raw image of
// the wrong size is refused.
func TestDepthPNG(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range [][2]int{{1, 1}, {5, 3}, {300, 250}, {21846, 2}} {
		w, h := size[0], size[1]
		raw := make([]byte, 3*w*h)
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		b, err := depthPNG(raw, w, h)
		if err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		m, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%dx%d: %v", w, h, err)
		}
		if m.Bounds() != image.Rect(0, 0, w, h) {
			t.Fatalf("%dx%d: decoded %v", w, h, m.Bounds())
		}
		for y := range h {
			for x := range w {
				got := m.At(x, y).(interface{ RGBA() (r, g, b, a uint32) })
				cr, cg, cb, ca := got.RGBA()
				p := raw[3*((h-1-y)*w+x):]
				if cr>>8 != uint32(p[0]) || cg>>8 != uint32(p[1]) || cb>>8 != uint32(p[2]) || ca != 0xffff {
					t.Fatalf("%dx%d: pixel %d,%d is %d %d %d %d, want %v", w, h, x, y, cr>>8, cg>>8, cb>>8, ca, p[:3])
				}
			}
		}
	}
	if _, err := depthPNG(make([]byte, 11), 2, 2); err == nil {
		t.Fatal("a raw image of the wrong size was accepted")
	}
}

// BenchmarkDepthPNG stores one 256x256 depth pass per op, against what
// image/png took (an RGBA image, the encoder at NoCompression).
func BenchmarkDepthPNG(b *testing.B) {
	const w, h = 256, 256
	raw := bytes.Repeat([]byte{10, 20, 30}, w*h)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := depthPNG(raw, w, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image/png", func(b *testing.B) {
		for b.Loop() {
			m := image.NewRGBA(image.Rect(0, 0, w, h))
			for i := range w * h {
				copy(m.Pix[4*i:4*i+3], raw[3*i:3*i+3])
				m.Pix[4*i+3] = 0xFF
			}
			var buf bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
