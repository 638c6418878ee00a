package video

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/container"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// imgJob is the img stream of a 12-frame run whose frame 4 is missing.
func imgJob(t *testing.T) (Job, Settings) {
	t.Helper()
	dir := testkit.SceneRun(t, 12, 32, 32, synth.Passes{Img: true})
	if err := os.Remove(filepath.Join(dir, "a", "img_0004.jpg")); err != nil {
		t.Fatal(err)
	}
	run, err := discover.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s *discover.Stream
	for _, c := range run.Streams {
		if c.Pass == tdw.Img {
			s = c
		}
	}
	checks := frames.Checks{Readers: 2, MaxPixels: 1 << 20, MaxGap: 600}
	settings := Settings{Tool: testkit.FFmpeg(t), FPS: 30, CRF: 18, Preset: "ultrafast", Checks: checks,
		Place: place.Config{FPS: 30, Timing: place.TimingNone, MaxGap: 600}, OnEvent: func(event.Event) {}}
	return Job{Bounded: frames.Bound(context.Background(), s, checks), OutDir: t.TempDir()}, settings
}

// TestEncodeHoldsOverAMissingFrame: the video has a frame per slot (frame
// 3 shows twice), the report says degraded with the gap, and the file on
// disk holds what the report says.
func TestEncodeHoldsOverAMissingFrame(t *testing.T) {
	job, settings := imgJob(t)
	sr, err := Encode(context.Background(), job, settings)
	if err != nil || sr.Status != report.Degraded || sr.MissingFrames != 1 || sr.FramesWritten != 12 || !sr.Verified {
		t.Fatalf("Encode: %v; %s, missing %d, written %d, verified %v", err, sr.Status, sr.MissingFrames, sr.FramesWritten, sr.Verified)
	}
	info, err := container.Inspect(filepath.Join(job.OutDir, "a", "img.mp4"))
	if err != nil || info.Frames != 12 {
		t.Fatalf("a/img.mp4: %d frames, %v", info.Frames, err)
	}
}

// TestEncodeAChunk: a chunk of a live run covers its slots only, up to
// where the next chunk starts.
func TestEncodeAChunk(t *testing.T) {
	job, settings := imgJob(t)
	job.Part = place.Part{Chunk: true, From: 0, Next: 5, First: 0, InRun: true}
	job.Stream.Frames = job.Stream.Frames[:4] // frames 0-3; 4 is missing
	sr, err := Encode(context.Background(), job, settings)
	if err != nil || sr.FramesWritten != 5 {
		t.Fatalf("chunk: %v; written %d, want 5 (slots 0-4)", err, sr.FramesWritten)
	}
}

// TestStrictErrorCounts: the --strict failure counts its frames in words
// that read right for one and for several.
func TestStrictErrorCounts(t *testing.T) {
	for _, tc := range []struct {
		missing int64
		bad     int
		want    string
	}{
		{1, 0, "1 frame missing, "}, {3, 2, "3 frames missing and 2 bad, "}, {0, 1, "1 bad frame, "}, {0, 4, "4 bad frames, "},
	} {
		if got := (&StrictError{Missing: tc.missing, Bad: tc.bad}).Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%d missing, %d bad: %q, want it to begin %q", tc.missing, tc.bad, got, tc.want)
		}
	}
}
