// Package container reads tdwstitch's own outputs, MP4 and Matroska files,
// far enough to verify them: the video track's codec, coded size and number
// of frames, and whether an audio track is there. It exists because spawning
// ffprobe per stream cost about 8% of a batch's CPU on small runs; anything it
// cannot parse is an error, and the caller falls back to ffprobe.
//
// Inspect reads only box and element headers (and the MP4 sample table), by
// offset, so its cost grows with the number of frames, not the file's size.
// It is safe for concurrent use on different files.
package container
