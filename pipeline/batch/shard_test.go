package batch

import (
	"fmt"
	"strings"
	"testing"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestShardFromEnv(t *testing.T) {
	slurm := func(id, count, lo, hi int) func(string) string {
		return env("SLURM_ARRAY_TASK_ID", fmt.Sprint(id), "SLURM_ARRAY_TASK_COUNT", fmt.Sprint(count),
			"SLURM_ARRAY_TASK_MIN", fmt.Sprint(lo), "SLURM_ARRAY_TASK_MAX", fmt.Sprint(hi))
	}
	for _, tc := range []struct {
		name  string
		env   func(string) string
		want  Shard
		ok    bool
		error string
	}{
		{"none", env(), Shard{}, false, ""},
		{"slurm 0-3", slurm(2, 4, 0, 3), Shard{2, 4, "slurm"}, true, ""},
		{"slurm 1-4", slurm(1, 4, 1, 4), Shard{0, 4, "slurm"}, true, ""},
		{"slurm 1,5,9", slurm(9, 3, 1, 9), Shard{2, 3, "slurm"}, true, ""},
		{"slurm single", slurm(7, 1, 7, 7), Shard{0, 1, "slurm"}, true, ""},
		{"slurm uneven", slurm(2, 4, 1, 9), Shard{}, false, "not evenly spaced"},
		{"slurm partial", env("SLURM_ARRAY_TASK_ID", "3"), Shard{}, false, "incomplete"},
		{"kubernetes", env("JOB_COMPLETION_INDEX", "3", "TDWSTITCH_SHARD_COUNT", "8"), Shard{3, 8, "kubernetes"}, true, ""},
		{"kubernetes no count", env("JOB_COMPLETION_INDEX", "3"), Shard{}, false, "TDWSTITCH_SHARD_COUNT"},
		{"kubernetes index too big", env("JOB_COMPLETION_INDEX", "8", "TDWSTITCH_SHARD_COUNT", "8"), Shard{}, false, "below it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ShardFromEnv(tc.env)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("error = %v, want %q", err, tc.error)
				}
				return
			}
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("ShardFromEnv = %+v, %v, %v; want %+v, %v", got, ok, err, tc.want, tc.ok)
			}
		})
	}
}

// TestShardsCoverEveryRunOnce: N shards partition any set of runs.
func TestShardsCoverEveryRunOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7} {
		counts := make([]int, n)
		for r := range 500 {
			owners := 0
			for k := range n {
				if (Shard{Index: k, Count: n}).Owns(fmt.Sprintf("scene%d/run_%04d", r%7, r)) {
					owners++
					counts[k]++
				}
			}
			if owners != 1 {
				t.Fatalf("N=%d: run %d has %d owners", n, r, owners)
			}
		}
		for k, c := range counts {
			if n > 1 && c < 500/n/2 {
				t.Errorf("N=%d: shard %d got only %d of 500 runs", n, k, c)
			}
		}
	}
	if _, err := ParseShard("4/4"); err == nil {
		t.Error("ParseShard accepted 4/4")
	}
	if s, err := ParseShard("1/4"); err != nil || s != (Shard{1, 4, "flag"}) {
		t.Errorf("ParseShard(1/4) = %+v, %v", s, err)
	}
}
