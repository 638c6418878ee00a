package video

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// errNotDirect stops reading a stream whose files ffmpeg was reading itself
// when a frame turns out not to be fit for that (bad, or with bytes after
// its image), a file changed during the encode, or that ffmpeg refused
// something (exited with an error of its own, other than a full disk,
// which fails the stream): the stream is then encoded
// again through the pipe, which sends only the good images it checked,
// and says what is wrong if anything still is.
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
	ext := filepath.Ext(first.Path)
	prefix, digits, ok := discover.SplitNumber(strings.TrimSuffix(first.Path, ext))
	if !ok || len(digits) > 18 {
		return nil
	}
	width := len(digits)
	for i, f := range s.Frames {
		if f.Packed || f.Format != first.Format || f.Number != first.Number+int64(i) || p.Slot(f.Number, i) != int64(i) ||
			f.Path != fmt.Sprintf("%s%0*d%s", prefix, width, f.Number, ext) {
			return nil
		}
	}
	escape := strings.NewReplacer("%", "%%")
	pattern := fmt.Sprintf("%s%%0%dd%s", escape.Replace(prefix), width, escape.Replace(ext))
	if len(ffmpeg.FileURL)+len(pattern) >= maxPattern {
		return nil
	}
	return &ffmpeg.Files{Pattern: pattern, Start: first.Number, Count: n}
}

// maxPattern is how long an image2 pattern may be: ffmpeg copies it, and
// each name made from it, into 1024-byte buffers (a longer one fails to
// find the first file).
const maxPattern = 1000

// changedSince names the first of frames whose file is no longer the one
// found (its size or modification time differ), or "": ffmpeg read the
// files apart from the checks, so a file replaced or cut short during the
// encode may not be what was checked.
func changedSince(fs []discover.Frame) string {
	for _, f := range fs {
		info, err := os.Stat(f.Path)
		if err != nil || info.Size() != f.Size || !info.ModTime().Equal(f.ModTime) {
			return f.Path
		}
	}
	return ""
}

// rising passes FrameDone events on only when they count past the highest
// yet: a stream encoded again through the pipe after ffmpeg read part of
// its files counts from 0 again, which progress would add twice.
func rising(emit func(event.Event)) func(event.Event) {
	var mu sync.Mutex
	top := 0
	return func(e event.Event) {
		if e.Kind == event.FrameDone {
			mu.Lock()
			old := e.Done <= top
			top = max(top, e.Done)
			mu.Unlock()
			if old {
				return
			}
		}
		emit(e)
	}
}
