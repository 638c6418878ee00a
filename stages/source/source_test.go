package source

import (
	"errors"
	"net"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/zmtp"
)

func freeAddr(t testing.TB) (string, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String(), l.Addr().String()
}

func peakRSS(t *testing.T) int {
	b, _ := os.ReadFile("/proc/self/status")
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no VmHWM in /proc/self/status")
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"tcp://127.0.0.1:5556": true, "tcp://localhost:1": true, "tcp://[::1]:5556": true,
		"ipc:///tmp/x": true, "tcp://0.0.0.0:5556": false, "tcp://*:5556": false, "tcp://10.0.0.2:5556": false,
	} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v", addr, got)
		}
	}
}

// TestCloseWhilePeerPushes: a peer keeps pushing while nothing receives, so
// the relay to the socket is blocked writing; Close still returns (serve's
// shutdown on a signal must not hang on a busy controller).
func TestCloseWhilePeerPushes(t *testing.T) {
	zaddr, addr := freeAddr(t)
	s, err := Open(Options{Listen: zaddr, MaxPart: 2 << 20, HWM: 1, MaxPeers: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := zmtp.Handshake(c); err != nil {
		t.Fatal(err)
	}
	frame := append(zmtp.LongFrame(1<<20), make([]byte, 1<<20)...)
	for blocked := false; !blocked; {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Write(frame)
		var ne net.Error
		blocked = errors.As(err, &ne) && ne.Timeout() // everything between is full
		if err != nil && !blocked {
			t.Fatalf("push: %v", err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung while the peer was pushing")
	}
}
