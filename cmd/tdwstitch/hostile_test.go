package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
)

// cliWithin runs a command line in-process and fails the test, instead of
// stalling it, when the command has not finished within d.
func cliWithin(t *testing.T, d time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := cli(t, args...)
		done <- result{code, stdout, stderr}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(d):
		t.Fatalf("%v did not finish within %v (hung?)", args, d)
		return 0, "", ""
	}
}

// TestFIFONamedLikeAFrame: only regular files are frames. A FIFO named
// img_0003.jpg is a bad frame, named, held over like any other; probe,
// encode and batch never block on it.
func TestFIFONamedLikeAFrame(t *testing.T) {
	root := t.TempDir()
	runDir := filepath.Join(root, "run1")
	if err := (synth.Scene{Width: 32, Height: 32, Frames: 10, FPS: 60}).Write(runDir, "a", synth.Passes{Img: true, ID: true}); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(runDir, "a", "img_0003.jpg")
	if err := syscall.Unlink(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "bad frame a/img_0003.jpg: cannot read: not a regular file (a FIFO): only regular files are frames; remove it"
	if code, stdout, _ := cliWithin(t, time.Minute, "probe", runDir); code != 3 || !strings.Contains(stdout, want) {
		t.Errorf("probe: exit %d\n%s", code, stdout)
	}
	out := t.TempDir()
	code, stdout, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", out)
	if code != 3 || !strings.Contains(stderr, "a/img: "+want) || !strings.Contains(stdout, "DEGRADED: 1 bad: held") {
		t.Errorf("encode: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, _, stderr := cliWithin(t, time.Minute, "batch", root, "-o", t.TempDir(), "-q"); code != 3 || !strings.Contains(stderr, "1 degraded") {
		t.Errorf("batch: exit %d\n%s", code, stderr)
	}
}

// TestSidecarFIFO: a FIFO named timing.csv is not a sidecar. Opening it
// must not wait for a writer: probe, encode and batch go on without it,
// saying why, and --timing sidecar, which asked for it, fails at once.
func TestSidecarFIFO(t *testing.T) {
	root := t.TempDir()
	runDir := filepath.Join(root, "run1")
	if err := (synth.Scene{Width: 32, Height: 32, Frames: 5, FPS: 60}).Write(runDir, "a", synth.Passes{Img: true, ID: true}); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(runDir, "timing.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	want := fifo + ": not a regular file"
	if code, stdout, stderr := cliWithin(t, time.Minute, "probe", runDir); code != 0 || !strings.Contains(stdout+stderr, want) {
		t.Errorf("probe: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", t.TempDir(), "-q"); code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("encode: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cliWithin(t, time.Minute, "batch", root, "-o", t.TempDir(), "-q"); code != 0 || !strings.Contains(stderr, "WARNING run1: timing: "+want+" (a FIFO)") {
		t.Errorf("batch: exit %d\n%s", code, stderr)
	}
	out := t.TempDir()
	if code, _, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", out, "-q", "--timing", "sidecar"); code != 1 || !strings.Contains(stderr, "--timing sidecar: "+want) {
		t.Errorf("--timing sidecar: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "a", "img.mp4")); err == nil {
		t.Error("--timing sidecar could not be honoured, yet a video was written")
	}
}

// TestAudioFIFO: an audio file that is a FIFO is not probed (ffprobe would
// wait for a writer for ever). Found in the run, it is left out, saying
// why; named by --audio, the request cannot be honoured and the run fails,
// at once.
func TestAudioFIFO(t *testing.T) {
	runDir := testkit.SceneRun(t, 5, 32, 32, synth.Passes{Img: true, ID: true})
	fifo := filepath.Join(runDir, "audio.wav")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", t.TempDir(), "-q")
	if code != 0 || !strings.Contains(stderr, "audio "+fifo+" cannot be read (not a regular file (a FIFO))") {
		t.Errorf("found in the run: exit %d: %s", code, stderr)
	}
	out := t.TempDir()
	code, _, stderr = cliWithin(t, time.Minute, "encode", runDir, "-o", out, "-q", "--audio", fifo)
	if code != 1 || !strings.Contains(stderr, "audio "+fifo+" cannot be read (not a regular file (a FIFO))") {
		t.Errorf("named by --audio: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "a", "img.mp4")); err == nil {
		t.Error("a video without the audio asked for was written")
	}
}

// TestUndecodableJPEG: an arithmetic-coded JPEG passes every other header
// check, then fails in ffmpeg's decoder: it is a bad frame, named and held
// over, and the stream is written whole.
func TestUndecodableJPEG(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	mutate(t, filepath.Join(runDir, "a", "img_0004.jpg"), func(b []byte) []byte {
		b[bytes.Index(b, []byte{0xFF, 0xC0})+1] = 0xC9 // SOF9: arithmetic coding
		return b
	})
	out := t.TempDir()
	code, _, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", out, "-q")
	if code != 3 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	sr := stream(t, readReport(t, out), "a/img")
	if len(sr.BadFrames) != 1 || sr.BadFrames[0].Path != "a/img_0004.jpg" || !strings.Contains(sr.BadFrames[0].Reason, "arithmetic coding") {
		t.Fatalf("a/img bad frames: %+v", sr.BadFrames)
	}
	if n := verify.Probe(t, filepath.Join(out, "a", "img.mp4")).Streams[0].Packets; n != 10 {
		t.Fatalf("img.mp4 holds %d frames, want 10 (the bad one held over)", n)
	}
}

// TestBytesAfterTheImage: bytes after a PNG's IEND or a JPEG's end marker
// are not the image: they are not sent to ffmpeg, and the frame is good
// (one stray byte used to fail the whole lossless stream).
func TestBytesAfterTheImage(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	mutate(t, filepath.Join(runDir, "a", "id_0003.png"), func(b []byte) []byte { return append(b, '\n') })
	mutate(t, filepath.Join(runDir, "a", "img_0004.jpg"), func(b []byte) []byte { return append(b, "trailer"...) })
	out := t.TempDir()
	if code, _, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep := readReport(t, out)
	id := stream(t, rep, "a/id")
	got := verify.FrameMD5(t, rep.Path(id), "rgb24", false)
	if id.FramesWritten != 10 || len(got) != 10 || got[3] != verify.ImageMD5(t, filepath.Join(runDir, "a", "id_0003.png"), "rgb24") {
		t.Errorf("a/id: %d frames; frame 3 bit-exact: %v", id.FramesWritten, len(got) == 10 && got[3] == verify.ImageMD5(t, filepath.Join(runDir, "a", "id_0003.png"), "rgb24"))
	}
	if img := stream(t, rep, "a/img"); img.FramesWritten != 10 || img.Status != report.OK {
		t.Errorf("a/img: %s, %d frames", img.Status, img.FramesWritten)
	}
}

// TestOddFirstFrame: the stream's size is what most of its frames agree
// on, not the first frame's: a 2x2 img_0000.jpg before 29 good 32x32
// frames is the bad frame (held by frame 1), and the video is 32x32.
func TestOddFirstFrame(t *testing.T) {
	runDir := testkit.SceneRun(t, 30, 32, 32, synth.Passes{Img: true, ID: true})
	tiny := synth.Scene{Width: 2, Height: 2}
	img, _, _ := tiny.Frame(0)
	mutate(t, filepath.Join(runDir, "a", "img_0000.jpg"), func([]byte) []byte { return tiny.EncodeJPEG(img) })
	out := t.TempDir()
	code, stdout, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", out, "-q", "--passes", "img")
	if code != 3 || !strings.Contains(stdout, "(30 frames, 0.50 s, h264; DEGRADED: 1 bad: held)") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	sr := stream(t, readReport(t, out), "a/img")
	v, _ := verify.Probe(t, filepath.Join(out, "a", "img.mp4")).Video()
	if sr.Width != 32 || v.Width != 32 || v.Height != 32 || len(sr.BadFrames) != 1 || sr.BadFrames[0].Path != "a/img_0000.jpg" ||
		!strings.Contains(sr.BadFrames[0].Reason, "size 2x2 differs from the stream's 32x32") {
		t.Errorf("report %dx%d, video %dx%d, bad %+v", sr.Width, sr.Height, v.Width, v.Height, sr.BadFrames)
	}
}

// TestMaxPixels: frames larger than --max-pixels are bad, named with the
// flag; here every frame is, so the stream fails.
func TestMaxPixels(t *testing.T) {
	runDir := testkit.SceneRun(t, 5, 32, 32, synth.Passes{Img: true, ID: true})
	code, _, stderr := cliWithin(t, time.Minute, "encode", runDir, "-o", t.TempDir(), "-q", "--passes", "img", "--max-pixels", "16x16")
	if code != 1 || !strings.Contains(stderr, "frame is 32x32, more pixels than the limit (256) allows") || !strings.Contains(stderr, "(--max-pixels 256; raise it if the frame is real)") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// peakKiB is the peak resident memory of a running process (VmHWM: its
// own since exec; see runForPeak for why rusage is not).
func peakKiB(t *testing.T, pid int) int {
	t.Helper()
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM for process %d", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb
}

// TestImageBombsStayCheap: the bombs, run through the binary with
// --deep-check. A valid 8000x8000 RGB PNG of a few hundred KB (within
// --max-pixels; 256 MiB decoded) as the first id frame disagrees with the
// stream's 32x32 in its header; a 16000x16000 PNG is past --max-pixels; six
// JPEG headers claim 30000x30000. All are bad frames refused before any
// decoding, the streams are written at 32x32, and no process of the job
// (tdwstitch, its ffmpegs) peaks above 100 MiB (58 MiB without bombs; any
// decode of the 8000x8000 frame, in the shape vote or before the size
// check, costs 256 MiB more).
func TestImageBombsStayCheap(t *testing.T) {
	runDir := testkit.SceneRun(t, 20, 32, 32, synth.Passes{Img: true, ID: true})
	a := filepath.Join(runDir, "a")
	mutate(t, filepath.Join(a, "id_0000.png"), func([]byte) []byte { return blackPNGOf(t, "rgb24", 8000, 8000) })
	mutate(t, filepath.Join(a, "id_0001.png"), func([]byte) []byte { return blackPNGOf(t, "gray", 16000, 16000) })
	for i := 2; i < 8; i++ {
		mutate(t, filepath.Join(a, fmt.Sprintf("img_%04d.jpg", i)), func(b []byte) []byte {
			sof := bytes.Index(b, []byte{0xFF, 0xC0})
			binary.BigEndian.PutUint16(b[sof+5:], 30000) // height
			binary.BigEndian.PutUint16(b[sof+7:], 30000) // width
			return b
		})
	}
	out := t.TempDir()
	cmd := exec.Command(builtBinary(t), "encode", runDir, "-o", out, "-q", "--deep-check")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err, peak := withPeak(t, cmd, 2*time.Minute)
	if code := processExit(err); code != 3 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	rep := readReport(t, out)
	reasons := map[string]string{}
	for _, name := range []string{"a/id", "a/img"} {
		sr := stream(t, rep, name)
		if sr.Width != 32 || sr.Height != 32 || sr.FramesWritten != 20 {
			t.Errorf("%s: %dx%d, %d frames written", name, sr.Width, sr.Height, sr.FramesWritten)
		}
		for _, bad := range sr.BadFrames {
			reasons[bad.Path] = bad.Reason
		}
	}
	want := map[string]string{
		"a/id_0000.png": "size 8000x8000 differs from the stream's 32x32",
		"a/id_0001.png": "frame is 16000x16000, more pixels than the limit (67108864) allows",
	}
	for i := 2; i < 8; i++ {
		want[fmt.Sprintf("a/img_%04d.jpg", i)] = "frame is 30000x30000, more pixels than the limit (67108864) allows"
	}
	for path, reason := range want {
		if !strings.Contains(reasons[path], reason) {
			t.Errorf("%s: %q, want %q", path, reasons[path], reason)
		}
	}
	if len(reasons) != len(want) {
		t.Errorf("bad frames %v, want only the eight bombs", reasons)
	}
	if peak > 100<<10 {
		t.Fatalf("encode peaked at %d MiB on 20 32x32 frames and eight bombs", peak>>10)
	}
	t.Logf("encode with eight bombs peaked at %d MiB", peak>>10)
}

// blackPNGOf is a valid, fully decodable w x h PNG of pixFmt, all black, about
// 1/1000 of its pixels in size (made by ffmpeg: zlib in Go takes a minute
// under the race detector).
func blackPNGOf(t *testing.T, pixFmt string, w, h int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "black.png")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("color=black:s=%dx%d", w, h),
		"-frames:v", "1", "-pix_fmt", pixFmt, path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
