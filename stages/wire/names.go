package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameLen bounds an avatar id or run name used as a folder name.
const maxNameLen = 128

// SafeName checks that name (an avatar id or run name from the wire) can be a
// single folder inside the output: not empty, at most maxNameLen bytes of
// UTF-8, no path separators, no "..", not hidden, no NUL or control characters.
func SafeName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > maxNameLen:
		return fmt.Errorf("name of %d bytes (at most %d)", len(name), maxNameLen)
	case !utf8.ValidString(name):
		return errors.New("name is not UTF-8")
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("name %q contains a path separator", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("name %q contains \"..\"", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("name %q starts with a dot", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("name %q contains a control character", name)
	}
	return nil
}

// FrameNumber reads the last part of a TDW response: the frame number as a
// big-endian integer (TDW sends 4 bytes).
func FrameNumber(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 8 {
		return 0, fmt.Errorf("frame number part of %d bytes (want 1 to 8)", len(b))
	}
	var buf [8]byte
	copy(buf[8-len(b):], b)
	n := binary.BigEndian.Uint64(buf[:])
	if n > 1<<53 {
		return 0, fmt.Errorf("frame number %d is absurd", n)
	}
	return int64(n), nil
}
