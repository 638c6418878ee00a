package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
