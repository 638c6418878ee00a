package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// inputsOf lists, per ffmpeg w started, how it read its frames: the
// image2 pattern it was given, or "pipe".
func (w *watchTool) inputsOf() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ins []string
	for _, c := range w.cmds {
		if i := slices.Index(c.Args, "image2"); i > 0 && c.Args[i-1] == "-f" {
			ins = append(ins, c.Args[slices.Index(c.Args, "-i")+1])
		} else if slices.Contains(c.Args, "image2pipe") {
			ins = append(ins, "pipe")
		}
	}
	slices.Sort(ins)
	return ins
}

// frameEvents keeps each stream's last FrameDone count, and notes a
// count that went back or past its total, or came after the stream ended.
type frameEvents struct {
	mu    sync.Mutex
	done  map[string]int
	ended map[string]bool
	wrong []string
}

func newFrameEvents() *frameEvents {
	return &frameEvents{done: map[string]int{}, ended: map[string]bool{}}
}

func (f *frameEvents) record(e event.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch e.Kind {
	case event.FrameDone:
		if e.Done <= f.done[e.Stream] || e.Done > e.Total || f.ended[e.Stream] {
			f.wrong = append(f.wrong, fmt.Sprintf("%s: %d/%d after %d (ended %v)", e.Stream, e.Done, e.Total, f.done[e.Stream], f.ended[e.Stream]))
		}
		f.done[e.Stream] = e.Done
	case event.StreamDone:
		f.ended[e.Stream] = true
	}
}

// TestFFmpegReadsTheFiles: a run's streams named as TDW names them are read
// by ffmpeg itself through an image2 pattern (a % or a space in the
// folder's name included), bit-exact, one stream on its own too, and the
// progress still reaches every frame.
func TestFFmpegReadsTheFiles(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := filepath.Join(t.TempDir(), "run 100%")
	if err := (synth.Scene{Width: 64, Height: 48, Frames: 40, FPS: 60}).Write(run, "a", synth.Passes{Img: true, ID: true, Depth: true}); err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{0, 1} { // side by side; one at a time
		var w watchTool
		ev := newFrameEvents()
		out := t.TempDir()
		rep, _, err := Encode(context.Background(), run, out, Options{Tool: w.tool(t), Jobs: jobs, OnEvent: ev.record})
		if err != nil || rep.Status != report.OK {
			t.Fatalf("--jobs %d: %v, %s", jobs, err, rep.Status)
		}
		dir := filepath.Join(run, "a")
		escaped := strings.ReplaceAll(dir, "%", "%%") // the pattern's other % are ffmpeg's
		want := []string{"file:" + filepath.Join(escaped, "depth_%04d.png"), "file:" + filepath.Join(escaped, "id_%04d.png"), "file:" + filepath.Join(escaped, "img_%04d.jpg")}
		if got := w.inputsOf(); !slices.Equal(got, want) {
			t.Errorf("--jobs %d: ffmpeg read %q, want %q", jobs, got, want)
		}
		for _, sr := range rep.Streams {
			if sr.FramesWritten != 40 || ev.done[sr.ID] != 40 {
				t.Errorf("--jobs %d: %s: %d frames written, progress reached %d; want 40", jobs, sr.ID, sr.FramesWritten, ev.done[sr.ID])
			}
			if !sr.Visual() {
				verify.SameFrames(t, rep.Path(sr), filepath.Join(escaped, sr.Pass+"_%04d.png"))
			}
		}
		if len(ev.wrong) > 0 {
			t.Errorf("--jobs %d: progress went wrong: %q", jobs, ev.wrong)
		}
		w.assertAllExited(t)
	}
}

