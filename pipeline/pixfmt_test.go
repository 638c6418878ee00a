package pipeline

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
)

// TestDataPassPixelFormatsBitExact: whatever PNG flavour a data pass comes in
// (8-bit RGB, RGBA with real transparency, grey, 16-bit), the video decodes
// to the same pixels.
func TestDataPassPixelFormatsBitExact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pixFmt string // to compare in
		outPix string // FFV1 pixel format expected
	}{
		{"rgb24", "rgb24", "bgr0"},
		{"rgba", "rgba", "bgra"},
		{"gray", "gray", "gray"},
		{"rgb48", "rgb48le", "gbrp16le"}, // FFV1 stores 16-bit RGB planar
		{"paletted", "rgba", "bgra"},     // a palette with transparency (tRNS) keeps its alpha
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			os.MkdirAll(filepath.Join(run, "a"), 0o755)
			for i := range 6 {
				m := pattern(tc.name, i, 21, 13)
				os.WriteFile(filepath.Join(run, "a", fmt.Sprintf("id_%04d.png", i)), synth.EncodePNG(m), 0o644)
			}
			out := t.TempDir()
			rep, _, err := Encode(context.Background(), run, out, Options{Tool: testkit.FFmpeg(t)})
			if err != nil {
				t.Fatal(err)
			}
			sr := rep.Streams[0]
			if sr.PixFmt != tc.outPix {
				t.Errorf("stored as %s, want %s", sr.PixFmt, tc.outPix)
			}
			got := verify.FrameMD5(t, rep.Path(sr), tc.pixFmt, false)
			want := verify.FrameMD5(t, filepath.Join(run, "a", "id_%04d.png"), tc.pixFmt, true)
			if len(got) != 6 || !slices.Equal(got, want) {
				t.Fatalf("not bit-exact in %s: %d frames", tc.pixFmt, len(got))
			}
		})
	}
}

// pattern makes a frame whose every channel varies, in the named layout.
func pattern(kind string, i, w, h int) image.Image {
	r := image.Rect(0, 0, w, h)
	switch kind {
	case "rgba":
		m := image.NewNRGBA(r)
		for y := range h {
			for x := range w {
				m.SetNRGBA(x, y, color.NRGBA{uint8(x*9 + i), uint8(y * 17), uint8(x ^ y), uint8(40 + x*y)})
			}
		}
		return m
	case "gray":
		m := image.NewGray(r)
		for y := range h {
			for x := range w {
				m.SetGray(x, y, color.Gray{uint8(x*11 + y*3 + i)})
			}
		}
		return m
	case "paletted":
		pal := color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{200, 30, 30, 128}, color.NRGBA{30, 200, 30, 255}, color.NRGBA{30, 30, 200, 60}}
		m := image.NewPaletted(r, pal)
		for y := range h {
			for x := range w {
				m.SetColorIndex(x, y, uint8((x+y+i)%len(pal)))
			}
		}
		return m
	case "rgb48":
		m := image.NewRGBA64(r)
		for y := range h {
			for x := range w {
				m.SetRGBA64(x, y, color.RGBA64{uint16(x*3001 + i), uint16(y * 4099), uint16(x*y*257 + 1), 0xFFFF})
			}
		}
		return m
	}
	m := image.NewRGBA(r)
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{uint8(x*9 + i), uint8(y * 17), uint8(x ^ y), 255})
		}
	}
	return m
}
