package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// indexHeader names the index's columns; the pack path is last, since an
// avatar id may hold a comma.
const indexHeader = "frame,ext,offset,size,pack"

// Find lists a spool's frames the way discover lists a run folder: a stream
// per (avatar, pass), frames in number order, each a byte range of a pack.
// A spool without an index (one file per frame, as tdwstitch spooled
// before packs) is read by discover.Find.
func Find(dir string) (*discover.Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if errors.Is(err, fs.ErrNotExist) {
		return discover.Find(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the spool's index: %w", err)
	}
	// A row a killed serve was writing has no newline yet: its frame is
	// not complete, leave it out.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	run := &discover.Run{Dir: dir}
	streams := map[string]*discover.Stream{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if i == 0 || line == "" {
			continue // the header
		}
		fr, avatar, pass, err := parseRow(dir, line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", filepath.Join(dir, IndexName), i+1, err)
		}
		key := avatar + "/" + string(pass)
		s := streams[key]
		if s == nil {
			s = &discover.Stream{Avatar: avatar, Pass: pass}
			streams[key] = s
			run.Streams = append(run.Streams, s)
		}
		s.Frames = append(s.Frames, fr)
	}
	for _, s := range run.Streams {
		s.Sort()
	}
	slices.SortFunc(run.Streams, discover.CompareStreams)
	return run, nil
}

// parseRow reads "frame,ext,offset,size,avatar/pass.chunk.pack".
func parseRow(dir, line string) (discover.Frame, string, tdw.Pass, error) {
	var fr discover.Frame
	f := strings.SplitN(line, ",", 5)
	if len(f) != 5 {
		return fr, "", "", fmt.Errorf("%q has %d fields, want %s", line, len(f), indexHeader)
	}
	number, err1 := strconv.ParseInt(f[0], 10, 64)
	offset, err2 := strconv.ParseInt(f[2], 10, 64)
	size, err3 := strconv.ParseInt(f[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || number < 0 || offset < 0 || size < 0 {
		return fr, "", "", fmt.Errorf("%q: bad numbers", line)
	}
	format := tdw.PNG
	switch f[1] {
	case "png":
	case "jpg":
		format = tdw.JPEG
	default:
		return fr, "", "", fmt.Errorf("%q: extension %q", line, f[1])
	}
	rel := f[4]
	avatar, base := path.Split(rel)
	name, ok := strings.CutSuffix(base, ".pack")
	pass, _, ok2 := strings.Cut(name, ".")
	if !ok || !ok2 || avatar == "" || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fr, "", "", fmt.Errorf("%q: pack path %q", line, rel)
	}
	avatar = strings.TrimSuffix(avatar, "/")
	fr = discover.Frame{
		Path: filepath.Join(dir, filepath.FromSlash(rel)), Rel: fmt.Sprintf("%s/%s_%04d.%s", avatar, pass, number, f[1]),
		Number: number, Format: format, Size: size, Offset: offset, Packed: true,
	}
	return fr, avatar, tdw.Pass(pass), nil
}
