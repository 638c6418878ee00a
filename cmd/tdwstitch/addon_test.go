//go:build full

package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/live"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/stages/source"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// addonWorkdir writes what `tdwstitch addon` prints as tdwstitch_capture.py
// into a fresh folder, with one 16x16 frame as frame.jpg (img) and frame.png (id).
func addonWorkdir(t *testing.T) string {
	t.Helper()
	code, src, _ := cli(t, "addon")
	if code != 0 || !strings.Contains(src, "class TdwstitchCapture(AddOn)") {
		t.Fatalf("tdwstitch addon: exit %d", code)
	}
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "tdwstitch_capture.py"), []byte(src), 0o644)
	scene := synth.Scene{Width: 16, Height: 16}
	img, id, _ := scene.Frame(0)
	os.WriteFile(filepath.Join(work, "frame.jpg"), scene.EncodeJPEG(img), 0o644)
	os.WriteFile(filepath.Join(work, "frame.png"), synth.EncodePNG(id), 0o644)
	return work
}

// pythonIn runs python3 on script with module path dirs (both made
// absolute, so the command may run in any folder), writing no bytecode into
// the repository.
func pythonIn(t *testing.T, dirs []string, script string, args ...string) *exec.Cmd {
	t.Helper()
	for i, d := range dirs {
		dirs[i], _ = filepath.Abs(d)
	}
	script, _ = filepath.Abs(script)
	cmd := exec.Command(testkit.Python(t), append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+strings.Join(dirs, string(os.PathListSeparator)), "PYTHONDONTWRITEBYTECODE=1")
	return cmd
}

// TestAddonWritesWhatEncodeReads runs the add-on printed by `tdwstitch addon`
// under python3 with a stand-in TDW package and fake resp lists, then checks
// its frames and timing.csv, and encodes the result with the sidecar.
func TestAddonWritesWhatEncodeReads(t *testing.T) {
	work := addonWorkdir(t)

	run := filepath.Join(work, "run")
	cmd := pythonIn(t, []string{work, "testdata/pystub"}, "testdata/addon_driver.py", run, filepath.Join(work, "frame.jpg"), filepath.Join(work, "frame.png"), "40")
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok 40") {
		t.Fatalf("python add-on: %v\n%s", err, out)
	}

	clock, err := timing.ReadSidecar(filepath.Join(run, "timing.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(clock.Frames) != 40 || !clock.HasAudio || clock.AudioStart != 100.05 || math.Abs(clock.Frames[0]-100.06) > 1e-9 || math.Abs(clock.Frames[1]-100.105) > 1e-9 {
		t.Fatalf("sidecar: %d frames, audio %v at %v, frame 0 at %v, 1 at %v", len(clock.Frames), clock.HasAudio, clock.AudioStart, clock.Frames[0], clock.Frames[1])
	}
	for _, f := range []string{"a/img_0000.jpg", "a/id_0039.png"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("add-on did not save %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "b")); err == nil {
		t.Error("add-on saved an avatar it was not asked to capture")
	}

	os.WriteFile(filepath.Join(run, "audio.wav"), synth.WAV(1.5), 0o644)
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", run, "-o", out, "-q"); code != 0 {
		t.Fatalf("encode: exit %d, %s", code, stderr)
	}
	rep := readReport(t, out)
	sr := stream(t, rep, "a/img")
	if sr.Timing != "sidecar" || sr.Audio == nil || math.Abs(sr.Audio.Offset-(100.05-100.06)) > 1e-6 {
		t.Fatalf("encode used timing %q, audio %+v", sr.Timing, sr.Audio)
	}
	if want := (report.LegendEntry{ID: 11, Color: "#e74c3c", Name: "ball", Category: "sphere"}); len(rep.Legend) != 1 || rep.Legend[0] != want {
		t.Fatalf("legend from the add-on's segmentation colours: %+v, want %+v", rep.Legend, want)
	}
}

// TestAddonStreamsToServe: the add-on in streaming mode (pyzmq, no files)
// pushes frames to a running serve, which encodes the run when the add-on
// closes; close() returns only when serve acknowledges the whole run.
func TestAddonStreamsToServe(t *testing.T) {
	work := addonWorkdir(t)

	tl := testkit.FFmpeg(t)
	addr := "ipc://" + filepath.Join(work, "serve.sock")
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan event.Event, 4)
	so := live.Options{Options: pipeline.Options{Tool: tl, OnEvent: func(e event.Event) {
		if e.Kind == event.RunDone {
			done <- e
		}
	}}, Source: source.Options{Listen: addr, MaxPart: 16 << 20, HWM: 64}, Idle: time.Minute,
		Ack: "ipc://" + filepath.Join(work, "ack.sock")}
	served := make(chan error, 1)
	go func() { served <- live.Serve(ctx, out, so) }()

	cmd := pythonIn(t, []string{work, "testdata/pystub", "../../fixtures"}, "testdata/addon_stream_driver.py", addr, filepath.Join(work, "frame.jpg"), filepath.Join(work, "frame.png"), "12", so.Ack)
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "streamed 12 acknowledged {'run': 'streamed', 'folder': 'streamed', 'frames': 12, 'ended': 'end'}") {
		t.Fatalf("streaming add-on: %v\n%s", err, b)
	}
	select {
	case e := <-done:
		if e.Run != "streamed" || e.Status != report.OK {
			t.Fatalf("run %s: %s %v", e.Run, e.Status, e.Err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the streamed run was not encoded within a minute")
	}
	cancel()
	<-served
	rep := readReport(t, filepath.Join(out, "streamed"))
	if len(rep.Streams) != 2 || rep.Streams[0].FramesWritten != 12 || rep.Streams[0].FPS != 30 {
		t.Fatalf("report: %d streams, %+v", len(rep.Streams), rep.Streams)
	}
	if want := (report.LegendEntry{ID: 5, Color: "#090807", Name: "chair", Category: "furniture"}); len(rep.Legend) != 1 || rep.Legend[0] != want {
		t.Fatalf("legend sent by the streaming add-on: %+v, want %+v", rep.Legend, want)
	}
}
