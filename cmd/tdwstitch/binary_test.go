package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests that need a real process (signals, kill -9, Slurm, peak
// memory) share one build of the binary, made without the race detector so
// that its memory and timing are its own.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	if out := os.Getenv(peakEnv); out != "" && len(os.Args) > 2 && os.Args[1] == runnerMark {
		os.Exit(runForPeak(out, os.Args[2:]))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// builtBinary returns the path of the tdwstitch binary built from this package.
func builtBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "tdwstitch-bin-"); buildErr != nil {
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(buildDir, "tdwstitch"), ".")
		build.Env = append(os.Environ(), "GOFLAGS=") // not a race build, whatever the tests run with
		buildOut, buildErr = build.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(buildDir, "tdwstitch")
}

// runWithin runs cmd and fails the test, killing it, when it has not
// exited within d (a hang guard: the tests are about not hanging).
func runWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	// Its own process group, so that a hang kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("%v did not exit within %v (hung?)", cmd.Args, d)
		return nil
	}
}

// processExit is the exit status of a finished command (0 for a nil error).
func processExit(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// peakEnv makes this test binary a runner: it runs the command in its
// arguments, writes the command's peak memory in KiB to the file the
// variable names, and exits with the command's code.
const peakEnv = "TDWSTITCH_TEST_PEAK_FILE"

// runnerMark is the runner's first argument: the variable alone (left in a
// shell's environment) does not turn the test binary into a runner.
const runnerMark = "-tdwstitch-peak-runner"

// A process's ru_maxrss is not its own when its parent is large: Go starts
// a child with vfork, sharing the parent's memory until exec, and exec
// records that memory's high-water mark as the child's. A test process
// under the race detector (300 MB) would mask the peak being measured, so
// the command is started from this small runner process instead.
func runForPeak(out string, args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if err := os.WriteFile(out, []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	return cmd.ProcessState.ExitCode()
}

// withPeak runs cmd (not yet started) through the runner and returns its
// error and its peak memory in KiB: the largest of its own and each of the
// children it waited for (rusage's maximum, not their sum).
func withPeak(t *testing.T, cmd *exec.Cmd, d time.Duration) (error, int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "peak")
	cmd.Args = append([]string{os.Args[0], runnerMark}, cmd.Args...)
	cmd.Path = os.Args[0]
	cmd.Env = append(os.Environ(), peakEnv+"="+file)
	err := runWithin(t, cmd, d)
	b, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatalf("%v: no peak written: %v (%v)", cmd.Args, rerr, err)
	}
	kb, perr := strconv.Atoi(string(b))
	if perr != nil || kb <= 0 {
		t.Fatalf("%v: peak file holds %q, not a peak in KiB", cmd.Args, b)
	}
	return err, kb
}
