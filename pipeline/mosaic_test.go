package pipeline

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// TestMosaicShowsDepthInMetres: the mosaic of a run with img, id and depth
// is one H.264 video with a frame per slot of the img video, at its fps,
// with the audio; a depth tile pixel has the colour map's colour at the
// metres TDW's formula decodes from the source frame's RGB.
func TestMosaicShowsDepthInMetres(t *testing.T) {
	const n, w, h = 12, 96, 64
	dir := testkit.SceneRun(t, n, w, h, synth.Passes{Img: true, ID: true, Depth: true})
	os.WriteFile(filepath.Join(dir, "audio.wav"), synth.WAV(float64(n)/60), 0o644)
	out := t.TempDir()
	// synth packs metres as TDW does for planes 0 and 10 m.
	rng, planes := mosaic.Range{Min: 0, Max: 10}, mosaic.Planes{Near: 0, Far: 10}
	rep, _, err := Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), Mosaic: true, DepthRange: &rng, DepthPlanes: planes})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	m := rep.Mosaic
	layout := mosaic.Plan([]mosaic.Source{{Avatar: "a", Pass: tdw.Img, Width: w, Height: h}, {Avatar: "a", Pass: tdw.ID, Width: w, Height: h}, {Avatar: "a", Pass: tdw.Depth, Width: w, Height: h}}, 1920)
	if m == nil || m.Status != report.OK || m.Width != layout.Width || m.Height != layout.Height || m.FramesWritten != n {
		t.Fatalf("mosaic %+v; want %dx%d, %d frames", m, layout.Width, layout.Height, n)
	}
	media := verify.Probe(t, filepath.Join(out, mosaic.FileName))
	v, _ := media.Video()
	if _, audio := media.Audio(); !audio || v.Codec != "h264" || v.Packets != n || v.Width != layout.Width {
		t.Fatalf("mosaic.mp4: %+v", media)
	}
	// Frame 5's depth tile against the source: a pixel inside a flat patch
	// (H.264 blurs colour edges), colour within the codec's error.
	const k = 5
	src := readPNG(t, filepath.Join(dir, "a", "depth_0005.png"))
	// An object's pixel, inside the colour map's range (not the far
	// background, whose colour is the map's end whatever the metres).
	x, y, ok := flatPixel(src, planes, func(m float64) bool { return m > 0.5 && m < 9.5 })
	if !ok {
		t.Fatal("no flat 5x5 patch of an object in the depth frame")
	}
	r, g, b, _ := src.At(x, y).RGBA()
	want := mosaic.Turbo(rng.At(planes.Metres(uint8(r>>8), uint8(g>>8), uint8(b>>8))))
	frame := mosaicFrame(t, filepath.Join(out, mosaic.FileName), k, layout.Width, layout.Height)
	tile := layout.Tiles[2].Rect
	got := frame[3*((tile.Min.Y+y)*layout.Width+tile.Min.X+x):][:3]
	t.Logf("depth pixel (%d,%d) of frame %d: %.3f m; turbo %v, mosaic %v", x, y, k, planes.Metres(uint8(r>>8), uint8(g>>8), uint8(b>>8)), want, got)
	for c, wc := range []uint8{want.R, want.G, want.B} {
		if math.Abs(float64(got[c])-float64(wc)) > 24 {
			t.Fatalf("depth pixel (%d,%d) of frame %d is %v in the mosaic, want about %v (turbo at %.2f m)", x, y, k, got, want,
				planes.Metres(uint8(r>>8), uint8(g>>8), uint8(b>>8)))
		}
	}
}

