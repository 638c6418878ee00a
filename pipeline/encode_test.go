package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"

	"go.uber.org/goleak"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

const sampleRun = "../fixtures/sample-run"

// treeHash hashes every file's path and bytes under dir: inputs must never change.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestEncodeSampleRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := t.TempDir()
	before := treeHash(t, sampleRun)
	rep, reportPath, err := Encode(context.Background(), sampleRun, out, Options{Tool: testkit.FFmpeg(t)})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if reportPath != filepath.Join(out, report.RunFile) || rep.Status != report.OK || len(rep.Streams) != 3 {
		t.Fatalf("report %s: status %s, %d streams", reportPath, rep.Status, len(rep.Streams))
	}
	if treeHash(t, sampleRun) != before {
		t.Fatal("encoding modified the input run")
	}
	for _, sr := range rep.Streams {
		if sr.Status != report.OK || !sr.Verified || sr.FramesWritten != 90 || sr.FramesRead != 90 {
			t.Fatalf("%s: %+v", sr.ID, sr)
		}
		m := verify.Probe(t, rep.Path(sr))
		v, _ := m.Video()
		if v.Packets != 90 || v.FrameRate != 60 || v.Width != 160 || v.Height != 160 {
			t.Errorf("%s: ffprobe says %d frames at %v fps, %dx%d", sr.ID, v.Packets, v.FrameRate, v.Width, v.Height)
		}
		if math.Abs(m.Duration-1.5) > 0.05 {
			t.Errorf("%s: duration %.3f s, want 1.5", sr.ID, m.Duration)
		}
		if fi, err := os.Stat(rep.Path(sr)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v (%v), want -rw-r--r-- like any file the user makes", sr.ID, fi.Mode(), err)
		}
		switch sr.Pass {
		case "img":
			if v.Codec != "h264" || v.PixFmt != "yuv420p" || sr.Output != "a/img.mp4" {
				t.Errorf("img: %s %s %s", v.Codec, v.PixFmt, sr.Output)
			}
			a, ok := m.Audio()
			if !ok || a.Codec != "aac" || math.Abs(a.Duration-1.5) > 0.05 {
				t.Errorf("img audio: %+v (present %v), want 1.5 s of AAC", a, ok)
			}
			// +faststart: the index comes before the media, so browsers play it while loading.
			if b, _ := os.ReadFile(rep.Path(sr)); bytes.Index(b, []byte("moov")) > bytes.Index(b, []byte("mdat")) {
				t.Error("img.mp4 is not faststart: moov after mdat")
			}
			if got := verify.ColorRange(t, rep.Path(sr)); got != "tv" {
				t.Errorf("img colour range %q, want tv (limited, as the one-liner)", got)
			}
		default:
			if v.Codec != "ffv1" {
				t.Errorf("%s codec %s, want ffv1", sr.ID, v.Codec)
			}
			if _, ok := m.Audio(); ok {
				t.Errorf("%s: data pass carries audio", sr.ID)
			}
			// Bit-exact: every decoded output frame equals its source PNG.
			got := verify.FrameMD5(t, rep.Path(sr), "rgb24", false)
			want := verify.FrameMD5(t, filepath.Join(sampleRun, "a", sr.Pass+"_%04d.png"), "rgb24", true)
			if !slices.Equal(got, want) {
				t.Errorf("%s is not bit-exact: %d output frames vs %d inputs", sr.ID, len(got), len(want))
			}
		}
	}
	// A second run keeps the outputs, and says so.
	rep2, _, err := Encode(context.Background(), sampleRun, out, Options{Tool: testkit.FFmpeg(t)})
	if err != nil || rep2.Status != report.Skipped {
		t.Fatalf("second encode: status %s, err %v; want skipped", rep2.Status, err)
	}
}

// watchTool records every process it starts, so a test can kill one and
// check that none outlives Encode.
type watchTool struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (w *watchTool) tool(t *testing.T) ffmpeg.Tool {
	tl := testkit.FFmpeg(t)
	tl.Command = func(ctx context.Context, name string, arg ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, name, arg...)
		w.mu.Lock()
		w.cmds = append(w.cmds, cmd)
		w.mu.Unlock()
		return cmd
	}
	return tl
}

func (w *watchTool) encoder() *exec.Cmd {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.cmds {
		if slices.Contains(c.Args, "libx264") || slices.Contains(c.Args, "ffv1") {
			return c
		}
	}
	return nil
}

