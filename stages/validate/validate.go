package validate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// Info is what a frame's headers say about it.
type Info struct {
	Format tdw.Format
	Width  int
	Height int
	// PixFmt is ffmpeg's name for the pixel layout a lossless copy keeps
	// (rgb24, rgba, gray, rgb48be...). Empty for JPEG, which is always
	// converted to the video's YUV.
	PixFmt string
	// Length is how many of the file's bytes are the image: through PNG's
	// IEND chunk or JPEG's end-of-image marker. Bytes after it are not the
	// image, and are not sent to the decoder (one stray byte there would
	// otherwise break the decoding of the whole stream).
	Length int
}

// ErrEmpty is returned for a zero-byte file.
var ErrEmpty = errors.New("file is empty (0 bytes)")

// Check validates data's structure and returns its header information.
func Check(data []byte) (Info, error) {
	switch {
	case len(data) == 0:
		return Info{}, ErrEmpty
	case bytes.HasPrefix(data, pngSignature):
		return checkPNG(data)
	case len(data) >= 2 && data[0] == 0xFF && data[1] == 0xD8:
		return checkJPEG(data)
	}
	return Info{}, errors.New("not a PNG or JPEG image (unknown signature)")
}

// Deep checks data's structure, then decodes every pixel, catching corrupt
// compressed data that a structural check cannot see.
func Deep(data []byte) (Info, error) {
	info, err := Check(data)
	if err != nil {
		return info, err
	}
	var derr error
	switch info.Format {
	case tdw.PNG:
		_, derr = png.Decode(bytes.NewReader(data))
	case tdw.JPEG:
		_, derr = jpeg.Decode(bytes.NewReader(data))
	}
	if derr != nil {
		return info, fmt.Errorf("image data does not decode: %w", derr)
	}
	return info, nil
}

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}

func checkPNG(data []byte) (Info, error) {
	info := Info{Format: tdw.PNG}
	rest := data[len(pngSignature):]
	first, sawIDAT, transparent := true, false, false
	for {
		if len(rest) < 12 {
			return info, errors.New("PNG is truncated (no IEND chunk)")
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-12) {
			return info, fmt.Errorf("PNG is truncated (chunk %q announces %d bytes, %d left)", rest[4:8], n, len(rest)-12)
		}
		typ, body := rest[4:8], rest[8:8+n]
		want := binary.BigEndian.Uint32(rest[8+n:])
		if got := crc32.Update(crc32.ChecksumIEEE(typ), crc32.IEEETable, body); got != want {
			return info, fmt.Errorf("PNG chunk %q has a bad CRC (file is corrupt)", typ)
		}
		switch string(typ) {
		case "IHDR":
			if !first || n != 13 {
				return info, errors.New("PNG has a malformed IHDR header")
			}
			var err error
			if info, err = parseIHDR(body); err != nil {
				return info, err
			}
		case "IDAT":
			sawIDAT = true
		case "tRNS":
			transparent = true
		case "IEND":
			if !sawIDAT {
				return info, errors.New("PNG has no image data (IDAT)")
			}
			if transparent {
				// A palette, grey or RGB image with a transparency chunk
				// has alpha: kept as RGBA, or it would be lost.
				info.PixFmt = pick(strings.HasSuffix(info.PixFmt, "be"), "rgba64be", "rgba")
			}
			info.Length = len(data) - len(rest) + 12 + int(n)
			return info, nil
		}
		if first && string(typ) != "IHDR" {
			return info, errors.New("PNG does not start with an IHDR header")
		}
		first = false
		rest = rest[12+n:]
	}
}

func parseIHDR(b []byte) (Info, error) {
	info := Info{Format: tdw.PNG, Width: int(binary.BigEndian.Uint32(b[0:])), Height: int(binary.BigEndian.Uint32(b[4:]))}
	if info.Width <= 0 || info.Height <= 0 || info.Width > 1<<16 || info.Height > 1<<16 {
		return info, fmt.Errorf("PNG has an impossible size %dx%d", info.Width, info.Height)
	}
	depth, color := b[8], b[9]
	deep := depth == 16
	switch color {
	case 0:
		info.PixFmt = pick(deep, "gray16be", "gray")
	case 2, 3:
		info.PixFmt = pick(deep, "rgb48be", "rgb24")
	case 4, 6:
		info.PixFmt = pick(deep, "rgba64be", "rgba")
	default:
		return info, fmt.Errorf("PNG has an unknown colour type %d", color)
	}
	return info, nil
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

func checkJPEG(data []byte) (Info, error) {
	info := Info{Format: tdw.JPEG}
	i := 2
	for {
		// Markers may be preceded by any number of 0xFF fill bytes.
		for i < len(data) && data[i] == 0xFF {
			i++
		}
		if i >= len(data) || data[i-1] != 0xFF {
			return info, errors.New("JPEG is truncated or corrupt (no start of scan)")
		}
		marker := data[i]
		i++
		if marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			continue // markers without a length
		}
		if marker == 0xD9 {
			return info, errors.New("JPEG ends before its image data (no start of scan)")
		}
		if i+2 > len(data) {
			return info, errors.New("JPEG is truncated in a header")
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return info, errors.New("JPEG is truncated in a header")
		}
		seg := data[i+2 : i+n]
		if isSOF(marker) {
			if coding := undecodable(marker); coding != "" {
				// These pass every header check, then fail in ffmpeg's
				// decoder: the frame is bad, never the stream.
				return info, fmt.Errorf("JPEG uses %s (SOF%d), which ffmpeg cannot decode: save the frames as baseline or progressive JPEG", coding, marker-0xC0)
			}
			if len(seg) < 6 {
				return info, errors.New("JPEG has a malformed frame header")
			}
			info.Height = int(binary.BigEndian.Uint16(seg[1:]))
			info.Width = int(binary.BigEndian.Uint16(seg[3:]))
			if info.Width == 0 || info.Height == 0 {
				return info, fmt.Errorf("JPEG has an impossible size %dx%d", info.Width, info.Height)
			}
		}
		i += n
		if marker == 0xDA {
			break
		}
	}
	if info.Width == 0 {
		return info, errors.New("JPEG has no frame header (SOF) before its image data")
	}
	// In the entropy-coded data 0xFF is followed by 0x00 or a restart
	// marker: the first 0xFF 0xD9 is the end of the image.
	end := bytes.Index(data[i:], []byte{0xFF, 0xD9})
	if end < 0 {
		return info, errors.New("JPEG is truncated (no end-of-image marker)")
	}
	info.Length = i + end + 2
	return info, nil
}

// undecodable names the coding of a frame header ffmpeg's JPEG decoder does
// not support, or "" (baseline, extended, progressive and lossless are).
func undecodable(m byte) string {
	switch m {
	case 0xC5, 0xC6, 0xC7:
		return "hierarchical coding"
	case 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
		return "arithmetic coding"
	}
	return ""
}

// isSOF reports whether marker starts a frame (SOF0-SOF15 less DHT, JPG, DAC).
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}
