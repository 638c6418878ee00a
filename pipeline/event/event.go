// Package event is the progress the library reports as it works: a stream
// started, a frame done, a bad frame, a run done. The library never
// prints; the command renders events (progress bars, log lines).
package event

import "github.com/tdwstitch/tdwstitch/report"

// Kind says what an Event reports.
type Kind int

const (
	// StreamStarted: a stream begins; Total is its number of frame files.
	StreamStarted Kind = iota
	// FrameDone: Done of Total frame files of Stream have been handled.
	FrameDone
	// BadFrame: Path (relative to the run) failed validation or was set
	// aside (Err says why).
	BadFrame
	// StreamDone: the stream ended with Status (and Err when it failed).
	StreamDone
	// BatchPlanned: a batch will go over Total runs.
	BatchPlanned
	// RunStarted: batch begins run Run.
	RunStarted
	// RunDone: batch finished run Run with Status (skipped: up to date).
	RunDone
	// Rejected: serve rejected a message or frame (Err says why).
	Rejected
	// ChunkDone: serve encoded chunk Done of live run Run while it arrives;
	// Path says which frames.
	ChunkDone
	// MissingFrames: the files Path names ("a/img_0020.jpg .. a/img_0022.jpg")
	// are missing from Stream.
	MissingFrames
	// Listening: serve is ready for frames at Path, its address (Output
	// "connect": it connected there instead of binding).
	Listening
	// Backpressure: serve stopped taking messages until there is room:
	// Path "spool" (the spool of Run is at its cap and an encoder is behind)
	// or "queue" (the received messages waiting for the spool writer are).
	// Each wait is counted in the serve report.
	Backpressure
	// Warning: the run goes on without something (Err says what; the run's
	// report keeps the text).
	Warning
	// RunPlanned: a run will encode Streams streams (its mosaic counts as
	// one) of Total frames in all, said before the first starts, so that a
	// display knows the whole job's length from the start.
	RunPlanned
)

// Event is one step of a job, for progress displays and logs. The library
// never prints; the command renders events.
type Event struct {
	Kind    Kind
	Run     string // in a batch, the run's path relative to the root
	Stream  string // stream ID, e.g. "a/img"
	Done    int
	Total   int
	Streams int // RunPlanned: how many streams
	Path    string
	Status  report.Status
	Output  string
	Err     error
}
