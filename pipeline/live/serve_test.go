package live

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/event"

	"github.com/tdwstitch/tdwstitch/pipeline"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/tdwmsg"
	"github.com/tdwstitch/tdwstitch/stages/source"
	"github.com/tdwstitch/tdwstitch/stages/spool"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
	"github.com/tdwstitch/tdwstitch/stages/wire"
)

// liveServe is Serve running in the background for one test.
type liveServe struct {
	out  string
	so   Options
	done chan event.Event
	stop func() // cancels Serve and waits for it; safe to call twice
	// degraded: the test expects a degraded run, so Serve's ErrDegraded;
	// failed: a failed one, so ErrFailed.
	degraded, failed bool
}

// startServe runs Serve on addr into a fresh folder; tune adjusts the
// options. Each finished run is reported to waitRun.
func startServe(t *testing.T, addr string, tune func(*Options)) *liveServe {
	t.Helper()
	l := &liveServe{out: t.TempDir(), done: make(chan event.Event, 16)}
	so := Options{Options: pipeline.Options{Tool: testkit.FFmpeg(t), OnEvent: func(e event.Event) {
		if e.Kind == event.RunDone {
			l.done <- e
		}
	}}, Source: source.Options{Listen: addr, MaxPart: 16 << 20, HWM: 64}, Idle: time.Minute}
	if tune != nil {
		tune(&so)
	}
	l.so = so
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l.out, so) }()
	var once sync.Once
	l.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil && !(l.failed && errors.Is(err, pipeline.ErrFailed)) && !(l.degraded && errors.Is(err, pipeline.ErrDegraded) && !errors.Is(err, pipeline.ErrFailed)) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

// waitRun waits (bounded) for the next finished run and checks it is name, ok.
func (l *liveServe) waitRun(t *testing.T, name string) {
	t.Helper()
	l.waitRunStatus(t, name, report.OK)
}

// waitRunStatus waits (bounded) for the next finished run and checks it is
// name, with status want.
func (l *liveServe) waitRunStatus(t *testing.T, name string, want report.Status) {
	t.Helper()
	select {
	case e := <-l.done:
		if e.Run != name || e.Status != want {
			t.Fatalf("run %s: %s %v, want %s %s", e.Run, e.Status, e.Err, name, want)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("run %s was not encoded within 2 minutes", name)
	}
}

// senderFrames writes what tdw_sender.py sends: JPEG img, PNG id and raw
// bottom-up depth per frame, and the save_images-style depth PNGs to compare.
func senderFrames(t *testing.T, n, w, h int) (frames, depthPNGs string) {
	frames, depthPNGs = t.TempDir(), t.TempDir()
	scene := synth.Scene{Width: w, Height: h}
	for i := range n {
		img, id, depth := scene.Frame(i)
		os.WriteFile(filepath.Join(frames, fmt.Sprintf("img_%04d.jpg", i)), scene.EncodeJPEG(img), 0o644)
		os.WriteFile(filepath.Join(frames, fmt.Sprintf("id_%04d.png", i)), synth.EncodePNG(id), 0o644)
		os.WriteFile(filepath.Join(frames, fmt.Sprintf("depth_%04d.raw", i)), synth.RawBottomUp(depth), 0o644)
		os.WriteFile(filepath.Join(depthPNGs, fmt.Sprintf("depth_%04d.png", i)), synth.EncodePNG(depth), 0o644)
	}
	return frames, depthPNGs
}

// TestOneServePerOutputFolder: serve --recover (or a second serve) on a
// folder a serve is using is refused, naming the holder: it would take over
// the running serve's spools.
func TestOneServePerOutputFolder(t *testing.T) {
	ready := make(chan struct{})
	srv := startServe(t, "ipc://"+filepath.Join(t.TempDir(), "tdw.sock"), func(so *Options) {
		done := so.OnEvent
		so.OnEvent = func(e event.Event) {
			if e.Kind == event.Listening { // serve holds the lock before it listens
				close(ready)
			}
			done(e)
		}
	})
	select {
	case <-ready:
	case <-time.After(time.Minute):
		t.Fatal("serve took no lock within a minute")
	}
	err := Recover(context.Background(), srv.out, pipeline.Options{Tool: testkit.FFmpeg(t)})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("another tdwstitch (pid %d on ", os.Getpid())) {
		t.Fatalf("Recover beside a running serve: %v", err)
	}
}

