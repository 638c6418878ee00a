package source

import (
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// Acks is the optional REP socket a controller asks, after its end message,
// whether serve has everything: PUSH/PULL has no acknowledgement, and libzmq
// drops what is still in the connection when a sender exits while the
// receiver is not reading (its queue full). A controller that waits for
// the answer before exiting loses nothing.
type Acks struct {
	s      *zmq.Socket
	poller *zmq.Poller
}

// OpenAcks binds the REP socket at addr.
func OpenAcks(addr string) (*Acks, error) {
	s, err := zmq.NewSocket(zmq.REP)
	if err != nil {
		return nil, fmt.Errorf("cannot create a ZeroMQ socket: %w", err)
	}
	if err := s.SetMaxmsgsize(64 << 10); err != nil { // a request is a run name
		s.Close()
		return nil, err
	}
	s.SetLinger(0)
	if err := s.Bind(addr); err != nil {
		s.Close()
		return nil, fmt.Errorf("cannot listen on %s for acknowledgements: %w (check the --ack address)", addr, err)
	}
	p := zmq.NewPoller()
	p.Add(s, zmq.POLLIN)
	return &Acks{s: s, poller: p}, nil
}

// Recv returns the next request's first part, or nil when none arrived
// within timeout. Every request must be answered with Reply before the next.
func (a *Acks) Recv(timeout time.Duration) ([]byte, error) {
	ready, err := a.poller.Poll(timeout)
	if err != nil || len(ready) == 0 {
		return nil, err
	}
	parts, err := a.s.RecvMessageBytes(zmq.DONTWAIT)
	if err != nil || len(parts) == 0 {
		return nil, err
	}
	return parts[0], nil
}

// Reply answers the current request.
func (a *Acks) Reply(b []byte) error {
	_, err := a.s.SendBytes(b, 0)
	return err
}

// Close closes the socket.
func (a *Acks) Close() error { return a.s.Close() }
