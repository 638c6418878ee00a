// Package live is `tdwstitch serve`: it receives live TDW runs from a
// ZeroMQ socket, spools their frames, seals long runs into chunks encoded
// while the run goes on, joins them when the run ends, answers controllers'
// acknowledgements, and recovers the runs a killed serve left spooled.
//
// The encoding itself is pipeline's (EncodeSpool, EncodeChunk, JoinChunks);
// this package owns the ingest: which frames belong to which run and chunk,
// what is rejected and why (the serve report), and when the spool is freed.
package live