// TestRecoverSaysFramesWereLost: a serve whose disk filled up could not
// spool some frames, nor write its report; the spool's sidecar records each
// lost frame. Recovery encodes what was spooled and reports the run
// degraded, never clean, naming the reason.
func TestRecoverSaysFramesWereLost(t *testing.T) {
	frames, _ := senderFrames(t, 6, 16, 16)
	out := t.TempDir()
	w, err := spool.Create(filepath.Join(out, "full", SpoolDir), 8)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 6 {
		b, _ := os.ReadFile(filepath.Join(frames, fmt.Sprintf("img_%04d.jpg", n)))
		ims := []*wire.Images{{AvatarID: "a", Width: 16, Height: 16, Passes: []wire.ImagePass{{Pass: tdw.Img, Format: tdw.JPEG, Image: b}}}}
		if err := w.Frame(int64(n), float64(n)/60, ims); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	f, _ := os.OpenFile(filepath.Join(out, "full", SpoolDir, timing.SidecarName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("lost,6,0.100000\nlost,7,0.116667\n") // as spool.Writer records a failed write
	f.Close()

	err = Recover(context.Background(), out, pipeline.Options{Tool: testkit.FFmpeg(t)})
	if !errors.Is(err, pipeline.ErrDegraded) {
		t.Fatalf("recover: %v, want degraded", err)
	}
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(out, "full", report.ServeFile))
	if err := json.Unmarshal(b, &sr); err != nil || sr.Status != report.Degraded || sr.Rejected[rejectedSpool] != 2 || !strings.Contains(sr.Error, "not in the videos") {
		t.Fatalf("serve report: %s %q, rejected %v (%v)", sr.Status, sr.Error, sr.Rejected, err)
	}
	if rep := readRun(filepath.Join(out, "full")); rep == nil || rep.Streams[0].FramesWritten != 6 {
		t.Fatalf("run report: %+v", rep)
	}
}

// TestServeNamesStayTheirs: serve writes only in folders it created. A
// link in OUT named like a run is left alone (the run gets NAME-2, nothing
// is written where the link points); run and avatar names that are
// tdwstitch's own file names are refused; a relative audio path in a begin
// message is the run's own folder's, not serve's working directory's.
func TestServeNamesStayTheirs(t *testing.T) {
	out, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(out, "linked")); err != nil {
		t.Fatal(err)
	}
	so := Options{Options: pipeline.Options{Tool: testkit.FFmpeg(t), OnEvent: func(event.Event) {}}}
	so.ApplyDefaults()
	l := &live{out: out, so: so, q: newQueue(1<<20, func() {}), ended: map[string]ackAnswer{}, waiting: map[string][]ackReq{}, said: map[string]bool{}}
	begin := func(run string, audio any) {
		b, _ := json.Marshal(map[string]any{"run": run, "fps": 30, "audio": audio})
		l.handle(context.Background(), [][]byte{[]byte(wire.BeginTopic), b})
	}

	begin("linked", "rec.wav")
	if l.cur == nil || l.cur.rep.Folder != "linked-2" {
		t.Fatalf("a run named like a link in OUT: %+v", l.cur)
	}
	abs, _ := filepath.Abs(filepath.Join(out, "linked-2", "rec.wav"))
	if l.cur.opts.Audio != abs || l.cur.manifest.Audio != abs {
		t.Errorf("relative audio resolved to %q (manifest %q), want %q", l.cur.opts.Audio, l.cur.manifest.Audio, abs)
	}
	jpeg, _ := os.ReadFile(filepath.Join(sampleRun, "a", "img_0000.jpg"))
	for _, avatar := range []string{report.RunFile, "a"} {
		im := tdwmsg.Images(avatar, "SensorContainer", 256, 256, []tdwmsg.Pass{{Mask: 1, Image: jpeg, Ext: 2}})
		l.handle(context.Background(), [][]byte{im, {0, 0, 0, 1}})
	}
	if l.cur.rep.Frames != 1 || l.cur.rep.Rejected["unusable frame"] != 1 {
		t.Errorf("frames %d, rejected %v; want the avatar %q refused and a kept", l.cur.rep.Frames, l.cur.rep.Rejected, report.RunFile)
	}
	l.cur.writer.Close()
	l.cur = nil

	for _, name := range []string{report.ServeFile, report.RunFile, "timing.csv"} {
		begin(name, nil)
		if l.cur != nil {
			t.Errorf("a run named %q was opened", name)
		}
		if _, err := os.Lstat(filepath.Join(out, name)); err == nil {
			t.Errorf("%s was made in OUT", name)
		}
	}
	// The frames of a refused run are rejected, not encoded as an implicit
	// live-* run; after its end, frames without a begin are one again.
	frame := tdwmsg.Images("a", "SensorContainer", 256, 256, []tdwmsg.Pass{{Mask: 1, Image: jpeg, Ext: 2}})
	l.handle(context.Background(), [][]byte{frame, {0, 0, 0, 2}})
	if l.cur != nil {
		t.Fatalf("a frame of a refused run opened run %q", l.cur.rep.Run)
	}
	l.handle(context.Background(), [][]byte{[]byte(wire.EndTopic), []byte(`{}`)})
	l.handle(context.Background(), [][]byte{frame, {0, 0, 0, 3}})
	if l.cur == nil || !strings.HasPrefix(l.cur.rep.Run, "live-") {
		t.Fatalf("a frame after the refused run's end: %+v", l.cur)
	}
	l.cur.writer.Close()
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("written where the link points: %v", entries)
	}
}

