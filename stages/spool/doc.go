// Package spool writes frames received live from a TDW controller to disk, in
// the layout `encode` reads (RUN/<avatar>/<pass>_<NNNN>.<ext>) with a timing
// sidecar of receive times, so that a run survives tdwstitch being killed and
// is encoded later by the same pipeline as a run saved by ImageCapture.
//
// Depth passes arrive as raw RGB, bottom row first; they are flipped and
// stored as uncompressed PNG (cheap to write, the same pixels TDW's
// save_images would store). Each file is written under a temporary name and
// renamed, so a crash leaves whole frames or none. A Writer belongs to one
// goroutine.
package spool
