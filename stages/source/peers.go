package source

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// A listening socket's memory is bounded per connection, not in total:
// libzmq reads each peer's message part into a buffer of its own (up to
// MaxPart) until the part is whole, so 50 peers each sending most of a
// 63 MiB part held 3.2 GB. peerGuard caps the connections instead, with
// ZeroMQ's own authentication hook (ZAP, RFC 27): each new connection asks
// the handler during its handshake, and one over MaxPeers is refused before
// it can send a byte of a message. The bound is MaxPeers x MaxPart for
// parts in flight, plus the queues (HWM, and serve's --queue-mb).

// zapEndpoint is where libzmq looks for the ZAP handler of its context.
const zapEndpoint = "inproc://zeromq.zap.01"

// zapDomain marks the frame socket's connections for the handler (other
// sockets of the process, e.g. serve's acks, are not counted).
const zapDomain = "tdwstitch-frames"

var monitors atomic.Int64 // names each guard's monitor endpoint

// peerGuard counts the frame socket's connections (from its monitor
// events) and answers the ZAP requests. It owns its two sockets and the
// goroutine that serves them; close stops it.
type peerGuard struct {
	max     int
	zap     *zmq.Socket // REP, bound at zapEndpoint
	mon     *zmq.Socket // PAIR, receiving the frame socket's events
	peers   int
	refused atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
}

// guardPeers installs the guard on s, before s binds.
func guardPeers(s *zmq.Socket, max int) (*peerGuard, error) {
	g := &peerGuard{max: max, stop: make(chan struct{})}
	var err error
	if g.zap, err = zmq.NewSocket(zmq.REP); err != nil {
		return nil, err
	}
	if err := g.zap.Bind(zapEndpoint); err != nil {
		g.zap.Close()
		return nil, fmt.Errorf("cannot install the peer limit (another serve in this process?): %w", err)
	}
	addr := fmt.Sprintf("inproc://tdwstitch-peers-%d", monitors.Add(1))
	err = s.SetZapDomain(zapDomain)
	if err == nil {
		err = s.Monitor(addr, zmq.EVENT_ACCEPTED|zmq.EVENT_DISCONNECTED)
	}
	if err == nil {
		if g.mon, err = zmq.NewSocket(zmq.PAIR); err == nil {
			err = g.mon.Connect(addr)
		}
	}
	if err != nil {
		g.zap.Close()
		if g.mon != nil {
			g.mon.Close()
		}
		return nil, fmt.Errorf("cannot install the peer limit: %w", err)
	}
	g.done.Go(g.serve)
	return g, nil
}

func (g *peerGuard) serve() {
	defer g.zap.Close()
	defer g.mon.Close()
	poller := zmq.NewPoller()
	poller.Add(g.mon, zmq.POLLIN)
	poller.Add(g.zap, zmq.POLLIN)
	for {
		select {
		case <-g.stop:
			return
		default:
		}
		if _, err := poller.Poll(100 * time.Millisecond); err != nil {
			continue
		}
		g.count()
		for {
			req, err := g.zap.RecvMessage(zmq.DONTWAIT)
			if err != nil {
				break
			}
			// A connection's ACCEPTED event is queued before its handshake
			// asks: counting again now includes it.
			g.count()
			g.zap.SendMessage(g.answer(req))
		}
	}
}

// count takes in the monitor's events so far: connections accepted, and
// gone.
func (g *peerGuard) count() {
	for {
		ev, _, _, err := g.mon.RecvEvent(zmq.DONTWAIT)
		if err != nil {
			return
		}
		switch ev {
		case zmq.EVENT_ACCEPTED:
			g.peers++
		case zmq.EVENT_DISCONNECTED:
			g.peers--
		}
	}
}

// answer is the ZAP reply to req: version, request id, domain, address,
// identity, mechanism, credentials... -> version, request id, status
// code, status text, user id, metadata.
func (g *peerGuard) answer(req []string) []string {
	if len(req) < 3 || req[0] != "1.0" {
		return []string{"1.0", "", "500", "bad ZAP request", "", ""}
	}
	if req[2] == zapDomain && g.peers > g.max {
		g.refused.Add(1)
		return []string{"1.0", req[1], "400", fmt.Sprintf("at most %d peers", g.max), "", ""}
	}
	return []string{"1.0", req[1], "200", "OK", "", ""}
}

func (g *peerGuard) close() {
	close(g.stop)
	g.done.Wait()
}