// TestMosaicKeepsTheImgVideosSync: an event is where it is in img.mp4: the
// clapperboard's flashes fall on the same output frames in both videos, and
// each click stays within one frame of its flash in the mosaic.
func TestMosaicKeepsTheImgVideosSync(t *testing.T) {
	dir, run, inside := clapperRun(t, synth.Clapper{Seconds: 12, AudioOffset: 0.37, Seed: 7})
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), FPS: 60, Mosaic: true})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	mosaicPath := filepath.Join(out, mosaic.FileName)
	img, mos := verify.FlashTimes(t, rep.Path(rep.Streams[0])), verify.FlashTimes(t, mosaicPath)
	if len(mos) != len(run.Flashes) || len(img) != len(mos) {
		t.Fatalf("%d flashes in the mosaic, %d in img.mp4, %d in the run", len(mos), len(img), len(run.Flashes))
	}
	for i := range img {
		if math.Abs(img[i]-mos[i]) > 0.5/60 {
			t.Fatalf("flash %d at %.4f s in img.mp4, %.4f s in the mosaic", i, img[i], mos[i])
		}
	}
	errs := verify.SyncErrors(t, mos, verify.ClickTimes(t, mosaicPath), inside)
	if worst := errs[len(errs)-1]; worst > 1.0/60 {
		t.Fatalf("a click is %.1f ms from its flash in the mosaic (bound one frame, 16.7 ms)", 1000*worst)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// flatPixel finds the centre of a 5x5 patch whose metres pass want and
// vary by at most 5 cm (H.264 averages colour over 2x2 pixels).
func flatPixel(img image.Image, planes mosaic.Planes, want func(metres float64) bool) (x, y int, ok bool) {
	metres := func(x, y int) float64 {
		r, g, b, _ := img.At(x, y).RGBA()
		return planes.Metres(uint8(r>>8), uint8(g>>8), uint8(b>>8))
	}
	bounds := img.Bounds()
	for y := bounds.Min.Y + 2; y < bounds.Max.Y-2; y++ {
		for x := bounds.Min.X + 2; x < bounds.Max.X-2; x++ {
			m := metres(x, y)
			flat := want(m)
			for dy := -2; dy <= 2 && flat; dy++ {
				for dx := -2; dx <= 2 && flat; dx++ {
					flat = math.Abs(metres(x+dx, y+dy)-m) <= 0.05
				}
			}
			if flat {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}

// mosaicFrame decodes output frame k of a video as RGB bytes.
func mosaicFrame(t *testing.T, video string, k, w, h int) []byte {
	t.Helper()
	raw, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", "file:"+video, "-vf", "select=eq(n\\,"+strconv.Itoa(k)+")",
		"-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
	if err != nil || len(raw) != 3*w*h {
		t.Fatalf("decoding frame %d of %s: %d bytes, %v", k, video, len(raw), err)
	}
	return raw
}

// TestMosaicSaysWhatItHolds: a missing depth frame holds the previous one
// in its tile, and the mosaic is degraded, counting it, like the depth
// video.
func TestMosaicSaysWhatItHolds(t *testing.T) {
	dir := testkit.SceneRun(t, 8, 32, 32, synth.Passes{Img: true, Depth: true})
	os.Remove(filepath.Join(dir, "a", "depth_0004.png"))
	rep, _, err := Encode(context.Background(), dir, t.TempDir(), Options{Tool: testkit.FFmpeg(t), Mosaic: true})
	if !errors.Is(err, ErrDegraded) || rep.Mosaic == nil || rep.Mosaic.Status != report.Degraded || rep.Mosaic.MissingFrames != 1 || rep.Mosaic.FramesWritten != 8 {
		t.Fatalf("Encode: %v; mosaic %+v", err, rep.Mosaic)
	}
}

// TestMosaicHoldsOnlyTheTileMissingAFrame: an img frame missing in the
// middle holds the img tile alone: the id tile still shows its own frame
// there (the slot's picture changes), and the mosaic counts one held frame,
// no gap.
func TestMosaicHoldsOnlyTheTileMissingAFrame(t *testing.T) {
	const side = 128 // big enough for the id tile to change from frame to frame
	dir := testkit.SceneRun(t, 8, side, side, synth.Passes{Img: true, ID: true})
	os.Remove(filepath.Join(dir, "a", "img_0004.jpg"))
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), Mosaic: true})
	m := rep.Mosaic
	if !errors.Is(err, ErrDegraded) || m == nil || m.MissingFrames != 1 || len(m.Gaps) != 0 || m.FramesWritten != 8 {
		t.Fatalf("Encode: %v; mosaic %+v", err, m)
	}
	// The id tile (right of the img tile, above the strip) moves on.
	video := filepath.Join(out, "mosaic.mp4")
	idTile := func(k int) []byte {
		rgb := mosaicFrame(t, video, k, m.Width, m.Height)
		var tile []byte
		for y := range side {
			tile = append(tile, rgb[(y*m.Width+side)*3:(y*m.Width+2*side)*3]...)
		}
		return tile
	}
	if bytes.Equal(idTile(3), idTile(4)) {
		t.Error("the id tile holds at the img frame's gap: it should show its own frame 4")
	}
}

// TestPreviewIsAShortAnimation: preview.webp is an animated WebP (VP8X with
// the animation flag, one ANMF chunk per frame) of at most 6 s sampled over
// the whole run, at most 480 px wide and 2 MB; --preview gif is a GIF of
// the same frames, which replaces the WebP.
func TestPreviewIsAShortAnimation(t *testing.T) {
	dir := testkit.SceneRun(t, 80, 320, 180, synth.Passes{Img: true, Depth: true}) // a mosaic 640 wide
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), Preview: "webp"})
	if err != nil || rep.Preview == nil || rep.Preview.Status != report.OK || rep.Mosaic == nil {
		t.Fatalf("Encode: %v; preview %+v", err, rep.Preview)
	}
	b, err := os.ReadFile(filepath.Join(out, "preview.webp"))
	if err != nil {
		t.Fatal(err)
	}
	frames, width, ms := webpAnimation(t, b)
	t.Logf("preview.webp: %d frames, %d px wide, %d ms, %d bytes", frames, width, ms, len(b))
	if pv := rep.Preview; !pv.Verified || pv.Width != width || pv.Height <= 0 || pv.FramesWritten != frames || pv.Bytes != int64(len(b)) {
		t.Fatalf("the report's preview %+v does not describe the file (%d frames, %d px wide, %d bytes)", pv, frames, width, len(b))
	}
	if frames < 2 || frames > 60 || width > 480 || ms > 6000 || len(b) > 2<<20 {
		t.Fatalf("preview.webp: %d frames, %d px wide, %d ms, %d bytes; want an animation of at most 6 s, 480 px, 2 MB", frames, width, ms, len(b))
	}
	rep, _, err = Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), Preview: "gif"})
	if err != nil || rep.Preview == nil || rep.Preview.Output != "preview.gif" {
		t.Fatalf("--preview gif: %v; %+v", err, rep.Preview)
	}
	v, _ := verify.Probe(t, filepath.Join(out, "preview.gif")).Video()
	if v.Codec != "gif" || v.Width > 480 {
		t.Fatalf("preview.gif: %+v", v)
	}
	if _, err := os.Stat(filepath.Join(out, "preview.webp")); err == nil {
		t.Fatal("preview.webp of the earlier run is left beside the preview.gif the report lists")
	}
}

