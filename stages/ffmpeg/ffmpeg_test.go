package ffmpeg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// hasSeq reports whether args holds want as consecutive elements.
func hasSeq(args []string, want ...string) bool {
	for i := range args {
		if i+len(want) <= len(args) && slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func TestEncodeArgs(t *testing.T) {
	visual := Encode{Width: 160, Height: 90, PixFmt: "yuv420p", FPS: 29.97, Visual: true, CRF: 18, Preset: "medium",
		Audio: "/runs/-x %d/audio.wav", Duration: 1.5, Output: "/out/-a/.img.mp4.tmp-1"}.Args()
	for _, want := range [][]string{
		{"-f", "rawvideo"}, {"-video_size", "160x90"}, {"-framerate", "29.97"}, {"-i", "pipe:0"},
		{"-i", "file:/runs/-x %d/audio.wav"}, {"-map", "0:v"}, {"-map", "1:a"},
		{"-c:v", "libx264"}, {"-crf", "18"}, {"-preset", "medium"}, {"-pix_fmt", "yuv420p"},
		{"-movflags", "+faststart"}, {"-c:a", "aac"}, {"-af", "apad"}, {"-t", "1.500000"},
		{"-f", "mp4"}, {"file:/out/-a/.img.mp4.tmp-1", "-y"},
	} {
		if !hasSeq(visual, want...) {
			t.Errorf("visual args lack %q:\n%q", want, visual)
		}
	}
	data := Encode{Width: 7, Height: 5, PixFmt: "rgb24", FPS: 60, Output: "/o/id.mkv"}.Args()
	for _, want := range [][]string{{"-c:v", "ffv1"}, {"-pix_fmt", "bgr0"}, {"-f", "matroska"}, {"file:/o/id.mkv", "-y"}} {
		if !hasSeq(data, want...) {
			t.Errorf("data args lack %q:\n%q", want, data)
		}
	}
	if slices.Contains(data, "libx264") || slices.Contains(data, "aac") {
		t.Errorf("data pass must be lossless and silent: %q", data)
	}
}

// TestFilesArgs: an encoder reading the files itself gets them as an
// image2 pattern from the first number, ends the video at the last (by
// -frames:v, or with audio by a trim filter: ffmpeg 5.1's -frames:v would
// end the audio there too), bounds the decoder's pictures and reports its
// progress on stdout.
func TestFilesArgs(t *testing.T) {
	files := &Files{Pattern: "/runs/100%% done/a/img_%04d.png", Start: 7, Count: 90, MaxPixels: DecodeBound(512, 512)}
	enc := Encode{Width: 511, Height: 512, PixFmt: "rgb24", FPS: 60, Visual: true, CRF: 18, Preset: "medium", Output: "/o/img.mp4",
		Images: &Decode{Codec: "png", PixFmt: "rgb24", PadEven: true, Files: files}, Progress: func(int64) {}}
	silent := enc.Args()
	enc.Audio, enc.Duration = "/runs/audio.wav", 1.5
	loud := enc.Args()
	for name, c := range map[string]struct {
		args     []string
		want     [][]string
		wantNone []string
	}{
		"silent": {silent, [][]string{{"-progress", "pipe:1"}, {"-f", "image2"}, {"-start_number", "7"}, {"-max_pixels", "589824"},
			{"-i", "file:/runs/100%% done/a/img_%04d.png"}, {"-frames:v", "90"}, {"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"}}, []string{"pipe:0", "image2pipe"}},
		"with audio": {loud, [][]string{{"-i", "file:/runs/100%% done/a/img_%04d.png"}, {"-vf", "trim=end_frame=90,pad=ceil(iw/2)*2:ceil(ih/2)*2"}, {"-t", "1.500000"}},
			[]string{"-frames:v", "pipe:0"}},
	} {
		for _, want := range c.want {
			if !hasSeq(c.args, want...) {
				t.Errorf("%s: args lack %q:\n%q", name, want, c.args)
			}
		}
		for _, not := range c.wantNone {
			if slices.Contains(c.args, not) {
				t.Errorf("%s: args hold %q:\n%q", name, not, c.args)
			}
		}
	}
	if got := DecodeBound(1<<20, 1<<20); got != 1<<31-1 {
		t.Errorf("DecodeBound of a huge picture = %d, want ffmpeg's int maximum", got)
	}
}

func TestDecodeArgs(t *testing.T) {
	args := Decode{Codec: "mjpeg", PixFmt: "yuv420p", PadEven: true}.Args()
	for _, want := range [][]string{{"-f", "image2pipe"}, {"-c:v", "mjpeg"}, {"-i", "pipe:0"}, {"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"}, {"-f", "rawvideo", "-fps_mode", "passthrough"}} {
		if !hasSeq(args, want...) {
			t.Errorf("decoder args lack %q:\n%q", want, args)
		}
	}
}

func TestLocateMissing(t *testing.T) {
	_, err := Locate("/nonexistent/ffmpeg")
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Fatalf("Locate error = %v, want ErrMissing with install advice", err)
	}
}

// fakeTool runs this test binary as "ffmpeg": TestHelperProcess prints the
// stderr and exits with the code given in the environment.
func fakeTool(stderr string, code int) Tool {
	return Tool{FFmpeg: "ffmpeg", FFprobe: "ffprobe", Command: func(ctx context.Context, name string, arg ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=TestHelperProcess", "--")
		cmd.Env = append(os.Environ(), "TDWSTITCH_HELPER=1", "HELPER_STDERR="+stderr, fmt.Sprintf("HELPER_CODE=%d", code))
		return cmd
	}}
}

func TestHelperProcess(t *testing.T) {
	if os.Getenv("TDWSTITCH_HELPER") != "1" {
		return // an ordinary run of the test binary: nothing to fake
	}
	// Consume stdin like ffmpeg would, then fail as told.
	buf := make([]byte, 1<<16)
	for {
		if _, err := os.Stdin.Read(buf); err != nil {
			break
		}
	}
	fmt.Fprint(os.Stderr, os.Getenv("HELPER_STDERR"))
	var code int
	fmt.Sscan(os.Getenv("HELPER_CODE"), &code)
	os.Exit(code)
}

func TestPipelineReportsEncoderFailure(t *testing.T) {
	tool := fakeTool("some noise\n[libx264] out of memory\n", 3)
	p, err := tool.Start(context.Background(), Decode{Codec: "png", PixFmt: "rgb24"}, Encode{Width: 2, Height: 2, PixFmt: "rgb24", FPS: 60, Output: "/x.mkv"})
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("frame"))
	err = p.Close()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("Close() = %v, want *Error", err)
	}
	if fe.Role != "encoder" || fe.ExitCode != 3 || !strings.Contains(fe.Error(), "out of memory") {
		t.Fatalf("error = %q (role %s, code %d)", fe.Error(), fe.Role, fe.ExitCode)
	}
}

