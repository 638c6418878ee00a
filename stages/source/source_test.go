package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

func freeAddr(t *testing.T) (string, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String(), l.Addr().String()
}

func peakRSS(t *testing.T) int { return statusKB(t, "VmHWM") }

// statusKB is a memory figure of this process from /proc/self/status, in KiB.
func statusKB(t *testing.T, field string) int {
	b, _ := os.ReadFile("/proc/self/status")
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in /proc/self/status", field)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb
}

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
	if err := rawHandshake(c); err != nil {
		t.Fatal(err)
	}
	c.Write(binary.BigEndian.AppendUint64([]byte{0x02}, 4<<30)) // long frame, 4 GiB
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

	py := exec.Command("/usr/bin/python3", "-c", `
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

// rawHandshake speaks just enough ZMTP 3.0 on c: a NULL greeting, then
// READY as a PUSH socket.
func rawHandshake(c net.Conn) error {
	greeting := make([]byte, 64)
	greeting[0], greeting[9], greeting[10] = 0xFF, 0x7F, 3
	copy(greeting[12:], "NULL")
	c.Write(greeting)
	if _, err := io.ReadFull(c, make([]byte, 64)); err != nil {
		return fmt.Errorf("no greeting back: %w", err)
	}
	body := append([]byte{5}, "READY"...)
	body = append(append(body, 11), "Socket-Type"...)
	body = append(binary.BigEndian.AppendUint32(body, 4), "PUSH"...)
	_, err := c.Write(append([]byte{0x04, byte(len(body))}, body...))
	return err
}

// TestPeerCap: 20 raw peers connect at once, each announcing a 63 MiB part
// and sending 62 MiB of it, never the rest, and staying connected (the
// issue's flood held 1.3 GB in serve). With MaxPeers 4, connections past
// the fourth are refused in their handshake: refusals are counted, and the
// memory held once they are dropped is less than (4+2) x 64 MiB, whatever
// the number of peers. (libzmq reads what a peer pipelines before the
// handler's answer arrives, so the momentary peak is not bounded this way:
// see peers.go.) A well-behaved peer gets in once the others have gone.
func TestPeerCap(t *testing.T) {
	zaddr, addr := freeAddr(t)
	s, err := Open(Options{Listen: zaddr, MaxPart: 64 << 20, HWM: 16, MaxPeers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := make([]byte, 62<<20)
	for i := range payload {
		payload[i] = byte(i) // resident from the start, counted in before
	}
	before := statusKB(t, "VmRSS")
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
			if rawHandshake(c) == nil {
				c.Write(binary.BigEndian.AppendUint64([]byte{0x02}, 63<<20))
				c.Write(payload)
			}
		})
	}
	wg.Wait()
	for i := 0; i < 100 && s.Refused() < 16; i++ {
		s.Recv(100 * time.Millisecond) // the refusals are answered meanwhile
	}
	if s.Refused() < 16 {
		t.Fatalf("%d connections refused, want 16 of 20 over the cap of 4", s.Refused())
	}
	// The refused connections' buffers are freed as they are dropped.
	bound := 6 * 64 << 10
	held := statusKB(t, "VmRSS") - before
	for i := 0; i < 100 && held > bound; i++ {
		s.Recv(100 * time.Millisecond)
		held = statusKB(t, "VmRSS") - before
	}
	if held > bound {
		t.Fatalf("%d MiB held with 20 peers and a cap of 4 (bound %d MiB)", held>>10, bound>>10)
	}
	for _, c := range conns {
		c.Close()
	}
	py := exec.Command("/usr/bin/python3", "-c", `
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
	py := exec.Command("/usr/bin/python3", "-c", `
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
