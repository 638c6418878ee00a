package source

import (
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// Acks is the optional ROUTER socket a controller's REQ asks, after its end
// message, whether serve has everything: PUSH/PULL has no acknowledgement,
// and libzmq drops what is still in the connection when a sender exits
// while the receiver is not reading (its queue full). A controller that
// waits for the answer before exiting loses nothing. ROUTER, not REP: each
// request is answered when its run has ended, in any order, so one request
// for a run that never comes blocks no other. Only one goroutine may use it.
type Acks struct {
	s      *zmq.Socket
	poller *zmq.Poller
}

// Request is one controller's question; Reply answers it.
type Request struct {
	envelope [][]byte // the peer's identity and the REQ delimiter
	Body     []byte
}

// OpenAcks binds the ROUTER socket at addr.
func OpenAcks(addr string) (*Acks, error) {
	s, err := zmq.NewSocket(zmq.ROUTER)
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
		return nil, fmt.Errorf("cannot listen on %s for acknowledgements: %w", addr, err)
	}
	p := zmq.NewPoller()
	p.Add(s, zmq.POLLIN)
	return &Acks{s: s, poller: p}, nil
}

// Recv returns the next request, or nil when none arrived within timeout.
func (a *Acks) Recv(timeout time.Duration) (*Request, error) {
	ready, err := a.poller.Poll(timeout)
	if err != nil || len(ready) == 0 {
		return nil, err
	}
	parts, err := a.s.RecvMessageBytes(zmq.DONTWAIT)
	if err != nil || len(parts) < 2 {
		return nil, err
	}
	// [identity, "", body] from a REQ peer: the body is the last part.
	return &Request{envelope: parts[:len(parts)-1], Body: parts[len(parts)-1]}, nil
}

// Reply answers req; requests may be answered in any order.
func (a *Acks) Reply(req *Request, b []byte) error {
	msg := make([]any, 0, len(req.envelope)+1)
	for _, p := range req.envelope {
		msg = append(msg, p)
	}
	_, err := a.s.SendMessage(append(msg, b)...)
	return err
}

// Close closes the socket.
func (a *Acks) Close() error { return a.s.Close() }
