// Package ffmpeg runs the system's ffmpeg and ffprobe for tdwstitch: it builds
// their argument vectors with github.com/u2takey/ffmpeg-go (never a shell), and
// owns the child processes itself, because ffmpeg-go's own Run can hang after a
// cancel and logs through the global logger.
//
// A stream is encoded by two processes joined by a pipe: a decoder that turns
// the frames it reads on stdin into raw pixels, and an encoder that compresses
// them. Decoding then runs beside x264 instead of in series with it, which is
// most of the gap between a plain one-liner and the encode-only floor.
//
// A Tool is safe for concurrent use; each Pipeline belongs to one goroutine.
// Processes are killed when their context is cancelled (or by the stall
// watchdog, when neither input nor output moved for StallTimeout), and
// Pipeline.Close and Abort return only after both have exited and their
// stderr has been drained.
package ffmpeg
