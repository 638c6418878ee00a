package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// newDataset writes n small ImageCapture runs (img + id, audio beside them)
// under root/scene<i%2>/run_<i>, and returns their relative paths.
func newDataset(t *testing.T, root string, n int) []string {
	t.Helper()
	var rels []string
	for i := range n {
		rel := fmt.Sprintf("scene%d/run_%03d", i%2, i)
		dir := filepath.Join(root, filepath.FromSlash(rel))
		s := synth.Scene{Width: 24, Height: 24, Frames: 6, FPS: 60}
		if err := s.Write(dir, "a", synth.Passes{Img: true, ID: true}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "audio.wav"), synth.WAV(0.1), 0o644)
		rels = append(rels, rel)
	}
	return rels
}

func readBatch(t *testing.T, path string) *report.Batch {
	t.Helper()
	return readJSON[report.Batch](t, path)
}

func modTime(t *testing.T, path string) time.Time {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

func TestBatchResumesAndRedoesChangedRuns(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	rels := newDataset(t, root, 5)
	// One run that cannot be encoded must not stop the others.
	bad := filepath.Join(root, "scene9", "broken", "a")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "img_0000.jpg"), []byte("not a jpeg"), 0o644)
	os.WriteFile(filepath.Join(root, "scene9", "broken", "audio.wav"), synth.WAV(0.1), 0o644)

	code, stdout, stderr := cli(t, "batch", root, "-o", out, "-q")
	if code != 1 || !strings.Contains(stderr, "FAILED scene9/broken") || !strings.Contains(stderr, "5 ok, 0 degraded, 1 failed") {
		t.Fatalf("first batch: exit %d\nstderr: %s", code, stderr)
	}
	summary := filepath.Join(out, report.BatchFile)
	if !strings.Contains(stdout, "summary: "+summary) {
		t.Fatalf("stdout does not name the summary: %s", stdout)
	}
	br := readBatch(t, summary)
	if br.Runs != 6 || br.OK != 5 || br.Failed != 1 || len(br.Failures) != 1 || br.FramesWritten != 5*2*6 {
		t.Fatalf("summary: %+v", br)
	}
	for _, rel := range rels {
		for _, f := range []string{"a/img.mp4", "a/id.mkv", report.RunFile} {
			if _, err := os.Stat(filepath.Join(out, rel, f)); err != nil {
				t.Errorf("missing %s/%s", rel, f)
			}
		}
	}

	// Unchanged tree: nothing is encoded again.
	before := modTime(t, filepath.Join(out, rels[0], "a", "img.mp4"))
	code, _, stderr = cli(t, "batch", root, "-o", out, "-q", "--exclude", "broken")
	if code != 0 || !strings.Contains(stderr, "0 ok, 0 degraded, 0 failed, 5 up to date") {
		t.Fatalf("re-run: exit %d, %s", code, stderr)
	}
	if !modTime(t, filepath.Join(out, rels[0], "a", "img.mp4")).Equal(before) {
		t.Fatal("an up-to-date video was written again")
	}

	// One frame of one run changes: that stream alone is redone.
	changed := filepath.Join(root, rels[2], "a", "id_0003.png")
	later := time.Now().Add(time.Minute)
	os.Chtimes(changed, later, later)
	idBefore := modTime(t, filepath.Join(out, rels[2], "a", "id.mkv"))
	imgBefore := modTime(t, filepath.Join(out, rels[2], "a", "img.mp4"))
	code, _, stderr = cli(t, "batch", root, "-o", out, "-q", "--exclude", "scene9/*")
	if code != 0 || !strings.Contains(stderr, "1 ok, 0 degraded, 0 failed, 4 up to date") {
		t.Fatalf("after a change: exit %d, %s", code, stderr)
	}
	if modTime(t, filepath.Join(out, rels[2], "a", "id.mkv")).Equal(idBefore) {
		t.Error("the changed stream was not redone")
	}
	if !modTime(t, filepath.Join(out, rels[2], "a", "img.mp4")).Equal(imgBefore) {
		t.Error("an unchanged stream of the changed run was redone")
	}
}

func TestBatchDryRunAndFilters(t *testing.T) {
	root := t.TempDir()
	newDataset(t, root, 4)
	code, stdout, _ := cli(t, "batch", root, "--dry-run", "--include", "scene1/*")
	if code != 0 || !strings.Contains(stdout, "scene1/run_001: encode 2 of 2 streams") || strings.Contains(stdout, "scene0/") || !strings.Contains(stdout, "plan: 2 runs") {
		t.Fatalf("dry run: exit %d\n%s", code, stdout)
	}
}

