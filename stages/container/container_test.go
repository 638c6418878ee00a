package container

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
)

// TestInspectAgreesWithFFprobe makes files the way tdwstitch does (and a
// few ways it might) with the real ffmpeg, and checks Inspect against ffprobe.
func TestInspectAgreesWithFFprobe(t *testing.T) {
	tool := testkit.FFmpeg(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"h264 aac faststart.mp4", []string{"-f", "lavfi", "-i", "testsrc2=s=98x64:r=60:d=1.5", "-f", "lavfi", "-i", "sine=d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", "1.5", "-movflags", "+faststart", "-f", "mp4"}},
		{"h264 no audio.mp4", []string{"-f", "lavfi", "-i", "testsrc2=s=64x48:r=30:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"}},
		{"h264 vfr.mp4", []string{"-f", "lavfi", "-i", "testsrc2=s=64x48:r=30:d=2", "-vf", "setpts='N*N/TB/900'", "-fps_mode", "passthrough", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"}},
		{"ffv1 rgb.mkv", []string{"-f", "lavfi", "-i", "testsrc=s=33x17:r=60:d=1", "-c:v", "ffv1", "-level", "3", "-slices", "4", "-slicecrc", "1", "-pix_fmt", "bgr0", "-f", "matroska"}},
		{"ffv1 long.mkv", []string{"-f", "lavfi", "-i", "testsrc=s=16x16:r=60:d=40", "-c:v", "ffv1", "-pix_fmt", "bgr0", "-f", "matroska"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			cmd := exec.Command(tool.FFmpeg, append(append([]string{"-nostdin", "-loglevel", "error", "-y"}, tc.args...), "file:"+path)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, out)
			}
			got, err := Inspect(path)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			m, err := tool.Probe(context.Background(), path, true)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := m.Video()
			_, audio := m.Audio()
			want := Info{Codec: v.Codec, Width: v.Width, Height: v.Height, Frames: v.Packets, HasAudio: audio}
			if got != want {
				t.Fatalf("Inspect = %+v, ffprobe says %+v", got, want)
			}
		})
	}
}

func TestInspectRejectsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, this is not a video at all"),
		"truncated": append([]byte{0, 0, 0, 0x20}, []byte("ftypisom\x00\x00\x02\x00")...),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, err := Inspect(p); err == nil {
			t.Errorf("%s: Inspect accepted it", name)
		}
	}
}

// FuzzInspect: no file may panic Inspect.
func FuzzInspect(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x10ftypisom\x00\x00\x00\x00"))
	f.Add([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0x81, 0xA3})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f")
		os.WriteFile(p, data, 0o644)
		Inspect(p)
	})
}
