package discover

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// touch creates empty files (discovery never opens them).
func touch(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(root, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func numbers(s *Stream) []int64 {
	var n []int64
	for _, f := range s.Frames {
		n = append(n, f.Number)
	}
	return n
}

func ids(r *Run) []string {
	var out []string
	for _, s := range r.Streams {
		out = append(out, s.ID())
	}
	return out
}

func TestFindImageCaptureLayout(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir,
		"a/img_0000.jpg", "a/img_0001.jpg", "a/img_9999.jpg", "a/img_10000.jpg", "a/img_0002.jpg",
		"a/id_0000.png", "a/depth_simple_0000.png", "a/depth_0000.png",
		"b cam/img_0000.jpg", "ünï/img_0000.png", "-dash/img_0000.jpg",
		"audio.wav", "timing.csv", ".hidden/img_0000.jpg", "a/.img_0003.jpg")
	r, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-dash/img", "a/img", "a/id", "a/depth", "a/depth_simple", "b cam/img", "ünï/img"}
	if got := ids(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("streams = %q, want %q", got, want)
	}
	if got := numbers(r.Streams[1]); !reflect.DeepEqual(got, []int64{0, 1, 2, 9999, 10000}) {
		t.Fatalf("a/img frames = %v, want numeric order past 9999", got)
	}
	if gaps := r.Streams[1].Gaps(); len(gaps) != 1 || gaps[0] != (Gap{3, 9998}) {
		t.Fatalf("gaps = %v", gaps)
	}
	if len(r.Audio) != 1 || filepath.Base(r.Audio[0]) != "audio.wav" {
		t.Fatalf("audio = %v", r.Audio)
	}
	if r.Streams[3].Pass != tdw.Depth || r.Streams[4].Pass != tdw.DepthSimple {
		t.Fatalf("depth passes mixed up: %v %v", r.Streams[3].Pass, r.Streams[4].Pass)
	}
}

func TestFindFlatLayouts(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir,
		"img_0001.jpg", "img_0000.jpg", "id_0000.png", // save_images, append_pass=True
		"img_cam0_0000.jpg", "img_cam0_0001.jpg", // a named sequence beside it
		"img_%d_0003 weird.jpg", "notes.png", "img_final.jpg")
	r, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(r), []string{"img", "id", "img_cam0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("streams = %q, want %q", got, want)
	}
	var ignored []string
	for _, ig := range r.Ignored {
		ignored = append(ignored, ig.Path)
	}
	slices.Sort(ignored)
	if want := []string{"img_%d_0003 weird.jpg", "img_final.jpg", "notes.png"}; !reflect.DeepEqual(ignored, want) {
		t.Fatalf("ignored = %q, want %q", ignored, want)
	}
}

func TestFindAppendPassFalse(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "0010.jpg", "0002.jpg", "0001.jpg", "0001.png")
	r, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Streams) != 1 || r.Streams[0].Pass != tdw.Img {
		t.Fatalf("streams = %q, want one img stream", ids(r))
	}
	s := r.Streams[0]
	if got := numbers(s); !reflect.DeepEqual(got, []int64{1, 2, 10}) {
		t.Fatalf("frames = %v", got)
	}
	if len(s.Duplicates) != 1 || s.Duplicates[0].Rel != "0001.png" {
		t.Fatalf("duplicates = %+v, want 0001.png", s.Duplicates)
	}
}

// TestDuplicateKeepsTheStreamsNaming: of two files of one number, the one
// named as the stream's others are is the frame (a stray copy sorting
// first by name is the duplicate); the same width rule holds for a stream
// padded to 6 digits, and one not padded at all.
func TestDuplicateKeepsTheStreamsNaming(t *testing.T) {
	for _, tc := range []struct {
		files []string
		frame string
		dup   string
	}{
		{[]string{"id_0001.png", "id_0002.png", "id_00003.png", "id_0003.png"}, "id_0003.png", "id_00003.png"},
		{[]string{"id_000001.png", "id_000002.png", "id_0003.png", "id_000003.png"}, "id_000003.png", "id_0003.png"},
		{[]string{"id_0001.png", "id_1.png"}, "id_0001.png", "id_1.png"},
		{[]string{"img_14.png", "img_15.png", "img_0015.png", "img_16.png"}, "img_15.png", "img_0015.png"}, // save_images, not padded
	} {
		dir := t.TempDir()
		touch(t, dir, tc.files...)
		r, err := Find(dir)
		if err != nil {
			t.Fatal(err)
		}
		s := r.Streams[0]
		k := slices.IndexFunc(s.Frames, func(f Frame) bool { return f.Number == s.Duplicates[0].Number })
		if len(s.Duplicates) != 1 || s.Duplicates[0].Rel != tc.dup || k < 0 || s.Frames[k].Rel != tc.frame {
			t.Errorf("%v: frame %+v, duplicates %+v; want %s kept, %s the duplicate", tc.files, s.Frames, s.Duplicates, tc.frame, tc.dup)
		}
	}
}

