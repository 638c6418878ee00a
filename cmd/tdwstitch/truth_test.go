package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStrayFrameFarPastTheRun: one junk file named like a frame five
// million frames on is listed as bad and never held (the video ends at the
// last good frame); a valid stray frame there fails its stream, named with
// the fix, while the run's other streams are still made. probe gives the
// same verdicts first. Both finish in seconds, not hours.
func TestStrayFrameFarPastTheRun(t *testing.T) {
	t.Run("junk", func(t *testing.T) {
		runDir := testkit.SceneRun(t, 30, 32, 32, synth.Passes{Img: true, ID: true})
		os.WriteFile(filepath.Join(runDir, "a", "img_5000000.jpg"), []byte("junk"), 0o644)
		code, stdout, _ := cli(t, "probe", runDir)
		if code != 3 || !strings.Contains(stdout, "a/img   31      0-29") || !strings.Contains(stdout, "bad frame a/img_5000000.jpg: ") ||
			!strings.Contains(stdout, "0.50 s    degraded") {
			t.Errorf("probe: exit %d\n%s", code, stdout)
		}
		out := t.TempDir()
		code, stdout, stderr := cli(t, "encode", runDir, "-o", out, "-q")
		if code != 3 {
			t.Fatalf("exit %d, want 3 (degraded):\n%s", code, stderr)
		}
		sr := stream(t, readReport(t, out), "a/img")
		if sr.FramesWritten != 30 || sr.LastFrame != 29 || sr.FramesFound != 31 || len(sr.BadFrames) != 1 ||
			!strings.Contains(sr.BadFrames[0].Reason, "after the stream's last good frame: not held") {
			t.Errorf("a/img: written %d, last %d, found %d, bad %+v", sr.FramesWritten, sr.LastFrame, sr.FramesFound, sr.BadFrames)
		}
		if n := verify.Probe(t, filepath.Join(out, "a", "img.mp4")).Streams[0].Packets; n != 30 {
			t.Errorf("img.mp4 holds %d frames, want 30", n)
		}
		if !strings.Contains(stdout, "(30 frames, 0.50 s, h264; DEGRADED: 1 set aside (not encoded))") {
			t.Errorf("stdout:\n%s", stdout)
		}
	})
	t.Run("valid copy", func(t *testing.T) {
		runDir := testkit.SceneRun(t, 30, 32, 32, synth.Passes{Img: true, ID: true})
		copyFile(t, filepath.Join(runDir, "a", "img_0005.jpg"), filepath.Join(runDir, "a", "img_0500000.jpg"))
		want := "a/img_0500000.jpg (frame 500000) comes 499970 frames after a/img_0029.jpg (frame 29), more than the widest gap allowed (600)"
		code, stdout, _ := cli(t, "probe", runDir)
		if code != 1 || !strings.Contains(stdout, "a/img would FAIL: "+want) {
			t.Errorf("probe: exit %d\n%s", code, stdout)
		}
		out := t.TempDir()
		code, stdout, stderr := cli(t, "encode", runDir, "-o", out, "-q")
		if code != 1 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "remove the stray files (--max-gap; if the gap is real, pass --max-gap 499970, or 0 for no limit)") {
			t.Fatalf("exit %d, want 1 naming the stray file:\n%s", code, stderr)
		}
		rep := readReport(t, out)
		if sr := stream(t, rep, "a/img"); sr.Status != report.Failed {
			t.Errorf("a/img: %s", sr.Status)
		}
		if sr := stream(t, rep, "a/id"); sr.Status != report.OK || sr.FramesWritten != 30 || !strings.Contains(stdout, "wrote "+filepath.Join(out, "a", "id.mkv")) {
			t.Errorf("a/id: %s, %d frames; stdout %q", sr.Status, sr.FramesWritten, stdout)
		}
		if _, err := os.Stat(filepath.Join(out, "a", "img.mp4")); err == nil {
			t.Error("img.mp4 was written for a failed stream")
		}
		// A real gap within --max-gap is held as before.
		if code, _, stderr := cli(t, "encode", runDir, "-o", t.TempDir(), "-q", "--passes", "img", "--max-gap", "499969"); code != 1 || !strings.Contains(stderr, "more than the widest gap allowed (499969)") {
			t.Errorf("--max-gap one short: exit %d, %s", code, stderr)
		}
	})
}

