// Package validate checks that a frame's bytes are a whole PNG or JPEG image and
// reads its size, without decoding pixels: PNG signature, IHDR, every chunk's
// CRC and IEND; JPEG SOI, frame header and EOI. Deep decodes the pixels as well
// for callers that ask for it.
//
// Every function is pure and safe for concurrent use. Check costs one pass over
// a PNG's bytes (CRC32) and only the headers of a JPEG.
package validate
