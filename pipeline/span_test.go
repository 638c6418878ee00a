package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// TestPassMissingItsFirstOrLastFramesStaysInStep: one camera captures
// every pass each frame, so a pass that lost its first frame (or last ones)
// is held there, as over a gap, and reported missing: its video is as long
// as the others and frame k of every video is capture k (before, id began
// at its frame 1 and ended early, out of step, reported clean). probe says
// so too. A pass further off than --max-gap is not stretched.
func TestPassMissingItsFirstOrLastFramesStaysInStep(t *testing.T) {
	run := t.TempDir()
	if err := os.CopyFS(run, os.DirFS(sampleRun)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id_0000.png", "depth_0088.png", "depth_0089.png"} {
		if err := os.Remove(filepath.Join(run, "a", f)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]struct {
		gaps    []report.Gap
		missing int64
		status  report.Status
	}{
		"a/img":   {[]report.Gap{}, 0, report.OK},
		"a/id":    {[]report.Gap{{From: 0, To: 0}}, 1, report.Degraded},
		"a/depth": {[]report.Gap{{From: 88, To: 89}}, 2, report.Degraded},
	}
	check := func(what string, rep *report.Run) {
		t.Helper()
		for _, sr := range rep.Streams {
			w := want[sr.ID]
			if !slices.Equal(sr.Gaps, w.gaps) || sr.MissingFrames != w.missing {
				t.Errorf("%s %s: gaps %v, %d missing; want %v, %d", what, sr.ID, sr.Gaps, sr.MissingFrames, w.gaps, w.missing)
			}
		}
	}
	probed, err := Probe(context.Background(), run, Options{Tool: testkit.FFmpeg(t)})
	if err != nil {
		t.Fatal(err)
	}
	check("probe", probed)

	out := t.TempDir()
	rep, _, err := Encode(context.Background(), run, out, Options{Tool: testkit.FFmpeg(t)})
	if !errors.Is(err, ErrDegraded) || rep.Status != report.Degraded {
		t.Fatalf("encode: %s, %v; want degraded", rep.Status, err)
	}
	check("encode", rep)
	frames := map[string][]string{}
	for _, sr := range rep.Streams {
		if sr.Status != want[sr.ID].status || sr.FramesWritten != 90 {
			t.Errorf("%s: %s, %d frames written; want %s, 90", sr.ID, sr.Status, sr.FramesWritten, want[sr.ID].status)
		}
		if sr.Pass != "img" {
			frames[sr.Pass] = verify.FrameMD5(t, rep.Path(sr), "rgb24", false)
		}
	}
	src := func(pass string, n int) string {
		return verify.FrameMD5(t, filepath.Join(run, "a", pass+"_%04d.png"), "rgb24", true)[n-firstOf(pass)]
	}
	if id := frames["id"]; len(id) != 90 || id[0] != src("id", 1) || id[1] != src("id", 1) || id[2] != src("id", 2) {
		t.Errorf("id: %d frames; frames 0-2 must be its files 1, 1, 2 (the first held back to capture 0)", len(id))
	}
	if d := frames["depth"]; len(d) != 90 || d[87] != src("depth", 87) || d[88] != src("depth", 87) || d[89] != src("depth", 87) {
		t.Errorf("depth: %d frames; frames 87-89 must all be its file 87", len(d))
	}

	// Three frames further off than --max-gap 2: id keeps its own range.
	for _, f := range []string{"id_0001.png", "id_0002.png"} {
		os.Remove(filepath.Join(run, "a", f))
	}
	probed, err = Probe(context.Background(), run, Options{Tool: testkit.FFmpeg(t), MaxGap: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range probed.Streams {
		if sr.ID == "a/id" && (len(sr.Gaps) != 0 || sr.FirstFrame != 3) {
			t.Errorf("id 3 frames after the others with --max-gap 2: first frame %d, gaps %v; want 3, none", sr.FirstFrame, sr.Gaps)
		}
	}
}

// TestCameraSpanCases: a selection (--passes id) spans the camera as the
// whole run does, and so does the mosaic of --passes img; --gaps drop lists the missing first frame and drops it;
// bad files set aside after a pass's last good frame are listed, not held.
func TestCameraSpanCases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(run string)
		opts    Options
		id      string // the stream checked
		written int
		gaps    []report.Gap
	}{
		{"selection", func(run string) { os.Remove(filepath.Join(run, "a", "id_0000.png")) }, Options{Passes: []tdw.Pass{tdw.ID}}, "a/id", 90, []report.Gap{{From: 0, To: 0}}},
		{"selection beside a stray far off", func(run string) {
			os.Remove(filepath.Join(run, "a", "id_0000.png"))
			os.WriteFile(filepath.Join(run, "a", "depth_9000000.png"), []byte("junk"), 0o644) // unselected: not read
		}, Options{Passes: []tdw.Pass{tdw.ID}}, "a/id", 90, []report.Gap{{From: 0, To: 0}}},
		{"selection with a mosaic", func(run string) { os.Remove(filepath.Join(run, "a", "img_0000.jpg")) }, Options{Passes: []tdw.Pass{tdw.Img}, Mosaic: true}, "a/img", 90, []report.Gap{{From: 0, To: 0}}},
		{"gaps drop", func(run string) { os.Remove(filepath.Join(run, "a", "id_0000.png")) }, Options{Gaps: Drop}, "a/id", 89, []report.Gap{{From: 0, To: 0}}},
		{"bad last frame", func(run string) { os.WriteFile(filepath.Join(run, "a", "depth_0089.png"), []byte("junk"), 0o644) }, Options{}, "a/depth", 89, []report.Gap{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			if err := os.CopyFS(run, os.DirFS(sampleRun)); err != nil {
				t.Fatal(err)
			}
			tc.change(run)
			tc.opts.Tool = testkit.FFmpeg(t)
			rep, _, err := Encode(context.Background(), run, t.TempDir(), tc.opts)
			if !errors.Is(err, ErrDegraded) {
				t.Fatalf("encode: %v; want degraded", err)
			}
			for _, sr := range rep.Streams {
				if sr.ID == tc.id && (sr.FramesWritten != tc.written || !slices.Equal(sr.Gaps, tc.gaps) || verify.Probe(t, rep.Path(sr)).Streams[0].Packets != tc.written) {
					t.Errorf("%s: %d frames written, gaps %v; want %d, %v", sr.ID, sr.FramesWritten, sr.Gaps, tc.written, tc.gaps)
				}
			}
			if m := rep.Mosaic; tc.opts.Mosaic && (m == nil || m.FramesWritten != tc.written) {
				t.Errorf("mosaic %+v, want %d frames as img.mp4", m, tc.written)
			}
		})
	}
}

// TestCameraSpanIsInTheFingerprint: a stream kept as up to date is encoded
// again when another pass of its camera moves its span (img gains frame
// 90: id and depth now hold to it), not kept unaligned.
func TestCameraSpanIsInTheFingerprint(t *testing.T) {
	run := t.TempDir()
	if err := os.CopyFS(run, os.DirFS(sampleRun)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, _, err := Encode(context.Background(), run, out, Options{Tool: testkit.FFmpeg(t)}); err != nil {
		t.Fatal(err)
	}
	// A stray far off in img moves no span: id and depth stay kept.
	stray := filepath.Join(run, "a", "img_9000000.jpg")
	os.WriteFile(stray, []byte("junk"), 0o644)
	rep, _, _ := Encode(context.Background(), run, out, Options{Tool: testkit.FFmpeg(t)})
	for _, sr := range rep.Streams {
		if sr.Pass != "img" && !sr.Kept {
			t.Errorf("%s encoded again for a stray img file far off", sr.ID)
		}
	}
	os.Remove(stray)
	b, _ := os.ReadFile(filepath.Join(run, "a", "img_0089.jpg"))
	os.WriteFile(filepath.Join(run, "a", "img_0090.jpg"), b, 0o644)
	rep, _, err := Encode(context.Background(), run, out, Options{Tool: testkit.FFmpeg(t)})
	if !errors.Is(err, ErrDegraded) {
		t.Fatalf("third encode: %v; want degraded (id and depth lack frame 90)", err)
	}
	for _, sr := range rep.Streams {
		if sr.Pass == "img" {
			continue
		}
		if sr.Kept || sr.FramesWritten != 91 || !slices.Equal(sr.Gaps, []report.Gap{{From: 90, To: 90}}) {
			t.Errorf("%s: kept %v, %d frames, gaps %v; want encoded again, 91 frames, frame 90 missing", sr.ID, sr.Kept, sr.FramesWritten, sr.Gaps)
		}
	}
}

// firstOf is the first file number each pass keeps in the test above.
func firstOf(pass string) int {
	if pass == "id" {
		return 1
	}
	return 0
}
