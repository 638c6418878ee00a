package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// TestSpooledRunEncodes: frames as a live controller sends them (JPEG img,
// PNG id, raw bottom-up depth) spooled, then encoded like a run on disk; the
// depth video holds exactly the pixels TDW's save_images would have written.
func TestSpooledRunEncodes(t *testing.T) {
	scene := synth.Scene{Width: 32, Height: 24}
	dir, want := t.TempDir(), t.TempDir()
	w, err := spool.Create(dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 12 {
		img, id, depth := scene.Frame(n)
		raw := synth.RawBottomUp(depth)
		os.WriteFile(filepath.Join(want, fmt.Sprintf("depth_%04d.png", n)), synth.EncodePNG(depth), 0o644)
		frame := []*wire.Images{{AvatarID: "a", Width: 32, Height: 24, Passes: []wire.ImagePass{
			{Pass: tdw.Img, Format: tdw.JPEG, Image: scene.EncodeJPEG(img)},
			{Pass: tdw.ID, Format: tdw.PNG, Image: synth.EncodePNG(id)},
			{Pass: tdw.Depth, Format: tdw.PNG, Image: raw},
		}}}
		if err := w.Frame(int64(n), 10+0.02*float64(n), frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rep, _, err := EncodeSpool(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t)})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if len(rep.Streams) != 3 {
		t.Fatalf("%d streams", len(rep.Streams))
	}
	for _, sr := range rep.Streams {
		if sr.FramesWritten != 12 || sr.Status != report.OK {
			t.Fatalf("%s: %s, %d frames", sr.ID, sr.Status, sr.FramesWritten)
		}
		if sr.Pass == "depth" {
			verify.SameFrames(t, rep.Path(sr), filepath.Join(want, "depth_%04d.png"))
		}
	}
}
