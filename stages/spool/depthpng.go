package spool

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
)

// depthPNG stores a depth pass as TDW sends it live (raw RGB, bottom row
// first) as the uncompressed PNG TDWUtils.save_images would have written
// in its place, top row first: one IDAT of stored deflate blocks. Written
// here with two copies of the pixels: image/png (an RGBA image, the
// encoder, zlib) cost a third of serve's own CPU on an all-passes run.
func depthPNG(raw []byte, width, height int) ([]byte, error) {
	row := 3 * width
	if width <= 0 || height <= 0 || len(raw) != row*height {
		return nil, fmt.Errorf("raw depth image of %d bytes is not %dx%d RGB", len(raw), width, height)
	}
	// The image data: each row, top first, is filter byte 0 and its pixels.
	data := make([]byte, 0, (row+1)*height)
	for y := height - 1; y >= 0; y-- {
		data = append(data, 0)
		data = append(data, raw[y*row:(y+1)*row]...)
	}
	// Its zlib stream: stored deflate blocks of at most 65535 bytes.
	blocks := (len(data) + maxStored - 1) / maxStored
	zlen := 2 + len(data) + 5*blocks + 4
	if int64(zlen) > 1<<31-1 {
		return nil, fmt.Errorf("raw depth image %dx%d is too big for one PNG chunk", width, height)
	}
	out := make([]byte, 0, len(pngSignature)+25+12+zlen+12)
	out = append(out, pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits, truecolour; compression, filter, interlace 0
	out = pngChunk(out, "IHDR", ihdr[:])

	out = binary.BigEndian.AppendUint32(out, uint32(zlen))
	start := len(out)
	out = append(out, "IDAT"...)
	out = append(out, 0x78, 0x01) // zlib: deflate, 32 KiB window, no dictionary
	for rest := data; len(rest) > 0; {
		n := min(len(rest), maxStored)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, rest[:n]...)
		rest = rest[n:]
	}
	out = binary.BigEndian.AppendUint32(out, adler32.Checksum(data))
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	return pngChunk(out, "IEND", nil), nil
}

// maxStored is the most bytes one stored deflate block holds.
const maxStored = 65535

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngChunk appends a PNG chunk: length, type, data, CRC of type and data.
func pngChunk(out []byte, kind string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, kind...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}