// webpAnimation reads an animated WebP's container: its frames (ANMF
// chunks), canvas width (VP8X) and total duration.
func webpAnimation(t *testing.T, b []byte) (frames, width, ms int) {
	t.Helper()
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" || string(b[12:16]) != "VP8X" || b[20]&0x02 == 0 {
		t.Fatalf("not an animated WebP (header % x)", b[:min(len(b), 21)])
	}
	width = 1 + (int(b[24]) | int(b[25])<<8 | int(b[26])<<16)
	for at := 12; at+8 <= len(b); {
		size := int(b[at+4]) | int(b[at+5])<<8 | int(b[at+6])<<16 | int(b[at+7])<<24
		if string(b[at:at+4]) == "ANMF" && at+8+16 <= len(b) {
			frames++
			ms += int(b[at+8+12]) | int(b[at+8+13])<<8 | int(b[at+8+14])<<16
		}
		at += 8 + size + size%2
	}
	return frames, width, ms
}

// TestMosaicTellsTheTruth: the mosaic follows img.mp4's grid (img's first
// frames missing, held from depth's first: the same frame count and audio
// offset); a deleted
// preview is made again, never listed as kept; a mosaic left from other
// inputs is listed as stale.
func TestMosaicTellsTheTruth(t *testing.T) {
	dir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, Depth: true})
	os.WriteFile(filepath.Join(dir, "audio.wav"), synth.WAV(0.2), 0o644)
	for _, f := range []string{"img_0000.jpg", "img_0001.jpg"} {
		os.Remove(filepath.Join(dir, "a", f))
	}
	out := t.TempDir()
	opts := Options{Tool: testkit.FFmpeg(t), Preview: "webp"}
	rep, _, err := Encode(context.Background(), dir, out, opts)
	if !errors.Is(err, ErrDegraded) {
		t.Fatalf("Encode: %v; want degraded (img misses frames depth has)", err)
	}
	img, m := rep.Streams[0], rep.Mosaic
	if img.Pass != "img" || m.FramesWritten != img.FramesWritten || m.Audio == nil || img.Audio == nil || m.Audio.Offset != img.Audio.Offset {
		t.Fatalf("img %d frames, audio %+v; mosaic %d frames, audio %+v", img.FramesWritten, img.Audio, m.FramesWritten, m.Audio)
	}
	os.Remove(filepath.Join(out, "preview.webp"))
	if rep, _, err = Encode(context.Background(), dir, out, opts); !errors.Is(err, ErrDegraded) || rep.Preview == nil || rep.Preview.Kept || !mosaic.OnDisk(rep.Preview, out) {
		t.Fatalf("a deleted preview: %v, %+v", err, rep.Preview)
	}
	os.WriteFile(filepath.Join(dir, "a", "img_0005.jpg"), must(os.ReadFile(filepath.Join(dir, "a", "img_0006.jpg"))), 0o644)
	if rep, _, err = Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t)}); !errors.Is(err, ErrDegraded) || rep.Mosaic == nil || !rep.Mosaic.StaleOutput || !rep.Mosaic.NotSelected {
		t.Fatalf("a mosaic of other inputs: %v, %+v", err, rep.Mosaic)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestLegendIsCopiedIntoTheReport: RUN/segmentation_colors.json (the
// add-on's copy of send_segmentation_colors) becomes the report's legend;
// a broken one is a warning naming it, and the videos are made anyway;
// without one, nothing changes.
func TestLegendIsCopiedIntoTheReport(t *testing.T) {
	dir := testkit.SceneRun(t, 4, 16, 16, synth.Passes{Img: true, ID: true})
	legend := `[{"id": 7, "color": [231, 76, 60], "name": "ball_red", "category": "sphere"}, {"id": 9, "color": [0, 255, 1], "name": "table", "category": "furniture"}]`
	os.WriteFile(filepath.Join(dir, mosaic.LegendName), []byte(legend), 0o644)
	rep, _, err := Encode(context.Background(), dir, t.TempDir(), Options{Tool: testkit.FFmpeg(t)})
	if err != nil || len(rep.Legend) != 2 || rep.Legend[0] != (report.LegendEntry{ID: 7, Color: "#e74c3c", Name: "ball_red", Category: "sphere"}) {
		t.Fatalf("Encode: %v; legend %+v", err, rep.Legend)
	}
	os.WriteFile(filepath.Join(dir, mosaic.LegendName), []byte(`[{"id": 1, "color": [300, 0, 0]}]`), 0o644)
	rep, _, err = Encode(context.Background(), dir, t.TempDir(), Options{Tool: testkit.FFmpeg(t)})
	if err != nil || rep.Legend != nil || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], mosaic.LegendName) {
		t.Fatalf("a broken legend: %v; legend %+v, warnings %q", err, rep.Legend, rep.Warnings)
	}
}

