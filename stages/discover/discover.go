package discover

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// Frame is one image file of a stream.
type Frame struct {
	Path    string     // path on disk (RUN_DIR joined with Rel)
	Rel     string     // path relative to the run, slash-separated, for reports
	Number  int64      // frame number parsed from the name
	Format  tdw.Format // format named by the extension (validation checks the bytes)
	Size    int64
	ModTime time.Time
	// Packed frames are Size bytes at Offset of the file at Path (a live
	// run's spool packs its frames); others are the whole file.
	Packed bool
	Offset int64
}

// Stream is the frames of one (avatar, pass), ordered by frame number.
type Stream struct {
	Avatar string   // folder relative to the run ("" for the run folder itself)
	Prefix string   // name part before the frame number when one folder holds several sequences, usually ""
	Pass   tdw.Pass // image pass
	Frames []Frame  // one per frame number, ascending
	// Duplicates are further files with a frame number already in Frames
	// (img_0001.jpg beside img_1.jpg or img_0001.png); they are not encoded.
	Duplicates []Frame
}

// ID names the stream the way reports and output paths do: "a/img",
// "img" (flat layout) or "a/img_cam0" (a named sequence).
func (s *Stream) ID() string {
	name := string(s.Pass)
	if s.Prefix != "" {
		name += "_" + s.Prefix
	}
	return path.Join(s.Avatar, name)
}

// Gap is a run of missing frame numbers, both ends included.
type Gap struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Missing is how many frame numbers the gap spans.
func (g Gap) Missing() int64 { return g.To - g.From + 1 }

// Gaps lists the frame numbers missing between the stream's first and last frame.
func (s *Stream) Gaps() []Gap {
	var gaps []Gap
	for i := 1; i < len(s.Frames); i++ {
		if prev, cur := s.Frames[i-1].Number, s.Frames[i].Number; cur > prev+1 {
			gaps = append(gaps, Gap{From: prev + 1, To: cur - 1})
		}
	}
	return gaps
}

// Ignored is a file that looks like a frame but cannot be placed in a stream.
type Ignored struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Run is what one run folder holds.
type Run struct {
	Dir     string
	Streams []*Stream
	Audio   []string  // audio files found in the run folder (paths on disk)
	Ignored []Ignored // frame-like files that were skipped, with why
}

// AudioExts are the extensions of audio files looked for in a run folder.
var AudioExts = []string{".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac"}

// Find lists the run in dir: ImageCapture's RUN/<avatar>/<pass>_<NNNN>.<ext>,
// TDWUtils.save_images' flat RUN/<pass>_<name>.<ext>, and append_pass=False's
// RUN/<NNNN>.<ext> (taken as pass img). Only the run folder and its immediate
// subfolders are searched; hidden entries are skipped.
func Find(dir string) (*Run, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read run folder %s: %w (check the path and its permissions)", dir, err)
	}
	run := &Run{Dir: dir}
	streams := map[streamKey]*Stream{}
	run.addFolder(streams, dir, "", entries)
	for _, e := range entries {
		if hidden(e.Name()) || !isDir(dir, e) {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		subEntries, err := os.ReadDir(sub)
		if err != nil {
			run.Ignored = append(run.Ignored, Ignored{Path: e.Name(), Reason: fmt.Sprintf("folder not readable: %v", err)})
			continue
		}
		run.addFolder(streams, sub, e.Name(), subEntries)
	}
	for _, s := range streams {
		s.Sort()
		run.Streams = append(run.Streams, s)
	}
	slices.SortFunc(run.Streams, CompareStreams)
	return run, nil
}

type streamKey struct {
	avatar, prefix string
	pass           tdw.Pass
}

func (run *Run) addFolder(streams map[streamKey]*Stream, dir, avatar string, entries []os.DirEntry) {
	for _, e := range entries {
		name := e.Name()
		if hidden(name) || isDir(dir, e) {
			continue
		}
		rel := path.Join(avatar, name)
		ext := filepath.Ext(name)
		if avatar == "" && slices.Contains(AudioExts, strings.ToLower(ext)) {
			run.Audio = append(run.Audio, filepath.Join(dir, name))
			continue
		}
		format, ok := tdw.FormatOfExt(ext)
		if !ok {
			continue // timing.csv, reports, notes: not ours to judge
		}
		pass, prefix, number, reason := ParseName(strings.TrimSuffix(name, ext))
		if reason != "" {
			run.Ignored = append(run.Ignored, Ignored{Path: rel, Reason: reason})
			continue
		}
		info, err := e.Info()
		if err == nil && e.Type()&fs.ModeSymlink != 0 {
			info, err = os.Stat(filepath.Join(dir, name)) // the frame's, not the link's
		}
		if err != nil {
			run.Ignored = append(run.Ignored, Ignored{Path: rel, Reason: fmt.Sprintf("cannot stat: %v", err)})
			continue
		}
		key := streamKey{avatar, prefix, pass}
		s := streams[key]
		if s == nil {
			s = &Stream{Avatar: avatar, Prefix: prefix, Pass: pass}
			streams[key] = s
		}
		s.Frames = append(s.Frames, Frame{
			Path: filepath.Join(dir, name), Rel: rel, Number: number, Format: format,
			Size: info.Size(), ModTime: info.ModTime(),
		})
	}
}

