// Package place decides where every frame of a stream shows in its video:
// it resolves the run's capture clock (timing.csv, file times, the audio's
// length, or none, as Config.Timing asks) and maps frame numbers to output
// slots of 1/fps (Placement), so frames repeat when the controller was slow,
// drop when it was fast, and the audio starts where it was recorded.
//
// Clock reads the sidecar (bounded in size) or stats the frame files; a
// Placement is a value, read-only once made, so the goroutines encoding a
// run's streams may share one clock. Config.FPS must be set (the planner
// passes the defaulted options); Timing "" means TimingAuto.
package place