func (w *watchTool) assertAllExited(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.cmds {
		if c.Process != nil && c.ProcessState == nil {
			t.Errorf("process %d (%s) was not waited for", c.Process.Pid, c.Path)
		}
	}
}

// throughPipe removes frame 60 of run's streams: a stream with a gap is
// sent through the pipe frame by frame (not read by ffmpeg itself, which
// reports its progress only twice a second), so a test can act mid-stream.
func throughPipe(t *testing.T, run string) string {
	t.Helper()
	gone, _ := filepath.Glob(filepath.Join(run, "a", "*_0060.*"))
	if len(gone) == 0 {
		t.Fatalf("no frame 60 under %s", run)
	}
	for _, f := range gone {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func TestEncoderKilledMidStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := throughPipe(t, testkit.SceneRun(t, 120, 64, 64, synth.Passes{Img: true}))
	out := t.TempDir()
	var w watchTool
	var once sync.Once
	opts := Options{Tool: w.tool(t), OnEvent: func(e event.Event) {
		if e.Kind == event.FrameDone && e.Done == 30 {
			once.Do(func() { w.encoder().Process.Signal(syscall.SIGKILL) })
		}
	}}
	rep, _, err := Encode(context.Background(), run, out, opts)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Encode error = %v, want ErrFailed", err)
	}
	sr := rep.Streams[0]
	if sr.Status != report.Failed || !strings.Contains(sr.Error, "encoder was killed") {
		t.Fatalf("stream: %s %q", sr.Status, sr.Error)
	}
	assertNoVideo(t, out)
	w.assertAllExited(t)
}

func TestCancelMidStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	run := throughPipe(t, testkit.SceneRun(t, 120, 64, 64, synth.Passes{Img: true, ID: true}))
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var w watchTool
	opts := Options{Tool: w.tool(t), Jobs: 2, OnEvent: func(e event.Event) {
		if e.Kind == event.FrameDone && e.Done == 20 {
			cancel()
		}
	}}
	rep, _, err := Encode(ctx, run, out, opts)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Encode error = %v, want ErrFailed", err)
	}
	for _, sr := range rep.Streams {
		if sr.Status != report.Failed || !strings.Contains(sr.Error, "interrupted") {
			t.Errorf("%s: %s %q, want failed: interrupted", sr.ID, sr.Status, sr.Error)
		}
	}
	assertNoVideo(t, out)
	w.assertAllExited(t)
}