// TestMosaicListsTheObjectsInView: the legend's objects whose colour shows
// in the _id frames are listed under the strip with a swatch of their
// colour; an object not in view is not.
func TestMosaicListsTheObjectsInView(t *testing.T) {
	dir := testkit.SceneRun(t, 6, 160, 96, synth.Passes{Img: true, ID: true})
	legend := `[{"id": 1, "color": [231, 76, 60], "name": "ball", "category": "sphere"}, {"id": 2, "color": [1, 2, 3], "name": "ghost", "category": "unseen"}]`
	os.WriteFile(filepath.Join(dir, mosaic.LegendName), []byte(legend), 0o644)
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), Mosaic: true})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	plain := mosaic.Plan([]mosaic.Source{{Avatar: "a", Pass: tdw.Img, Width: 160, Height: 96}, {Avatar: "a", Pass: tdw.ID, Width: 160, Height: 96}}, 1920)
	m := rep.Mosaic
	if m.Height <= plain.Height || m.Height > plain.Height+20 {
		t.Fatalf("mosaic %dx%d; want one legend row under a %dx%d mosaic", m.Width, m.Height, plain.Width, plain.Height)
	}
	frame := mosaicFrame(t, filepath.Join(out, mosaic.FileName), 2, m.Width, m.Height)
	swatch := frame[3*((plain.Height+2+7)*m.Width+4+5):][:3] // the middle of the first swatch
	if math.Abs(float64(swatch[0])-231) > 24 || math.Abs(float64(swatch[1])-76) > 24 || math.Abs(float64(swatch[2])-60) > 24 {
		t.Fatalf("the first swatch is %v, want about [231 76 60] (the ball)", swatch)
	}
}
