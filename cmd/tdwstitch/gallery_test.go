//go:build full

package main

import (
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/gallery"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
)

// galleryDataset writes n tiny flat runs (3 JPEG frames each) under
// root/scene<i%10>/run_<i>, of which the first `degraded` have a broken
// middle frame and the next `failed` have only broken frames; and one rich
// run, scene0/mosaic (avatar a: img, id, depth; audio; a legend).
func galleryDataset(t *testing.T, root string, n, degraded, failed int) {
	t.Helper()
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("scene%d", i%10), fmt.Sprintf("run_%04d", i))
		s := synth.Scene{Width: 16, Height: 16, Frames: 3, FPS: 30}
		if err := s.WriteFrom(dir, ".", synth.Passes{Img: true}, i); err != nil {
			t.Fatal(err)
		}
		switch {
		case i < degraded:
			os.WriteFile(filepath.Join(dir, "img_0001.jpg"), []byte("oops"), 0o644)
		case i < degraded+failed:
			for k := range 3 {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("img_%04d.jpg", k)), []byte("oops"), 0o644)
			}
		}
	}
	rich := filepath.Join(root, "scene0", "mosaic")
	s := synth.Scene{Width: 64, Height: 48, Frames: 30, FPS: 60}
	if err := s.Write(rich, "a", synth.Passes{Img: true, ID: true, Depth: true}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rich, "audio.wav"), synth.WAV(0.5), 0o644)
	legend := `[{"id": 7, "color": [231, 76, 60], "name": "ball_red", "category": "sphere"}, {"id": 9, "color": [1, 2, 3], "name": "not_in_view", "category": "ghost"}]`
	os.WriteFile(filepath.Join(rich, mosaic.LegendName), []byte(legend), 0o644)
}

// drive uses the gallery as a user would: counts the overview's rows,
// clicks the "degraded" filter and counts what shows, clicks "all", clicks
// the rich run's row and follows the player that opens until it has
// played past 0.2 s (or ended, or failed); then says what it saw.
const drive = `new Promise(done => {
  const out = {}, shown = sel => [...document.querySelectorAll(sel)].filter(e => !e.hidden).length;
  out.rows = document.querySelectorAll("#runs tbody tr").length;
  out.cards = document.querySelectorAll(".card").length;
  out.firstStatus = document.querySelector("#runs tbody tr").dataset.s;
  document.querySelector('#filter button[data-f="degraded"]').click();
  out.degradedRows = shown("#runs tbody tr");
  out.degradedCards = shown(".card");
  out.shownText = document.getElementById("shown").textContent;
  document.querySelector('#filter button[data-f="all"]').click();
  out.allRows = shown("#runs tbody tr");
  const link = [...document.querySelectorAll("#runs a")].find(a => a.textContent === "scene0/mosaic");
  link.click();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  out.legend = !!card.querySelector("img.legend");
  const v = card.querySelector("video");
  if (!v) return done(Object.assign(out, {error: "no player after the click"}));
  const note = () => {
    Object.assign(out, {src: v.getAttribute("src"), state: v.dataset.state || "", time: v.currentTime, width: v.videoWidth, duration: v.duration || 0});
    if (v.currentTime > 0.2 || v.dataset.state === "ended" || v.dataset.state === "error") done(out);
  };
  for (const ev of ["timeupdate", "ended", "error"]) v.addEventListener(ev, note);
})`

