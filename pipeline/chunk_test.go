package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// TestChunkedRunEqualsWhole: a live run encoded in three chunks and joined
// must be the video the whole run makes. A clapperboard run (irregular frame
// times, gaps, audio starting late) gets an id pass whose every frame is
// different, so one frame in the wrong slot changes its checksum; both are
// placed by capture time. The joined id video must be bit-identical to the
// whole encode, and the joined img video as long and in sync within a frame.
func TestChunkedRunEqualsWhole(t *testing.T) {
	// --timing sidecar places every stream by capture time; auto (serve's
	// default) only the img stream, which carries the audio.
	for _, mode := range []string{place.TimingSidecar, place.TimingAuto} {
		t.Run(mode, func(t *testing.T) { chunkedEqualsWhole(t, mode) })
	}
}

func chunkedEqualsWhole(t *testing.T, mode string) {
	ctx := context.Background()
	dir, run, inside := clapperRun(t, synth.Clapper{Seconds: 12, AudioOffset: 0.37, Gaps: 7, Seed: 9})
	var numbers []int64
	jpgs, _ := filepath.Glob(filepath.Join(dir, "a", "img_*.jpg"))
	for _, p := range jpgs {
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "img_"), ".jpg"), 10, 64)
		numbers = append(numbers, n)
		m := image.NewRGBA(image.Rect(0, 0, 16, 16))
		for i := range 16 * 16 {
			m.Set(i%16, i/16, color.RGBA{byte(n % 16 * 16), byte(n / 16 * 5), byte(i), 255}) // n in steps a lossy video keeps apart
		}
		os.WriteFile(filepath.Join(dir, "a", filepath.Base(strings.Replace(p, "img_", "id_", 1))[:len("id_0000")]+".png"), synth.EncodePNG(m), 0o644)
	}
	slices.Sort(numbers)
	opts := Options{Tool: testkit.FFmpeg(t), FPS: 60, Timing: mode}

	// The run has gaps: both ways write every stream, degraded.
	wholeOpts := opts
	wholeOpts.Mosaic = true
	whole, _, err := Encode(ctx, dir, t.TempDir(), wholeOpts)
	if !errors.Is(err, ErrDegraded) || whole.Status != report.Degraded {
		t.Fatalf("whole: %s, %v; want degraded", whole.Status, err)
	}

	runOut := t.TempDir()
	spool := filepath.Join(runOut, ".spool")
	if err := os.CopyFS(spool, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(spool, "audio.wav")) // a live run's audio is the begin message's path
	clock, err := timing.ReadSidecar(filepath.Join(dir, timing.SidecarName))
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]int64{"a/img": numbers[0], "a/id": numbers[0]}
	cut1, cut2 := numbers[len(numbers)/3], numbers[2*len(numbers)/3]
	var chunks []Chunk
	for _, w := range []Window{{Pack: 0, From: numbers[0], To: cut1 - 1, Next: cut1}, {Pack: 1, From: cut1, To: cut2 - 1, Next: cut2}, {Pack: 2, From: cut2, To: -1, Next: -1}} {
		to := w.To
		if to < 0 {
			to = numbers[len(numbers)-1]
		}
		// Each chunk gets only its part of the clock, as serve hands it over.
		w.First, w.Clock, w.Timed = first, clock.Window(w.From, to, w.Next, first), true
		c := Chunk{Dir: filepath.Join(runOut, "chunks", fmt.Sprint(w.Pack)), From: w.From, To: w.To}
		if err := EncodeChunk(ctx, spool, c.Dir, w, opts); IsFailure(err) {
			t.Fatalf("chunk %d: %v", w.Pack, err)
		}
		chunks = append(chunks, c)
	}
	o := opts
	o.Audio, o.Mosaic = filepath.Join(dir, "audio.wav"), true
	joined, err := JoinChunks(ctx, runOut, spool, chunks, clock, o)
	if !errors.Is(err, ErrDegraded) || joined.Status != report.Degraded {
		t.Fatalf("join: %s, %v; want degraded like the whole encode", joined.Status, err)
	}

	checkJoinedMosaic(t, whole, joined, inside)
	for _, w := range whole.Streams {
		i := slices.IndexFunc(joined.Streams, func(s *report.Stream) bool { return s.ID == w.ID })
		if i < 0 {
			t.Fatalf("%s missing from the joined run", w.ID)
		}
		j := joined.Streams[i]
		if j.FramesFound != w.FramesFound || j.FramesWritten != w.FramesWritten || j.FramesDropped != w.FramesDropped || j.MissingFrames != w.MissingFrames ||
			len(j.Gaps) != len(w.Gaps) || j.CaptureSpan != w.CaptureSpan || !j.Verified {
			t.Errorf("%s: joined found/written/missing/gaps/span %d/%d/%d/%d/%.3f, whole %d/%d/%d/%d/%.3f",
				w.ID, j.FramesFound, j.FramesWritten, j.MissingFrames, len(j.Gaps), j.CaptureSpan,
				w.FramesFound, w.FramesWritten, w.MissingFrames, len(w.Gaps), w.CaptureSpan)
		}
		switch w.Pass {
		case "id":
			if !slices.Equal(verify.FrameMD5(t, joined.Path(j), "rgb24", false), verify.FrameMD5(t, whole.Path(w), "rgb24", false)) {
				t.Error("the joined id video is not bit-identical to the whole run's")
			}
		case "img":
			if j.Audio == nil || w.Audio == nil || j.Audio.Offset != w.Audio.Offset || j.Audio.Duration != w.Audio.Duration {
				t.Fatalf("audio joined %+v, whole %+v", j.Audio, w.Audio)
			}
			// Same frames in the same slots and the same audio: the same sync
			// as the whole run, flash by flash (the clapperboard test bounds that).
			errs := verify.SyncErrors(t, verify.FlashTimes(t, joined.Path(j)), verify.ClickTimes(t, joined.Path(j)), inside)
			ref := verify.SyncErrors(t, verify.FlashTimes(t, whole.Path(w)), verify.ClickTimes(t, whole.Path(w)), inside)
			t.Logf("joined img: %d frames from 3 chunks, %d flash/click pairs, max sync error %.1f ms (whole run: %.1f ms)",
				j.FramesWritten, len(errs), 1000*errs[len(errs)-1], 1000*ref[len(ref)-1])
			if len(errs) != len(run.Flashes) || len(ref) != len(errs) {
				t.Fatalf("flash/click pairs: joined %d, whole %d, run %d", len(errs), len(ref), len(run.Flashes))
			}
			for k := range errs {
				if d := errs[k] - ref[k]; d > 0.001 || d < -0.001 {
					t.Errorf("pair %d: joined sync error %.1f ms, whole %.1f ms", k, 1000*errs[k], 1000*ref[k])
				}
			}
		}
	}
}

