package mosaic

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// TestPlanRowsTilesAndWidth: one row per avatar, tiles in pass order, one
// scale for all (never up), even sizes, at most the width asked for.
func TestPlanRowsTilesAndWidth(t *testing.T) {
	sources := []Source{
		{Avatar: "b", Pass: tdw.Depth, Width: 640, Height: 480},
		{Avatar: "a", Pass: tdw.ID, Width: 640, Height: 480},
		{Avatar: "a", Pass: tdw.Img, Width: 640, Height: 480},
		{Avatar: "a", Pass: tdw.Depth, Width: 640, Height: 480},
	}
	l := Plan(sources, 1000)
	var labels []string
	for _, tile := range l.Tiles {
		labels = append(labels, tile.Label)
		if tile.Rect.Dx()%2 != 0 || tile.Rect.Dy()%2 != 0 || tile.Rect.Dx() != 332 {
			t.Errorf("%s: %v, want even sizes 332 wide (640 x 1000/1920)", tile.Label, tile.Rect)
		}
	}
	if got := labels; len(got) != 4 || got[0] != "a/img" || got[1] != "a/id" || got[2] != "a/depth" || got[3] != "b/depth" {
		t.Errorf("tiles %v, want a/img a/id a/depth, then b/depth", got)
	}
	if l.Width > 1000 || l.Width%2 != 0 || l.Height%2 != 0 || l.Tiles[3].Rect.Min.Y <= l.Tiles[0].Rect.Max.Y-1 {
		t.Errorf("layout %dx%d, b's row at %v", l.Width, l.Height, l.Tiles[3].Rect)
	}
	if small := Plan([]Source{{Pass: tdw.Img, Width: 33, Height: 17}}, 1920); small.Tiles[0].Rect.Dx() != 34 || small.Tiles[0].Label != "img" {
		t.Errorf("a small frame is %v (%s), want 34 wide (even, not scaled up)", small.Tiles[0].Rect, small.Tiles[0].Label)
	}
}

// TestDepthDecoding: TDW's formula, and the colour map's ends and middle.
func TestDepthDecoding(t *testing.T) {
	if m := DefaultPlanes.Metres(128, 0, 0); math.Abs(m-49.95) > 1e-9 {
		t.Errorf("R=128 is %v m, want 49.95 (128 * 99.9 / 256)", m)
	}
	if m := DefaultPlanes.Metres(0, 128, 0); math.Abs(m-49.95/256) > 1e-9 {
		t.Errorf("G=128 is %v m, want %v", m, 49.95/256)
	}
	if near, mid, far := Turbo(0.15), Turbo(0.5), Turbo(0.85); near.B <= near.R || mid.G <= mid.R || mid.G <= mid.B || far.R <= far.B {
		t.Errorf("turbo: near %v should be blue, middle %v green, far %v red", near, mid, far)
	}
	flat := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range 100 {
		flat.Set(i%10, i/10, color.RGBA{uint8(i), 0, 0, 255})
	}
	r := EstimateRange([]image.Image{flat}, DefaultPlanes)
	if r.Min >= r.Max || r.Min < 0 || r.Max > DefaultPlanes.Metres(99, 0, 0) {
		t.Errorf("range %+v", r)
	}
}

// TestColourBar: a mosaic with a depth tile shows the colour map in its
// strip, its left end the map's near colour and its right end the far one.
func TestColourBar(t *testing.T) {
	l := Plan([]Source{{Avatar: "a", Pass: tdw.Img, Width: 320, Height: 240}, {Avatar: "a", Pass: tdw.Depth, Width: 320, Height: 240}}, 1920)
	c := NewCanvas(l, DefaultPlanes, Range{Min: 0.5, Max: 9.5})
	c.Frame(0, 0)
	r := c.colourBarRect(len("0.5 m"), len("9.5 m"))
	if got, want := c.img.RGBAAt(r.Min.X, r.Min.Y+1), Turbo(0); got != want {
		t.Errorf("the bar starts with %v, want %v", got, want)
	}
	if got, want := c.img.RGBAAt(r.Max.X-1, r.Min.Y+1), Turbo(1); got != want {
		t.Errorf("the bar ends with %v, want %v", got, want)
	}
	narrow := NewCanvas(Plan([]Source{{Pass: tdw.Depth, Width: 64, Height: 48}}, 1920), DefaultPlanes, Range{Min: 0, Max: 1})
	narrow.Frame(0, 0) // no room: no bar, and no drawing outside the canvas
}

// TestPreviewFrames: a short run plays in real time, a long one is sampled
// down to 6 s, and a preview never has more frames than the mosaic.
func TestPreviewFrames(t *testing.T) {
	for _, tc := range []struct {
		seconds float64
		frames  int
		want    int
	}{{1.5, 90, 15}, {100, 6000, 60}, {5, 3, 3}, {0.01, 1, 1}} {
		if got := previewFrames(&report.Stream{Duration: tc.seconds, FramesWritten: tc.frames}); got != tc.want {
			t.Errorf("%g s, %d frames: %d preview frames, want %d", tc.seconds, tc.frames, got, tc.want)
		}
	}
}
