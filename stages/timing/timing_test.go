package timing

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseSidecar(t *testing.T) {
	c, err := parseSidecar("timing.csv", strings.NewReader(
		"event,frame,time\nframe,0,100.5\naudio_start,,100.25\nframe,1,100.534\ncollision,1,100.52\n\nframe,2,100.6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Frames) != 3 || c.Frames[1] != 100.534 || !c.HasAudio || c.AudioStart != 100.25 || c.Source != Sidecar {
		t.Fatalf("clock = %+v", c)
	}
	if err := c.Check("timing.csv", []int64{0, 1, 2}, 3); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestSidecarProblemsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, csv, want string
		line            int
	}{
		{"header", "frame,time\nframe,0,1\n", "header", 1},
		{"garbage", "event,frame,time\nframe,0,1.0\n\x00\x01garbage\n", "fields", 3},
		{"bad number", "event,frame,time\nframe,zero,1.0\n", "not a whole number", 2},
		{"bad time", "event,frame,time\nframe,0,NaN\n", "not a number of seconds", 2},
		{"duplicate", "event,frame,time\nframe,0,1\nframe,0,2\n", "listed twice", 3},
		{"empty", "", "empty", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSidecar("run/timing.csv", strings.NewReader(tc.csv))
			var le *LineError
			if !errors.As(err, &le) || le.Line != tc.line || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "run/timing.csv") {
				t.Fatalf("error = %v, want line %d mentioning %q", err, tc.line, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	c := &Clock{Frames: map[int64]float64{0: 10, 1: 10.03, 2: 10.02, 4: 10.1}, AudioStart: 10, HasAudio: true}
	for _, tc := range []struct {
		frames []int64
		audio  float64
		want   string
	}{
		{[]int64{0, 1, 3}, 0, "no time for frame 3"},
		{[]int64{0, 1, 2}, 0, "times do not increase: frame 2"},
		{[]int64{0, 1, 4}, 1, ""},
	} {
		err := c.Check("t.csv", tc.frames, tc.audio)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%v) = %v, want %q", tc.frames, err, tc.want)
		}
	}
	// time.time() for audio, time.monotonic() for frames: no overlap.
	c.AudioStart = 1.7e9
	if err := c.Check("t.csv", []int64{0, 1}, 5); err == nil || !strings.Contains(err.Error(), "different clocks") {
		t.Errorf("different clocks: %v", err)
	}
}

func TestFromModTimes(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := FromModTimes(map[int64]time.Time{0: base.Add(20 * time.Millisecond), 1: base.Add(50 * time.Millisecond)}, base.Add(3*time.Second), 2.5)
	if c.Frames[0] != 0 || c.Frames[1] != 0.03 || !c.HasAudio || c.AudioStart < 0.4799 || c.AudioStart > 0.4801 || !c.Estimate() {
		t.Fatalf("clock = %+v", c)
	}
}

func TestEvenly(t *testing.T) {
	c, err := Evenly([]int64{10, 11, 13}, 2)
	if err != nil || c.Frames[10] != 0 || c.Frames[11] != 0.5 || c.Frames[13] != 1.5 {
		t.Fatalf("Evenly = %+v, %v", c, err)
	}
}

// TestReadSidecarOnlyRegularBounded: a FIFO is refused without waiting for
// a writer (the test would hang otherwise), and a file larger than any
// sidecar is refused from its size, before a byte is parsed.
func TestReadSidecarOnlyRegularBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSidecar(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: error = %v", err)
	}
	huge := filepath.Join(dir, "huge.csv")
	if err := os.WriteFile(huge, []byte("event,frame,time\nframe,0,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSidecar(huge); err != nil {
		t.Fatalf("small sidecar: %v", err)
	}
	if err := os.Truncate(huge, MaxSidecarBytes+1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	if _, err := ReadSidecar(huge); err == nil || !strings.Contains(err.Error(), "more than a timing sidecar's limit") {
		t.Errorf("huge: error = %v", err)
	}
}

// TestWindowCostFollowsFrames: a chunk's window up to a stray numbered
// 2^53 copies the frames the clock holds in that span, without counting
// up to the stray's number (which would stall serve's ingest for ages).
func TestWindowCostFollowsFrames(t *testing.T) {
	c := &Clock{Frames: map[int64]float64{}}
	for n := range int64(10) {
		c.Frames[n] = float64(n) / 60
	}
	stray := int64(1) << 53
	c.Frames[stray] = 0.05
	w := c.Window(5, stray, -1, map[string]int64{"a/img": 0})
	want := map[int64]float64{0: 0, 5: 5.0 / 60, 6: 6.0 / 60, 7: 7.0 / 60, 8: 8.0 / 60, 9: 9.0 / 60, stray: 0.05}
	if !maps.Equal(w.Frames, want) {
		t.Fatalf("window 5..2^53: %v, want %v", w.Frames, want)
	}
	if w := c.Window(2, 3, 4, nil); !maps.Equal(w.Frames, map[int64]float64{2: 2.0 / 60, 3: 3.0 / 60, 4: 4.0 / 60}) {
		t.Fatalf("window 2..3, next 4: %v", w.Frames)
	}
}