// TestDamageIsVisible: a run with a gap, a truncated JPEG, an empty file
// and a text file named like a frame is degraded everywhere: exit 3, the
// stdout line (also with -q), the report, the batch summary and exit code,
// the gallery.
func TestDamageIsVisible(t *testing.T) {
	root := t.TempDir()
	runDir := filepath.Join(root, "run1")
	if err := (synth.Scene{Width: 32, Height: 32, Frames: 30, FPS: 60}).Write(runDir, "a", synth.Passes{Img: true}); err != nil {
		t.Fatal(err)
	}
	a := func(n int) string { return filepath.Join(runDir, "a", fmt.Sprintf("img_%04d.jpg", n)) }
	for _, n := range []int{20, 21, 22} {
		os.Remove(a(n))
	}
	mutate(t, a(5), func(b []byte) []byte { return b[:len(b)/2] })
	mutate(t, a(6), func([]byte) []byte { return nil })
	mutate(t, a(7), func([]byte) []byte { return []byte("not an image\n") })

	out := t.TempDir()
	code, stdout, stderr := cli(t, "encode", runDir, "-o", out, "-q")
	if code != 3 || !strings.Contains(stdout, "wrote "+filepath.Join(out, "a", "img.mp4")+" (30 frames, 0.50 s, h264; DEGRADED: 3 missing, 3 bad: held)") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if rep := readReport(t, out); rep.Status != report.Degraded || rep.Streams[0].Status != report.Degraded {
		t.Errorf("report: run %s, stream %s", rep.Status, rep.Streams[0].Status)
	}
	// Run again: kept (up to date), and still degraded.
	code, stdout, _ = cli(t, "encode", runDir, "-o", out, "-q")
	if code != 3 || !strings.Contains(stdout, "kept "+filepath.Join(out, "a", "img.mp4")+" (up to date; DEGRADED: 3 missing, 3 bad: held)") {
		t.Errorf("re-run: exit %d, stdout:\n%s", code, stdout)
	}

	clean := filepath.Join(root, "run2")
	if err := (synth.Scene{Width: 32, Height: 32, Frames: 10, FPS: 60}).Write(clean, "a", synth.Passes{Img: true}); err != nil {
		t.Fatal(err)
	}
	batchOut := t.TempDir()
	code, _, stderr = cli(t, "batch", root, "-o", batchOut, "-q", "--gallery")
	if code != 3 || !strings.Contains(stderr, "2 runs: 1 ok, 1 degraded, 0 failed, 0 up to date") || !strings.Contains(stderr, "DEGRADED run1/a: ") {
		t.Fatalf("batch: exit %d\n%s", code, stderr)
	}
	br := readBatch(t, filepath.Join(batchOut, report.BatchFile))
	if br.Degraded != 1 || br.OK != 1 || len(br.DegradedRuns) != 1 || br.DegradedRuns[0].Run != "run1/a" {
		t.Errorf("batch summary: %+v", br)
	}
	page, _ := os.ReadFile(filepath.Join(batchOut, "index.html"))
	if !strings.Contains(string(page), `<article class="card degraded"`) {
		t.Error("the gallery has no degraded card")
	}
}

// TestStrictNamesEveryProblem: --strict fails the stream naming the missing
// frames by the files they would have been, and the bad ones; with 200 bad
// frames stderr stays short and points to the report, which lists all.
func TestStrictNamesEveryProblem(t *testing.T) {
	runDir := testkit.SceneRun(t, 30, 32, 32, synth.Passes{Img: true, ID: true})
	a := func(n int) string { return filepath.Join(runDir, "a", fmt.Sprintf("img_%04d.jpg", n)) }
	for _, n := range []int{20, 21, 22} {
		os.Remove(a(n))
	}
	mutate(t, a(5), func(b []byte) []byte { return b[:len(b)/2] })
	mutate(t, a(6), func([]byte) []byte { return nil })
	code, _, stderr := cli(t, "encode", runDir, "-o", t.TempDir(), "--strict", "--passes", "img")
	for _, want := range []string{"missing a/img_0020.jpg .. a/img_0022.jpg", "bad a/img_0005.jpg (", "bad a/img_0006.jpg (file is empty", "a/img: FAILED: 3 frames missing and 2 bad"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--strict: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("--strict: exit %d, want 1", code)
	}

	many := testkit.SceneRun(t, 220, 32, 32, synth.Passes{Img: true, ID: true})
	for n := 10; n < 210; n++ {
		os.WriteFile(filepath.Join(many, "a", fmt.Sprintf("img_%04d.jpg", n)), nil, 0o644)
	}
	out := t.TempDir()
	code, _, stderr = cli(t, "encode", many, "-o", out, "--passes", "img")
	lines := strings.Count(stderr, "\n")
	if code != 3 || lines > 16 || !strings.Contains(stderr, "a/img: ... and 190 more missing or bad frames (see the report)") {
		t.Errorf("200 bad frames: exit %d, %d lines on stderr:\n%s", code, lines, stderr)
	}
	if sr := stream(t, readReport(t, out), "a/img"); len(sr.BadFrames) != 200 {
		t.Errorf("the report lists %d bad frames, want 200", len(sr.BadFrames))
	}
}

