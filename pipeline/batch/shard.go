package batch

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is this process's share of a batch: the runs whose stable hash
// modulo Count is Index. The zero value means every run.
type Shard struct {
	Index  int    `json:"index"`
	Count  int    `json:"count"`
	Source string `json:"source"` // "flag", "slurm", "kubernetes" or "" (not sharded)
}

// Owns reports whether the run at rel (its path relative to the batch root)
// belongs to this shard. The hash of the path, not the run's position, so a
// shard's runs do not move when other runs appear or go.
func (s Shard) Owns(rel string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(rel))
	return int(h.Sum64()%uint64(s.Count)) == s.Index
}

// ParseShard reads "K/N" (K counts from 0).
func ParseShard(v string) (Shard, error) {
	k, n, ok := strings.Cut(v, "/")
	index, err1 := strconv.Atoi(k)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
		return Shard{}, fmt.Errorf("%q: want K/N with 0 <= K < N, e.g. 0/4 ... 3/4", v)
	}
	return Shard{Index: index, Count: count, Source: "flag"}, nil
}

// ShardFromEnv takes the shard from a scheduler's environment: a Slurm job
// array (SLURM_ARRAY_TASK_ID with _COUNT, _MIN, _MAX; task ids follow the
// --array spec, so 1-4, 0-15:4 and 1,5,9 all work as long as they are
// evenly spaced) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, plus
// TDWSTITCH_SHARD_COUNT, since Kubernetes does not inject the count).
// ok is false when neither is present; partial or inconsistent variables are
// an error saying what was found.
func ShardFromEnv(getenv func(string) string) (s Shard, ok bool, err error) {
	if id := getenv("SLURM_ARRAY_TASK_ID"); id != "" {
		return slurmShard(getenv)
	}
	if idx := getenv("JOB_COMPLETION_INDEX"); idx != "" {
		count := getenv("TDWSTITCH_SHARD_COUNT")
		i, err1 := strconv.Atoi(idx)
		n, err2 := strconv.Atoi(count)
		if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
			return Shard{}, false, &EnvError{Msg: fmt.Sprintf("Kubernetes shard: JOB_COMPLETION_INDEX=%q with TDWSTITCH_SHARD_COUNT=%q; set TDWSTITCH_SHARD_COUNT to spec.completions (an index must be below it)", idx, count)}
		}
		return Shard{Index: i, Count: n, Source: "kubernetes"}, true, nil
	}
	return Shard{}, false, nil
}

func slurmShard(getenv func(string) string) (Shard, bool, error) {
	names := []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX"}
	var v [4]int
	var found []string
	for i, name := range names {
		raw := getenv(name)
		found = append(found, name+"="+strconv.Quote(raw))
		n, err := strconv.Atoi(raw)
		if err != nil {
			return Shard{}, false, &EnvError{Msg: fmt.Sprintf("Slurm job array variables are incomplete (%s); run under sbatch --array", strings.Join(found, " "))}
		}
		v[i] = n
	}
	id, count, lo, hi := v[0], v[1], v[2], v[3]
	bad := func(why string) error {
		return &EnvError{Msg: fmt.Sprintf("Slurm job array variables are inconsistent (%s): %s; use an evenly spaced sbatch --array (e.g. 0-3 or 1,5,9)", strings.Join(found, " "), why)}
	}
	switch {
	case count < 1 || id < lo || id > hi:
		return Shard{}, false, bad("the task id is outside MIN..MAX")
	case count == 1:
		return Shard{Index: 0, Count: 1, Source: "slurm"}, true, nil
	case (hi-lo)%(count-1) != 0:
		return Shard{}, false, bad("the ids are not evenly spaced")
	}
	step := (hi - lo) / (count - 1)
	if step == 0 || (id-lo)%step != 0 {
		return Shard{}, false, bad("the task id is not on the array's step")
	}
	return Shard{Index: (id - lo) / step, Count: count, Source: "slurm"}, true, nil
}

// EnvError: a scheduler's shard variables are partial or inconsistent (the
// shard can also be given explicitly, as K/N).
type EnvError struct{ Msg string }

func (e *EnvError) Error() string { return e.Msg }

// NoShardsError: a merge found no shard summaries in Dir: the shards have
// not run.
type NoShardsError struct{ Dir string }

func (e *NoShardsError) Error() string {
	return fmt.Sprintf("no shard summaries in %s: run the shards first", e.Dir)
}
