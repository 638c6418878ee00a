package output

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestWhenFull: an error is taken for a full disk when it says so or when
// the disk has almost no space left, and only then.
func TestWhenFull(t *testing.T) {
	dir := t.TempDir()
	other := errors.New("verifying x.mp4: 3 frames went to ffmpeg but the video holds 2")
	if free, err := statfsFree(dir); err != nil || free < fullBelow {
		t.Fatalf("free space of %s: %d, %v (the test needs 1 MiB)", dir, free, err)
	}
	if got := WhenFull(dir, other); got != other {
		t.Errorf("with space left: %v", got)
	}
	said := errors.New("ffmpeg encoder failed (exit code 1): Error closing file x.mkv: No space left on device")
	if got := WhenFull(dir, said); !errors.Is(got, syscall.ENOSPC) || !errors.Is(got, said) {
		t.Errorf("ffmpeg's own words: %v", got)
	}
	full := Space(func(string) (int64, error) { return 0, nil })
	if got := full.WhenFull(dir, other); !errors.Is(got, syscall.ENOSPC) || !strings.Contains(got.Error(), dir) {
		t.Errorf("on a full disk: %v", got)
	}
}
