package source

import (
	"fmt"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// BenchmarkReceive measures what the peer cap's accept gate costs: one
// PUSH peer sends b.N messages over loopback TCP to a socket with the gate
// (MaxPeers 8, serve's default) and without it (MaxPeers 0), for a
// message the size of a 256x256 PNG and of a 1024x1024 JPEG.
//
//	go test -run '^$' -bench Receive -count 6 ./stages/source
func BenchmarkReceive(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		for _, peers := range []int{8, 0} {
			b.Run(fmt.Sprintf("size=%dKiB/max-peers=%d", size>>10, peers), func(b *testing.B) {
				benchReceive(b, size, peers)
			})
		}
	}
}

func benchReceive(b *testing.B, size, peers int) {
	zaddr, _ := freeAddr(b)
	s, err := Open(Options{Listen: zaddr, MaxPart: 4 << 20, HWM: 64, MaxPeers: peers})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	push, err := zmq.NewSocket(zmq.PUSH)
	if err != nil {
		b.Fatal(err)
	}
	defer push.Close()
	push.SetLinger(0)
	push.SetSndtimeo(10 * time.Second) // a sender left blocked ends: sockets are one goroutine's
	if err := push.Connect(zaddr); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, size)
	sent := make(chan error, 1)
	b.SetBytes(int64(size))
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := push.SendBytes(msg, 0); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := range b.N {
		parts, err := s.Recv(10 * time.Second)
		if err != nil || len(parts) != 1 || len(parts[0]) != size {
			serr := <-sent // the sender stops (send timeout) before push is closed
			b.Fatalf("message %d: %d parts, %v (sender: %v)", i, len(parts), err, serr)
		}
	}
	if err := <-sent; err != nil {
		b.Fatal(err)
	}
}
