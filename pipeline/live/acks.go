package live

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tdwstitch/tdwstitch/stages/source"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// ackReq is a controller's question, and where its answer goes.
type ackReq struct {
	run   string
	reply chan ackAnswer
}

// ackAnswer tells a controller what serve received of its run.
type ackAnswer struct {
	Run    string `json:"run"`
	Folder string `json:"folder,omitempty"` // under OUT: the run's name, or name-2... when taken
	Frames int    `json:"frames"`
	Ended  string `json:"ended"`
	Error  string `json:"error,omitempty"`
}

// answerAcks owns the acknowledgement socket: each request {"run": NAME}
// is answered once the run has ended (its end message was spooled).
func answerAcks(ctx context.Context, acks *source.Acks, reqs chan<- ackReq) {
	defer acks.Close()
	type waiting struct {
		req *source.Request
		ack ackReq
	}
	var pending []waiting
	reply := func(req *source.Request, a ackAnswer) {
		b, _ := json.Marshal(a)
		acks.Reply(req, b)
	}
	for ctx.Err() == nil {
		// Answer every request whose run has ended, in any order: one for a
		// run that never comes blocks no other.
		pending = slices.DeleteFunc(pending, func(w waiting) bool {
			select {
			case a := <-w.ack.reply:
				reply(w.req, a)
				return true
			default:
				return false
			}
		})
		wait := 200 * time.Millisecond
		if len(pending) > 0 {
			wait = 20 * time.Millisecond
		}
		req, err := acks.Recv(wait)
		if err != nil || req == nil {
			continue
		}
		var q struct {
			Run string `json:"run"`
		}
		switch {
		case json.Unmarshal(req.Body, &q) != nil || wire.SafeName(q.Run) != nil:
			reply(req, ackAnswer{Error: `bad request: send {"run": NAME}`})
			continue
		case len(pending) >= maxPendingAcks:
			reply(req, ackAnswer{Run: q.Run, Error: fmt.Sprintf("%d acknowledgements are already waiting: ask again later", maxPendingAcks)})
			continue
		}
		w := waiting{req: req, ack: ackReq{run: q.Run, reply: make(chan ackAnswer, 1)}}
		select {
		case reqs <- w.ack:
			pending = append(pending, w)
		case <-ctx.Done():
			return
		}
	}
}

// maxPendingAcks bounds the acknowledgement requests waiting for their runs
// (a flood of requests for runs that never come costs no more).
const maxPendingAcks = 1024