// TestBadFrameSwitchesToThePipe: ffmpeg reads the files itself until a
// frame turns out bad (a broken CRC, a picture of another size) or to
// carry bytes after its image; that stream is then sent through the pipe
// from its start, so the video is what it would have been: the bad frame
// held and listed once, the data bit-exact, the progress never counting a
// frame twice.
func TestBadFrameSwitchesToThePipe(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := testkit.SceneRun(t, 60, 64, 48, synth.Passes{Img: true, ID: true, Depth: true})
	dir := filepath.Join(run, "a")
	idBad := filepath.Join(dir, "id_0030.png")
	b, err := os.ReadFile(idBad)
	if err != nil {
		t.Fatal(err)
	}
	b[bytes.Index(b, []byte("IDAT"))+6] ^= 0xff // its CRC no longer matches
	if err := os.WriteFile(idBad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	trailing := filepath.Join(dir, "depth_0020.png")
	f, err := os.OpenFile(trailing, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("bytes after IEND")
	f.Close()
	// A picture far larger than the stream's (ffmpeg, which may get to it
	// first, refuses it: -max_pixels): the video holds frame 39 over it.
	big, err := os.Create(filepath.Join(dir, "img_0040.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(big, image.NewGray(image.Rect(0, 0, 1600, 1200)), nil); err != nil {
		t.Fatal(err)
	}
	big.Close()
	before := treeHash(t, run)

	var w watchTool
	ev := newFrameEvents()
	out := t.TempDir()
	rep, _, err := Encode(context.Background(), run, out, Options{Tool: w.tool(t), OnEvent: ev.record})
	if rep == nil || len(rep.Streams) != 3 {
		t.Fatalf("Encode: %v", err)
	}
	if treeHash(t, run) != before {
		t.Fatal("encoding modified the input run")
	}
	ins := w.inputsOf()
	if pipes := slices.Index(ins, "pipe"); pipes != 3 || len(ins) != 6 {
		t.Errorf("ffmpeg read %q: want every stream started on its files, then through the pipe", ins)
	}
	for _, sr := range rep.Streams {
		switch sr.Pass {
		case "id":
			if sr.Status != report.Degraded || len(sr.BadFrames) != 1 || sr.BadFrames[0].Path != "a/id_0030.png" || sr.FramesRead != 59 || sr.FramesWritten != 60 {
				t.Errorf("id: %s, bad %+v, read %d, written %d; want degraded, id_0030 held once", sr.Status, sr.BadFrames, sr.FramesRead, sr.FramesWritten)
			}
			// The sources with frame 29 in place of 30.
			held := t.TempDir()
			for n := range 60 {
				name := fmt.Sprintf("id_%04d.png", n)
				from := filepath.Join(dir, name)
				if n == 30 {
					from = filepath.Join(dir, "id_0029.png")
				}
				b, err := os.ReadFile(from)
				if err == nil {
					err = os.WriteFile(filepath.Join(held, name), b, 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			verify.SameFrames(t, rep.Path(sr), filepath.Join(held, "id_%04d.png"))
		case "img":
			if sr.Status != report.Degraded || len(sr.BadFrames) != 1 || sr.BadFrames[0].Path != "a/img_0040.jpg" || sr.FramesWritten != 60 {
				t.Errorf("img: %s, bad %+v, written %d; want degraded, img_0040 held", sr.Status, sr.BadFrames, sr.FramesWritten)
			}
		case "depth":
			if sr.Status != report.OK || sr.FramesWritten != 60 || len(sr.BadFrames) != 0 {
				t.Errorf("depth: %s, written %d, bad %+v", sr.Status, sr.FramesWritten, sr.BadFrames)
			}
			verify.SameFrames(t, rep.Path(sr), filepath.Join(dir, "depth_%04d.png"))
		}
	}
	if len(ev.wrong) > 0 {
		t.Errorf("progress went wrong: %q", ev.wrong)
	}
	w.assertAllExited(t)
}

// fakeImage2 makes every ffmpeg that would read the files itself run
// script (sh) instead; the others are ffmpeg.
func fakeImage2(t *testing.T, w *watchTool, script string) ffmpeg.Tool {
	tl := w.tool(t)
	real := tl.Command
	tl.Command = func(ctx context.Context, name string, arg ...string) *exec.Cmd {
		if slices.Contains(arg, "image2") {
			return real(ctx, "sh", "-c", script)
		}
		return real(ctx, name, arg...)
	}
	return tl
}

// TestFFmpegRefusingTheFilesSwitchesToThePipe: an ffmpeg that exits with an
// error of its own while reading the files (a path it cannot use, say) is
// not the stream's failure: the stream is encoded through the pipe.
func TestFFmpegRefusingTheFilesSwitchesToThePipe(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := testkit.SceneRun(t, 30, 32, 32, synth.Passes{ID: true})
	var w watchTool
	rep, _, err := Encode(context.Background(), run, t.TempDir(), Options{Tool: fakeImage2(t, &w, "echo 'Could find no file' >&2; exit 1")})
	if err != nil || rep.Status != report.OK || rep.Streams[0].FramesWritten != 30 {
		t.Fatalf("Encode: %v, %s", err, rep.Status)
	}
	verify.SameFrames(t, rep.Path(rep.Streams[0]), filepath.Join(run, "a", "id_%04d.png"))
	if ins := w.inputsOf(); !slices.Equal(ins, []string{"pipe"}) {
		t.Errorf("real ffmpegs read %q, want the pipe", ins)
	}
	w.assertAllExited(t)
}

// TestCancelWhileFFmpegReadsTheFiles: cancelled while an ffmpeg reading
// the files itself is under way (it has reported frame 5), the stream
// fails as interrupted, is not tried again through the pipe, and leaves
// no process, goroutine or file behind.
func TestCancelWhileFFmpegReadsTheFiles(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := testkit.SceneRun(t, 30, 32, 32, synth.Passes{ID: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var w watchTool
	out := t.TempDir()
	opts := Options{Tool: fakeImage2(t, &w, "echo frame=5; exec sleep 600"), OnEvent: func(e event.Event) {
		if e.Kind == event.FrameDone && e.Done == 5 {
			cancel()
		}
	}}
	rep, _, err := Encode(ctx, run, out, opts)
	if !errors.Is(err, ErrFailed) || rep.Streams[0].Status != report.Failed || !strings.Contains(rep.Streams[0].Error, "interrupted") {
		t.Fatalf("Encode: %v; stream %s %q, want failed: interrupted", err, rep.Streams[0].Status, rep.Streams[0].Error)
	}
	if ins := w.inputsOf(); len(ins) != 0 {
		t.Errorf("tried again: real ffmpegs read %q", ins)
	}
	assertNoVideo(t, out)
	w.assertAllExited(t)
}
