package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
)

// Write stores v as indented JSON at path atomically: a reader (or a
// killed writer) sees the old file or the new one, never half.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// Read loads the JSON report at path into v.
func Read(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil { // CreateTemp makes it private
		return err
	}
	return os.Rename(f.Name(), path)
}

// ReadRun is the run report in dir (its output folder).
func ReadRun(dir string) (*Run, error) {
	var r Run
	if err := Read(filepath.Join(dir, RunFile), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Version is this build's module version, as every report records it: a
// release's tag, or the pseudo-version go build stamps from the checkout
// (with its commit); "dev+<commit>" or "dev" when neither is known (go run,
// tests).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := "dev"
	if rev := settings["vcs.revision"]; rev != "" {
		v += "+" + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			v += "-dirty"
		}
	}
	return v
}

// Revision is the commit this build was made from and its time, when go
// build recorded them ("" otherwise).
func Revision() (commit, at string, modified bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", "", false
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return commit, at, modified
}
