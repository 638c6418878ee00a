package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/live"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// noticeWriter collects what is written and signals each write.
type noticeWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *noticeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}

func (w *noticeWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServeStaysOnLoopbackUnlessAsked: listening (or answering acks) on
// another interface is refused without --any-interface, and warned about
// with it.
func TestServeStaysOnLoopbackUnlessAsked(t *testing.T) {
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("tcp://0.0.0.0:%d", l.Addr().(*net.TCPAddr).Port)
	l.Close()
	out := t.TempDir()
	for _, flag := range []string{"--listen", "--ack"} {
		code, _, stderr := cli(t, "serve", "-o", out, flag, addr)
		if code != 2 || !strings.Contains(stderr, "not a loopback address: pass --any-interface") {
			t.Errorf("serve %s %s: exit %d, %q; want 2 and a pointer to --any-interface", flag, addr, code, stderr)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &noticeWriter{wrote: make(chan struct{}, 1)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-o", out, "--listen", addr, "--any-interface"}, ioStreams{Out: io.Discard, Err: stderr})
	}()
	// serve says when it is ready: the line scripts wait for.
	for !strings.Contains(stderr.String(), "tdwstitch: listening on "+addr+"\n") {
		select {
		case <-stderr.wrote:
		case code := <-done:
			t.Fatalf("serve exited (%d) instead of serving: %s", code, stderr.String())
		case <-time.After(time.Minute):
			t.Fatalf("not listening within a minute: %q", stderr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 || !strings.Contains(stderr.String(), "warning: listening on "+addr+": any machine that reaches it can send frames") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestServeRecoverExitCodes: serve --recover exits 1 when a run it
// finishes fails, 3 when one is degraded (a killed serve's spools, in the
// one-file-per-frame layout spool.Find also reads).
func TestServeRecoverExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		edit func(spool string)
	}{
		{"degraded", 3, func(spool string) { os.Remove(filepath.Join(spool, "a", "img_0004.jpg")) }},
		{"failed", 1, func(spool string) {
			for i := range 10 {
				os.WriteFile(filepath.Join(spool, "a", fmt.Sprintf("img_%04d.jpg", i)), []byte("garbage"), 0o644)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			spool := filepath.Join(out, "run1", live.SpoolDir)
			if err := (synth.Scene{Width: 16, Height: 16, Frames: 10, FPS: 60}).Write(spool, "a", synth.Passes{Img: true}); err != nil {
				t.Fatal(err)
			}
			tc.edit(spool)
			code, _, stderr := cli(t, "serve", "-o", out, "--recover", "-q")
			if code != tc.code || !strings.Contains(stderr, "run run1: "+tc.name) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
		})
	}
}
