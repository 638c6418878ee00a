package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/live"

	"github.com/tdwstitch/tdwstitch/report"

	"golang.org/x/sys/unix"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// TestSignalMidEncode runs the real binary, stops it with SIGTERM or SIGINT
// while ffmpeg is encoding, and checks that it exits 143 or 130 saying why,
// kills ffmpeg, starts no further stream and leaves no partial file: with
// SIGTERM while one ffmpeg reads the files itself, with SIGINT while a
// decoder and an encoder take them through the pipe (a frame is missing).
// Synchronisation is by FIFOs, not sleeps: a wrapper around ffmpeg reports
// each ffmpeg PID when it starts, then waits.
func TestSignalMidEncode(t *testing.T) {
	bin := builtBinary(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		gap  bool // a missing frame: through the pipe, to a decoder and an encoder
	}{{syscall.SIGTERM, 143, false}, {syscall.SIGINT, 130, true}} {
		t.Run(tc.sig.String(), func(t *testing.T) { signalMidEncode(t, bin, tc.sig, tc.code, tc.gap) })
	}
}

func signalMidEncode(t *testing.T, bin string, sig syscall.Signal, wantCode int, gap bool) {
	tmp := t.TempDir()
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	procs := 1 // ffmpeg reads the files itself
	if gap {
		for _, f := range []string{"img_0005.jpg", "id_0005.png"} {
			if err := os.Remove(filepath.Join(runDir, "a", f)); err != nil {
				t.Fatal(err)
			}
		}
		procs = 2
	}
	ff, notes := gatedFFmpeg(t, tmp, "")
	out := filepath.Join(tmp, "out")
	// One stream at a time: a/id waits for a/img, and must not start after
	// the signal.
	cmd := exec.Command(bin, "encode", runDir, "-o", out, "--jobs", "1", "--ffmpeg", ff)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(notes)
	var pids []int
	for len(pids) < procs && lines.Scan() { // a/img's ffmpegs have started, and wait
		pid, _ := strconv.Atoi(strings.TrimSpace(lines.Text()))
		pids = append(pids, pid)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != wantCode {
		t.Fatalf("exit: %v, want code %d; stderr:\n%s", err, wantCode, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") || strings.Contains(stderr.String(), "a/id: started") {
		t.Errorf("stderr does not say it was interrupted, or a/id started after it:\n%s", stderr.String())
	}
	rep := readReport(t, out)
	if sr := stream(t, rep, "a/id"); sr.Status != report.Failed || !strings.Contains(sr.Error, "before it started") {
		t.Errorf("a/id in the report: %s %q, want failed, interrupted before it started", sr.Status, sr.Error)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("ffmpeg %d is still there after tdwstitch exited (kill -0: %v)", pid, err)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if left := leftovers(t, out); len(left) != 0 {
		t.Errorf("partial files left: %v", left)
	}
}

// gatedFFmpeg writes an ffmpeg wrapper into dir that reports its PID on the
// FIFO it returns (read end opened read-write, so it never blocks or sees
// EOF) and then waits, before becoming ffmpeg, on a FIFO nobody opens: the
// process stays "mid-encode" until it is killed. Only invocations whose
// arguments contain match wait ("" : all). Synchronisation without sleeps.
func gatedFFmpeg(t *testing.T, dir, match string) (ffmpeg string, notes *os.File) {
	t.Helper()
	realFF, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	realProbe, _ := exec.LookPath("ffprobe")
	notify, gate := filepath.Join(dir, "notify"), filepath.Join(dir, "gate")
	for _, f := range []string{notify, gate} {
		if err := syscall.Mkfifo(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wrapDir := filepath.Join(dir, "wrap")
	os.Mkdir(wrapDir, 0o755)
	// "-version" (tdwstitch's version check at start) passes straight through.
	script := "#!/bin/sh\ncase \"$*\" in *-version) ;; *'" + match + "'*) echo $$ > '" + notify + "'; read g < '" + gate + "';; esac\nexec '" + realFF + "' \"$@\"\n"
	os.WriteFile(filepath.Join(wrapDir, "ffmpeg"), []byte(script), 0o755)
	os.Symlink(realProbe, filepath.Join(wrapDir, "ffprobe"))
	notes, err = os.OpenFile(notify, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notes.Close() })
	return filepath.Join(wrapDir, "ffmpeg"), notes
}

// TestBatchKill9ThenResume kills a batch with SIGKILL in the middle of a run,
// then runs it again: runs finished before the kill are not encoded again
// (nor is the interrupted run's finished stream), the interrupted stream is
// redone, and no partial file is ever at a final path.
func TestBatchKill9ThenResume(t *testing.T) {
	tmp := t.TempDir()
	bin := builtBinary(t)
	root, out := filepath.Join(tmp, "root"), filepath.Join(tmp, "out")
	rels := newDataset(t, root, 3) // scene0/run_000, scene0/run_002, scene1/run_001 (last in order)
	last := "scene1/run_001"
	// The ffmpeg of the last run's id stream reports itself and waits: the
	// runs before it and the img stream of this one are done by then.
	ff, notes := gatedFFmpeg(t, tmp, filepath.Join(out, last, "a", ".id.mkv"))
	cmd := exec.Command(bin, "batch", root, "-o", out, "--jobs", "1", "-q", "--ffmpeg", ff)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !bufio.NewScanner(notes).Scan() {
		t.Fatal("the last stream's ffmpeg never started")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The kernel kills tdwstitch's ffmpeg children when it dies (Pdeathsig);
	// wait for each one's exit through a pidfd, bounded, rather than sleeping.
	for _, p := range processesMentioning(t, out) {
		if !exitsWithin(p.pid, 10*time.Second) {
			t.Errorf("ffmpeg outlived the killed tdwstitch: %d %s", p.pid, p.cmdline)
		}
	}
	if _, err := os.Stat(filepath.Join(out, last, "a", "id.mkv")); err == nil {
		t.Fatal("the interrupted stream has a file at its final path")
	}
	times := map[string]time.Time{}
	for _, rel := range rels {
		if rel != last {
			times[rel] = modTime(t, filepath.Join(out, rel, "a", "id.mkv"))
		}
	}
	times[last] = modTime(t, filepath.Join(out, last, "a", "img.mp4"))

	code, _, stderr := cli(t, "batch", root, "-o", out, "-q")
	if code != 0 || !strings.Contains(stderr, "1 ok, 0 degraded, 0 failed, 2 up to date") {
		t.Fatalf("resume: exit %d, %s", code, stderr)
	}
	for rel, before := range times {
		f := "a/id.mkv"
		if rel == last {
			f = "a/img.mp4"
		}
		if !modTime(t, filepath.Join(out, rel, filepath.FromSlash(f))).Equal(before) {
			t.Errorf("%s/%s was encoded twice", rel, f)
		}
	}
	if left := leftovers(t, out); slices.ContainsFunc(left, func(f string) bool { return strings.Contains(f, ".tmp-") }) {
		t.Errorf("temporary files left after the resume: %v", left)
	}
	if _, err := os.Stat(filepath.Join(out, last, "a", "id.mkv")); err != nil {
		t.Error("the interrupted stream was not redone")
	}
}

type proc struct {
	pid     int
	cmdline string
}

// processesMentioning lists live processes whose command line contains s
// (zombies have none, so only running ones count).
func processesMentioning(t *testing.T, s string) []proc {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []proc
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "cmdline")); err == nil && strings.Contains(string(b), s) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			found = append(found, proc{pid, strings.ReplaceAll(string(b), "\x00", " ")})
		}
	}
	return found
}

// exitsWithin waits for process pid to exit, up to d, by polling its pidfd
// (which becomes readable at exit). A process already gone counts as exited.
func exitsWithin(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // no such process any more
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(d.Milliseconds()))
	return err == nil && n == 1
}

