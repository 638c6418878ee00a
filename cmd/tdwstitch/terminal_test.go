package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// underTerminal runs the binary with stderr on a pseudo-terminal (what a
// person at a shell has) and TERM=term, and returns its exit code, stdout
// (a pipe: the results) and what the terminal showed.
func underTerminal(t *testing.T, term string, args ...string) (code int, stdout, screen string) {
	t.Helper()
	ptmx, pts, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer pts.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(builtBinary(t), args...)
	cmd.Env = append(os.Environ(), "TERM="+term)
	cmd.Stdout, cmd.Stderr = &out, pts
	shown := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, ptmx) // ends with EIO once the child and pts are closed
		shown <- b.String()
	}()
	err = runWithin(t, cmd, 2*time.Minute)
	pts.Close()
	return processExit(err), out.String(), <-shown
}

// TestProgressOnATerminal: on a terminal, a run of two avatars gets one
// bar whose length is the whole plan from the start (frames of both
// streams), labelled with the streams done and running, that stays up
// after the first stream ends.
// Each output is named once, on stdout. With TERM=dumb the same run logs
// plain lines and redraws nothing.
func TestProgressOnATerminal(t *testing.T) {
	runDir := t.TempDir()
	for _, avatar := range []string{"a", "b"} {
		if err := (synth.Scene{Width: 96, Height: 96, Frames: 150, FPS: 60}).Write(runDir, avatar, synth.Passes{Img: true}); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, screen := underTerminal(t, "xterm", "encode", runDir, "-o", t.TempDir(), "--jobs", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	if !redraws(screen) || !strings.Contains(screen, "streams 0/2: a/img") || !strings.Contains(screen, "streams 1/2: b/img") {
		t.Errorf("the bar does not follow both streams (want 'streams 0/2: a/img' then 'streams 1/2: b/img'):\n%q", screen)
	}
	counts := regexp.MustCompile(`\((\d+)/(\d+)\)`).FindAllStringSubmatch(screen, -1)
	if len(counts) == 0 {
		t.Errorf("no frame count on the bar:\n%q", screen)
	}
	for _, m := range counts {
		if m[2] != "300" {
			t.Fatalf("the bar's length is %s, want the plan's 300 frames from the start:\n%q", m[2], screen)
		}
	}
	if !strings.Contains(screen, "2 of 2 streams done, 300 frames, in ") {
		t.Errorf("the bar leaves no summary of what was done:\n%q", screen)
	}
	for _, o := range []string{filepath.Join("a", "img.mp4"), filepath.Join("b", "img.mp4")} {
		if n := strings.Count(stdout, o); n != 1 {
			t.Errorf("%s named %d times on stdout, want once:\n%s", o, n, stdout)
		}
		if strings.Contains(screen, o) {
			t.Errorf("%s named on stderr too (a result belongs on stdout):\n%q", o, screen)
		}
	}

	code, _, screen = underTerminal(t, "dumb", "encode", runDir, "-o", t.TempDir(), "--jobs", "1")
	if code != 0 || redraws(screen) || strings.Contains(screen, "streams 0/2") ||
		!strings.Contains(screen, "encoding 2 streams, 300 frames") || !strings.Contains(screen, "b/img: started, 150 frames") {
		t.Errorf("TERM=dumb: exit %d, want plain lines and no bar:\n%q", code, screen)
	}
}

// redraws reports whether screen has a line drawn over (a carriage return
// that does not end a line: the terminal turns each newline into CR LF).
func redraws(screen string) bool {
	return regexp.MustCompile(`\r[^\n]`).MatchString(screen)
}
