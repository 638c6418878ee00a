//go:build full

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// chromium runs Debian's headless Chromium with the flags this closed network
// needs (no background connections), returning what it printed on stdout.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the gallery test needs Debian's chromium (go tool task deps installs it): %v", err)
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000"}
	out, err := exec.Command(bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// TestGalleryInChromium loads the batch gallery in headless Chromium: a card
// per run with the failed one first, and videos that play (a positive
// duration read by the page itself). The screenshot is kept in
// test-artifacts/ (or $TDWSTITCH_ARTIFACTS).
func TestGalleryInChromium(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	newDataset(t, root, 3)
	bad := filepath.Join(root, "scene9", "broken")
	os.MkdirAll(filepath.Join(bad, "a"), 0o755)
	os.WriteFile(filepath.Join(bad, "a", "img_0000.jpg"), []byte("oops"), 0o644)
	os.WriteFile(filepath.Join(bad, "audio.wav"), synth.WAV(0.1), 0o644)
	code, stdout, _ := cli(t, "batch", root, "-o", out, "-q", "--gallery")
	page := filepath.Join(out, "index.html")
	if code != 1 || !strings.Contains(stdout, "gallery: "+page) {
		t.Fatalf("batch --gallery: exit %d\n%s", code, stdout)
	}

	dom := chromium(t, "--dump-dom", "file://"+page)
	cards := regexp.MustCompile(`<div class="card (\w+)">`).FindAllStringSubmatch(dom, -1)
	if len(cards) != 4 || cards[0][1] != "failed" {
		t.Fatalf("cards %v, want 4 with the failed run first", cards)
	}
	durations := regexp.MustCompile(`<video[^>]*data-duration="([0-9.]+)"`).FindAllStringSubmatch(dom, -1)
	if len(durations) != 3 {
		t.Fatalf("%d videos report a duration, want 3 (one img video per good run)", len(durations))
	}
	for _, d := range durations {
		if v, _ := strconv.ParseFloat(d[1], 64); v <= 0 {
			t.Fatalf("a video reports duration %s", d[1])
		}
	}
	if !strings.Contains(dom, "contact sheet of a/id") || !strings.Contains(dom, `href="scene9/broken/tdwstitch-report.json"`) {
		t.Error("gallery lacks contact sheets or report links")
	}

	artifacts := os.Getenv("TDWSTITCH_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("../../test-artifacts")
	}
	os.MkdirAll(artifacts, 0o755)
	shot := filepath.Join(artifacts, "gallery.png")
	chromium(t, "--window-size=1100,1400", "--screenshot="+shot, "file://"+page)
	if info, err := os.Stat(shot); err != nil || info.Size() < 10000 {
		t.Fatalf("no screenshot at %s (%v)", shot, err)
	}
}
