// Package testkit finds what the end-to-end tests need, one way for every
// package: ffmpeg, a python3 that has pyzmq (a real TDW-side peer), a free
// TCP address. A missing tool fails the test with the command that
// installs it: CI runs every test, none is skipped for want of a tool.
package testkit

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// FFmpeg is the system's ffmpeg and ffprobe.
func FFmpeg(t testing.TB) ffmpeg.Tool {
	t.Helper()
	tl, err := ffmpeg.Locate("")
	if err != nil {
		t.Fatalf("the end-to-end tests need ffmpeg (go tool task deps installs it): %v", err)
	}
	return tl
}

var python struct {
	once sync.Once
	path string
	err  error
}

// Python is a python3 that imports zmq and flatbuffers. Debian's
// /usr/bin/python3 with python3-zmq comes first: a python3 earlier on PATH
// (pyenv, a virtualenv) often lacks them.
func Python(t testing.TB) string {
	t.Helper()
	python.once.Do(func() {
		var tried []string
		for _, p := range []string{"/usr/bin/python3", "python3"} {
			path, err := exec.LookPath(p)
			if err != nil {
				continue
			}
			if out, err := exec.Command(path, "-c", "import zmq, flatbuffers").CombinedOutput(); err != nil {
				tried = append(tried, fmt.Sprintf("%s: %s", path, out))
				continue
			}
			python.path = path
			return
		}
		python.err = fmt.Errorf("no python3 with pyzmq and flatbuffers (go tool task test-deps installs python3-zmq and python3-flatbuffers); tried %q", tried)
	})
	if python.err != nil {
		t.Fatal(python.err)
	}
	return python.path
}

// FreeTCP is a loopback TCP address nothing listens on now.
func FreeTCP(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String()
}

// Fixture is the path of fixtures/name in this module, from any package's
// tests (a test runs in its own package's folder).
func Fixture(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "fixtures", name)
}

// SceneRun writes an ImageCapture-style run of n frames of w x h for avatar
// "a" (synth.Scene: a textured room, moving objects) with the passes p,
// under a fresh temp folder, and returns the run's folder.
func SceneRun(t testing.TB, n, w, h int, p synth.Passes) string {
	t.Helper()
	dir := t.TempDir()
	if err := (synth.Scene{Width: w, Height: h, Frames: n, FPS: 60}).Write(dir, "a", p); err != nil {
		t.Fatal(err)
	}
	return dir
}
