package video

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// errNotDirect stops reading a stream whose files ffmpeg was reading itself
// when a frame turns out not to be fit for that (bad, or with bytes after
// its image): it is then encoded again through the pipe, which sends only
// the good images.
var errNotDirect = errors.New("a frame ffmpeg cannot read as it is")

// directFiles is the stream's frames as a numbered file pattern that
// ffmpeg's image2 demuxer reads itself, as the one-liner does, when that
// gives the same video as the pipe: a whole run's stream (not a live
// chunk) whose frames are files of one format, numbered without a gap or a
// duplicate, named alike with the number zero-padded to one width, each
// in its own slot (no capture times moving them, no variable frame rate).
// Otherwise nil, and the frames go through the pipe. Frames are still read
// and checked here, beside ffmpeg: the first bad one switches to the pipe
// (errNotDirect).
func directFiles(b frames.Bounded, p place.Placement, part place.Part) *ffmpeg.Files {
	s := b.Stream
	n := len(s.Frames)
	if n == 0 || part.Chunk || len(b.Outside) > 0 || len(s.Duplicates) > 0 || p.Timestamps() != nil {
		return nil
	}
	first := s.Frames[0]
	if first.Number > math.MaxInt32-int64(n) || p.LastSlot(n) != int64(n-1) {
		return nil // ffmpeg's start_number is an int
	}
	prefix, width, ext, ok := numbered(first.Path)
	if !ok {
		return nil
	}
	for i, f := range s.Frames {
		if f.Packed || f.Format != first.Format || f.Number != first.Number+int64(i) || p.Slot(f.Number, i) != int64(i) ||
			f.Path != fmt.Sprintf("%s%0*d%s", prefix, width, f.Number, ext) {
			return nil
		}
	}
	escape := strings.NewReplacer("%", "%%")
	return &ffmpeg.Files{Pattern: fmt.Sprintf("%s%%0%dd%s", escape.Replace(prefix), width, escape.Replace(ext)), Start: first.Number, Count: n}
}

var numberBeforeExt = regexp.MustCompile(`^(.*?)([0-9]+)$`)

// numbered splits a frame file's path around its number: what comes before
// it, the number's width as written, and the extension.
func numbered(path string) (prefix string, width int, ext string, ok bool) {
	ext = filepath.Ext(path)
	m := numberBeforeExt.FindStringSubmatch(strings.TrimSuffix(path, ext))
	if m == nil || len(m[2]) > 18 {
		return "", 0, "", false
	}
	return m[1], len(m[2]), ext, true
}