// TestServeSignalExits: serve says when it listens, and SIGTERM / SIGINT
// end it with 143 / 130, unless a run it encoded (here: one a killed serve
// left, recovered at start) was degraded: then 3, its result.
func TestServeSignalExits(t *testing.T) {
	bin := builtBinary(t)
	for _, tc := range []struct {
		name     string
		sig      syscall.Signal
		code     int
		degraded bool
	}{{"SIGTERM", syscall.SIGTERM, 143, false}, {"SIGINT", syscall.SIGINT, 130, false}, {"degraded run", syscall.SIGTERM, 3, true}} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			if tc.degraded {
				spool := filepath.Join(out, "run1", live.SpoolDir)
				if err := (synth.Scene{Width: 16, Height: 16, Frames: 10, FPS: 60}).Write(spool, "a", synth.Passes{Img: true}); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(spool, "a", "img_0004.jpg"))
			}
			addr := "ipc://" + filepath.Join(t.TempDir(), "s.sock")
			cmd := exec.Command(bin, "serve", "-o", out, "--listen", addr, "-q")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(stderr)
			for lines.Scan() && lines.Text() != "tdwstitch: listening on "+addr {
			}
			if lines.Text() != "tdwstitch: listening on "+addr {
				cmd.Process.Kill()
				t.Fatalf("no 'listening on %s' line", addr)
			}
			cmd.Process.Signal(tc.sig)
			last := ""
			for lines.Scan() {
				last = lines.Text()
			}
			var ee *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("exit %v, want %d", err, tc.code)
			}
			// Nothing received, nothing left: no "run the command again".
			if !tc.degraded && !strings.HasSuffix(last, ": every run received is encoded and in its reports") {
				t.Errorf("last line %q, want it to say every run received is encoded", last)
			}
		})
	}
}