// passPrefixes are the pass names as file-name prefixes, longest first so that
// "depth_simple_0001" is not read as pass depth with name "simple_0001".
var passPrefixes = func() []tdw.Pass {
	ps := slices.Clone(tdw.Passes)
	slices.SortStableFunc(ps, func(a, b tdw.Pass) int { return len(b) - len(a) })
	return ps
}()

var trailingNumber = regexp.MustCompile(`^(.*?)([0-9]+)$`)

// SplitNumber splits a name without its extension around the frame number
// at its end: what comes before it, and the digits as written (their count
// is the padding); ok is false when the name does not end in digits.
func SplitNumber(stem string) (before, digits string, ok bool) {
	m := trailingNumber.FindStringSubmatch(stem)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// ParseName splits a frame file's name without extension into pass, sequence
// prefix and frame number. A non-empty reason says why the name is not a frame.
func ParseName(stem string) (pass tdw.Pass, prefix string, number int64, reason string) {
	pass, rest := tdw.Img, stem
	matched := false
	for _, p := range passPrefixes {
		if after, ok := strings.CutPrefix(stem, string(p)+"_"); ok {
			pass, rest, matched = p, after, true
			break
		}
	}
	before, digits, ok := SplitNumber(rest)
	if !ok {
		if !matched {
			return "", "", 0, "name is neither <pass>_<frame> nor <frame> (expected e.g. img_0001.jpg)"
		}
		return "", "", 0, "no frame number at the end of the name (expected e.g. img_0001.jpg)"
	}
	if !matched && before != "" {
		return "", "", 0, "name does not start with a TDW pass (img_, id_, depth_, ...) and is not a bare frame number"
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > 1<<53 {
		return "", "", 0, "frame number too large"
	}
	return pass, strings.Trim(before, "_-. "), n, ""
}

// Sort orders the frames by number and moves frames whose number is
// already taken to Duplicates. Of two files of one number, the frame is the
// one named as the stream names its frames (the number zero-padded to the
// width its padded names use: TDW's 4), then the first by name: a stray
// copy named img_00003.jpg does not displace img_0003.jpg.
func (s *Stream) Sort() {
	width := -1 // found only when two files share a number
	named := func(f Frame) bool {
		if width < 0 {
			width = s.padWidth()
		}
		return digitsOf(f) == fmt.Sprintf("%0*d", max(width, 1), f.Number)
	}
	slices.SortStableFunc(s.Frames, func(a, b Frame) int {
		if c := cmp.Compare(a.Number, b.Number); c != 0 {
			return c
		}
		if na, nb := named(a), named(b); na != nb {
			if na {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Rel, b.Rel)
	})
	kept := s.Frames[:0]
	for _, f := range s.Frames {
		if len(kept) > 0 && kept[len(kept)-1].Number == f.Number {
			s.Duplicates = append(s.Duplicates, f)
			continue
		}
		kept = append(kept, f)
	}
	s.Frames = kept
}

// padWidth is the width most of the stream's zero-padded frame numbers are
// written in: TDW's 4 when none is padded, 0 (not padded) when more names
// are short and unpadded (img_15) than padded.
func (s *Stream) padWidth() int {
	votes := map[int]int{}
	for _, f := range s.Frames {
		switch d := digitsOf(f); {
		case len(d) > 1 && d[0] == '0':
			votes[len(d)]++
		case len(d) < 4:
			votes[0]++ // shorter than TDW's padding: not padded
		}
	}
	width := 4
	for w, n := range votes {
		if n > votes[width] || n == votes[width] && width != 4 && w < width { // a tie keeps TDW's
			width = w
		}
	}
	return width
}

// digitsOf is the frame number as its file name writes it.
func digitsOf(f Frame) string {
	base := path.Base(f.Rel)
	_, digits, _ := SplitNumber(strings.TrimSuffix(base, path.Ext(base)))
	return digits
}

// CompareStreams orders streams as reports list them: by avatar, sequence
// name, then pass in TDW's order.
func CompareStreams(a, b *Stream) int {
	if c := strings.Compare(a.Avatar, b.Avatar); c != 0 {
		return c
	}
	if c := strings.Compare(a.Prefix, b.Prefix); c != 0 {
		return c
	}
	return slices.Index(tdw.Passes, a.Pass) - slices.Index(tdw.Passes, b.Pass)
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// isDir follows a symlink one level, so a linked avatar folder counts.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && info.IsDir()
}

// NameOf is the name, relative to the run, that frame number n of the
// stream would have: its neighbour's name with n in place of its number,
// zero-padded as TDW pads (to 4 digits when the neighbour was padded).
// Errors use it to name missing frames.
func (s *Stream) NameOf(n int64) string {
	if len(s.Frames) == 0 {
		return fmt.Sprintf("%s_%04d", s.ID(), n)
	}
	// The last frame numbered at or below n (the first one when none is).
	i, _ := slices.BinarySearchFunc(s.Frames, n+1, func(f Frame, t int64) int { return cmp.Compare(f.Number, t) })
	near := s.Frames[max(i-1, 0)]
	dir, file := path.Split(near.Rel)
	ext := path.Ext(file)
	before, digits, ok := SplitNumber(strings.TrimSuffix(file, ext))
	if !ok {
		return fmt.Sprintf("%s%d%s", dir, n, ext)
	}
	width := len(digits)
	if digits[0] != '0' {
		width = min(width, 4) // 10000 follows 9999: TDW pads to 4 and grows
	}
	return fmt.Sprintf("%s%s%0*d%s", dir, before, width, n, ext)
}

// FileKind names what a non-regular file is, for messages.
func FileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	}
	return m.Type().String()
}
