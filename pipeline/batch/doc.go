// Package batch encodes many runs: it finds every run under a dataset root,
// selects them (globs, a shard of a Slurm or Kubernetes array), encodes each
// into the same relative path under the output root with pipeline.Encode
// (one run per process slot, up-to-date runs skipped from stat calls),
// writes the summary (report.Batch), merges the shards' summaries, and
// writes the gallery page.
package batch
