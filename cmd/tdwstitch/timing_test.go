package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// TestBadSidecar: a timing sidecar that cannot be trusted is a warning naming
// the file (and line), the videos fall back to 1/fps spacing, and --strict
// turns it into a failure. Never a crash, never a silently wrong video.
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
			for _, want := range append(tc.wants, "warning: timing:", "using 1/fps spacing") {
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
		})
	}
}

func TestTimingFlags(t *testing.T) {
	dir := t.TempDir()
	if _, err := (synth.Clapper{Seconds: 2, Seed: 3}).Write(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "timing.csv"))
	code, _, stderr := cli(t, "encode", dir, "-o", t.TempDir(), "-q", "--timing", "sidecar")
	if code != 0 || !strings.Contains(stderr, "timing.csv: cannot read") {
		t.Fatalf("--timing sidecar without one: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := cli(t, "encode", dir, "-o", t.TempDir(), "--timing", "sometimes"); code != 2 || !strings.Contains(stderr, "auto, sidecar, mtime, none") {
		t.Fatalf("bad --timing: exit %d, stderr %q", code, stderr)
	}
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", dir, "-o", out, "-q", "--fit", "audio"); code != 0 {
		t.Fatalf("--fit audio: exit %d, %s", code, stderr)
	}
	sr := stream(t, readReport(t, out), "a/img")
	if sr.Timing != "fit-audio" || !sr.TimingEstimate || sr.Audio == nil || sr.Duration < sr.Audio.SourceDuration-0.05 {
		t.Fatalf("--fit audio: timing %q, duration %.2f, audio %+v", sr.Timing, sr.Duration, sr.Audio)
	}
}
