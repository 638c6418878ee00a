package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
)

// cli runs one command line in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, ioStreams{Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// readJSON decodes the JSON file at path into a T.
func readJSON[T any](t *testing.T, path string) *T {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func readReport(t *testing.T, out string) *report.Run {
	t.Helper()
	return readJSON[report.Run](t, filepath.Join(out, report.RunFile))
}

func stream(t *testing.T, r *report.Run, id string) *report.Stream {
	t.Helper()
	for _, s := range r.Streams {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("report has no stream %s", id)
	return nil
}

// leftovers lists files under dir other than the report: partial outputs
// and temporary files that must not exist after a failure.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != report.RunFile && d.Name() != output.LockName {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	return files
}

func mutate(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadFrames: each broken frame is held over and the stream is degraded
// (exit 3, said on stdout even with -q, listed in the report and on
// stderr), and fails its stream under --strict with nothing partial left.
func TestBadFrames(t *testing.T) {
	other := synth.Scene{Width: 48, Height: 48}
	otherImg, _, _ := other.Frame(0)
	cases := []struct {
		name   string
		stream string
		file   string
		break_ func(t *testing.T, path string)
		reason string
	}{
		{"truncated jpeg", "a/img", "a/img_0003.jpg", func(t *testing.T, p string) {
			mutate(t, p, func(b []byte) []byte { return b[:len(b)/2] })
		}, "truncated"},
		{"png bad crc", "a/id", "a/id_0003.png", func(t *testing.T, p string) {
			mutate(t, p, func(b []byte) []byte { b[len(b)/2] ^= 0x55; return b })
		}, "bad CRC"},
		{"zero-byte file", "a/img", "a/img_0003.jpg", func(t *testing.T, p string) {
			mutate(t, p, func([]byte) []byte { return nil })
		}, "empty"},
		{"text named img_0003.jpg", "a/img", "a/img_0003.jpg", func(t *testing.T, p string) {
			mutate(t, p, func([]byte) []byte { return []byte("Traceback (most recent call last):\n") })
		}, "not a PNG or JPEG"},
		{"frame of another size", "a/img", "a/img_0003.jpg", func(t *testing.T, p string) {
			mutate(t, p, func([]byte) []byte { return other.EncodeJPEG(otherImg) })
		}, "size 48x48 differs"},
		{"png named jpg", "a/img", "a/img_0003.jpg", func(t *testing.T, p string) {
			mutate(t, p, func([]byte) []byte { return synth.EncodePNG(otherImg) })
		}, "file is png but named .jpg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
			bad := filepath.Join(runDir, tc.file)
			tc.break_(t, bad)

			out := t.TempDir()
			code, stdout, stderr := cli(t, "encode", runDir, "-o", out)
			if code != 3 {
				t.Fatalf("exit %d, want 3 (written, degraded: bad frame held); stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "bad frame "+tc.file) || !strings.Contains(stderr, tc.reason) {
				t.Errorf("stderr does not name %s and %q:\n%s", tc.file, tc.reason, stderr)
			}
			if !slices.ContainsFunc(strings.Split(stdout, "\n"), func(l string) bool {
				return strings.HasPrefix(l, "wrote "+filepath.Join(out, tc.stream)+".") && strings.HasSuffix(l, " (10 frames, 0.17 s, "+stream(t, readReport(t, out), tc.stream).Codec+"; DEGRADED: 1 bad: held)")
			}) {
				t.Errorf("stdout does not say %s is degraded:\n%s", tc.stream, stdout)
			}
			if _, quietOut, _ := cli(t, "encode", runDir, "-o", t.TempDir(), "-q"); !strings.Contains(quietOut, "DEGRADED: 1 bad: held") {
				t.Errorf("-q hides the damage from stdout:\n%s", quietOut)
			}
			rep := readReport(t, out)
			sr := stream(t, rep, tc.stream)
			if rep.Status != report.Degraded || sr.Status != report.Degraded {
				t.Errorf("status run %s stream %s, want degraded", rep.Status, sr.Status)
			}
			if len(sr.BadFrames) != 1 || sr.BadFrames[0].Path != tc.file || !strings.Contains(sr.BadFrames[0].Reason, tc.reason) {
				t.Errorf("report bad_frames = %+v", sr.BadFrames)
			}
			if sr.FramesWritten != 10 || sr.FramesRead != 9 || verify.Probe(t, rep.Path(sr)).Streams[0].Packets != 10 {
				t.Errorf("frames read %d written %d, want 9 read and 10 written (frame 3 held)", sr.FramesRead, sr.FramesWritten)
			}
			if tc.stream == "a/id" { // lossless: the held slot is exactly frame 2
				got := verify.FrameMD5(t, rep.Path(sr), "rgb24", false)
				if prev := verify.ImageMD5(t, filepath.Join(runDir, "a/id_0002.png"), "rgb24"); got[3] != prev {
					t.Errorf("slot 3 is not a copy of frame 2")
				}
			}

			strictOut := t.TempDir()
			code, _, stderr = cli(t, "encode", runDir, "-o", strictOut, "--strict", "-q")
			if code != 1 {
				t.Fatalf("--strict: exit %d, want 1; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "bad "+tc.file+" (") || !strings.Contains(stderr, "FAILED") {
				t.Errorf("--strict: stderr does not name %s:\n%s", tc.file, stderr)
			}
			for _, f := range leftovers(t, strictOut) {
				if strings.HasPrefix(filepath.ToSlash(f), tc.stream) || strings.Contains(f, ".tmp-") {
					t.Errorf("--strict left %s behind", f)
				}
			}
		})
	}
}

func TestGaps(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	for _, f := range []string{"a/img_0004.jpg", "a/img_0005.jpg"} {
		os.Remove(filepath.Join(runDir, f))
	}
	for _, tc := range []struct {
		flag    string
		code    int
		written int
	}{{"--gaps=hold", 3, 10}, {"--gaps=drop", 3, 8}, {"--gaps=fail", 1, 0}, {"--strict", 1, 0}} {
		t.Run(tc.flag, func(t *testing.T) {
			out := t.TempDir()
			code, _, stderr := cli(t, "encode", runDir, "-o", out, "--passes", "img", tc.flag, "-q")
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, stderr)
			}
			rep := readReport(t, out)
			sr := stream(t, rep, "a/img")
			if len(sr.Gaps) != 1 || sr.Gaps[0].From != 4 || sr.Gaps[0].To != 5 || sr.MissingFrames != 2 {
				t.Errorf("gaps = %+v, missing %d", sr.Gaps, sr.MissingFrames)
			}
			if tc.code == 1 {
				if !strings.Contains(stderr, "missing a/img_0004.jpg .. a/img_0005.jpg") || len(leftovers(t, out)) != 0 {
					t.Errorf("stderr %q, leftovers %v", stderr, leftovers(t, out))
				}
				return
			}
			if n := verify.Probe(t, rep.Path(sr)).Streams[0].Packets; n != tc.written || sr.FramesWritten != tc.written {
				t.Errorf("video has %d frames (report %d), want %d", n, sr.FramesWritten, tc.written)
			}
		})
	}
}

func TestFrameNumbersPast9999(t *testing.T) {
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	var sources []string
	for i := range 10 {
		n := 9995 + i // 9995 .. 10004: lexical order would put 10000 first
		for _, pass := range []string{"img_%04d.jpg", "id_%04d.png"} {
			from := filepath.Join(runDir, "a", fmt.Sprintf(pass, i))
			to := filepath.Join(runDir, "a", fmt.Sprintf(pass, n))
			if err := os.Rename(from, to); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(pass, "id") {
				sources = append(sources, to)
			}
		}
	}
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	rep := readReport(t, out)
	sr := stream(t, rep, "a/id")
	if sr.FirstFrame != 9995 || sr.LastFrame != 10004 || sr.FramesWritten != 10 || len(sr.Gaps) != 0 {
		t.Fatalf("report: first %d last %d written %d gaps %v", sr.FirstFrame, sr.LastFrame, sr.FramesWritten, sr.Gaps)
	}
	got := verify.FrameMD5(t, rep.Path(sr), "rgb24", false)
	for i, src := range sources {
		if got[i] != verify.ImageMD5(t, src, "rgb24") {
			t.Fatalf("output frame %d is not %s: frames out of numeric order", i, filepath.Base(src))
		}
	}
}