func TestProbeReportsFailure(t *testing.T) {
	tool := fakeTool("file:/x.wav: Invalid data found when processing input\n", 1)
	_, err := tool.Probe(context.Background(), "/x.wav", false)
	if err == nil || !strings.Contains(err.Error(), "Invalid data") {
		t.Fatalf("Probe error = %v", err)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	tl := newTail(8)
	fmt.Fprint(tl, "0123456789abcdef")
	fmt.Fprint(tl, "XY")
	if got := tl.String(); got != "abcdefXY" {
		t.Fatalf("tail = %q", got)
	}
}

func TestPtsFilter(t *testing.T) {
	got := ptsFilter([]float64{0, 0.0105, 0.05}, false)
	want := "settb=1/90000,setpts='if(lt(N,1),0,if(lt(N,2),945,4500))'\n"
	if got != want {
		t.Fatalf("ptsFilter = %q, want %q", got, want)
	}
	if got := ptsFilter([]float64{1.5}, true); got != "pad=ceil(iw/2)*2:ceil(ih/2)*2,settb=1/90000,setpts='135000'\n" {
		t.Fatalf("one frame: %q", got)
	}
}

// TestConcatStallIsKilled: a join whose ffmpeg writes nothing (here a
// process that only sleeps, as a stopped ffmpeg would) is killed after its
// StallTimeout and says so, instead of holding serve's run for ever.
func TestConcatStallIsKilled(t *testing.T) {
	var proc *exec.Cmd
	tl := Tool{FFmpeg: "ffmpeg", Command: func(ctx context.Context, _ string, _ ...string) *exec.Cmd {
		proc = exec.CommandContext(ctx, "sleep", "600")
		return proc
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	err := tl.Concat(ctx, Concat{Parts: []string{"a.mkv"}, Output: t.TempDir() + "/out.mkv", StallTimeout: 400 * time.Millisecond})
	var stall *StallError
	if !errors.As(err, &stall) || ctx.Err() != nil {
		t.Fatalf("concat: %v (context: %v), want a stall", err, ctx.Err())
	}
	if proc.ProcessState == nil || proc.ProcessState.Success() {
		t.Fatalf("the stalled process was not killed: %v", proc.ProcessState)
	}
}

// TestVersionIsCached: ffmpeg is asked its version once per binary; the
// cache answers later commands until the binary changes (another size or
// time), and a cache that cannot be written only costs the asking.
func TestVersionIsCached(t *testing.T) {
	bin, asked := t.TempDir(), filepath.Join(t.TempDir(), "asked")
	stub := func(version string) {
		s := fmt.Sprintf("#!/bin/sh\necho x >> %s\necho 'ffmpeg version %s Copyright (c) the FFmpeg developers'\n", asked, version)
		for _, name := range []string{"ffmpeg", "ffprobe"} {
			if err := os.WriteFile(filepath.Join(bin, name), []byte(s), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	times := func() int { b, _ := os.ReadFile(asked); return strings.Count(string(b), "x") }
	t.Setenv("TDWSTITCH_CACHE_DIR", t.TempDir())
	stub("6.1.1")
	for range 3 {
		if tool, err := Locate(filepath.Join(bin, "ffmpeg")); err != nil || tool.Version != "6.1.1" {
			t.Fatalf("Locate: %+v, %v", tool, err)
		}
	}
	if n := times(); n != 1 {
		t.Fatalf("ffmpeg was asked %d times, want once", n)
	}
	stub("4.4.2-0ubuntu0.22.04.1") // replaced in place: another size
	if _, err := Locate(filepath.Join(bin, "ffmpeg")); !errors.Is(err, ErrTooOld) || times() != 2 {
		t.Fatalf("the replaced binary: %v, asked %d times; want ErrTooOld, asked again", err, times())
	}
	if _, err := Locate(filepath.Join(bin, "ffmpeg")); !errors.Is(err, ErrTooOld) || times() != 2 {
		t.Fatalf("the old binary again: %v, asked %d times; want ErrTooOld from the cache", err, times())
	}
	// A cache file far bigger than 64 entries is not read, even when it
	// holds an answer for this binary.
	big := t.TempDir()
	t.Setenv("TDWSTITCH_CACHE_DIR", big)
	huge, _ := json.Marshal(map[string]string{openVersionCache(filepath.Join(bin, "ffmpeg")).key: "99.0", "padding": strings.Repeat("x", 100<<10)})
	os.WriteFile(filepath.Join(big, "ffmpeg-versions.json"), huge, 0o644)
	if _, err := Locate(filepath.Join(bin, "ffmpeg")); !errors.Is(err, ErrTooOld) || times() != 3 {
		t.Fatalf("with an oversized cache: %v, asked %d times; want ErrTooOld, asked again", err, times())
	}
	blocked := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocked, nil, 0o644)
	t.Setenv("TDWSTITCH_CACHE_DIR", filepath.Join(blocked, "cache")) // cannot be made
	stub("6.1.1")
	for range 2 {
		if tool, err := Locate(filepath.Join(bin, "ffmpeg")); err != nil || tool.Version != "6.1.1" {
			t.Fatalf("Locate without a cache: %+v, %v", tool, err)
		}
	}
	if n := times(); n != 5 {
		t.Fatalf("without a cache ffmpeg was asked %d times in all, want 5", n)
	}
}