// TestChunkBoundaries: the orders frames really arrive in end chunks
// without making any frame late: swapped pairs (1,0,3,2,...), one message
// per avatar with the same number, a stray far ahead, a resent message. The
// chunks are collected, not encoded.
func TestChunkBoundaries(t *testing.T) {
	jpeg, _ := os.ReadFile(filepath.Join(sampleRun, "a", "img_0000.jpg"))
	msg := func(avatar string, n int64, image []byte) [][]byte {
		im := tdwmsg.Images(avatar, "SensorContainer", 160, 160, []tdwmsg.Pass{{Mask: 1, Image: image, Ext: 2}})
		return [][]byte{im, binary.BigEndian.AppendUint32(nil, uint32(n))}
	}
	other := append(bytes.Clone(jpeg[:len(jpeg)-2]), 0, 0xFF, 0xD9) // another image of the same size
	for _, tc := range []struct {
		name      string
		messages  [][][]byte
		duplicate int
	}{
		{"swapped pairs", func() (m [][][]byte) {
			for n := int64(0); n < 40; n += 2 {
				m = append(m, msg("a", n+1, jpeg), msg("a", n, jpeg))
			}
			return m
		}(), 0},
		{"a message per avatar", func() (m [][][]byte) {
			for n := range int64(20) {
				m = append(m, msg("a", n, jpeg), msg("b", n, jpeg))
			}
			return m
		}(), 0},
		{"stray far ahead, then a resend", func() (m [][][]byte) {
			for n := range int64(20) {
				m = append(m, msg("a", n, jpeg))
				if n == 9 {
					m = append(m, msg("a", 300, other))
				}
				if n == 15 {
					m = append(m, msg("a", 4, jpeg))
				}
			}
			return m
		}(), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			so := Options{Options: pipeline.Options{Tool: testkit.FFmpeg(t), OnEvent: func(event.Event) {}}, ChunkBytes: 1}
			so.ApplyDefaults()
			l := &live{out: t.TempDir(), so: so, q: newQueue(1<<20, func() {}), ended: map[string]ackAnswer{}, waiting: map[string][]ackReq{}, said: map[string]bool{}, freed: make(chan struct{}, 1)}
			l.handle(context.Background(), [][]byte{[]byte(wire.BeginTopic), []byte(`{"run": "order"}`)})
			r := l.cur
			r.jobs, r.done = make(chan chunkJob, 1000), make(chan struct{}) // collected, not encoded
			for _, m := range tc.messages {
				l.handle(context.Background(), m)
			}
			r.writer.Close()
			if r.rep.Chunks < 3 || r.rep.Rejected[rejectedLate] != 0 || r.rep.Rejected[rejectedDuplicate] != tc.duplicate {
				t.Fatalf("%d chunks, rejected %v; want chunks, no late frame, %d duplicates", r.rep.Chunks, r.rep.Rejected, tc.duplicate)
			}
		})
	}
}

// readRun is the run report in dir, or nil.
func readRun(dir string) *report.Run {
	r, _ := report.ReadRun(dir)
	return r
}

var sampleRun = testkit.Fixture("sample-run")

