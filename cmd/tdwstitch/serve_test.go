package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
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
	select {
	case <-stderr.wrote:
	case code := <-done:
		t.Fatalf("serve exited (%d) instead of serving: %s", code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("no warning within a minute")
	}
	cancel()
	if code := <-done; code != 0 || !strings.Contains(stderr.String(), "warning: listening on "+addr+": any machine that reaches it can send frames") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