// tileMeans is the mean RGB of region in each frame of a video.
func tileMeans(t *testing.T, video string, region image.Rectangle) [][3]byte {
	t.Helper()
	raw, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", "file:"+video, "-map", "0:v", "-fps_mode", "passthrough",
		"-vf", fmt.Sprintf("crop=%d:%d:%d:%d,scale=1:1:flags=area", region.Dx(), region.Dy(), region.Min.X, region.Min.Y),
		"-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("decoding %s: %v", video, err)
	}
	out := make([][3]byte, len(raw)/3)
	for i := range out {
		copy(out[i][:], raw[3*i:])
	}
	return out
}

// checkJoinedMosaic: the mosaic of a chunked run (made from its joined
// videos, the frames having left the spool) has the whole run's size,
// frames and audio, every output frame showing the frames the whole run's
// mosaic shows, and its flashes and clicks within one output frame.
func checkJoinedMosaic(t *testing.T, whole, joined *report.Run, inside []bool) {
	t.Helper()
	w, j := whole.Mosaic, joined.Mosaic
	if w == nil || j == nil || !j.Status.Written() || !j.Verified {
		t.Fatalf("mosaics: whole %+v, joined %+v", w, j)
	}
	if j.Width != w.Width || j.Height != w.Height || j.FramesWritten != w.FramesWritten || j.Audio == nil || math.Abs(j.Duration-w.Duration) > 0.5/60 {
		t.Fatalf("joined mosaic %dx%d, %d frames, %.3f s, audio %v; whole %dx%d, %d frames, %.3f s",
			j.Width, j.Height, j.FramesWritten, j.Duration, j.Audio, w.Width, w.Height, w.FramesWritten, w.Duration)
	}
	if j.Status != report.Degraded {
		t.Errorf("joined mosaic is %s; the run has gaps: want degraded", j.Status)
	}
	// The flashes are looked for in the img tile: the id tile changes
	// colour every frame, which says which frame it shows.
	var sources []mosaic.Source
	for _, s := range whole.Streams {
		sources = append(sources, mosaic.Source{Avatar: s.Avatar, Pass: tdw.Pass(s.Pass), Width: s.Width, Height: s.Height})
	}
	layout := mosaic.Plan(sources, 1920)
	if len(layout.Tiles) != 2 || layout.Tiles[1].Pass != tdw.ID {
		t.Fatalf("layout %+v: want the img tile, then the id tile", layout.Tiles)
	}
	path := joined.Path(j)
	flashes, ref := verify.FlashTimesIn(t, path, layout.Tiles[0].Rect), verify.FlashTimesIn(t, whole.Path(w), layout.Tiles[0].Rect)
	if len(flashes) != len(ref) {
		t.Fatalf("%d flashes in the joined mosaic, %d in the whole run's", len(flashes), len(ref))
	}
	for i := range ref {
		if math.Abs(flashes[i]-ref[i]) > 0.5/60 {
			t.Fatalf("flash %d at %.4f s in the joined mosaic, %.4f s in the whole run's", i, flashes[i], ref[i])
		}
	}
	// Every output frame's id tile shows the frame the whole run's does:
	// its red steps by 16 a frame, its green by 5 every 16 frames.
	id := layout.Tiles[1].Rect.Inset(4)
	got, want := tileMeans(t, path, id), tileMeans(t, whole.Path(w), id)
	if len(got) != len(want) {
		t.Fatalf("%d frames in the joined mosaic, %d in the whole run's", len(got), len(want))
	}
	for k := range want {
		if dr, dg := int(got[k][0])-int(want[k][0]), int(got[k][1])-int(want[k][1]); dr > 4 || dr < -4 || dg > 2 || dg < -2 {
			t.Fatalf("output frame %d: the joined mosaic's id tile is %v, the whole run's %v: a different frame", k, got[k], want[k])
		}
	}
	errs := verify.SyncErrors(t, flashes, verify.ClickTimes(t, path), inside)
	if worst := errs[len(errs)-1]; worst > 1.0/60 {
		t.Fatalf("a click is %.1f ms from its flash in the joined mosaic (bound one frame)", 1000*worst)
	}
}

