package pipeline

import (
	"context"
	"sync/atomic"
)

// queue carries received messages from the socket to the spool writer,
// bounded by their bytes rather than their count. When our side stops
// taking messages, libzmq stops reading the connection, and a controller
// that then sends its last frames and exits can lose them in the kernel's
// buffers (measured here: the last frame and the end message lost in 1 run
// of 4, 4,000 frames into a 256-message queue on a slow disk). A byte budget
// lets the receiver read on through a slow disk's stalls.
type queue struct {
	ch      chan inbound
	max     int64
	used    atomic.Int64
	drained chan struct{}
	waits   atomic.Int64 // times the receiver waited for room
}

// queueSlots bounds the message count too, for floods of tiny messages.
const queueSlots = 1 << 16

func newQueue(maxBytes int64) *queue {
	return &queue{ch: make(chan inbound, queueSlots), max: maxBytes, drained: make(chan struct{}, 1)}
}

// put enqueues in, waiting while the queue's bytes are at the cap (one
// message always fits, whatever its size). It reports false when ctx ended.
func (q *queue) put(ctx context.Context, in inbound) bool {
	for _, p := range in.parts {
		in.size += int64(len(p))
	}
	if q.full(in.size) {
		q.waits.Add(1)
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
