//go:build full

package source

import (
	"errors"
	"io"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/zmtp"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
)

// TestHugeAnnouncementIsRefused: a raw TCP peer speaking just enough ZMTP 3.0
// (NULL greeting, READY as PUSH) announces a 4 GiB frame. The peer must be
// dropped without the memory being allocated, and the socket must go on
// receiving from a well-behaved pyzmq peer.
func TestHugeAnnouncementIsRefused(t *testing.T) {
	zaddr, addr := freeAddr(t)
	s, err := Open(Options{Listen: zaddr, MaxPart: 1 << 20, HWM: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := peakRSS(t)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := zmtp.Handshake(c); err != nil {
		t.Fatal(err)
	}
	c.Write(zmtp.LongFrame(4 << 30))
	c.Write(make([]byte, 4096))

	// libzmq answers by closing the connection: our read sees EOF or a reset.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the peer announcing 4 GiB was not disconnected")
	}
	if grew := peakRSS(t) - before; grew > 64<<10 {
		t.Fatalf("peak RSS grew by %d MiB", grew>>10)
	}

	py := exec.Command(testkit.Python(t), "-c", `
import sys, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PUSH); s.connect(sys.argv[1])
s.send_multipart([b"hello", b"tdw"]); s.close(linger=5000); ctx.term()`, zaddr)
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("pyzmq sender: %v\n%s", err, out)
	}
	var parts [][]byte
	for i := 0; i < 50 && parts == nil; i++ { // Recv waits up to 200 ms each: 10 s in all
		if parts, err = s.Recv(200 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if len(parts) != 2 || string(parts[0]) != "hello" || string(parts[1]) != "tdw" {
		t.Fatalf("after the hostile peer, received %q", parts)
	}
}

// TestPeerCap: 20 raw peers connect at once, each announcing a 63 MiB part
// and sending 62 MiB of it, never the rest, and staying connected. With
// MaxPeers 4, exactly 4 are let in and 16 closed at once, unread; a
// well-behaved peer gets in once the others have gone. (The memory this
// bounds is measured on the serve binary, in cmd/tdwstitch's
// TestServePeerFloodMemory, outside the race detector.)
func TestPeerCap(t *testing.T) {
	zaddr, addr := freeAddr(t)
	s, err := Open(Options{Listen: zaddr, MaxPart: 64 << 20, HWM: 16, MaxPeers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := make([]byte, 62<<20)
	var conns []net.Conn
	var wg sync.WaitGroup
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Go(func() {
			c.SetWriteDeadline(time.Now().Add(time.Minute)) // a hang guard only
			if zmtp.Handshake(c) == nil {
				c.Write(zmtp.LongFrame(63 << 20))
				c.Write(payload)
			}
		})
	}
	wg.Wait()
	if s.Refused() != 16 {
		t.Fatalf("%d connections refused, want 16 of 20 over the cap of 4", s.Refused())
	}
	for _, c := range conns {
		c.Close()
	}
	py := exec.Command(testkit.Python(t), "-c", `
import sys, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PUSH); s.connect(sys.argv[1])
s.send_multipart([b"after", b"the flood"]); s.close(linger=10000); ctx.term()`, zaddr)
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("pyzmq sender: %v\n%s", err, out)
	}
	var parts [][]byte
	for i := 0; i < 100 && parts == nil; i++ {
		if parts, err = s.Recv(100 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if len(parts) != 2 || string(parts[0]) != "after" {
		t.Fatalf("after the flood, received %q", parts)
	}
}

// TestMessageCaps: a pyzmq peer sends a message over the byte cap, one over
// the part cap, then a good one. The first two come back as *TooBigError
// (counted, not gathered) and the good one still arrives whole, in order.
func TestMessageCaps(t *testing.T) {
	zaddr, _ := freeAddr(t)
	s, err := Open(Options{Listen: zaddr, MaxPart: 1 << 20, MaxMessage: 1 << 20, MaxParts: 8, HWM: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	py := exec.Command(testkit.Python(t), "-c", `
import sys, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PUSH); s.connect(sys.argv[1])
s.send_multipart([b"x" * 400_000] * 3)   # 1.2 MB in parts of 400 kB: over the message cap only
s.send_multipart([b"p"] * 1000)          # 1,000 parts: over the part cap
s.send_multipart([b"good", b"tdw"])
s.close(linger=5000); ctx.term()`, zaddr)
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("pyzmq sender: %v\n%s", err, out)
	}
	want := []string{"message of 3 parts and 1200000 bytes is over the cap", "message of 1000 parts and 1000 bytes is over the cap", "good"}
	for i := 0; i < 50 && len(want) > 0; i++ { // Recv waits up to 200 ms each: 10 s in all
		parts, err := s.Recv(200 * time.Millisecond)
		var got string
		var tb *TooBigError
		switch {
		case errors.As(err, &tb):
			got = err.Error()
		case err != nil:
			t.Fatal(err)
		case parts == nil:
			continue
		default:
			got = string(parts[0])
			if len(parts) != 2 || string(parts[1]) != "tdw" {
				t.Fatalf("good message came as %q", parts)
			}
		}
		if got != want[0] {
			t.Fatalf("received %q, want %q", got, want[0])
		}
		want = want[1:]
	}
	if len(want) > 0 {
		t.Fatalf("never received %q", want)
	}
}
