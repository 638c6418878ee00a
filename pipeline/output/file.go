package output

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tdwstitch/tdwstitch/report"
)

// TempBeside creates the empty temporary file a video is written to before
// it is renamed to final, in final's folder (made if needed). A process
// killed mid-encode (kill -9) leaves its temporary file; the next one for
// the same output clears it.
func TempBeside(final string) (string, error) {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", &FolderError{What: "create", Dir: dir, Err: err}
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "."+GlobEscape(filepath.Base(final))+".tmp-*"))
	for _, f := range stale {
		os.Remove(f)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return "", &FolderError{What: "write in", Dir: dir, Err: err}
	}
	return tmp.Name(), tmp.Close()
}

// Publish moves the finished, verified video into place, replacing the
// earlier one (which is kept until then).
func Publish(tmp, final string) error {
	// CreateTemp made the file private; a video is as readable as any
	// file the user makes (a gallery's web server, a shared dataset).
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("cannot make %s readable: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("cannot move the finished video into place at %s: %w", final, err)
	}
	return nil
}

// GlobEscape quotes the characters filepath.Glob treats specially.
func GlobEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}

// StillOnDisk is a previous output's entry, marked kept and not selected,
// while its file is in place; else nil.
func StillOnDisk(sr *report.Stream, outDir string) *report.Stream {
	if info, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(sr.Output))); err != nil || !info.Mode().IsRegular() {
		return nil
	}
	sr.Kept, sr.NotSelected = true, true
	return sr
}
