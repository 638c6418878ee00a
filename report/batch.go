package report

import "time"

// BatchRun is one run's line in the batch summary.
type BatchRun struct {
	Run           string  `json:"run"`    // relative to the root, slash-separated
	Status        Status  `json:"status"` // ok, degraded, failed, skipped (up to date), planned (dry run)
	Error         string  `json:"error,omitempty"`
	Report        string  `json:"report"` // the run's report, relative to the output root
	Streams       int     `json:"streams"`
	ToEncode      int     `json:"to_encode"` // streams not up to date (dry run and live)
	FramesWritten int     `json:"frames_written"`
	VideoSeconds  float64 `json:"video_seconds"`
	// Warnings are the run's (audio left out, a timing fallback): its
	// outputs are whole, but not all the run had.
	Warnings []string `json:"warnings,omitempty"`
}

// Shard is the share of a batch one process took: the runs whose stable
// hash modulo Count is Index.
type Shard struct {
	Index  int    `json:"index"`
	Count  int    `json:"count"`
	Source string `json:"source"` // "flag", "slurm", "kubernetes" or "" (not sharded)
}

// Problem is a folder a batch could not search, and why.
type Problem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Batch is the summary of a batch, BatchFile in the output root.
type Batch struct {
	Schema        int        `json:"schema"`
	Tool          string     `json:"tool"`
	Version       string     `json:"version"`
	FFmpeg        string     `json:"ffmpeg,omitempty"` // as in run reports
	Root          string     `json:"root"`
	Output        string     `json:"output"`
	Shard         *Shard     `json:"shard"`
	Started       time.Time  `json:"started"`
	WallSeconds   float64    `json:"wall_seconds"`
	Runs          int        `json:"runs"`
	OK            int        `json:"ok"`
	Degraded      int        `json:"degraded"` // written (or up to date), but frames were missing or bad
	Failed        int        `json:"failed"`
	Skipped       int        `json:"skipped"`
	FramesWritten int        `json:"frames_written"`
	VideoSeconds  float64    `json:"video_seconds"`
	Problems      []Problem  `json:"problems"`
	Failures      []BatchRun `json:"failures"`
	// DegradedRuns lists the degraded runs (their reports say which frames).
	DegradedRuns []BatchRun `json:"degraded_runs"`
	RunList      []BatchRun `json:"run_list"`
}

// Add counts run r in the summary.
func (b *Batch) Add(r BatchRun) {
	b.Runs++
	b.RunList = append(b.RunList, r)
	switch r.Status {
	case OK:
		b.OK++
	case Failed:
		b.Failed++
		b.Failures = append(b.Failures, r)
	case Degraded:
		b.Degraded++
		b.DegradedRuns = append(b.DegradedRuns, r)
	case Skipped:
		b.Skipped++
	}
	b.FramesWritten += r.FramesWritten
	b.VideoSeconds += r.VideoSeconds
}