// assertNoVideo fails if any video or temporary file is left under dir (the
// report and the folder's lock file are expected).
func assertNoVideo(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) != report.RunFile && filepath.Base(p) != output.LockName {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// TestEncodersBoundEveryEncode: with a shared Options.Encoders, every
// ffmpeg encoder starts while its stream holds one of its slots, however
// many runs and streams are under way (serve's process-wide --jobs).
func TestEncodersBoundEveryEncode(t *testing.T) {
	slots := semaphore.NewWeighted(1)
	var started, unheld atomic.Int32
	tl := testkit.FFmpeg(t)
	tl.Command = func(ctx context.Context, name string, arg ...string) *exec.Cmd {
		if slices.Contains(arg, "libx264") || slices.Contains(arg, "ffv1") {
			started.Add(1)
			if slots.TryAcquire(1) { // free: this encoder holds no slot
				unheld.Add(1)
				slots.Release(1)
			}
		}
		return exec.CommandContext(ctx, name, arg...)
	}
	runs := []string{testkit.SceneRun(t, 20, 16, 16, synth.Passes{Img: true, ID: true}), testkit.SceneRun(t, 20, 16, 16, synth.Passes{Img: true, ID: true})}
	var g errgroup.Group
	for _, run := range runs {
		g.Go(func() error {
			_, _, err := Encode(context.Background(), run, t.TempDir(), Options{Tool: tl, Jobs: 2, Encoders: slots})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if started.Load() != 4 || unheld.Load() != 0 {
		t.Fatalf("%d encoders started, %d of them without a slot; want 4, 0", started.Load(), unheld.Load())
	}
}

// TestRunPlannedFirst: before its first stream starts, a run says what it
// will encode (event.RunPlanned): the streams still to make, the mosaic
// and the preview as one more each, and their frames (the mosaic's too); streams kept up to date are not counted,
// and a run with nothing to do plans nothing.
func TestRunPlannedFirst(t *testing.T) {
	run := testkit.SceneRun(t, 12, 32, 32, synth.Passes{Img: true, ID: true})
	out := t.TempDir()
	var mu sync.Mutex
	var events []event.Event
	record := func(e event.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == event.RunPlanned || e.Kind == event.StreamStarted {
			events = append(events, e)
		}
	}
	encode := func(o Options) []event.Event {
		events = nil
		o.Tool, o.OnEvent = testkit.FFmpeg(t), record
		if _, _, err := Encode(context.Background(), run, out, o); err != nil {
			t.Fatal(err)
		}
		return events
	}
	got := encode(Options{Passes: []tdw.Pass{tdw.Img}, Mosaic: true})
	if len(got) != 3 || got[0].Kind != event.RunPlanned || got[0].Streams != 2 || got[0].Total != 24 {
		t.Fatalf("img and mosaic: events %+v, want RunPlanned (2 streams, 12+12 frames) before both starts", got)
	}
	got = encode(Options{Mosaic: true}) // img kept; id new, so the mosaic is made again
	if len(got) != 3 || got[0].Kind != event.RunPlanned || got[0].Streams != 2 || got[0].Total != 24 {
		t.Fatalf("img kept: events %+v, want RunPlanned (id and the mosaic, 12+12 frames) before both starts", got)
	}
	got = encode(Options{Mosaic: true, Preview: "webp"}) // only the preview to make
	if len(got) != 2 || got[0].Kind != event.RunPlanned || got[0].Streams != 1 || got[0].Total != 0 || got[1].Stream != "preview" {
		t.Fatalf("preview only: events %+v, want RunPlanned (1 stream, no frames), then the preview's start", got)
	}
	if got = encode(Options{Mosaic: true, Preview: "webp"}); len(got) != 0 {
		t.Fatalf("nothing to do: events %+v, want none", got)
	}
}

// TestSideBySide: a run of several streams runs up to one per CPU at once
// by default, each in one ffmpeg with an equal share of the cores (at
// least 2); an explicit --jobs 1, a lone stream and settings the caller
// chose (threads; one process, as batch) are kept; under serve's
// process-wide limit a run takes up to that many slots.
func TestSideBySide(t *testing.T) {
	defaults := func(o Options) Options { o.ApplyDefaults(); return o }
	cpus := runtime.NumCPU()
	share := func(jobs int) int { return max(2, (cpus+jobs-1)/jobs) }
	auto := defaults(Options{})
	if o, jobs := sideBySide(auto, 3), min(3, cpus); o.Jobs != jobs || o.OneProcess != (jobs > 1) || o.OneProcess && o.EncoderThreads != share(jobs) {
		t.Errorf("auto, 3 streams on %d CPUs: jobs %d, one process %v, threads %d", cpus, o.Jobs, o.OneProcess, o.EncoderThreads)
	}
	if o := sideBySide(auto, 1); o.Jobs != auto.Jobs || o.OneProcess {
		t.Errorf("auto, 1 stream: jobs %d, one process %v; want %d, split", o.Jobs, o.OneProcess, auto.Jobs)
	}
	if o := sideBySide(defaults(Options{Jobs: 1}), 3); o.Jobs != 1 || o.OneProcess {
		t.Errorf("--jobs 1, 3 streams: jobs %d, one process %v; want one at a time, split", o.Jobs, o.OneProcess)
	}
	if o := sideBySide(defaults(Options{Jobs: 2}), 3); o.Jobs != 2 || !o.OneProcess || o.EncoderThreads != share(2) {
		t.Errorf("--jobs 2, 3 streams: jobs %d, one process %v, threads %d", o.Jobs, o.OneProcess, o.EncoderThreads)
	}
	if o := sideBySide(defaults(Options{Jobs: 2, EncoderThreads: 1}), 3); o.EncoderThreads != 1 {
		t.Errorf("threads set to 1: got %d", o.EncoderThreads)
	}
	batch := defaults(Options{Jobs: 1, OneProcess: true, EncoderThreads: 1})
	if o := sideBySide(batch, 3); o.Jobs != 1 || o.EncoderThreads != 1 {
		t.Errorf("batch's settings: jobs %d, threads %d; want 1, 1", o.Jobs, o.EncoderThreads)
	}
	served := func(slots int) Options {
		o := defaults(Options{Jobs: slots})
		o.Encoders = semaphore.NewWeighted(int64(slots))
		return o
	}
	if o := sideBySide(served(2), 3); o.Jobs != 2 || !o.OneProcess || o.EncoderThreads != share(2) {
		t.Errorf("serve, 2 slots, 3 streams: jobs %d, one process %v, threads %d; want 2 side by side", o.Jobs, o.OneProcess, o.EncoderThreads)
	}
	if o := sideBySide(served(8), 3); o.Jobs != 3 || !o.OneProcess || o.EncoderThreads != share(3) {
		t.Errorf("serve, 8 slots, 3 streams: jobs %d, one process %v, threads %d; want 3 side by side", o.Jobs, o.OneProcess, o.EncoderThreads)
	}
	if o := sideBySide(served(1), 3); o.Jobs != 1 || o.OneProcess {
		t.Errorf("serve, 1 slot: jobs %d, one process %v; want one at a time, split", o.Jobs, o.OneProcess)
	}
}

// TestCostliestFirst: an H.264 stream outweighs data streams of its size,
// a depth pass (big PNGs) an id pass (small ones) of the same size, and a
// data stream four times the pixels outweighs a picture stream.
func TestCostliestFirst(t *testing.T) {
	job := func(pass tdw.Pass, format tdw.Format, n, w int, size int64) *video.Job {
		s := &discover.Stream{Pass: pass, Frames: make([]discover.Frame, n)}
		for i := range s.Frames {
			s.Frames[i].Format, s.Frames[i].Size = format, size
		}
		b := frames.Bounded{Stream: s}
		b.Shape.Set, b.Shape.Info.Width, b.Shape.Info.Height = true, w, w
		return &video.Job{Bounded: b}
	}
	img, pngImg := job(tdw.Img, tdw.JPEG, 600, 512, 34_000), job(tdw.Img, tdw.PNG, 600, 512, 411_000)
	id, depth, big := job(tdw.ID, tdw.PNG, 600, 512, 3_500), job(tdw.Depth, tdw.PNG, 600, 512, 52_000), job(tdw.Depth, tdw.PNG, 600, 1024, 210_000)
	if !(pngImg.Cost() > img.Cost() && img.Cost() > depth.Cost() && depth.Cost() > id.Cost() && big.Cost() > img.Cost()) || (*video.Job)(nil).Cost() != 0 {
		t.Errorf("costs: img %d (PNG %d), id %d, depth %d, depth at 1024 %d", img.Cost(), pngImg.Cost(), id.Cost(), depth.Cost(), big.Cost())
	}
}

// TestUndecodableFrameIsNeverHidden: a PNG whose chunks are whole (CRCs
// right) but whose pixels cannot be inflated passes the structural check;
// ffmpeg then cannot decode it. Whether a stream is encoded by a decoder
// beside its encoder (--jobs 1) or in one process (streams side by side),
// the video must not quietly repeat the previous frame in its place and
// be reported clean.
func TestUndecodableFrameIsNeverHidden(t *testing.T) {
	for _, jobs := range []int{1, 2} {
		t.Run(fmt.Sprintf("jobs %d", jobs), func(t *testing.T) {
			dir := testkit.SceneRun(t, 10, 32, 32, synth.Passes{Img: true, ImgPNG: true, ID: true})
			breakDeflate(t, filepath.Join(dir, "a", "img_0004.png"))
			rep, _, _ := Encode(context.Background(), dir, t.TempDir(), Options{Tool: testkit.FFmpeg(t), Jobs: jobs})
			for _, sr := range rep.Streams {
				if sr.ID == "a/img" && sr.Status == report.OK {
					t.Fatalf("a/img with an undecodable frame reported ok: %+v", sr)
				}
			}
		})
	}
}

// breakDeflate garbles the compressed pixels of a PNG's first IDAT chunk
// and fixes up its CRC, so that only decoding can tell.
func breakDeflate(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for at := 8; at+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[at:]))
		if string(b[at+4:at+8]) == "IDAT" && n > 8 {
			data := b[at+8 : at+8+n]
			for i := 2; i < len(data); i++ { // keep the zlib header
				data[i] ^= 0xA5
			}
			binary.BigEndian.PutUint32(b[at+8+n:], crc32.ChecksumIEEE(b[at+4:at+8+n]))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		at += 12 + n
	}
	t.Fatalf("%s has no IDAT chunk", path)
}
