// Package pipeline turns one TDW run on disk into verified videos and a report.
// It is the planner: it finds the run's streams (one per avatar and pass),
// keeps those already up to date, cuts each to its evidence (pipeline/frames),
// resolves the audio and capture clock (pipeline/place), and hands one job per
// stream to pipeline/video, which encodes, verifies and publishes it; then it
// settles the run's status and writes its report.
//
// Encode and Probe own every goroutine they start and return only when all have
// stopped. At most Options.Jobs streams run at once (by default a run of
// several streams runs up to one per CPU: see Options.Jobs), and each holds
// at most Options.Readers frames in memory, so memory stays bounded whatever
// the run's length. Options.OnEvent is called from several goroutines at once and must
// not block for long: it is on the frame path.
package pipeline
