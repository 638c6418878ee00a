// Package live is `tdwstitch serve`: it receives live TDW runs from a
// ZeroMQ socket, spools their frames, seals long runs into chunks encoded
// while the run goes on, joins them when the run ends, answers controllers'
// acknowledgements, and recovers the runs a killed serve left spooled.
//
// The encoding itself is pipeline's (EncodeSpool, EncodeChunk, JoinChunks);
// this package owns the ingest: which frames belong to which run and chunk,
// what is rejected and why (the serve report), and when the spool is freed.
//
// Ownership: Serve's one errgroup runs the receiver, the ack answerer, the
// consumer, each run's chunk encoder and each run's encode; every send
// between them selects on ctx. Every stream encode and chunk join of the
// process holds one of --jobs encoder slots (pipeline.Options.Encoders), and
// at most --jobs runs (whole encodes and joins) do their work besides, such
// as reading and checking frames, at once.
//
// Shutdown is this choice: when ctx ends (the first SIGINT or SIGTERM),
// receiving stops, the run being received is closed as "shutdown", and
// encodes in flight are cancelled (ffmpeg is killed, partial files go);
// every run not fully encoded stays spooled with a serve report saying so,
// and the next serve start (or a recovery) encodes it. Finishing
// in-flight encodes instead would hold a stopping serve for as long as its
// longest run. Serve returns once every goroutine has ended; a second
// signal kills the process at once (the CLI's doing).
package live
