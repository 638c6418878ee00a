//go:build full

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/live"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/fixtures/zmtp"
)

// TestServeKill9ThenRecover: serve is killed with SIGKILL in the middle of a
// live run; the spooled frames survive, and `serve --recover` makes the
// run's videos from them. In the chunked case the run is killed after its
// first chunk was encoded while it arrived: recovery keeps that chunk,
// encodes the frames still spooled and joins, losing no frame.
func TestServeKill9ThenRecover(t *testing.T) {
	bin := builtBinary(t)
	for _, tc := range []struct {
		name   string
		n, px  int
		flags  []string
		chunks int // at least, in the recovered run
	}{
		{"whole", 8, 16, nil, 0},
		{"chunked", 120, 64, []string{"--chunk-mb", "1"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			frames := filepath.Join(tmp, "frames")
			os.MkdirAll(frames, 0o755)
			scene := synth.Scene{Width: tc.px, Height: tc.px}
			for i := range tc.n {
				img, id, depth := scene.Frame(i)
				os.WriteFile(filepath.Join(frames, fmt.Sprintf("img_%04d.jpg", i)), scene.EncodeJPEG(img), 0o644)
				os.WriteFile(filepath.Join(frames, fmt.Sprintf("id_%04d.png", i)), synth.EncodePNG(id), 0o644)
				os.WriteFile(filepath.Join(frames, fmt.Sprintf("depth_%04d.raw", i)), depth.Pix[:tc.px*tc.px*3], 0o644) // any bytes of the size
			}
			out := filepath.Join(tmp, "out")
			addr := "ipc://" + filepath.Join(tmp, "tdw.sock")
			serve := exec.Command(bin, append([]string{"serve", "-o", out, "--listen", addr}, tc.flags...)...)
			stderr, _ := serve.StderrPipe()
			if err := serve.Start(); err != nil {
				t.Fatal(err)
			}
			sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "ep", frames, fmt.Sprint(tc.n), fmt.Sprint(tc.px), fmt.Sprint(tc.px), "--no-end")
			if b, err := sender.CombinedOutput(); err != nil {
				t.Fatalf("sender: %v\n%s", err, b)
			}
			// A message serve must reject, sent last: its report on stderr means
			// every frame before it has been spooled.
			marker := exec.Command(testkit.Python(t), "-c", `
import sys, zmq
c = zmq.Context(); s = c.socket(zmq.PUSH); s.connect(sys.argv[1]); s.send(b"\x01"); s.close(linger=5000); c.term()`, addr)
			if b, err := marker.CombinedOutput(); err != nil {
				t.Fatalf("marker: %v\n%s", err, b)
			}
			lines := bufio.NewScanner(stderr)
			rejected, chunked := false, tc.chunks == 0
			for (!rejected || !chunked) && lines.Scan() {
				rejected = rejected || strings.Contains(lines.Text(), "rejected")
				chunked = chunked || strings.Contains(lines.Text(), "chunk 0 encoded")
			}
			serve.Process.Signal(syscall.SIGKILL)
			serve.Wait()

			if _, err := os.Stat(filepath.Join(out, "ep", "a", "img.mp4")); err == nil {
				t.Fatal("a video exists before recovery")
			}
			code, _, stderrText := cli(t, "serve", "--recover", "-o", out)
			if code != 0 {
				t.Fatalf("recover: exit %d: %s", code, stderrText)
			}
			rep := readReport(t, filepath.Join(out, "ep"))
			if rep.Status != report.OK || len(rep.Streams) != 3 {
				t.Fatalf("recovered report: %s, %d streams", rep.Status, len(rep.Streams))
			}
			for _, s := range rep.Streams {
				if s.FramesWritten != tc.n || s.FramesFound != tc.n {
					t.Errorf("%s: found %d, wrote %d frames, want %d", s.ID, s.FramesFound, s.FramesWritten, tc.n)
				}
				if s.Pass == "id" && !slices.Equal(verify.FrameMD5(t, rep.Path(s), "rgb24", false), verify.FrameMD5(t, filepath.Join(frames, "id_%04d.png"), "rgb24", true)) {
					t.Error("the recovered id video is not bit-exact against the frames sent")
				}
			}
			sr := readJSON[report.Serve](t, filepath.Join(out, "ep", report.ServeFile))
			if sr.Ended != "recovered" || sr.Chunks < tc.chunks {
				t.Fatalf("serve report says %q with %d chunks, want recovered with >= %d", sr.Ended, sr.Chunks, tc.chunks)
			}
			for _, left := range []string{live.SpoolDir, live.ChunksDir} {
				if _, err := os.Stat(filepath.Join(out, "ep", left)); err == nil {
					t.Errorf("%s is still there after a successful recovery", left)
				}
			}
		})
	}
}

// TestServePeerFloodMemory: 20 raw peers connect to a serve binary, each
// announcing a 63 MiB part and sending 62 MiB of it, then staying
// connected: the flood, which held 1.3 GB. With --max-peers 4 the
// peers past the fourth are closed unread, and serve's peak memory (VmHWM,
// once every peer's write has returned) stays below (4+2) x 64 MiB; serve
// then still exits on SIGINT.
func TestServePeerFloodMemory(t *testing.T) {
	tmp := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	serve := exec.Command(builtBinary(t), "serve", "-o", filepath.Join(tmp, "out"), "--listen", "tcp://"+addr, "--max-peers", "4", "-q")
	stderr, _ := serve.StderrPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.Contains(lines.Text(), "listening on") {
	}
	go io.Copy(io.Discard, stderr)
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }() // the one Wait: after the pipe is read
	exited := false
	defer func() {
		if !exited {
			serve.Process.Kill()
			<-done
		}
	}()

	payload := make([]byte, 62<<20)
	var conns []net.Conn
	var wg sync.WaitGroup
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		wg.Go(func() {
			c.SetWriteDeadline(time.Now().Add(time.Minute)) // a hang guard only
			if zmtp.Handshake(c) == nil {
				c.Write(zmtp.LongFrame(63 << 20))
				c.Write(payload)
			}
		})
	}
	// Every accepted peer's write has returned: its bytes are in serve or
	// in the kernel's socket buffers (a few MiB a peer may still be unread,
	// which the bound leaves room for).
	wg.Wait()
	peak := peakKiB(t, serve.Process.Pid)
	serve.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
		exited = true
	case <-time.After(time.Minute):
		t.Fatal("serve did not exit within a minute of SIGINT with peers still connected")
	}
	const bound = 6 * 64 << 10 // KiB
	if peak > bound {
		t.Fatalf("serve peaked at %d MiB with 20 peers and --max-peers 4 (bound %d MiB)", peak>>10, bound>>10)
	}
	t.Logf("serve peaked at %d MiB with 20 peers flooding and --max-peers 4", peak>>10)
}
