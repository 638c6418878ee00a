package gallery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/report"
)

// oddRun writes a flat run of img frames under src and its report under
// out/rel, as encode leaves them, and returns the batch entry.
func oddRun(t *testing.T, src, out, rel string, frames int) report.BatchRun {
	t.Helper()
	if err := (synth.Scene{Width: 32, Height: 24, Frames: frames, FPS: 30}).Write(src, ".", synth.Passes{Img: true}); err != nil {
		t.Fatal(err)
	}
	rep := report.Run{Run: src, Status: report.OK, Options: report.Options{MaxPixels: 100_000_000},
		Streams: []*report.Stream{{ID: "img", Pass: "img", Output: "img.mp4", Status: report.OK, FramesFound: frames, Inputs: "x"}}}
	os.MkdirAll(filepath.Join(out, filepath.FromSlash(rel)), 0o755)
	if err := report.Write(filepath.Join(out, filepath.FromSlash(rel), report.RunFile), &rep); err != nil {
		t.Fatal(err)
	}
	return report.BatchRun{Run: rel, Status: report.OK, Report: rel + "/" + report.RunFile}
}

// TestOddNamesAndOurFilesOnly: a run named with a time (':', which would
// read as a URL scheme), spaces, '#', '?' and '%' gets links that lead to its files; only pictures the gallery makes are
// pruned, never a file of the user's in its folder.
func TestOddNamesAndOurFilesOnly(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	rel := "2024-05-01T10:00:00 #1/odd ?%"
	br := &report.Batch{RunList: []report.BatchRun{oddRun(t, src, out, rel, 5)}}

	files := filepath.Join(out, FilesDir)
	os.MkdirAll(files, 0o755)
	os.WriteFile(filepath.Join(files, "notes.txt"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(files, "0123456789abcdef.sheet.jpg"), []byte("stale"), 0o644)

	page, err := Write(context.Background(), br, out)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(page)
	if !strings.Contains(string(body), `href="2024-05-01T10%3A00%3A00%20%231/odd%20%3F%25/tdwstitch-report.json"`) {
		t.Fatalf("the report link is not escaped:\n%s", body)
	}
	if !strings.Contains(string(body), `data-src="2024-05-01T10%3A00%3A00%20%231/odd%20%3F%25/img.mp4"`) {
		t.Fatal("the player's video link is not escaped")
	}
	if _, err := os.Stat(filepath.Join(files, "notes.txt")); err != nil {
		t.Fatal("the user's file in the gallery folder was removed")
	}
	if _, err := os.Stat(filepath.Join(files, "0123456789abcdef.sheet.jpg")); err == nil {
		t.Fatal("a picture no card shows was kept")
	}
	entries, _ := os.ReadDir(files)
	var sheets int
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sheet.jpg") {
			sheets++
		}
	}
	if sheets != 1 {
		t.Fatalf("%d contact sheets, want 1", sheets)
	}
}