// TestJoinWarnsOfAStreamMissingFromAChunk: a stream with no frame in a whole
// chunk cannot hold across it; the join says so instead of hiding it.
func TestJoinWarnsOfAStreamMissingFromAChunk(t *testing.T) {
	runOut := t.TempDir()
	spool := filepath.Join(runOut, ".spool")
	if err := (synth.Scene{Width: 16, Height: 16, Frames: 30, FPS: 60}).Write(spool, "a", synth.Passes{Img: true, ID: true}); err != nil {
		t.Fatal(err)
	}
	for n := 10; n < 20; n++ {
		os.Remove(filepath.Join(spool, "a", fmt.Sprintf("id_%04d.png", n)))
	}
	first := map[string]int64{"a/img": 0, "a/id": 0}
	opts := Options{Tool: testkit.FFmpeg(t), FPS: 60}
	var chunks []Chunk
	for _, w := range []Window{{Pack: 0, From: 0, To: 9, Next: 10}, {Pack: 1, From: 10, To: 19, Next: 20}, {Pack: 2, From: 20, To: -1, Next: -1}} {
		w.First = first
		c := Chunk{Dir: filepath.Join(runOut, "chunks", fmt.Sprint(w.Pack)), From: w.From, To: w.To}
		if err := EncodeChunk(context.Background(), spool, c.Dir, w, opts); IsFailure(err) {
			t.Fatal(err)
		}
		chunks = append(chunks, c)
	}
	rep, err := JoinChunks(context.Background(), runOut, spool, chunks, nil, opts)
	if !errors.Is(err, ErrDegraded) { // a/id's frames 10-19 are missing
		t.Fatal(err)
	}
	want := "a/id: no frame in frames 10 to 19: its video skips that span instead of holding the previous frame"
	if !slices.Contains(rep.Warnings, want) {
		t.Fatalf("warnings %q, want %q", rep.Warnings, want)
	}
	for _, s := range rep.Streams {
		if w := map[string]int{"a/img": 30, "a/id": 20}[s.ID]; s.FramesWritten != w {
			t.Errorf("%s: %d frames written, want %d", s.ID, s.FramesWritten, w)
		}
	}
}
