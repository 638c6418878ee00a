package pipeline

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
)

// clapperRun writes a clapperboard run and returns it with, for each flash,
// whether its click is inside the recording (and so in the video's audio).
func clapperRun(t *testing.T, c synth.Clapper) (string, synth.ClapperRun, []bool) {
	t.Helper()
	dir := t.TempDir()
	run, err := c.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	inside := make([]bool, len(run.Flashes))
	for i, f := range run.Flashes {
		inside[i] = f >= run.AudioStart && f < run.AudioStart+run.Audio-0.01
	}
	return dir, run, inside
}

// TestSyncClapperboard is the proof that frames and separately recorded audio
// line up: a slow, irregular controller (frames 10-45 ms apart over 60 s),
// flashes in the picture and clicks in the audio at the same instants.
// Every flash must be within one output frame of its click with the
// sidecar, within two with file times.
func TestSyncClapperboard(t *testing.T) {
	for _, tc := range []struct {
		name   string
		clap   synth.Clapper
		fps    float64
		timing string
		vfr    bool
		frames float64 // allowed error in output frames
	}{
		{"sidecar 60fps audio starts later, shorter", synth.Clapper{Seconds: 60, AudioOffset: 0.37, AudioSeconds: 45, Seed: 1}, 60, "", false, 1},
		{"sidecar 60fps audio starts earlier, longer", synth.Clapper{Seconds: 60, AudioOffset: -1.23, AudioSeconds: 70, Seed: 2}, 60, "", false, 1},
		{"sidecar 30fps", synth.Clapper{Seconds: 60, AudioOffset: 0.5, Seed: 3}, 30, "", false, 1},
		{"sidecar with gaps", synth.Clapper{Seconds: 60, AudioOffset: -0.25, Gaps: 5, Seed: 4}, 60, "", false, 1},
		{"file times", synth.Clapper{Seconds: 60, AudioOffset: 0.8, Seed: 5}, 60, place.TimingMtime, false, 2},
		{"sidecar vfr", synth.Clapper{Seconds: 60, AudioOffset: -0.4, Seed: 6}, 60, "", true, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, run, inside := clapperRun(t, tc.clap)
			out := t.TempDir()
			rep, _, err := Encode(context.Background(), dir, out, Options{Tool: testkit.FFmpeg(t), FPS: tc.fps, Timing: tc.timing, VFR: tc.vfr})
			if err != nil && !(errors.Is(err, ErrDegraded) && tc.clap.Gaps > 0) {
				t.Fatalf("Encode: %v", err)
			}
			sr := rep.Streams[0]
			wantSource := "sidecar"
			if tc.timing != "" {
				wantSource = tc.timing
			}
			if string(sr.Timing) != wantSource || sr.Audio == nil || sr.VFR != tc.vfr {
				t.Fatalf("timing %q, audio %+v; want %s with audio", sr.Timing, sr.Audio, wantSource)
			}
			flashes := verify.FlashTimes(t, rep.Path(sr))
			if len(flashes) != len(run.Flashes) {
				t.Fatalf("%d flashes in the video, %d in the run", len(flashes), len(run.Flashes))
			}
			errs := verify.SyncErrors(t, flashes, verify.ClickTimes(t, rep.Path(sr)), inside)
			worst, bound := errs[len(errs)-1], tc.frames/tc.fps
			t.Logf("%s: %d flash/click pairs: median %.1f ms, max %.1f ms (bound %.1f ms); audio offset %.3f s",
				tc.name, len(errs), 1000*verify.Median(errs), 1000*worst, 1000*bound, sr.Audio.Offset)
			if worst > bound {
				t.Errorf("max sync error %.1f ms exceeds %.1f ms", 1000*worst, 1000*bound)
			}
		})
	}
}

// TestSyncOneLinerDrifts measures the same run stitched the way users do it
// by hand, so the proof above is against a real baseline: it must drift by
// seconds over a minute.
func TestSyncOneLinerDrifts(t *testing.T) {
	dir, _, inside := clapperRun(t, synth.Clapper{Seconds: 60, Seed: 1})
	out := filepath.Join(t.TempDir(), "one-liner.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-framerate", "60", "-i", filepath.Join(dir, "a", "img_%04d.jpg"),
		"-i", filepath.Join(dir, "audio.wav"), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("one-liner: %v\n%s", err, b)
	}
	errs := verify.SyncErrors(t, verify.FlashTimes(t, out), verify.ClickTimes(t, out), inside)
	t.Logf("plain one-liner: median %.0f ms, max %.0f ms", 1000*verify.Median(errs), 1000*errs[len(errs)-1])
	if errs[len(errs)-1] < 5 {
		t.Errorf("the one-liner's max error is only %.2f s: the clapperboard run is not slow enough to prove anything", errs[len(errs)-1])
	}
}

// TestFramesDroppedAreCounted: frames captured faster than the output rate
// share a slot; only the last of them is shown and the others are counted.
func TestFramesDroppedAreCounted(t *testing.T) {
	dir := t.TempDir()
	if err := (synth.Scene{Width: 16, Height: 16, Frames: 4, FPS: 60}).Write(dir, "a", synth.Passes{ID: true}); err != nil {
		t.Fatal(err)
	}
	// At 60 fps: frame 0 in slot 0, 1 in slot 1, 2 and 3 both in slot 2.
	os.WriteFile(filepath.Join(dir, "timing.csv"), []byte("event,frame,time\nframe,0,10.000\nframe,1,10.005\nframe,2,10.020\nframe,3,10.021\n"), 0o644)
	rep, _, err := Encode(context.Background(), dir, t.TempDir(), Options{Tool: testkit.FFmpeg(t), FPS: 60, Timing: place.TimingSidecar, NoAudio: true})
	if err != nil {
		t.Fatal(err)
	}
	if sr := rep.Streams[0]; sr.FramesRead != 4 || sr.FramesDropped != 1 || sr.FramesWritten != 3 {
		t.Fatalf("read %d, dropped %d, written %d; want 4, 1, 3", sr.FramesRead, sr.FramesDropped, sr.FramesWritten)
	}
}
