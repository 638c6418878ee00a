package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// writeRun stores a run's report at dir/report.RunFile atomically.
func writeRun(r *report.Run, dir string) (string, error) {
	final := filepath.Join(dir, report.RunFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", &output.FolderError{What: "create", Dir: dir, Err: err}
	}
	if err := report.Write(final, r.Compact()); err != nil {
		return "", fmt.Errorf("cannot write the report: %w", err)
	}
	return final, nil
}

// readRun is the report an earlier run left in outDir, or nil when there is
// none of this schema to read.
func readRun(outDir string) *report.Run {
	r, err := report.ReadRun(outDir)
	if err != nil || r.Schema != report.Schema {
		return nil
	}
	return r
}

// ignored are a run's files that are not frames, as the report says them.
func ignored(is []discover.Ignored) []report.Ignored {
	if is == nil {
		return nil // as before the contract moved: "ignored": null
	}
	out := make([]report.Ignored, len(is))
	for i, g := range is {
		out[i] = report.Ignored(g)
	}
	return out
}
