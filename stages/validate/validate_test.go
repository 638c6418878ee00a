package validate

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

func testImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return m
}

func pngBytes(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheck(t *testing.T) {
	goodPNG := pngBytes(t, testImage(33, 17))
	goodJPEG := jpegBytes(t, testImage(33, 17))
	rgba := image.NewNRGBA(image.Rect(0, 0, 4, 4)) // transparent: PNG keeps alpha
	gray := image.NewGray(image.Rect(0, 0, 5, 3))

	badCRC := bytes.Clone(goodPNG)
	badCRC[len(badCRC)/2] ^= 0xFF // inside IDAT
	noIEND := goodPNG[:len(goodPNG)-12]
	arithmetic := bytes.Clone(goodJPEG) // as libjpeg's -arithmetic writes it: SOF9
	arithmetic[bytes.Index(arithmetic, []byte{0xFF, 0xC0})+1] = 0xC9

	tests := []struct {
		name    string
		data    []byte
		want    Info
		wantErr string
	}{
		{"png", goodPNG, Info{Format: tdw.PNG, Width: 33, Height: 17, PixFmt: "rgb24"}, ""},
		{"png with alpha", pngBytes(t, rgba), Info{Format: tdw.PNG, Width: 4, Height: 4, PixFmt: "rgba"}, ""},
		{"grey png", pngBytes(t, gray), Info{Format: tdw.PNG, Width: 5, Height: 3, PixFmt: "gray"}, ""},
		{"jpeg", goodJPEG, Info{Format: tdw.JPEG, Width: 33, Height: 17}, ""},
		{"jpeg with trailing zero padding", append(bytes.Clone(goodJPEG), 0, 0, 0), Info{Format: tdw.JPEG, Width: 33, Height: 17}, ""},
		{"jpeg with bytes after its end", append(bytes.Clone(goodJPEG), "trailer"...), Info{Format: tdw.JPEG, Width: 33, Height: 17}, ""},
		{"png with a stray byte after IEND", append(bytes.Clone(goodPNG), '\n'), Info{Format: tdw.PNG, Width: 33, Height: 17, PixFmt: "rgb24"}, ""},
		{"empty", nil, Info{}, "empty"},
		{"text", []byte("this is not an image\n"), Info{}, "not a PNG or JPEG"},
		{"png bad crc", badCRC, Info{}, "bad CRC"},
		{"png no iend", noIEND, Info{}, "truncated"},
		{"png signature only", goodPNG[:8], Info{}, "truncated"},
		{"png truncated in chunk", goodPNG[:60], Info{}, "truncated"},
		{"jpeg truncated", goodJPEG[:len(goodJPEG)/2], Info{}, "truncated"},
		{"jpeg header only", goodJPEG[:20], Info{}, "truncated"},
		{"jpeg soi only", goodJPEG[:2], Info{}, "truncated or corrupt"},
		{"jpeg no eoi", goodJPEG[:len(goodJPEG)-2], Info{}, "no end-of-image"},
		{"arithmetic-coded jpeg", arithmetic, Info{}, "arithmetic coding (SOF9), which ffmpeg cannot decode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Check() error = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			// Length covers the image and nothing after it.
			want := len(tc.data)
			switch {
			case bytes.HasPrefix(tc.data, goodPNG):
				want = len(goodPNG)
			case bytes.HasPrefix(tc.data, goodJPEG):
				want = len(goodJPEG)
			}
			if got.Length != want {
				t.Errorf("Length = %d, want %d (the image without what follows)", got.Length, want)
			}
			got.Length = 0
			if got != tc.want {
				t.Fatalf("Check() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDeepFindsCorruptScanData(t *testing.T) {
	data := jpegBytes(t, testImage(64, 64))
	// Keep the headers and the end marker but garble the entropy-coded data.
	corrupt := bytes.Clone(data)
	for i := len(corrupt) / 2; i < len(corrupt)-2; i++ {
		corrupt[i] = 0xFF
	}
	if _, err := Check(corrupt); err != nil {
		t.Fatalf("structure check should pass on intact markers, got %v", err)
	}
	if _, err := Deep(corrupt); err == nil {
		t.Fatal("Deep() accepted garbled image data")
	}
	if _, err := Deep(data); err != nil {
		t.Fatalf("Deep() rejected a good JPEG: %v", err)
	}
}

// FuzzCheck: no input may panic or report an impossible size.
func FuzzCheck(f *testing.F) {
	f.Add(pngBytes(f, testImage(8, 8)))
	f.Add(jpegBytes(f, testImage(8, 8)))
	f.Add([]byte{0xFF, 0xD8, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Check(data)
		if err == nil && (info.Width <= 0 || info.Height <= 0) {
			t.Fatalf("accepted an image of size %dx%d", info.Width, info.Height)
		}
		if err == nil && (info.Length <= 0 || info.Length > len(data)) {
			t.Fatalf("image length %d of %d bytes", info.Length, len(data))
		}
	})
}

// BenchmarkCheck measures the structural check per frame: it runs on every
// frame before ffmpeg sees it, so it must stay far below decode cost.
func BenchmarkCheck(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"png-512", pngBytes(b, testImage(512, 512))},
		{"jpeg-512", jpegBytes(b, testImage(512, 512))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				if _, err := Check(tc.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
