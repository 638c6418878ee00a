package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
)

func TestCommandLineErrorsExit2(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"frobnicate"}, "unknown command"},
		{"no run dir", []string{"encode", "-o", t.TempDir()}, "takes one RUN_DIR"},
		{"missing run dir", []string{"encode", filepath.Join(runDir, "nope"), "-o", t.TempDir()}, "no such file"},
		{"run dir is a file", []string{"encode", filepath.Join(runDir, "a", "img_0000.jpg"), "-o", t.TempDir()}, "is not a folder"},
		{"no output", []string{"encode", runDir}, "-o OUT_DIR"},
		{"unknown flag", []string{"encode", runDir, "-o", t.TempDir(), "--frobnicate"}, "unknown flag"},
		{"bad gaps", []string{"encode", runDir, "-o", t.TempDir(), "--gaps", "maybe"}, "hold, drop, fail"},
		{"bad pass", []string{"encode", runDir, "-o", t.TempDir(), "--passes", "img,rgb"}, `"rgb" is not a TDW pass`},
		{"bad fps", []string{"encode", runDir, "-o", t.TempDir(), "--fps", "0"}, "--fps"},
		{"missing audio", []string{"encode", runDir, "-o", t.TempDir(), "--audio", "/no/such.wav"}, "--audio /no/such.wav"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestFFmpegMissing(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	code, _, stderr := cli(t, "encode", runDir, "-o", t.TempDir(), "--ffmpeg", "/opt/none/ffmpeg")
	if code != 1 || !strings.Contains(stderr, "/opt/none/ffmpeg") || !strings.Contains(stderr, "apt-get install ffmpeg") {
		t.Fatalf("--ffmpeg to nothing: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("PATH", t.TempDir()) // an empty PATH: no ffmpeg anywhere
	out := t.TempDir()
	code, _, stderr = cli(t, "encode", runDir, "-o", out)
	if code != 1 || !strings.Contains(stderr, "ffmpeg not found") || !strings.Contains(stderr, "--ffmpeg") {
		t.Fatalf("no ffmpeg on PATH: exit %d, stderr %q", code, stderr)
	}
	if left := leftovers(t, out); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}

func TestOutputFolderNotWritable(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	// A regular file where a folder should be: unwritable even for root.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, []byte("x"), 0o644)
	code, _, stderr := cli(t, "encode", runDir, "-o", filepath.Join(blocker, "out"), "-q")
	if code != 1 || !strings.Contains(stderr, "cannot create the output folder") || !strings.Contains(stderr, "writable folder") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestNoReadableFrame(t *testing.T) {
	runDir := t.TempDir()
	os.MkdirAll(filepath.Join(runDir, "a"), 0o755)
	for _, n := range []string{"img_0000.jpg", "img_0001.jpg"} {
		os.WriteFile(filepath.Join(runDir, "a", n), []byte("oops"), 0o644)
	}
	out := t.TempDir()
	code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q")
	if code != 1 || !strings.Contains(stderr, "no readable frame: all 2 frames are bad") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if left := leftovers(t, out); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}

func TestNoFramesAtAll(t *testing.T) {
	runDir := t.TempDir()
	os.WriteFile(filepath.Join(runDir, "notes.png"), []byte("x"), 0o644)
	code, _, stderr := cli(t, "encode", runDir, "-o", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "no TDW frames found") || !strings.Contains(stderr, "notes.png") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestAwkwardNames: names that would confuse ffmpeg or a shell reach it
// only as bytes on stdin, and the outputs mirror them.
func TestAwkwardNames(t *testing.T) {
	root := t.TempDir()
	runDir := filepath.Join(root, "-run %d ünï")
	s := synth.Scene{Width: 16, Height: 16, Frames: 5, FPS: 60}
	if err := s.Write(runDir, "-cam 50% ü", synth.Passes{Img: true}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(runDir, "rec %03d -y.wav"), synth.WAV(0.2), 0o644)
	out := filepath.Join(root, "-out %s")
	code, stdout, stderr := cli(t, "encode", "-o", out, "--", runDir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	video := filepath.Join(out, "-cam 50% ü", "img.mp4")
	if !strings.Contains(stdout, video) {
		t.Fatalf("stdout does not name %s:\n%s", video, stdout)
	}
	m := verify.Probe(t, video)
	if v, _ := m.Video(); v.Packets != 5 {
		t.Fatalf("%s has %d frames, want 5", video, v.Packets)
	}
	if _, ok := m.Audio(); !ok {
		t.Fatal("the oddly named audio file was not muxed")
	}
}

func TestOddDimensions(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 33, 17, synth.Passes{Img: true, ID: true})
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	rep := readReport(t, out)
	img, id := stream(t, rep, "a/img"), stream(t, rep, "a/id")
	if img.Width != 34 || img.Height != 18 {
		t.Errorf("img is %dx%d, want padded to 34x18", img.Width, img.Height)
	}
	if id.Width != 33 || id.Height != 17 {
		t.Errorf("id is %dx%d, want 33x17 unpadded", id.Width, id.Height)
	}
	got := verify.FrameMD5(t, rep.Path(id), "rgb24", false)
	want := verify.FrameMD5(t, filepath.Join(runDir, "a", "id_%04d.png"), "rgb24", true)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Error("odd-sized id pass is not bit-exact")
	}
}

// TestForceReplaces: an up-to-date output is kept; one that is not what
// the report describes (changed since) is made again; --force redoes all.
func TestForceReplaces(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	out := t.TempDir()
	if code, _, _ := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "id"); code != 0 {
		t.Fatal("first encode failed")
	}
	video, reportFile := filepath.Join(out, "a", "id.mkv"), filepath.Join(out, report.RunFile)
	made, reported := modTime(t, video), modTime(t, reportFile)
	code, stdout, _ := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "id")
	if code != 0 || !modTime(t, video).Equal(made) || !strings.Contains(stdout, "kept "+video) {
		t.Fatalf("up to date: exit %d, stdout %q, file replaced: %v", code, stdout, !modTime(t, video).Equal(made))
	}
	if !modTime(t, reportFile).Equal(reported) || readReport(t, out).Status != report.OK {
		t.Error("the reportFile of an up-to-date run was rewritten")
	}
	os.WriteFile(video, []byte("precious"), 0o644)
	code, stdout, _ = cli(t, "encode", runDir, "-o", out, "-q", "--passes", "id")
	if b, _ := os.ReadFile(video); code != 0 || string(b) == "precious" || !strings.Contains(stdout, "wrote "+video) {
		t.Fatalf("a changed output was kept (exit %d, stdout %q)", code, stdout)
	}
	made = modTime(t, video)
	code, _, _ = cli(t, "encode", runDir, "-o", out, "-q", "--passes", "id", "--force")
	if code != 0 || modTime(t, video).Equal(made) {
		t.Fatalf("--force did not replace the output (exit %d)", code)
	}
}

func TestProbe(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	os.Remove(filepath.Join(runDir, "a", "img_0004.jpg"))
	os.WriteFile(filepath.Join(runDir, "a", "id_0002.png"), nil, 0o644)
	code, stdout, stderr := cli(t, "probe", runDir)
	if code != 3 { // encode would write both, degraded
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"a/img", "a/id", "gap in a/img: frame 4 missing", "bad frame a/id_0002.png: file is empty", "a/id.mkv", "ffv1", "0.17 s    degraded"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("probe output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = cli(t, "probe", runDir, "--json")
	var rep report.Run
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 3 {
		t.Fatalf("probe --json: exit %d, %v", code, err)
	}
	if len(rep.Streams) != 2 || rep.Streams[0].MissingFrames != 1 || len(rep.Streams[1].BadFrames) != 1 || rep.Streams[0].FramesWritten != 10 {
		t.Fatalf("probe --json: %+v", rep.Streams)
	}
}

// TestAudioLengthFollowsVideo: a short recording is padded with silence and
// a long one trimmed, so the audio track always spans the video; one far
// from the frames' length (2 s against 0.17 s) is warned of, with --fps
// as the likely cause, in the report and on stderr.
func TestAudioLengthFollowsVideo(t *testing.T) {
	for _, seconds := range []float64{0.05, 2.0} { // the video is 10 frames at 60 fps: 0.167 s
		t.Run(strconv.FormatFloat(seconds, 'f', -1, 64), func(t *testing.T) {
			runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
			wav := filepath.Join(t.TempDir(), "recording.wav") // beside the run, passed explicitly
			os.WriteFile(wav, synth.WAV(seconds), 0o644)
			out := t.TempDir()
			code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "img", "--audio", wav)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			rep := readReport(t, out)
			warned := len(rep.Warnings) == 1 && strings.Contains(rep.Warnings[0], "10 frames at 60 fps last 0.17 s but the audio recording.wav lasts 2.00 s: the audio is cut") &&
				strings.Contains(stderr, "--fps")
			if warned != (seconds == 2.0) {
				t.Errorf("warnings %q, stderr %q; want one about --fps only for the 2 s recording", rep.Warnings, stderr)
			}
			sr := stream(t, rep, "a/img")
			a, ok := verify.Probe(t, rep.Path(sr)).Audio()
			if !ok || math.Abs(a.Duration-10.0/60) > 0.03 {
				t.Fatalf("audio track %.3f s (present %v), want the video's 0.167 s", a.Duration, ok)
			}
			if sr.Audio == nil || sr.Audio.SourceDuration != seconds || sr.Audio.Duration != min(seconds, 10.0/60) {
				t.Fatalf("report audio = %+v", sr.Audio)
			}
		})
	}
	// --gaps drop: the video is as long as its good frames (known only at
	// the end), and so is its audio, in the file and in the report.
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	for _, n := range []string{"3", "4", "5"} {
		os.WriteFile(filepath.Join(runDir, "a", "img_000"+n+".jpg"), []byte("broken"), 0o644)
	}
	wav := filepath.Join(runDir, "recording.wav")
	os.WriteFile(wav, synth.WAV(2), 0o644)
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "img", "--gaps", "drop"); code != 3 {
		t.Fatalf("--gaps drop: exit %d: %s", code, stderr)
	}
	sr := stream(t, readReport(t, out), "a/img")
	a, ok := verify.Probe(t, filepath.Join(out, "a", "img.mp4")).Audio()
	if sr.FramesWritten != 7 || !ok || math.Abs(a.Duration-7.0/60) > 0.03 || sr.Audio == nil || math.Abs(sr.Audio.Duration-7.0/60) > 1e-9 {
		t.Fatalf("--gaps drop: %d frames, audio track %.3f s, report audio %+v; want 7 frames and 0.117 s", sr.FramesWritten, a.Duration, sr.Audio)
	}
}

func TestUnreadableAudio(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	os.WriteFile(filepath.Join(runDir, "audio.wav"), []byte("RIFF but not really"), 0o644)
	out := t.TempDir()
	code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--passes", "img")
	if code != 0 || !strings.Contains(stderr, "audio.wav cannot be read") || !strings.Contains(stderr, "--no-audio") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	rep := readReport(t, out)
	if len(rep.Warnings) != 1 || stream(t, rep, "a/img").Audio != nil {
		t.Fatalf("warnings %q, stream audio %+v", rep.Warnings, stream(t, rep, "a/img").Audio)
	}
	if _, ok := verify.Probe(t, rep.Path(stream(t, rep, "a/img"))).Audio(); ok {
		t.Fatal("video has an audio track from an unreadable file")
	}
	code, _, stderr = cli(t, "encode", runDir, "-o", t.TempDir(), "-q", "--strict")
	if code != 1 || !strings.Contains(stderr, "audio.wav cannot be read") {
		t.Fatalf("--strict: exit %d, stderr %q", code, stderr)
	}
}

func TestQuietAndPlainProgress(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 16, 16, synth.Passes{Img: true, ID: true})
	code, stdout, stderr := cli(t, "encode", runDir, "-o", t.TempDir(), "--passes", "id")
	if code != 0 || !strings.Contains(stderr, "encoding 1 stream, 10 frames") || !strings.Contains(stderr, "a/id: started, 10 frames") || !strings.Contains(stderr, "a/id: done (ok), 1 of 1 streams") {
		t.Fatalf("plain progress: exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "\r") || strings.Contains(stderr, "id.mkv") || strings.Count(stdout, "id.mkv") != 1 {
		t.Fatalf("plain progress: want no bar and the output named once, on stdout:\nstderr %q\nstdout %q", stderr, stdout)
	}
	for _, quiet := range [][]string{{"-q"}, {"--progress", "none"}} {
		code, stdout, stderr = cli(t, append([]string{"encode", runDir, "-o", t.TempDir(), "--passes", "id"}, quiet...)...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "report: ") {
			t.Fatalf("%v: exit %d, stderr %q, stdout %q", quiet, code, stderr, stdout)
		}
	}
	// --progress bar draws one where auto would not (stderr is no terminal here).
	code, _, stderr = cli(t, "encode", runDir, "-o", t.TempDir(), "--passes", "id", "--progress", "bar")
	if code != 0 || !strings.Contains(stderr, "\r") || !strings.Contains(stderr, "streams 0/1: a/id") {
		t.Fatalf("--progress bar: exit %d, stderr %q", code, stderr)
	}
}

// TestMosaicFlag: --mosaic adds OUT/mosaic.mp4 to a run encoded before
// without it (its streams kept), keeps it while up to date, and its flags
// are checked before any work.
func TestMosaicFlag(t *testing.T) {
	runDir := testkit.SceneRun(t, 6, 32, 32, synth.Passes{Img: true, ID: true, Depth: true})
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "encode", runDir, "-o", out, "-q", "--mosaic")
	if code != 0 || !strings.Contains(stdout, "kept "+filepath.Join(out, "a", "img.mp4")) || !strings.Contains(stdout, "wrote "+filepath.Join(out, "mosaic.mp4")) {
		t.Fatalf("--mosaic after a plain encode: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, "encode", runDir, "-o", out, "-q", "--mosaic")
	if code != 0 || strings.Contains(stdout, "wrote") {
		t.Errorf("--mosaic again: exit %d, something was written again:\n%s", code, stdout)
	}
	for _, bad := range [][]string{{"--depth-planes", "5,1"}, {"--depth-planes", "0,0"}, {"--depth-range", "3"}, {"--depth-range", "1,inf"}, {"--mosaic-width", "10"}, {"--preview", "png"}} {
		if code, _, stderr := cli(t, append([]string{"encode", runDir, "-o", t.TempDir(), "--mosaic"}, bad...)...); code != 2 || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d: %s", bad, code, stderr)
		}
	}
}
