package report

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// keys is the JSON object's field names, sorted.
func keys(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, " ")
}

// TestSchemaOneFieldNames pins the field names of schema 1: tools read
// them unattended, so renaming one is a new schema, not a refactor.
func TestSchemaOneFieldNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"run", Run{Error: "x", FileTimes: "x"}, "audio error file_times ignored options output run schema started status streams tool version wall_seconds warnings"},
		{"options", Options{}, "crf deep_check fit_audio fps gaps max_gap max_pixels on_bad preset timing vfr"},
		{"stream", Stream{Error: "x"}, "audio avatar bad_frames bytes capture_span codec duration encoder error first_frame fps frames_dropped frames_found frames_read frames_set_aside frames_written gaps height id inputs kept last_frame missing_frames one_liner_drift output pass pix_fmt source_format stale_output status timing timing_estimate verified vfr width"},
		{"audio", Audio{}, "codec duration offset path sample_rate source_duration"},
		{"batch", Batch{}, "degraded degraded_runs failed failures frames_written ok output problems root run_list runs schema shard skipped started tool version video_seconds wall_seconds"},
		{"batch run", BatchRun{Error: "x"}, "error frames_written report run status streams to_encode video_seconds"},
		{"serve", Serve{Error: "x"}, "backpressure chunks ended error folder framerate frames ingest_fps interrupted messages receive_seconds rejected rejected_examples report run spool_peak_bytes status"},
		{"backpressure", Backpressure{}, "over_cap queue_waits seconds waits"},
		{"framerate", Framerate{}, "frame_dt physics_time_step target_framerate"},
	} {
		if got := keys(t, tc.v); got != tc.want {
			t.Errorf("%s fields:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestVisualPassesAreThePictures(t *testing.T) {
	for pass, want := range map[string]bool{"img": true, "albedo": true, "id": false, "depth": false, "category": false} {
		if got := (&Stream{Pass: pass}).Visual(); got != want {
			t.Errorf("%s visual %v, want %v", pass, got, want)
		}
	}
}
