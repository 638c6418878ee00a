package discover

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// Problem is a folder that could not be searched, and why.
type Problem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// FindRuns lists the run folders under root at any depth, as paths relative
// to root ("." for root itself), sorted; the search does not descend into a
// run. A folder is a run when it holds TDW frame files itself (save_images'
// flat layout), or when its sub-folders do (ImageCapture's avatar folders),
// none of them holds frame folders of its own, and the folder holds what
// marks a run: recorded audio or a timing sidecar. Without those marks the
// frame folders are runs of their own: a folder of avatar folders and a
// folder of flat runs look alike, and either way the videos land at the same
// paths under the output root; only audio needs the run folder. Symlinked folders are
// followed once; loops and unreadable folders are reported, not fatal.
func FindRuns(root string) ([]string, []Problem, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read dataset folder %s: %w (check the path)", root, err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("%s is not a folder: pass the folder that holds the runs", root)
	}
	f := finder{root: root, seen: map[fileID]string{}}
	f.walk(".", info)
	slices.Sort(f.runs)
	return f.runs, f.problems, nil
}

type fileID struct{ dev, ino uint64 }

type finder struct {
	root     string
	seen     map[fileID]string
	runs     []string
	problems []Problem
}

func (f *finder) walk(rel string, info os.FileInfo) {
	if id, ok := idOf(info); ok {
		if first, dup := f.seen[id]; dup {
			f.problems = append(f.problems, Problem{Path: rel, Reason: fmt.Sprintf("same folder as %s (a symlink loop or a second link): skipped", first)})
			return
		}
		f.seen[id] = rel
	}
	dir := filepath.Join(f.root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.problems = append(f.problems, Problem{Path: rel, Reason: fmt.Sprintf("not readable: %v", err)})
		return
	}
	var subdirs []os.DirEntry
	for _, e := range entries {
		if hidden(e.Name()) {
			continue
		}
		if isDir(dir, e) {
			subdirs = append(subdirs, e)
		}
	}
	if hasFrames(entries) || f.avatarRun(dir, entries, subdirs) {
		f.runs = append(f.runs, rel)
		return
	}
	for _, e := range subdirs {
		info, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			f.problems = append(f.problems, Problem{Path: path.Join(rel, e.Name()), Reason: fmt.Sprintf("not readable: %v", err)})
			continue
		}
		f.walk(path.Join(rel, e.Name()), info)
	}
}

// avatarRun reports whether dir is an ImageCapture run: see FindRuns.
func (f *finder) avatarRun(dir string, entries, subdirs []os.DirEntry) bool {
	withFrames := 0
	for _, e := range subdirs {
		sub := filepath.Join(dir, e.Name())
		children, err := os.ReadDir(sub)
		if err != nil {
			continue
		}
		if hasFrames(children) {
			withFrames++
		}
		for _, c := range children {
			if hidden(c.Name()) || !isDir(sub, c) {
				continue
			}
			if grand, err := os.ReadDir(filepath.Join(sub, c.Name())); err == nil && hasFrames(grand) {
				return false // a folder of runs, not of avatars
			}
		}
	}
	return withFrames > 0 && hasRunFiles(entries)
}

// hasRunFiles reports whether entries hold what a run folder has beside its
// frames: recorded audio or a timing sidecar.
func hasRunFiles(entries []os.DirEntry) bool {
	for _, e := range entries {
		name := strings.ToLower(e.Name())
		if name == "timing.csv" || slices.Contains(AudioExts, filepath.Ext(name)) {
			return true
		}
	}
	return false
}

// hasFrames reports whether entries hold a file named like a TDW frame.
func hasFrames(entries []os.DirEntry) bool {
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || hidden(name) {
			continue
		}
		if _, ok := tdw.FormatOfExt(ext); !ok {
			continue
		}
		if _, _, _, reason := ParseName(strings.TrimSuffix(name, ext)); reason == "" {
			return true
		}
	}
	return false
}

func idOf(info os.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}
