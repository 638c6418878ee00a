package report

import "time"

// Serve is one live run's ingest record, ServeFile in its output folder.
type Serve struct {
	Run string `json:"run"`
	// Folder is the run's folder under OUT: its name, or name-2, name-3...
	// when a run of that name is already there.
	Folder string    `json:"folder"`
	Ended  EndReason `json:"ended"`
	// Interrupted: the run's end message never came (any ended but "end");
	// its videos hold every frame received up to then.
	Interrupted bool `json:"interrupted"`
	Messages    int  `json:"messages"`
	Frames      int  `json:"frames"`
	// ReceiveSeconds is the time from the first frame received to the last;
	// IngestFPS is frames over it: receive + check + spool, the encoder
	// running afterwards.
	ReceiveSeconds float64 `json:"receive_seconds"`
	IngestFPS      float64 `json:"ingest_fps"`
	// Framerate is the last Framerate output data the controller sent, if any.
	Framerate *Framerate     `json:"framerate"`
	Rejected  map[string]int `json:"rejected"` // reason (a fixed set) -> count
	// Examples holds the first rejected message's detail for each reason.
	Examples map[string]string `json:"rejected_examples"`
	// Chunks is how many parts of the run were encoded while it was still
	// arriving (0: encoded whole at its end).
	Chunks int `json:"chunks"`
	// SpoolPeakBytes is the most spooled, not yet encoded bytes (all runs)
	// while this run was received.
	SpoolPeakBytes int64        `json:"spool_peak_bytes"`
	Backpressure   Backpressure `json:"backpressure"`
	// FinishSeconds is how long after the run ended (its end message, or
	// what ended it) its videos and reports were final: how far encoding
	// was behind capture. Absent for a run that failed (or was cut by a
	// signal) and for one recovered after a restart.
	FinishSeconds float64 `json:"finish_seconds,omitempty"`
	// EndedAt is when the run ended, for FinishSeconds.
	EndedAt time.Time `json:"-"`
	Report  string    `json:"report"` // the run's encode report
	Status  Status    `json:"status"`
	Error   string    `json:"error,omitempty"`
}

// Backpressure is how often, and how long, receiving paused for a full spool.
type Backpressure struct {
	// QueueWaits counts the times the receiver waited because the messages
	// in memory reached --queue-mb (the spool writer fell behind).
	QueueWaits int64 `json:"queue_waits"`
	// Waits and Seconds: the spool at --spool-max-mb, waiting for the encoder.
	Waits   int     `json:"waits"`
	Seconds float64 `json:"seconds"`
	// OverCap counts frames spooled past the cap because no encoder was at
	// work that would free space (the cap is then exceeded, never deadlocked).
	OverCap int `json:"over_cap"`
}

// Framerate is TDW's Framerate output data as the controller sent it.
type Framerate struct {
	Target  int     `json:"target_framerate"`
	FrameDt float64 `json:"frame_dt"`
	Physics float64 `json:"physics_time_step"`
}

// RejectedTotal is how many messages or parts the run's ingest rejected.
func (s *Serve) RejectedTotal() (n int) {
	for _, c := range s.Rejected {
		n += c
	}
	return n
}
