package live

import (
	"context"
	"sync/atomic"
)

// queue carries received messages from the socket to the spool writer,
// bounded by their bytes rather than their count. The receiver must keep
// taking messages: once libzmq's own queue (--hwm) is full it stops reading
// the connection, and if the controller then exits, what is still in the
// connection is dropped (measured with a plain pyzmq PULL reading 2 ms per
// message: 27 of 1,502 messages lost at RCVHWM 64, none at an unlimited
// one). A byte budget lets the receiver read on through a slow disk's
// stalls and a full spool; only past it does the sender block, and then a
// controller that exits at once can lose its last messages (docs/live.md).
type queue struct {
	ch      chan inbound
	max     int64
	used    atomic.Int64
	drained chan struct{}
	waits   atomic.Int64 // times the receiver waited for room
	onWait  func()       // called as the receiver begins to wait
}

// queueSlots bounds the message count too, for floods of tiny messages.
const queueSlots = 1 << 16

func newQueue(maxBytes int64, onWait func()) *queue {
	return &queue{ch: make(chan inbound, queueSlots), max: maxBytes, drained: make(chan struct{}, 1), onWait: onWait}
}

// put enqueues in, waiting while the queue's bytes are at the cap (one
// message always fits, whatever its size). It reports false when ctx ended.
func (q *queue) put(ctx context.Context, in inbound) bool {
	for _, p := range in.parts {
		in.size += int64(len(p))
	}
	if q.full(in.size) {
		q.waits.Add(1)
		q.onWait()
		for q.full(in.size) {
			select {
			case <-q.drained:
			case <-ctx.Done():
				return false
			}
		}
	}
	q.used.Add(in.size)
	select {
	case q.ch <- in:
		return true
	case <-ctx.Done():
		return false
	}
}

func (q *queue) full(size int64) bool {
	used := q.used.Load()
	return used > 0 && used+size > q.max
}

// done returns a handled message's bytes to the budget.
func (q *queue) done(in inbound) {
	q.used.Add(-in.size)
	select {
	case q.drained <- struct{}{}:
	default:
	}
}
