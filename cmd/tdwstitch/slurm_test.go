//go:build full

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tdwstitch/tdwstitch/report"
)

// TestSlurmArrayBatch runs a batch as a real Slurm job array on a
// single-node cluster started by scripts/slurm-up.sh: four array tasks take
// their shard from SLURM_ARRAY_*, every run is encoded by exactly one task,
// and the last task to finish writes the complete merged summary.
func TestSlurmArrayBatch(t *testing.T) {
	if out, err := exec.Command("bash", "../../scripts/slurm-up.sh").CombinedOutput(); err != nil {
		t.Fatalf("starting Slurm: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	bin := builtBinary(t)
	root, out := filepath.Join(tmp, "root"), filepath.Join(tmp, "out")
	rels := newDataset(t, root, 10)
	job := filepath.Join(tmp, "job.sh")
	os.WriteFile(job, []byte(fmt.Sprintf("#!/bin/bash\nexec %q batch %q -o %q -q --jobs 1\n", bin, root, out)), 0o755)

	sbatch := exec.Command("sbatch", "--array=0-3", "--wait", "--output="+filepath.Join(tmp, "slurm-%A_%a.out"), job)
	if b, err := sbatch.CombinedOutput(); err != nil {
		logs, _ := filepath.Glob(filepath.Join(tmp, "slurm-*.out"))
		for _, l := range logs {
			text, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), text)
		}
		t.Fatalf("sbatch: %v\n%s", err, b)
	}

	var encoded []string
	for k := range 4 {
		part := readBatch(t, filepath.Join(out, ".tdwstitch-shards", fmt.Sprintf("shard-%d-of-4.json", k)))
		if part.Shard == nil || part.Shard.Source != "slurm" || part.Shard.Index != k {
			t.Errorf("shard %d: %+v, want index %d from slurm", k, part.Shard, k)
		}
		for _, r := range part.RunList {
			if r.Status != report.OK {
				t.Errorf("%s: %s %s", r.Run, r.Status, r.Error)
			}
			encoded = append(encoded, r.Run)
		}
	}
	slices.Sort(encoded)
	slices.Sort(rels)
	if !slices.Equal(encoded, rels) {
		t.Fatalf("array tasks encoded %q, want each of %q exactly once", encoded, rels)
	}
	merged := readBatch(t, filepath.Join(out, report.BatchFile))
	if merged.Runs != 10 || merged.OK != 10 || len(merged.RunList) != 10 {
		t.Fatalf("merged summary: %d runs, %d ok", merged.Runs, merged.OK)
	}
}