// TestGalleryOfAThousandRuns is the gallery of a batch of 1,000 tiny runs
// in headless Chromium: the page is under 2 MB with its pictures as files
// loaded lazily, lists 1,000 rows with the failed runs first, filters by
// status, and plays the rich run's mosaic when its row is clicked. Its card shows the legend of the objects in view only. A second
// batch keeps every picture; a run left out of the batch loses its own.
// Screenshots of the overview and of the playing card are kept in
// test-artifacts/ (or $TDWSTITCH_ARTIFACTS).
func TestGalleryOfAThousandRuns(t *testing.T) {
	const runs, degraded, failed = 999, 3, 2 // and the rich run: 1,000
	root, out := t.TempDir(), t.TempDir()
	galleryDataset(t, root, runs, degraded, failed)
	if code, stdout, stderr := cli(t, "batch", root, "-o", out, "-q", "--mosaic", "--include", "scene0/mosaic"); code != 0 {
		t.Fatalf("batch --mosaic of the rich run: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := cli(t, "batch", root, "-o", out, "-q", "--gallery")
	page := filepath.Join(out, gallery.FileName)
	if code != 1 || !strings.Contains(stdout, "gallery: "+page) {
		t.Fatalf("batch --gallery: exit %d, want 1 (failed runs)\n%s%s", code, stdout, stderr)
	}

	body, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) >= 2<<20 || strings.Contains(string(body), "data:image") {
		t.Fatalf("page is %d bytes (want < 2 MB) or inlines pictures", len(body))
	}
	if lazy := strings.Count(string(body), `loading="lazy"`); lazy < 1000 {
		t.Fatalf("%d lazily loaded pictures, want one per run at least", lazy)
	}
	checkLegendPicture(t, out, string(body))

	browser := testkit.Chromium(t)
	tab := browser.Open("file://" + page)
	var seen struct {
		Rows, Cards, DegradedRows, DegradedCards, AllRows, Width int
		FirstStatus, ShownText, Src, State, Error                string
		Time, Duration                                           float64
		Legend                                                   bool
	}
	tab.Eval(drive, time.Minute, &seen)
	t.Logf("chromium saw %+v", seen)
	switch {
	case seen.Error != "":
		t.Fatalf("in the page: %s", seen.Error)
	case seen.Rows != 1000 || seen.Cards != 1000 || seen.AllRows != 1000:
		t.Fatalf("%d rows, %d cards (%d shown with all), want 1000", seen.Rows, seen.Cards, seen.AllRows)
	case seen.FirstStatus != "failed":
		t.Fatalf("first row is %s, want a failed run first", seen.FirstStatus)
	case seen.DegradedRows != degraded || seen.DegradedCards != degraded || seen.ShownText != fmt.Sprint(degraded):
		t.Fatalf("filter degraded shows %d rows, %d cards, says %q; want %d", seen.DegradedRows, seen.DegradedCards, seen.ShownText, degraded)
	case !strings.HasSuffix(seen.Src, "scene0/mosaic/mosaic.mp4") || seen.State == "error" || seen.Width < 64 || seen.Duration < 0.45 || seen.Time <= 0.2:
		t.Fatalf("the rich run's card played %q: state %s at %.3f s of %.3f s, %d px wide; want its mosaic playing past 0.2 s", seen.Src, seen.State, seen.Time, seen.Duration, seen.Width)
	case !seen.Legend:
		t.Fatal("the rich run's card shows no legend")
	}

	artifacts := os.Getenv("TDWSTITCH_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("../../test-artifacts")
	}
	os.MkdirAll(artifacts, 0o755)
	for shot, p := range map[string]*testkit.Page{"gallery-card.png": tab, "gallery.png": browser.Open("file://" + page)} {
		p.Screenshot(filepath.Join(artifacts, shot), 1100, 1000)
		if info, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || info.Size() < 10000 {
			t.Fatalf("no screenshot %s in %s (%v)", shot, artifacts, err)
		}
	}

	files := filepath.Join(out, gallery.FilesDir)
	before, _ := os.ReadDir(files)
	sheet := filepath.Join(files, firstMatch(t, string(body), `src="index_files/([0-9a-f]+\.sheet\.jpg)"`))
	made := modTime(t, sheet)
	cli(t, "batch", root, "-o", out, "-q", "--gallery")
	if after, _ := os.ReadDir(files); len(after) != len(before) || !modTime(t, sheet).Equal(made) {
		t.Fatalf("an unchanged batch remade pictures: %d files before, %d after", len(before), len(after))
	}
	cli(t, "batch", root, "-o", out, "-q", "--gallery", "--exclude", "scene0/mosaic")
	if after, _ := os.ReadDir(files); len(after) != len(before)-3 {
		t.Fatalf("%d pictures after leaving the rich run out, want %d (its poster, sheet and legend gone)", len(after), len(before)-3)
	}
}

// checkLegendPicture: the rich run's legend picture lists the object in
// view (its swatch is the exact colour of the _id pass) and not the one
// that never shows.
func checkLegendPicture(t *testing.T, out, page string) {
	t.Helper()
	name := firstMatch(t, page, `src="index_files/([0-9a-f]+\.legend\.png)"`)
	f, err := os.Open(filepath.Join(out, gallery.FilesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	has := func(c color.RGBA) bool {
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if color.RGBAModel.Convert(img.At(x, y)) == c {
					return true
				}
			}
		}
		return false
	}
	if !has(color.RGBA{231, 76, 60, 255}) || has(color.RGBA{1, 2, 3, 255}) {
		t.Fatalf("legend %s: want the swatch of ball_red only (an image of %v)", name, img.Bounds().Size())
	}
}

func firstMatch(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("nothing matches %s", pattern)
	}
	return m[1]
}
