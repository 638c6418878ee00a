// Package spool writes frames received live from a TDW controller to disk,
// so that a run survives tdwstitch being killed and is encoded later by the
// same pipeline as a run saved by ImageCapture.
//
// Frames are not written a file each: every stream's frames are appended to
// one pack file per chunk (<avatar>/<pass>.<chunk>.pack), and an index
// (frame, ext, offset, size, pack) plus a timing sidecar of receive times
// say where each frame is and when it arrived. Find reads that back as a
// discover.Run whose frames are byte ranges of packs; Rotate starts the next
// chunk's packs, so a chunk that was encoded is removed by deleting its
// packs. A write that fails (a full disk) is cut back from the packs and the
// index, and the sidecar records the frame as lost: the spool holds whole
// frames or none.
//
// Depth passes arrive as raw RGB, bottom row first; they are flipped and
// stored as uncompressed PNG (cheap to write, the same pixels TDW's
// save_images would store). A Writer belongs to one goroutine.
package spool
