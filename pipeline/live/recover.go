package live

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/output"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// Recover finishes the runs a killed serve left under outDir: every
// OUT/<run>/.spool whose run has no finished report, with the frame rate and
// audio its begin message gave, keeping the chunks already encoded. The
// error wraps ErrFailed when a run failed, ErrDegraded when one is degraded.
func Recover(ctx context.Context, outDir string, opts pipeline.Options) error {
	unlock, err := output.Lock(outDir)
	if err != nil {
		return err
	}
	defer unlock()
	failed, degraded, err := recoverRuns(ctx, outDir, opts)
	if err != nil {
		return err
	}
	return outcome(failed, degraded)
}

// recoverRuns is Recover, counting the runs that failed or are degraded.
func recoverRuns(ctx context.Context, outDir string, opts pipeline.Options) (failed, degraded int64, err error) {
	opts.ApplyDefaults()
	spools, err := spoolDirs(outDir)
	if err != nil {
		return 0, 0, err
	}
	count := func(s report.Status) {
		if s == report.Failed && ctx.Err() != nil {
			return // cut short by a signal: still spooled, no outcome
		}
		switch s {
		case report.Failed:
			failed++
		case report.Degraded:
			degraded++
		}
	}
	for _, sp := range spools {
		if ctx.Err() != nil {
			break // no new work after a signal: the rest waits for the next start
		}
		runOut := filepath.Dir(sp)
		run := recoveredReport(runOut)
		o := opts
		m, err := readManifest(runOut)
		if err == nil {
			if m.FPS > 0 {
				o.FPS = m.FPS
			}
			if m.Audio != "" {
				o.Audio = m.Audio
			}
		}
		if m == nil || len(m.Chunks) == 0 {
			os.RemoveAll(filepath.Join(runOut, ChunksDir))
			count(encodeSpool(ctx, runOut, run, o))
			continue
		}
		clock, err := timing.ReadSidecar(filepath.Join(sp, timing.SidecarName))
		if err != nil {
			clock = nil
		}
		if last := m.Chunks[len(m.Chunks)-1]; last.Next >= 0 {
			c := chunkRange{Index: last.Index + 1, From: last.Next, To: -1, Next: -1}
			if err := encodeChunk(ctx, runOut, c, m, clock, o); err != nil {
				run.Status, run.Error = report.Failed, err.Error()
				saveServeReport(runOut, run, opts)
				count(report.Failed)
				continue
			}
		}
		run.Chunks = len(m.Chunks)
		count(finishChunked(ctx, runOut, run, m, clock, o))
	}
	return failed, degraded, nil
}

// recoveredReport is the ingest report of a run recovered from its spool:
// what the serve that received it recorded (a report a signal left), and
// the frames its spool lost, which a full disk may have kept it from
// recording anywhere else.
func recoveredReport(runOut string) *report.Serve {
	run := &report.Serve{}
	if b, err := os.ReadFile(filepath.Join(runOut, report.ServeFile)); err != nil || json.Unmarshal(b, run) != nil {
		run = &report.Serve{Run: filepath.Base(runOut)}
	}
	run.Folder, run.Ended, run.Interrupted = filepath.Base(runOut), report.EndRecovered, true
	run.Report, run.Status, run.Error = filepath.Join(filepath.Base(runOut), report.RunFile), "", ""
	if run.Rejected == nil {
		run.Rejected = map[string]int{}
	}
	if run.Examples == nil {
		run.Examples = map[string]string{}
	}
	if n := spool.LostFrames(filepath.Join(runOut, SpoolDir)); n > run.Rejected[rejectedSpool] {
		run.Rejected[rejectedSpool] = n
		if run.Examples[rejectedSpool] == "" {
			run.Examples[rejectedSpool] = fmt.Sprintf("%d frames are recorded as lost in the spool's %s", n, timing.SidecarName)
		}
	}
	return run
}

// spoolDirs are the spools of the runs under outDir.
func spoolDirs(outDir string) ([]string, error) {
	return filepath.Glob(filepath.Join(output.GlobEscape(outDir), "*", SpoolDir))
}

// Spooled names the runs under outDir whose frames are still spooled (not
// yet encoded, or kept for a retry): the next serve start, or serve
// --recover, encodes them.
func Spooled(outDir string) []string {
	spools, _ := spoolDirs(outDir)
	names := make([]string, len(spools))
	for i, sp := range spools {
		names[i] = filepath.Base(filepath.Dir(sp))
	}
	return names
}
