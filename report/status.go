package report

// Schema is bumped only when a field changes meaning or goes away; new
// fields may be added within one schema version.
const Schema = 1

// The files of the contract.
const (
	// RunFile is a run's report, in its output folder.
	RunFile = "tdwstitch-report.json"
	// BatchFile is a batch's summary, in the output root.
	BatchFile = "tdwstitch-batch.json"
	// ServeFile is a live run's ingest report, beside its RunFile.
	ServeFile = "tdwstitch-serve.json"
)

// Tool names the writer in every report.
const Tool = "tdwstitch"

// Status is the outcome of a run or a stream.
type Status string

const (
	OK Status = "ok"
	// Degraded: written and verified, but frames were missing or bad (held
	// or dropped; frames superseded within one slot by a controller faster
	// than --fps are normal, not damage), or a live run lost frames its
	// controller sent.
	Degraded Status = "degraded"
	Failed   Status = "failed"
	// Skipped: a run whose every output was up to date, so nothing was done.
	Skipped Status = "skipped"
	// Running: being encoded; a report left in this state on disk means the
	// run was interrupted (its finished streams count).
	Running Status = "running"
	// Planned: in a probe or a dry run, what encode would do.
	Planned Status = "planned"
)

// Written reports whether a stream or run with this status has its videos
// on disk, whole and verified (damaged or not).
func (s Status) Written() bool { return s == OK || s == Degraded }

// TimingSource is where a stream's frame times came from.
type TimingSource string

const (
	// TimingSidecar: the controller's timing.csv (or, live, receive times).
	TimingSidecar TimingSource = "sidecar"
	// TimingMtime: the frame files' modification times, an estimate.
	TimingMtime TimingSource = "mtime"
	// TimingFitAudio: frames spread evenly over the audio (--fit audio).
	TimingFitAudio TimingSource = "fit-audio"
	// TimingNone: frames 1/fps apart.
	TimingNone TimingSource = "none"
)

// EndReason says how a live run ended.
type EndReason string

const (
	// EndMessage: the controller's end message.
	EndMessage EndReason = "end"
	// EndNextBegin: a begin message without an end first.
	EndNextBegin EndReason = "next-begin"
	// EndIdle: no message for --idle (the controller vanished).
	EndIdle EndReason = "idle"
	// EndShutdown: serve was stopped.
	EndShutdown EndReason = "shutdown"
	// EndRecovered: a later serve, or serve --recover, finished it.
	EndRecovered EndReason = "recovered"
)
