// Package output owns what tdwstitch writes into an output folder, so that
// outputs appear whole or not at all: one writer per folder at a time
// (Lock, flock(2)), a video written to a temporary file beside its final
// name (TempBeside), checked from its container's own tables (Verify) and
// renamed into place only then (Publish), and a failed write named for
// what it is when the disk is full (WhenFull).
//
// Every function is safe to call from several goroutines on different
// outputs; one folder has one writer at a time by Lock. Verify reads the
// container's tables (a few KB), and runs ffprobe only when they cannot be
// parsed.
package output
