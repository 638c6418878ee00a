// Package video makes one stream's video: Encode reads the stream's frames
// in order with bounded concurrency (pipeline/frames), writes each good
// frame into the output slots its placement gives (pipeline/place), holding
// the previous frame over missing and bad ones, through ffmpeg; Join makes
// a chunked live stream's video from its chunks without re-encoding. Either
// writes beside the final name, verifies and renames into place
// (pipeline/output), and tells the outcome in the stream's report.
//
// The planner (package pipeline) decides the jobs; this package never
// looks at a run as a whole. Encode and Join own the goroutines and the
// ffmpeg process they start and return when all have ended; one stream
// holds at most Settings.Checks.Readers frames in memory. Several streams
// may be encoded at once (the planner bounds how many); Settings.OnEvent is
// then called concurrently.
package video
