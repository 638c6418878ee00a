package pipeline

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// TestFullDiskIsNamed: ffmpeg's MP4 muxer exits 0 when its writes fail (a
// full disk gives a truncated file, no message). Here the real ffmpeg runs
// under a file-size limit (its writes fail the same silent way) on a disk
// that reports no free space: the stream fails saying "no space left on
// device" and naming the folder, with no --deep-check hint, and leaves no
// video or temporary file.
func TestFullDiskIsNamed(t *testing.T) {
	tl := testkit.FFmpeg(t)
	tl.Command = func(ctx context.Context, name string, arg ...string) *exec.Cmd {
		if name != tl.FFmpeg {
			return exec.CommandContext(ctx, name, arg...)
		}
		// Ignoring SIGXFSZ (inherited across exec) turns the limit into
		// failed writes, as a full disk fails them.
		return exec.CommandContext(ctx, "bash", append([]string{"-c", `trap '' XFSZ; ulimit -f 16; exec "$0" "$@"`, name}, arg...)...)
	}
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), sampleRun, out, Options{Tool: tl, Passes: []tdw.Pass{tdw.Img}, Space: func(string) (int64, error) { return 4096, nil }})
	if err == nil || len(rep.Streams) != 1 {
		t.Fatalf("encode on a full disk: %v, %+v", err, rep)
	}
	sr := rep.Streams[0]
	if sr.Status != report.Failed || !strings.Contains(sr.Error, "no space left on device") || !strings.Contains(sr.Error, out) || strings.Contains(sr.Error, "deep-check") {
		t.Fatalf("a/img: %s: %s", sr.Status, sr.Error)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "a"))
	if len(entries) != 0 {
		t.Fatalf("left in %s: %v", filepath.Join(out, "a"), entries)
	}
}

// TestFullDiskIsNotRetriedThroughThePipe: ffmpeg reads these streams' files
// itself; when it exits with an error saying the disk is full (as it does
// when a write it checks fails; the MP4 muxer's unchecked ones are caught
// by verification, TestFullDiskIsNamed), the stream fails there, naming
// the disk, instead of being encoded again through the pipe, which would
// only fill it again. The disk here reports plenty of space: ffmpeg's
// message decides.
func TestFullDiskIsNotRetriedThroughThePipe(t *testing.T) {
	tl := testkit.FFmpeg(t)
	var mu sync.Mutex
	encodes := map[string]int{} // video codec -> ffmpeg runs encoding it
	direct := 0                 // of them, runs reading the files themselves
	tl.Command = func(ctx context.Context, name string, arg ...string) *exec.Cmd {
		codec := ""
		for i, a := range arg[:max(len(arg)-1, 0)] {
			if a == "-c:v" {
				codec = arg[i+1] // the output's comes last
			}
		}
		if name != tl.FFmpeg || codec == "" {
			return exec.CommandContext(ctx, name, arg...)
		}
		mu.Lock()
		encodes[codec]++
		if slices.Contains(arg, "image2") {
			direct++
		}
		mu.Unlock()
		return exec.CommandContext(ctx, "bash", append([]string{"-c", `"$0" "$@"; echo "av_interleaved_write_frame(): No space left on device" >&2; exit 1`, name}, arg...)...)
	}
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), sampleRun, out, Options{Tool: tl, Passes: []tdw.Pass{tdw.Img, tdw.ID}, Space: func(string) (int64, error) { return 1 << 40, nil }})
	if !errors.Is(err, syscall.ENOSPC) || len(rep.Streams) != 2 {
		t.Fatalf("encode on a full disk: %v, %+v", err, rep)
	}
	for _, sr := range rep.Streams {
		if sr.Status != report.Failed || !strings.Contains(sr.Error, "no space left on device") || !strings.Contains(sr.Error, out) {
			t.Errorf("%s: %s: %s", sr.ID, sr.Status, sr.Error)
		}
	}
	if encodes["libx264"] != 1 || encodes["ffv1"] != 1 || direct != 2 {
		t.Errorf("ffmpeg runs per codec %v, %d reading the files themselves; want one libx264 and one ffv1, both reading them", encodes, direct)
	}
}