func TestFindMissingFolder(t *testing.T) {
	if _, err := Find(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Find on a missing folder returned no error")
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		stem   string
		pass   tdw.Pass
		prefix string
		number int64
		ok     bool
	}{
		{"img_0000", tdw.Img, "", 0, true},
		{"img_12345", tdw.Img, "", 12345, true},
		{"depth_simple_0007", tdw.DepthSimple, "", 7, true},
		{"depth_0007", tdw.Depth, "", 7, true},
		{"category_0001", tdw.Category, "", 1, true},
		{"albedo_a_0001", tdw.Albedo, "a", 1, true},
		{"0042", tdw.Img, "", 42, true},
		{"img_", "", "", 0, false},
		{"frame0001", "", "", 0, false},
		{"img_99999999999999999999", "", "", 0, false},
	}
	for _, tc := range tests {
		pass, prefix, n, reason := ParseName(tc.stem)
		if (reason == "") != tc.ok || pass != tc.pass || prefix != tc.prefix || n != tc.number {
			t.Errorf("ParseName(%q) = %q, %q, %d, %q", tc.stem, pass, prefix, n, reason)
		}
	}
}

func TestFindFollowsSymlinkedFrames(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "real.jpg")
	os.WriteFile(target, make([]byte, 1234), 0o644)
	os.Symlink(target, filepath.Join(dir, "img_0000.jpg"))
	r, err := Find(dir)
	if err != nil || len(r.Streams) != 1 {
		t.Fatalf("Find: %v, %d streams", err, len(r.Streams))
	}
	if got := r.Streams[0].Frames[0].Size; got != 1234 {
		t.Fatalf("size %d, want the target's 1234", got)
	}
}

func TestFindRuns(t *testing.T) {
	root := t.TempDir()
	touch(t, root,
		"scene1/run_000/a/img_0000.jpg", "scene1/run_000/a/id_0000.png", "scene1/run_000/audio.wav",
		"scene1/run_001/img_0000.jpg", // flat
		"scene2/deep/er/run %1/b/img_0000.png", "scene2/deep/er/run %1/timing.csv",
		"scene3/run_x/a/img_0000.jpg", "scene3/run_x/b/img_0000.jpg", // no audio, no sidecar: two flat runs
		"scene2/notes/readme.txt", ".cache/x/img_0000.jpg")
	os.MkdirAll(filepath.Join(root, "scene2", "loop"), 0o755)
	os.Symlink("..", filepath.Join(root, "scene2", "loop", "up")) // scene2/loop/up -> scene2
	runs, problems, err := FindRuns(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scene1/run_000", "scene1/run_001", "scene2/deep/er/run %1", "scene3/run_x/a", "scene3/run_x/b"}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs = %q, want %q", runs, want)
	}
	if len(problems) != 1 || problems[0].Path != "scene2/loop/up" {
		t.Fatalf("problems = %+v, want the loop at scene2/loop/up", problems)
	}
	if runs, _, _ := FindRuns(filepath.Join(root, "scene1", "run_000")); !reflect.DeepEqual(runs, []string{"."}) {
		t.Fatalf("a run folder as root: %q", runs)
	}
}

func TestFindRunsFlatRunsSideBySide(t *testing.T) {
	root := t.TempDir()
	var want []string
	for i := range 12 { // no audio or sidecar beside them: flat runs
		name := fmt.Sprintf("run_%02d", i)
		touch(t, root, name+"/img_0000.jpg")
		want = append(want, name)
	}
	runs, _, err := FindRuns(root)
	if err != nil || !reflect.DeepEqual(runs, want) {
		t.Fatalf("runs = %q (%v), want the 12 flat runs", runs, err)
	}
	touch(t, root, "audio.wav") // now root is one ImageCapture run with 12 avatars
	if runs, _, _ := FindRuns(root); !reflect.DeepEqual(runs, []string{"."}) {
		t.Fatalf("with audio.wav: runs = %q, want root as one run", runs)
	}
}

func TestNameOf(t *testing.T) {
	s := &Stream{Avatar: "a", Pass: tdw.Img, Frames: []Frame{
		{Rel: "a/img_0019.jpg", Number: 19}, {Rel: "a/img_9999.jpg", Number: 9999}, {Rel: "a/img_10003.jpg", Number: 10003},
	}}
	for n, want := range map[int64]string{
		20: "a/img_0020.jpg", 10000: "a/img_10000.jpg", 10004: "a/img_10004.jpg", 3: "a/img_0003.jpg",
	} {
		if got := s.NameOf(n); got != want {
			t.Errorf("NameOf(%d) = %q, want %q", n, got, want)
		}
	}
	flat := &Stream{Pass: tdw.Img, Frames: []Frame{{Rel: "7.png", Number: 7}}}
	if got := flat.NameOf(8); got != "8.png" {
		t.Errorf("NameOf(8) = %q, want 8.png", got)
	}
}
