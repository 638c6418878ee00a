package frames

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// bombPNG is a structurally valid PNG of a few dozen bytes whose header
// claims w x h pixels.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})
	chunk := func(typ string, body []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(body)))
		b.WriteString(typ)
		b.Write(body)
		binary.Write(&b, binary.BigEndian, crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, body))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// TestImageBombRefusedFromItsHeader: a frame whose header claims more than
// MaxPixels is bad before any pixel is decoded, with --deep-check too.
func TestImageBombRefusedFromItsHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id_0000.png")
	if err := os.WriteFile(path, bombPNG(16000, 16000), 0o644); err != nil {
		t.Fatal(err)
	}
	f := discover.Frame{Path: path, Rel: "a/id_0000.png", Format: tdw.PNG}
	for _, deep := range []bool{false, true} {
		c := Check(t.Context(), f, Checks{MaxPixels: 8192 * 8192, Deep: deep}, true, nil)
		if c.Err == nil || !strings.Contains(c.Err.Error(), "frame is 16000x16000, more pixels than the limit (67108864) allows") || c.Data != nil {
			t.Errorf("deep %v: %v", deep, c.Err)
		}
	}
	if c := Check(t.Context(), f, Checks{MaxPixels: -1}, false, nil); c.Err != nil {
		t.Errorf("no limit: %v (the header alone is valid)", c.Err)
	}
}