// TestOutputsFollowTheirInputs: a changed option or input re-encodes the
// stream (the report then says what is on disk); --passes keeps the other
// streams listed while their videos exist, and drops them when they do not.
func TestOutputsFollowTheirInputs(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	out := t.TempDir()
	img := filepath.Join(out, "a", "img.mp4")
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatalf("first encode: exit %d\n%s", code, stderr)
	}
	size18 := fileSize(t, img)
	code, stdout, _ := cli(t, "encode", runDir, "-o", out, "-q", "--crf", "40")
	if code != 0 || !strings.Contains(stdout, "wrote "+img) || !strings.Contains(stdout, "kept "+filepath.Join(out, "a", "id.mkv")) {
		t.Fatalf("--crf 40: exit %d, stdout:\n%s", code, stdout)
	}
	rep := readReport(t, out)
	if size40 := fileSize(t, img); rep.Options.CRF != 40 || size40 >= size18 || stream(t, rep, "a/img").Kept {
		t.Errorf("after --crf 40: report crf %d, size %d (was %d at CRF 18)", rep.Options.CRF, size40, size18)
	}

	// A frame file changes: its streams are made again.
	mutate(t, filepath.Join(runDir, "a", "id_0004.png"), func([]byte) []byte {
		_, id, _ := (synth.Scene{Width: 32, Height: 32}).Frame(17)
		return synth.EncodePNG(id)
	})
	code, stdout, _ = cli(t, "encode", runDir, "-o", out, "-q", "--crf", "40")
	if code != 0 || !strings.Contains(stdout, "wrote "+filepath.Join(out, "a", "id.mkv")) || !strings.Contains(stdout, "kept "+img) {
		t.Errorf("after a frame changed: exit %d, stdout:\n%s", code, stdout)
	}

	if code, _, _ := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "img"); code != 0 {
		t.Fatalf("--passes img: exit %d", code)
	}
	if sr := stream(t, readReport(t, out), "a/id"); sr.Status != report.OK || !sr.Kept {
		t.Errorf("a/id after --passes img: %s, kept %v", sr.Status, sr.Kept)
	}
	// Each entry says how its own video was made, whatever this run's options.
	code, stdout, _ = cli(t, "encode", runDir, "-o", out, "-q", "--passes", "id", "--crf", "40", "--force")
	rep = readReport(t, out)
	if img := stream(t, rep, "a/img"); code != 0 || strings.Contains(stdout, img.Output) || rep.Options.CRF != 40 || img.Encoder != "libx264 crf=18 preset=medium" {
		t.Errorf("--passes id --crf 40: exit %d, stdout %q, run crf %d, a/img encoder %q", code, stdout, rep.Options.CRF, img.Encoder)
	}
	os.Remove(filepath.Join(out, "a", "id.mkv"))
	cli(t, "encode", runDir, "-o", out, "-q", "--passes", "img")
	for _, sr := range readReport(t, out).Streams {
		if sr.ID == "a/id" {
			t.Error("the report still lists a/id, whose video is gone")
		}
	}
}

