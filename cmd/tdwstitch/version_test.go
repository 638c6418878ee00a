package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/report"
)

// TestVersion: version, --version and -v say the same: tdwstitch's
// version, the Go toolchain, and the ffmpeg found with its version; every
// report records the same versions.
func TestVersion(t *testing.T) {
	tool := testkit.FFmpeg(t)
	var first string
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, stdout, stderr := cli(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		want := []string{"tdwstitch " + report.Version() + "\n", runtime.Version(), "ffmpeg " + tool.Version + " (" + tool.FFmpeg + ")"}
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Fatalf("%v printed %q, want %q in it", args, stdout, w)
			}
		}
		if first == "" {
			first = stdout
		} else if stdout != first {
			t.Fatalf("%v printed %q, version printed %q", args, stdout, first)
		}
	}
	runDir := testkit.SceneRun(t, 4, 16, 16, synth.Passes{Img: true})
	out := t.TempDir()
	if code, _, stderr := cli(t, "encode", runDir, "-o", out, "-q"); code != 0 {
		t.Fatalf("encode: exit %d\n%s", code, stderr)
	}
	if rep := readReport(t, out); rep.Version != report.Version() || rep.FFmpeg != tool.Version {
		t.Fatalf("report says version %q, ffmpeg %q; want %q, %q", rep.Version, rep.FFmpeg, report.Version(), tool.Version)
	}
}

// TestOldFFmpegIsNamed: an ffmpeg older than 5.1 (a stub saying 4.4, as
// Ubuntu 22.04's) is refused before any work: the message says the version
// found, the one needed and how to get it, and nothing is written.
func TestOldFFmpegIsNamed(t *testing.T) {
	bin := t.TempDir()
	stub := "#!/bin/sh\necho 'ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers'\n"
	for _, name := range []string{"ffmpeg", "ffprobe"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runDir := testkit.SceneRun(t, 4, 16, 16, synth.Passes{Img: true})
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := cli(t, "encode", runDir, "-o", out, "--ffmpeg", filepath.Join(bin, "ffmpeg"))
	for _, want := range []string{"ffmpeg 4.4.2-0ubuntu0.22.04.1", "needs ffmpeg 5.1 or later", "apt-get install ffmpeg", "--ffmpeg PATH"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the output folder was made")
	}
	_, stdout, _ := cli(t, "version", "--ffmpeg", filepath.Join(bin, "ffmpeg"))
	if !strings.Contains(stdout, "needs ffmpeg 5.1 or later") {
		t.Errorf("version with the old ffmpeg: %q", stdout)
	}
}

// TestFlagErrorsNameTheCommand: a flag error points to the command's own
// help by its full path.
func TestFlagErrorsNameTheCommand(t *testing.T) {
	code, _, stderr := cli(t, "encode", "--bogus")
	if code != 2 || !strings.Contains(stderr, "see 'tdwstitch encode --help'") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A flag of another command says where it belongs.
	code, _, stderr = cli(t, "probe", "--crf", "20", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "tdwstitch probe has no flag --crf (batch, encode, serve take it)") {
		t.Fatalf("probe --crf: exit %d: %s", code, stderr)
	}
	// version --ffmpeg checks that ffmpeg: one that cannot be used fails.
	if code, stdout, _ := cli(t, "version", "--ffmpeg", "/nonexistent/ffmpeg"); code != 1 || !strings.Contains(stdout, "tdwstitch ") {
		t.Fatalf("version --ffmpeg /nonexistent/ffmpeg: exit %d: %s", code, stdout)
	}
}

// TestFlagValuesInOurWords: a wrong value says the flag, the value and
// what it takes; enum flags show and complete their choices.
func TestFlagValuesInOurWords(t *testing.T) {
	for args, want := range map[string]string{
		"--fps abc":          `--fps "abc" is not a number`,
		"--jobs 1.5":         `--jobs "1.5" is not a whole number`,
		"--stall-timeout 5":  `--stall-timeout "5" is not a duration`,
		"--gaps skip":        `--gaps "skip": want one of hold, drop, fail`,
		"--timing clock":     `--timing "clock": want one of auto, sidecar, mtime, none`,
		"--preview=png":      `--preview "png": want one of webp, gif`,
		"--preset superslow": `--preset "superslow": want one of ultrafast,`,
		"--on-bad ignore":    `--on-bad "ignore": want one of skip, fail`,
	} {
		code, _, stderr := cli(t, append([]string{"encode", "."}, strings.Fields(args)...)...)
		if code != 2 || !strings.Contains(stderr, want) || strings.Contains(stderr, "strconv") {
			t.Errorf("encode %s: exit %d, %q; want 2 and %q", args, code, stderr, want)
		}
	}
	_, help, _ := cli(t, "encode", "--help")
	for _, want := range []string{"--gaps hold|drop|fail", "--timing auto|sidecar|mtime|none", "--on-bad skip|fail", "--preset PRESET"} {
		if !strings.Contains(help, want) {
			t.Errorf("encode --help lacks %q", want)
		}
	}
	for flag, want := range map[string]string{"--gaps": "hold\ndrop\nfail\n", "--timing": "auto\nsidecar\nmtime\nnone\n"} {
		for _, cmd := range []string{"encode", "batch", "serve"} {
			_, out, _ := cli(t, "__complete", cmd, flag, "")
			if !strings.HasPrefix(out, want) {
				t.Errorf("completing %s %s: %q, want %q", cmd, flag, out, want)
			}
		}
	}
	// --preview's value is optional: it completes in the --preview= form.
	if _, out, _ := cli(t, "__complete", "encode", "--preview="); !strings.Contains(out, "webp") || !strings.Contains(out, "gif") {
		t.Errorf("completing encode --preview=: %q", out)
	}
}
