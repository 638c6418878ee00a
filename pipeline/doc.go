// Package pipeline turns one TDW run on disk into verified videos and a report:
// it plans a stream per (avatar, pass), reads and validates frames with bounded
// concurrency, feeds them in frame order to ffmpeg, verifies each output with
// ffprobe and renames it into place only when whole.
//
// Encode and Probe own every goroutine they start and return only when all have
// stopped. At most Options.Jobs streams run at once, and each holds at most
// Options.Readers frames in memory, so memory stays bounded whatever the run's
// length. Options.OnEvent is called from several goroutines at once and must
// not block for long: it is on the frame path.
package pipeline
