package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
)

// TestBadSidecar: under --timing auto, a timing sidecar that cannot be
// trusted is a warning naming the file (and line), the videos fall back to
// 1/fps spacing; --strict and an explicit --timing sidecar turn it into a
// failure. Never a crash, never a silently wrong video.
func TestBadSidecar(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(csv string) string
		wants []string
	}{
		{"bad frame number", func(c string) string { return strings.Replace(c, "frame,3,", "frame,-,", 1) }, []string{"timing.csv:", "frame number \"-\""}},
		{"frame absent", func(c string) string {
			lines := strings.Split(c, "\n")
			return strings.Join(append(lines[:5], lines[6:]...), "\n")
		}, []string{"timing.csv: has no time for frame 3"}},
		{"non-monotonic", func(c string) string {
			lines := strings.Split(c, "\n")
			lines[4], lines[5] = strings.Replace(lines[4], "frame,2,", "frame,3,", 1), strings.Replace(lines[5], "frame,3,", "frame,2,", 1)
			return strings.Join(lines, "\n")
		}, []string{"timing.csv: times do not increase"}},
		{"garbage line", func(c string) string { return strings.Replace(c, "frame,4,", "}}garbage{{ 4 ", 1) }, []string{"timing.csv:7:", "fields"}},
		{"different clock", func(c string) string {
			lines := strings.Split(c, "\n")
			lines[1] = "audio_start,,1764000000.0"
			return strings.Join(lines, "\n")
		}, []string{"timing.csv", "different clocks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := (synth.Clapper{Seconds: 3, AudioOffset: 0.2, Seed: 9}).Write(dir); err != nil {
				t.Fatal(err)
			}
			sidecar := filepath.Join(dir, "timing.csv")
			b, _ := os.ReadFile(sidecar)
			os.WriteFile(sidecar, []byte(tc.edit(string(b))), 0o644)

			out := t.TempDir()
			code, _, stderr := cli(t, "encode", dir, "-o", out, "-q")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, want := range append(tc.wants, "warning: timing:", "--timing auto fell back to 1/fps spacing") {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			rep := readReport(t, out)
			if sr := stream(t, rep, "a/img"); sr.Timing != "none" || len(rep.Warnings) != 1 {
				t.Errorf("timing %q, warnings %q; want none and one warning", sr.Timing, rep.Warnings)
			}
			code, _, stderr = cli(t, "encode", dir, "-o", t.TempDir(), "-q", "--strict")
			if code != 1 || !strings.Contains(stderr, "timing.csv") {
				t.Errorf("--strict: exit %d, stderr %q", code, stderr)
			}
			explicit := t.TempDir()
			code, _, stderr = cli(t, "encode", dir, "-o", explicit, "-q", "--timing", "sidecar")
			if code != 1 || !strings.Contains(stderr, "--timing sidecar: ") || !strings.Contains(stderr, sidecar) || len(leftovers(t, explicit)) != 0 {
				t.Errorf("--timing sidecar: exit %d, stderr %q, leftovers %v", code, stderr, leftovers(t, explicit))
			}
		})
	}
}

func TestTimingFlags(t *testing.T) {
	dir := t.TempDir()
	if _, err := (synth.Clapper{Seconds: 2, Seed: 3}).Write(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "timing.csv"))
	// Explicit requests that cannot be honoured fail the run (exit 1) and
	// say why, writing no video; only --timing auto falls back.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--timing", "sidecar"}, "--timing sidecar: " + filepath.Join(dir, "timing.csv") + ": cannot read"},
		{[]string{"--vfr"}, "--vfr needs capture times"},
		{[]string{"--fit", "audio", "--no-audio"}, "--fit audio needs the run's audio"},
	} {
		out := t.TempDir()
		code, _, stderr := cli(t, append([]string{"encode", dir, "-o", out, "-q"}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) || len(leftovers(t, out)) != 0 {
			t.Errorf("%v: exit %d, stderr %q, leftovers %v; want 1, %q, none", tc.args, code, stderr, leftovers(t, out), tc.want)
		}
	}
	// A copied run: cp wrote the frames 1 ms apart, in order. encode
	// --timing mtime refuses such times; probe places the frames by number
	// and keeps why file times cannot serve for --json (and --timing mtime).
	copied := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	copyStart := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := copyStart.Add(time.Duration(i) * time.Millisecond)
		for _, f := range []string{fmt.Sprintf("img_%04d.jpg", i), fmt.Sprintf("id_%04d.png", i)} {
			os.Chtimes(filepath.Join(copied, "a", f), at, at)
		}
	}
	out := t.TempDir()
	code, _, stderr := cli(t, "encode", copied, "-o", out, "-q", "--timing", "mtime")
	if code != 1 || !strings.Contains(stderr, "--timing mtime: file modification times span 0.009 s where 10 frames at 60 fps take 0.15 s: the files were copied") || len(leftovers(t, out)) != 0 {
		t.Errorf("--timing mtime on a copied run: exit %d, stderr %q", code, stderr)
	}
	if _, stdout, _ := cli(t, "probe", copied); !strings.Contains(stdout, "timing: frames placed by number, 1/fps apart (no timing.csv)\n") {
		t.Errorf("probe on a copied run:\n%s", stdout)
	}
	if _, stdout, _ := cli(t, "probe", copied, "--json"); !strings.Contains(stdout, `"file_times": "not usable as capture times: file modification times span 0.009 s`) {
		t.Errorf("probe --json on a copied run: no file_times saying why:\n%s", stdout)
	}
	if code, _, stderr := cli(t, "probe", copied, "--timing", "mtime"); code != 1 || !strings.Contains(stderr, "file modification times span 0.009 s") {
		t.Errorf("probe --timing mtime on a copied run: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := cli(t, "encode", dir, "-o", t.TempDir(), "--timing", "sometimes"); code != 2 || !strings.Contains(stderr, "auto, sidecar, mtime, none") {
		t.Fatalf("bad --timing: exit %d, stderr %q", code, stderr)
	}
	out = t.TempDir()
	if code, _, stderr := cli(t, "encode", dir, "-o", out, "-q", "--fit", "audio"); code != 0 {
		t.Fatalf("--fit audio: exit %d, %s", code, stderr)
	}
	sr := stream(t, readReport(t, out), "a/img")
	if sr.Timing != "fit-audio" || !sr.TimingEstimate || sr.Audio == nil || sr.Duration < sr.Audio.SourceDuration-0.05 {
		t.Fatalf("--fit audio: timing %q, duration %.2f, audio %+v", sr.Timing, sr.Duration, sr.Audio)
	}
}
