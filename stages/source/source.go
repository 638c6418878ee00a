package source

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// Options say where to listen and what to accept.
type Options struct {
	// Listen binds the PULL socket here (tcp://HOST:PORT or ipc://PATH);
	// Connect connects it to a binding PUSH instead. Exactly one is set.
	Listen, Connect string
	// MaxPart is the largest message part accepted, in bytes; a peer that
	// announces more is disconnected before anything is allocated.
	MaxPart int64
	// MaxMessage caps a whole message's bytes and MaxParts its part count
	// (0: no cap). libzmq has every part of a message once the first
	// arrives, each at most MaxPart; an over-cap message's parts are
	// dropped as they are read, never gathered, and Recv reports it.
	MaxMessage int64
	MaxParts   int
	// HWM is how many messages libzmq may queue in memory.
	HWM int
	// MaxPeers caps the connections to a listening socket (see gate.go);
	// 0: no cap. Memory for parts not yet whole is at most MaxPeers x MaxPart.
	MaxPeers int
}

// Socket is an open PULL socket.
type Socket struct {
	o      Options
	s      *zmq.Socket
	poller *zmq.Poller
	gate   *gate // nil: no peer cap
}

// Open creates the socket and binds or connects it.
func Open(o Options) (*Socket, error) {
	if (o.Listen == "") == (o.Connect == "") {
		return nil, errors.New("give one address: one to listen on, or one to connect to")
	}
	s, err := zmq.NewSocket(zmq.PULL)
	if err != nil {
		return nil, fmt.Errorf("cannot create a ZeroMQ socket: %w", err)
	}
	for _, set := range []func() error{
		func() error { return s.SetMaxmsgsize(o.MaxPart) },
		func() error { return s.SetRcvhwm(o.HWM) },
		func() error { return s.SetLinger(0) },
	} {
		if err := set(); err != nil {
			s.Close()
			return nil, fmt.Errorf("cannot set up the ZeroMQ socket: %w", err)
		}
	}
	var g *gate
	if o.Listen != "" && o.MaxPeers > 0 {
		if g, err = openGate(o.Listen, o.MaxPeers); err != nil {
			s.Close()
			return nil, fmt.Errorf("cannot listen on %s: %w (check the address; tcp://127.0.0.1:5556 or ipc:///tmp/tdw.sock)", o.Listen, err)
		}
		if err = s.Bind(g.inner); err != nil {
			g.close()
			s.Close()
			return nil, fmt.Errorf("cannot bind the socket's private endpoint %s: %w", g.inner, err)
		}
	} else if o.Listen != "" {
		err = s.Bind(o.Listen)
	} else {
		err = s.Connect(o.Connect)
	}
	if err != nil {
		s.Close()
		if g != nil {
			g.close()
		}
		return nil, fmt.Errorf("cannot %s %s: %w (check the address; tcp://127.0.0.1:5556 or ipc:///tmp/tdw.sock)", verb(o), o.Listen+o.Connect, err)
	}
	p := zmq.NewPoller()
	p.Add(s, zmq.POLLIN)
	if g != nil {
		g.serve()
	}
	return &Socket{o: o, s: s, poller: p, gate: g}, nil
}

func verb(o Options) string {
	if o.Listen != "" {
		return "listen on"
	}
	return "connect to"
}

// TooBigError is a message over the MaxMessage or MaxParts cap: it was
// read and dropped, and the socket goes on.
type TooBigError struct {
	Parts int
	Bytes int64
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("message of %d parts and %d bytes is over the cap", e.Parts, e.Bytes)
}

// Recv returns the next multipart message, or nil when none arrived within
// timeout. A message over the caps is drained and reported as *TooBigError.
func (s *Socket) Recv(timeout time.Duration) ([][]byte, error) {
	ready, err := s.poller.Poll(timeout)
	if err != nil || len(ready) == 0 {
		return nil, err
	}
	var parts [][]byte
	var total int64
	n, over := 0, false
	for {
		b, err := s.s.RecvBytes(zmq.DONTWAIT)
		if err != nil {
			return nil, err
		}
		n++
		total += int64(len(b))
		if !over && ((s.o.MaxParts > 0 && n > s.o.MaxParts) || (s.o.MaxMessage > 0 && total > s.o.MaxMessage)) {
			over, parts = true, nil
		}
		if !over {
			parts = append(parts, b)
		}
		if more, err := s.s.GetRcvmore(); err != nil || !more {
			break
		}
	}
	if over {
		return nil, &TooBigError{Parts: n, Bytes: total}
	}
	return parts, nil
}

// Refused counts the connections closed for the peer cap.
func (s *Socket) Refused() int64 {
	if s.gate == nil {
		return 0
	}
	return s.gate.refused.Load()
}

// Close stops accepting and closes the socket at once (pending messages
// are dropped).
func (s *Socket) Close() error {
	if s.gate != nil {
		s.gate.close()
	}
	return s.s.Close()
}

// Loopback reports whether a tcp:// address binds only the loopback
// interface (ipc:// is local by nature).
func Loopback(addr string) bool {
	rest, ok := strings.CutPrefix(addr, "tcp://")
	if !ok {
		return strings.HasPrefix(addr, "ipc://") || strings.HasPrefix(addr, "inproc://")
	}
	host, _, err := net.SplitHostPort(rest)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
