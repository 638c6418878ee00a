package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A listening socket's memory is bounded per connection, not in total:
// libzmq reads each peer's message part into a buffer of its own (up to
// MaxPart) until the part is whole, so 50 raw peers each sending most of a
// 63 MiB part held 3.2 GB. libzmq has no connection limit, and its
// authentication hook (ZAP) answers only after it has started reading what
// a peer pipelines, and keeps a refused connection open until the handshake
// interval ends. So the gate accepts connections itself, at most MaxPeers at
// a time (one more is closed before a byte of it is read), and relays each
// to the PULL socket bound on a private ipc endpoint. The bound is then
// MaxPeers x MaxPart for parts in flight, plus the queues.

// gate accepts on the public address and relays to inner.
type gate struct {
	ln      net.Listener
	dir     string // private folder of the inner endpoint
	inner   string // the PULL socket's endpoint, "ipc://DIR/frames"
	slots   chan struct{}
	refused atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// openGate listens on a ZeroMQ address (tcp://HOST:PORT, tcp://*:PORT or
// ipc://PATH) for at most max connections at a time.
func openGate(addr string, max int) (*gate, error) {
	network, where, err := netAddress(addr)
	if err != nil {
		return nil, err
	}
	if info, err := os.Lstat(where); network == "unix" && err == nil && info.Mode()&fs.ModeSocket != 0 {
		// A stale socket a killed serve left, as libzmq removes it (never
		// any other file a mistyped address names).
		os.Remove(where)
	}
	dir, err := os.MkdirTemp("", "tdwstitch-gate-")
	if err != nil {
		return nil, fmt.Errorf("cannot make the socket's private folder: %w", err)
	}
	ln, err := net.Listen(network, where)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if inner := filepath.Join(dir, "frames"); len(inner) > 100 {
		ln.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the socket's private endpoint %s is too long for a Unix socket: set TMPDIR to a shorter folder", inner)
	}
	g := &gate{ln: ln, dir: dir, inner: "ipc://" + filepath.Join(dir, "frames"), slots: make(chan struct{}, max), conns: map[net.Conn]bool{}}
	return g, nil
}

// netAddress turns a ZeroMQ address into Go's network and address.
func netAddress(addr string) (network, where string, err error) {
	if rest, ok := strings.CutPrefix(addr, "ipc://"); ok {
		return "unix", rest, nil
	}
	if rest, ok := strings.CutPrefix(addr, "tcp://"); ok {
		if port, ok := strings.CutPrefix(rest, "*:"); ok {
			// Every IPv4 interface, as libzmq binds "*" by default.
			return "tcp4", "0.0.0.0:" + port, nil
		}
		return "tcp", rest, nil
	}
	return "", "", fmt.Errorf("listen address %q: want tcp://HOST:PORT or ipc://PATH", addr)
}

// serve accepts until close; the gate owns the goroutines it starts.
func (g *gate) serve() {
	g.wg.Go(func() {
		for {
			c, err := g.ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				// Out of file descriptors, say: wait a moment, as
				// net/http does, rather than spin or stop listening.
				time.Sleep(50 * time.Millisecond)
				continue
			}
			select {
			case g.slots <- struct{}{}:
			default:
				g.refused.Add(1)
				c.Close() // over the cap: nothing of it is read
				continue
			}
			if !g.track(c, true) {
				c.Close()
				return
			}
			g.wg.Go(func() {
				defer func() { <-g.slots }()
				defer g.track(c, false)
				g.relay(c)
			})
		}
	})
}

// track adds or removes a connection to close at shutdown; false: closed.
func (g *gate) track(c net.Conn, add bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if add {
		if g.closed {
			return false
		}
		g.conns[c] = true
	} else {
		delete(g.conns, c)
	}
	return true
}

// relay copies c to the inner endpoint and back until either side ends.
func (g *gate) relay(c net.Conn) {
	defer c.Close()
	in, err := net.Dial("unix", strings.TrimPrefix(g.inner, "ipc://"))
	if err != nil {
		return
	}
	// Closed at shutdown too: a relay blocked writing to a socket that
	// stopped reading (its queue full) must not hold close up.
	if !g.track(in, true) {
		in.Close()
		return
	}
	defer g.track(in, false)
	defer in.Close()
	// Whichever direction ends first closes both, which ends the other.
	var both sync.WaitGroup
	both.Go(func() { io.Copy(in, c); c.Close(); in.Close() })
	both.Go(func() { io.Copy(c, in); c.Close(); in.Close() })
	both.Wait()
}

// close stops accepting, closes every relayed connection and waits.
func (g *gate) close() {
	g.ln.Close()
	g.mu.Lock()
	g.closed = true
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
	os.RemoveAll(g.dir)
}
