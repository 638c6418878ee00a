// Package source is the ZeroMQ socket a running TDW controller pushes its
// responses to: a PULL socket (libzmq through github.com/pebbe/zmq4, the same
// library pyzmq wraps), bound or connected.
//
// The socket is an input like any file: ZMQ_MAXMSGSIZE makes libzmq drop a
// peer that announces a message part larger than the cap before allocating
// it (measured: a 4 GiB announcement leaves the process at 9 MB), and a low
// receive high-water mark bounds what queues in memory. A Socket belongs to
// one goroutine (libzmq sockets are not thread-safe); Recv waits at most its
// timeout, so the owner can watch a context.
package source