// TestStalledEncoderIsKilled: an ffmpeg that makes no progress (here it
// waits before it starts, as a SIGSTOPped one would) is named on stderr
// while it stalls (after half of --stall-timeout), killed after
// --stall-timeout, and its stream fails saying so; the next stream goes on.
func TestStalledEncoderIsKilled(t *testing.T) {
	tmp := t.TempDir()
	runDir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ID: true})
	out := filepath.Join(tmp, "out")
	ff, notes := gatedFFmpeg(t, tmp, ".img.mp4")
	done := make(chan struct{})
	var code int
	var stderr string
	go func() {
		defer close(done)
		code, _, stderr = cli(t, "encode", runDir, "-o", out, "--jobs", "1", "--stall-timeout", "4s", "--ffmpeg", ff)
	}()
	// The encoder (the only invocation writing .img.mp4) reports and waits.
	var pids []int
	if lines := bufio.NewScanner(notes); lines.Scan() {
		pid, _ := strconv.Atoi(strings.TrimSpace(lines.Text()))
		pids = append(pids, pid)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the stalled encode was not killed within 2 minutes")
	}
	failed := strings.Index(stderr, "a/img: FAILED: encoding "+filepath.Join(out, "a", "img.mp4")+": ffmpeg made no progress on")
	if code != 1 || failed < 0 || !strings.Contains(stderr, "for 4s (stopped, or a hung disk?) and was killed") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if said := strings.Index(stderr, "a/img: no progress for "); said < 0 || said > failed {
		t.Errorf("the stall was not named while it lasted: %s", stderr)
	}
	if sr := stream(t, readReport(t, out), "a/id"); sr.Status != report.OK {
		t.Errorf("a/id after the stall: %s %s", sr.Status, sr.Error)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("stalled ffmpeg %d still there", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestServeStoppedSays: serve stopped by a signal names what stays spooled.
func TestServeStoppedSays(t *testing.T) {
	for _, tc := range []struct {
		spooled []string
		want    string
	}{
		{nil, "every run received is encoded and in its reports"},
		{[]string{"a"}, "1 run stays spooled (a): the next serve start, or serve --recover, encodes them"},
		{[]string{"a", "b"}, "2 runs stay spooled (a, b): the next serve start, or serve --recover, encodes them"},
	} {
		if got := (&serveStopped{spooled: tc.spooled}).Error(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.spooled, got, tc.want)
		}
	}
}