// TestServeEndToEndFromGo runs Serve whole without python: a Go PUSH peer
// sends a run of 60 frames (img and id) with a begin and an end; a small
// chunk size makes serve seal chunks while it arrives, encode them on its
// errgroup's chunk encoder, join them at the end, and report. A second run
// then stops half-way: cancelling ctx returns Serve (every goroutine
// ended) and leaves that run spooled for recovery.
func TestServeEndToEndFromGo(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	srv := startServe(t, addr, func(so *Options) { so.ChunkBytes = 16 << 10; so.Jobs = 1 })
	push, err := zmq.NewSocket(zmq.PUSH)
	if err != nil {
		t.Fatal(err)
	}
	defer push.Close()
	push.SetLinger(5 * time.Second)
	if err := push.Connect(addr); err != nil {
		t.Fatal(err)
	}
	scene := synth.Scene{Width: 32, Height: 32}
	send := func(parts ...[]byte) {
		t.Helper()
		if _, err := push.SendMessage(parts); err != nil {
			t.Fatal(err)
		}
	}
	frame := func(n int) {
		img, id, _ := scene.Frame(n)
		im := tdwmsg.Images("a", "SensorContainer", 32, 32, []tdwmsg.Pass{{Mask: 1, Image: scene.EncodeJPEG(img), Ext: 2}, {Mask: 2, Image: synth.EncodePNG(id), Ext: 1}})
		send(im, binary.BigEndian.AppendUint32(nil, uint32(n)))
	}
	send([]byte(wire.BeginTopic), []byte(`{"run": "go_run", "fps": 30}`))
	send([]byte(wire.SegmentationColorsTopic), []byte(`[{"id": 3, "color": [1, 2, 255], "name": "cube", "category": "box"}]`))
	for n := range 60 {
		frame(n)
	}
	send([]byte(wire.EndTopic), []byte(`{}`))
	srv.waitRun(t, "go_run")

	var sr report.Serve
	if err := report.Read(filepath.Join(srv.out, "go_run", report.ServeFile), &sr); err != nil {
		t.Fatal(err)
	}
	rep := readRun(filepath.Join(srv.out, "go_run"))
	if sr.Frames != 60 || sr.Chunks < 2 || sr.Ended != report.EndMessage || rep == nil || len(rep.Streams) != 2 {
		t.Fatalf("serve report %+v, run report %+v; want 60 frames in 2 chunks or more, ended by its end, 2 streams", sr, rep)
	}
	for _, s := range rep.Streams {
		if s.Status != report.OK || s.FramesWritten != 60 || s.FPS != 30 {
			t.Errorf("%s: %s, %d frames at %v fps; want ok, 60 at 30", s.ID, s.Status, s.FramesWritten, s.FPS)
		}
	}
	// The segmentation colours sent as a control message are the legend.
	if want := (report.LegendEntry{ID: 3, Color: "#0102ff", Name: "cube", Category: "box"}); len(rep.Legend) != 1 || rep.Legend[0] != want {
		t.Errorf("legend %+v, want %+v", rep.Legend, want)
	}
	if _, err := os.Stat(filepath.Join(srv.out, "go_run", SpoolDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the spool of an encoded run is still there: %v", err)
	}

	send([]byte(wire.BeginTopic), []byte(`{"run": "cut"}`))
	for n := range 10 {
		frame(n)
	}
	// The last frame is in serve once a run reports it; then stop.
	deadline := time.Now().Add(time.Minute)
	for !spooled(filepath.Join(srv.out, "cut", SpoolDir), 10) {
		if time.Now().After(deadline) {
			t.Fatal("the second run's 10 frames were not spooled within a minute")
		}
		runtime.Gosched()
	}
	srv.stop()
	if _, err := os.Stat(filepath.Join(srv.out, "cut", SpoolDir)); err != nil {
		t.Errorf("the cut run is not left spooled: %v", err)
	}
}

// spooled reports whether the spool in dir lists n frames in its index.
func spooled(dir string, n int) bool {
	b, err := os.ReadFile(filepath.Join(dir, spool.IndexName))
	return err == nil && bytes.Count(b, []byte("\n")) >= 2*n+1 // a header, a row per frame and pass
}

// TestServeDefaults: serve's encoder slots default to one per CPU (a run's
// streams then go side by side), its chunks to 5 s; what was set is kept.
func TestServeDefaults(t *testing.T) {
	var so Options
	so.ApplyDefaults()
	if so.Jobs != runtime.NumCPU() || so.ChunkSeconds != 5 {
		t.Fatalf("defaults: jobs %d, chunk seconds %v; want %d, 5", so.Jobs, so.ChunkSeconds, runtime.NumCPU())
	}
	set := Options{Options: pipeline.Options{Jobs: 3}, ChunkSeconds: -1}
	set.ApplyDefaults()
	if set.Jobs != 3 || set.ChunkSeconds != -1 {
		t.Fatalf("set: jobs %d, chunk seconds %v; want 3, -1", set.Jobs, set.ChunkSeconds)
	}
}

// TestBehindWarns: a run final more than twice --chunk-seconds (and 10 s)
// after its end is said to have fallen behind; one final sooner is not.
func TestBehindWarns(t *testing.T) {
	var got []event.Event
	l := &live{so: Options{ChunkSeconds: 5}}
	l.so.OnEvent = func(e event.Event) { got = append(got, e) }
	l.behind(&report.Serve{Run: "quick", FinishSeconds: 9.5})
	l.behind(&report.Serve{Run: "slow", FinishSeconds: 21.1})
	if len(got) != 1 || got[0].Kind != event.Warning || got[0].Run != "slow" || !strings.Contains(got[0].Err.Error(), "final 21.1 s after it ended") {
		t.Fatalf("events %+v, want one warning for the slow run", got)
	}
}