// TestBatchShardsCoverEveryRunOnce runs four shards one after the other (as
// an array job's tasks would): each run is encoded by exactly one of them,
// and the last one writes the merged summary.
func TestBatchShardsCoverEveryRunOnce(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	rels := newDataset(t, root, 9)
	var owned []string
	for k := range 4 {
		code, _, stderr := cli(t, "batch", root, "-o", out, "-q", "--shard", fmt.Sprintf("%d/4", k))
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", k, code, stderr)
		}
		part := readBatch(t, filepath.Join(out, ".tdwstitch-shards", fmt.Sprintf("shard-%d-of-4.json", k)))
		for _, r := range part.RunList {
			owned = append(owned, r.Run)
		}
		if part.Shard == nil || part.Shard.Source != "flag" {
			t.Errorf("shard %d summary does not say where its shard came from: %+v", k, part.Shard)
		}
		if _, err := os.Stat(filepath.Join(out, report.BatchFile)); (err == nil) != (k == 3) {
			t.Errorf("after shard %d: merged summary present = %v", k, err == nil)
		}
	}
	slices.Sort(owned)
	slices.Sort(rels)
	if !slices.Equal(owned, rels) {
		t.Fatalf("shards encoded %q, want each of %q once", owned, rels)
	}
	merged := readBatch(t, filepath.Join(out, report.BatchFile))
	if merged.Runs != 9 || merged.OK != 9 {
		t.Fatalf("merged summary: %d runs, %d ok", merged.Runs, merged.OK)
	}
	os.Remove(filepath.Join(out, report.BatchFile))
	if code, _, _ := cli(t, "batch", "--merge-reports", out); code != 0 || readBatch(t, filepath.Join(out, report.BatchFile)).Runs != 9 {
		t.Fatal("--merge-reports did not rebuild the summary")
	}
}

func TestBatchShardEnvironment(t *testing.T) {
	root := t.TempDir()
	newDataset(t, root, 3)
	t.Setenv("SLURM_ARRAY_TASK_ID", "5")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "2")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "4")
	t.Setenv("SLURM_ARRAY_TASK_MAX", "5")
	code, stdout, _ := cli(t, "batch", root, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "(shard 1/2 from slurm)") {
		t.Fatalf("slurm shard: exit %d\n%s", code, stdout)
	}
	t.Setenv("SLURM_ARRAY_TASK_MAX", "")
	code, _, stderr := cli(t, "batch", root, "--dry-run")
	if code != 2 || !strings.Contains(stderr, "SLURM_ARRAY_TASK_MAX=\"\"") {
		t.Fatalf("partial slurm variables: exit %d, %s", code, stderr)
	}
}

// TestBatchSaysWhatARunWentWithout: a run whose audio cannot be read is
// written without it (ok, exit 0), and the batch says so even with -q, in
// its summary and its JSON, again when the run is up to date; a run with
// two audio files gets advice that fits a batch (not --audio, which would
// give every run the same file).
func TestBatchSaysWhatARunWentWithout(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"r1", "r2", "r3"} {
		if err := (synth.Scene{Width: 16, Height: 16, Frames: 4, FPS: 60}).Write(filepath.Join(root, name), "a", synth.Passes{Img: true}); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "r2", "audio.wav"), []byte("not audio at all"), 0o644)
	os.WriteFile(filepath.Join(root, "r3", "audio.wav"), synth.WAV(1), 0o644)
	os.WriteFile(filepath.Join(root, "r3", "mic.wav"), synth.WAV(1), 0o644)
	out := t.TempDir()
	for _, pass := range []string{"first", "up to date"} {
		code, _, stderr := cli(t, "batch", root, "-o", out, "-q")
		if code != 0 || !strings.Contains(stderr, "WARNING r2: audio "+filepath.Join(root, "r2", "audio.wav")+" cannot be read") ||
			!strings.Contains(stderr, "WARNING r3: 2 audio files in") {
			t.Errorf("%s: exit %d\n%s", pass, code, stderr)
		}
		var br report.Batch
		if err := report.Read(filepath.Join(out, report.BatchFile), &br); err != nil || len(br.RunList) != 3 || len(br.RunList[1].Warnings) != 1 || len(br.RunList[0].Warnings) != 0 {
			t.Errorf("%s: %s: %+v (%v)", pass, report.BatchFile, br.RunList, err)
		}
	}
	code, _, stderr := cli(t, "batch", root, "-o", t.TempDir())
	if code != 0 || !strings.Contains(stderr, "run r3: warning: 2 audio files") || !strings.Contains(stderr, "(leave one audio file in the run: --audio here would give every run that one file)") || strings.Contains(stderr, "--audio FILE names it") {
		t.Errorf("advice for two audio files in a batch: exit %d\n%s", code, stderr)
	}
}