// TestFlagsCheckedBeforeWork: wrong values exit 2 before anything is
// written, naming the flag and the valid values.
func TestFlagsCheckedBeforeWork(t *testing.T) {
	runDir := testkit.SceneRun(t, 3, 32, 32, synth.Passes{Img: true, ID: true})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "superfast2"}, `--preset "superfast2": want one of ultrafast, superfast,`},
		{[]string{"--jobs", "-3"}, "--jobs -3: pass 1 or more"},
		{[]string{"--jobs", "0"}, "--jobs 0: pass 1 or more"},
		{[]string{"--max-gap", "-1"}, "--max-gap -1"},
		{[]string{"--fps", "NaN"}, "--fps NaN"},
		{[]string{"--crf", "52"}, "--crf 52 is out of range"},
		{[]string{"--max-pixels", "big"}, `--max-pixels "big": pass WxH`},
	} {
		out := filepath.Join(t.TempDir(), "out")
		code, _, stderr := cli(t, append([]string{"encode", runDir, "-o", out}, tc.args...)...)
		if _, err := os.Stat(out); code != 2 || !strings.Contains(stderr, tc.want) || err == nil {
			t.Errorf("%v: exit %d, stderr %q, output folder made: %v", tc.args, code, stderr, err == nil)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := cli(t, "batch", filepath.Dir(runDir), "-o", out, "--include", "run["); code != 2 || !strings.Contains(stderr, `--include/--exclude "run[" is not a valid glob`) {
		t.Errorf("batch --include 'run[': exit %d, %q", code, stderr)
	}
	// A pass asked for but absent is said, not silently skipped.
	code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "img,albedo")
	if code != 0 || !strings.Contains(stderr, "warning: --passes albedo: "+runDir+" has no albedo frames") {
		t.Errorf("--passes img,albedo: exit %d, %q", code, stderr)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// writeSidecar writes RUN/timing.csv giving frame i the time 10 + i/60 s,
// except those in at.
func writeSidecar(t *testing.T, runDir string, n int, at map[int]float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("event,frame,time\n")
	for i := range n {
		ts, ok := at[i]
		if !ok {
			ts = 10 + float64(i)/60
		}
		fmt.Fprintf(&b, "frame,%d,%.6f\n", i, ts)
	}
	path := filepath.Join(runDir, "timing.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCaptureTimeFarPastTheRun: one capture time a day after the rest (a
// wrong sidecar row, a touched file) cannot stretch the video either: an
// explicit source fails naming it, --timing auto falls back and says so.
func TestCaptureTimeFarPastTheRun(t *testing.T) {
	runDir := testkit.SceneRun(t, 30, 32, 32, synth.Passes{Img: true, ID: true})
	sidecar := writeSidecar(t, runDir, 30, map[int]float64{29: 100000})
	out := t.TempDir()
	code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--timing", "sidecar")
	if code != 1 || !strings.Contains(stderr, sidecar+": frame 29 is captured 99989.53 s after frame 28") || !strings.Contains(stderr, "more than the widest gap allowed (600") || !strings.Contains(stderr, "pass --max-gap 5999371") {
		t.Errorf("--timing sidecar: exit %d, %s", code, stderr)
	}
	code, _, stderr = cli(t, "encode", runDir, "-o", t.TempDir(), "-q", "--vfr")
	if code != 1 {
		t.Errorf("--vfr with an unusable sidecar: exit %d, %s", code, stderr)
	}
	out = t.TempDir()
	code, _, stderr = cli(t, "encode", runDir, "-o", out, "-q")
	if sr := stream(t, readReport(t, out), "a/img"); code != 0 || !strings.Contains(stderr, "--timing auto fell back") || sr.FramesWritten != 30 {
		t.Errorf("--timing auto: exit %d, %d frames, %s", code, sr.FramesWritten, stderr)
	}

	os.Remove(sidecar)
	start := time.Now().Add(-time.Hour)
	for i := range 30 {
		at := start.Add(time.Duration(i) * time.Second / 60)
		if i == 29 {
			at = start.Add(24 * time.Hour)
		}
		for _, f := range []string{fmt.Sprintf("img_%04d.jpg", i), fmt.Sprintf("id_%04d.png", i)} {
			os.Chtimes(filepath.Join(runDir, "a", f), at, at)
		}
	}
	code, _, stderr = cli(t, "encode", runDir, "-o", t.TempDir(), "-q", "--timing", "mtime")
	if code != 1 || !strings.Contains(stderr, "--timing mtime: file modification times: frame 29 is captured 86399.53 s after frame 28") {
		t.Errorf("--timing mtime: exit %d, %s", code, stderr)
	}
	// A recorder left running: --fit audio would spread the 30 frames over
	// a minute, 2 s apart (120 slots, more than this --max-gap 60).
	os.WriteFile(filepath.Join(runDir, "audio.wav"), synth.WAV(60), 0o644)
	code, _, stderr = cli(t, "probe", runDir, "--fit", "audio", "--max-gap", "60")
	if code != 1 || !strings.Contains(stderr, "frames spread over the audio (60.0 s of audio for 30 frames): frame 1 is captured 2.00 s after frame 0") {
		t.Errorf("--fit audio over a minute: exit %d, %s", code, stderr)
	}
}

// TestVFRPlacesSilentStreams: --vfr under --timing auto gives every stream
// its capture times, also those without audio.
func TestVFRPlacesSilentStreams(t *testing.T) {
	runDir := testkit.SceneRun(t, 20, 32, 32, synth.Passes{Img: true, ID: true})
	writeSidecar(t, runDir, 20, map[int]float64{10: 10 + 10.5/60})
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--vfr"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, id := range []string{"a/img", "a/id"} {
		if sr := stream(t, readReport(t, out), id); !sr.VFR || sr.Timing != "sidecar" {
			t.Errorf("%s: vfr %v, timing %q", id, sr.VFR, sr.Timing)
		}
	}
}

// TestRunFailureKeepsTheListing: when a run fails before its streams are
// encoded, the report still lists every video on disk, and says which are
// earlier encodes that no longer match.
func TestRunFailureKeepsTheListing(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	out := t.TempDir()
	if code, _, _ := cli(t, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatal("first encode failed")
	}
	code, _, _ := cli(t, "encode", runDir, "-o", out, "-q", "--crf", "30", "--timing", "sidecar")
	rep := readReport(t, out)
	if code != 1 || rep.Status != report.Failed || len(rep.Streams) != 2 {
		t.Fatalf("exit %d, report %s with %d streams", code, rep.Status, len(rep.Streams))
	}
	for _, sr := range rep.Streams {
		if sr.Status != report.Failed || !sr.StaleOutput || !strings.Contains(sr.Error, "timing.csv") {
			t.Errorf("%s: %s, stale %v, %q", sr.ID, sr.Status, sr.StaleOutput, sr.Error)
		}
	}
	code, _, _ = cli(t, "encode", runDir, "-o", out, "-q", "--passes", "depth")
	if rep := readReport(t, out); code != 1 || len(rep.Streams) != 2 {
		t.Errorf("--passes depth (absent): exit %d, %d streams listed, want 2", code, len(rep.Streams))
	}
}

// TestOneWriterPerOutputFolder: a second tdwstitch writing into the same
// folder at once is refused, naming the holder; nothing is overwritten.
func TestOneWriterPerOutputFolder(t *testing.T) {
	runDir := testkit.SceneRun(t, 5, 32, 32, synth.Passes{Img: true, ID: true})
	out := t.TempDir()
	lock, err := os.OpenFile(filepath.Join(out, output.LockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	lock.WriteString("pid 4242 on elsewhere\n")
	code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q")
	if code != 1 || !strings.Contains(stderr, "another tdwstitch (pid 4242 on elsewhere) is writing "+out) || len(leftovers(t, out)) != 0 {
		t.Errorf("exit %d, %q, leftovers %v", code, stderr, leftovers(t, out))
	}
}

// TestGapsFailCoversSkippedBadFrames: --gaps fail with --on-bad skip fails
// on a bad frame too, whose slot would otherwise be held.
func TestGapsFailCoversSkippedBadFrames(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	mutate(t, filepath.Join(runDir, "a", "img_0004.jpg"), func([]byte) []byte { return nil })
	code, _, stderr := cli(t, "encode", runDir, "-o", t.TempDir(), "-q", "--gaps", "fail", "--passes", "img")
	if code != 1 || !strings.Contains(stderr, "bad a/img_0004.jpg (file is empty") {
		t.Errorf("exit %d, %s", code, stderr)
	}
}

// TestBatchCRFZero: an explicit --crf 0 reaches every run's encode in a
// batch (0 is x264's lossless, not "the default").
func TestBatchCRFZero(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	newDataset(t, root, 1)
	if code, _, stderr := cli(t, "batch", root, "-o", out, "-q", "--crf", "0"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if rep := readReport(t, filepath.Join(out, "scene0", "run_000")); rep.Options.CRF != 0 {
		t.Errorf("report crf %d, want 0", rep.Options.CRF)
	}
}
