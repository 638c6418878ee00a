//go:build full

package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/output"

	"github.com/tdwstitch/tdwstitch/pipeline"

	"github.com/tdwstitch/tdwstitch/report"

	zmq "github.com/pebbe/zmq4"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
	"github.com/tdwstitch/tdwstitch/fixtures/verify"
	"github.com/tdwstitch/tdwstitch/stages/source"
)

// TestServeFromPythonSender: Debian's python3 with pyzmq (what TDW uses)
// pushes a run, with garbage between the frames, over tcp and over ipc;
// every video decodes to exactly what encode makes of the same frames saved
// to disk (depth bit-exact after the flip), the garbage is counted, nothing
// is written outside the output folder.
func TestServeFromPythonSender(t *testing.T) {
	for _, transport := range []string{"tcp", "ipc"} {
		t.Run(transport, func(t *testing.T) {
			addr := testkit.FreeTCP(t)
			if transport == "ipc" {
				addr = "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
			}
			frames, depthPNGs := senderFrames(t, 15, 32, 24)
			srv := startServe(t, addr, nil)
			out := srv.out

			sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "episode_1", frames, "15", "32", "24", "--garbage")
			if b, err := sender.CombinedOutput(); err != nil {
				t.Fatalf("sender: %v\n%s", err, b)
			}
			srv.waitRun(t, "episode_1")
			srv.stop()

			runOut := filepath.Join(out, "episode_1")
			rep := readRun(runOut)
			if rep == nil || rep.Status != report.OK || len(rep.Streams) != 3 {
				t.Fatalf("report: %+v", rep)
			}
			// The same frames saved to disk as save_images writes them, encoded.
			onDisk := filepath.Join(t.TempDir(), "a")
			os.MkdirAll(onDisk, 0o755)
			for i := range 15 {
				for _, f := range []string{filepath.Join(frames, fmt.Sprintf("img_%04d.jpg", i)), filepath.Join(frames, fmt.Sprintf("id_%04d.png", i)), filepath.Join(depthPNGs, fmt.Sprintf("depth_%04d.png", i))} {
					b, _ := os.ReadFile(f)
					os.WriteFile(filepath.Join(onDisk, filepath.Base(f)), b, 0o644)
				}
			}
			enc, _, err := pipeline.Encode(context.Background(), filepath.Dir(onDisk), t.TempDir(), pipeline.Options{Tool: testkit.FFmpeg(t)})
			if err != nil {
				t.Fatalf("encode of the frames on disk: %v", err)
			}
			for i, sr := range rep.Streams {
				if sr.FramesRead != 15 || sr.FramesWritten != 15 {
					t.Errorf("%s: read %d frames, wrote %d, want 15", sr.ID, sr.FramesRead, sr.FramesWritten)
				}
				if sr.Pass == "depth" {
					verify.SameFrames(t, rep.Path(sr), filepath.Join(depthPNGs, "depth_%04d.png"))
				}
				// Every pass decodes to exactly what encode made of the files.
				if e := enc.Streams[i]; e.ID != sr.ID || !slices.Equal(verify.FrameMD5(t, rep.Path(sr), "rgb24", false), verify.FrameMD5(t, enc.Path(e), "rgb24", false)) {
					t.Errorf("%s: serve's video differs from encode's of the same frames on disk", sr.ID)
				}
			}
			var sr report.Serve
			b, _ := os.ReadFile(filepath.Join(runOut, report.ServeFile))
			if err := json.Unmarshal(b, &sr); err != nil || sr.Frames != 15 || sr.Ended != "end" || sr.Interrupted || len(sr.Rejected) == 0 ||
				sr.Framerate == nil || sr.Framerate.Target != 60 || float32(sr.Framerate.FrameDt) != 0.025 {
				t.Fatalf("serve report %+v (%v)", sr, err)
			}
			if _, err := os.Stat(filepath.Join(runOut, SpoolDir)); err == nil {
				t.Error("the spool was not removed after a successful encode")
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 2 || entries[0].Name() != output.LockName || entries[1].Name() != "episode_1" {
				t.Errorf("output folder holds %v, want only serve's lock and episode_1", entries)
			}
		})
	}
}

// TestServeIdleEndsVanishedRun: a controller that dies mid-run (no end) has
// its run encoded after --idle, up to the last frame, marked "idle"; an
// audio_start message places its audio.
func TestServeIdleEndsVanishedRun(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 6, 16, 16)
	wav := filepath.Join(t.TempDir(), "rec.wav")
	os.WriteFile(wav, synth.WAV(1), 0o644)
	// One sender, so the only silence is after its last frame: the idle
	// ends the run there and nowhere earlier.
	srv := startServe(t, addr, func(so *Options) { so.Idle = 2 * time.Second })
	out := srv.out
	// Frames, and the sender "dies": no end message.
	sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "crashed", frames, "6", "16", "16",
		"--audio", wav, "--audio-start", "--begin-fps", "30", "--no-end")
	if b, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	srv.waitRun(t, "crashed")
	srv.stop()
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(out, "crashed", report.ServeFile))
	if err := json.Unmarshal(b, &sr); err != nil || sr.Ended != "idle" || !sr.Interrupted || sr.Frames != 6 {
		t.Fatalf("serve report %+v (%v)", sr, err)
	}
	rep := readRun(filepath.Join(out, "crashed"))
	for _, s := range rep.Streams {
		if s.Pass == "img" && (s.Audio == nil || s.Timing != "sidecar" || s.FPS != 30) {
			t.Fatalf("img stream: audio %+v, timing %s, fps %v", s.Audio, s.Timing, s.FPS)
		}
	}
}

// TestServeSurvivesGarbageFlood: thousands of malformed messages before a
// good run neither stop nor slow the run; the ones inside it are counted.
func TestServeSurvivesGarbageFlood(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 5, 16, 16)
	srv := startServe(t, addr, func(so *Options) { so.Source.MaxPart, so.Source.MaxParts = 1<<20, 8 })
	out := srv.out

	flood := `
import os, random, sys, zmq
random.seed(7)
c = zmq.Context(); s = c.socket(zmq.PUSH); s.connect(sys.argv[1])
for i in range(3000):
    kind = i % 5
    if kind == 0: s.send_multipart([os.urandom(random.randint(0, 64)) for _ in range(random.randint(1, 4))])
    elif kind == 1: s.send_multipart([b"\x00\x00\x00\x00imag" + os.urandom(40), b"\x00\x00\x00\x01"])
    elif kind == 2: s.send_multipart([b"x"] * 20)
    elif kind == 3: s.send_multipart([b"tdwstitch/begin", b"{not json"])
    else: s.send_multipart([b"tdwstitch/begin", b'{"run": "../../escape"}'])
s.close(linger=10000); c.term()`
	if b, err := exec.Command(testkit.Python(t), "-c", flood, addr).CombinedOutput(); err != nil {
		t.Fatalf("flood: %v\n%s", err, b)
	}
	sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "after_flood", frames, "5", "16", "16")
	if b, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	srv.waitRun(t, "after_flood")
	srv.stop()
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{output.LockName, "after_flood"}) {
		t.Fatalf("output folder holds %v, want only after_flood (no escape, no runs from garbage)", names)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "escape")); err == nil {
		t.Fatal("a run name escaped the output folder")
	}
}

// TestServeSlowEncoderFastSender: a sender pushing as fast as it can into a
// serve whose encoder is held back (a closed gate on the encoder slots,
// opened only once both the spool, capped at 3 MB, and the memory queue,
// capped at 256 kB, have made the receiver wait), so that backpressure
// reaches the sender. The run is encoded in chunks while it arrives,
// receiving pauses when the spool is full (reported), the spool never goes
// past the cap by more than a frame, the sender exits as soon as serve
// acknowledges the run, no frame is lost, and the joined data-pass videos
// are bit-exact.
func TestServeSlowEncoderFastSender(t *testing.T) {
	const n, spoolMax = 240, 3 << 20
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, depthPNGs := senderFrames(t, n, 96, 64)
	gate := semaphore.NewWeighted(1)
	gate.Acquire(context.Background(), 1) // closed: no encode starts
	var spoolWaited, queueWaited atomic.Bool
	var open sync.Once
	srv := startServe(t, addr, func(so *Options) {
		so.Encoders = gate
		so.SpoolMax, so.ChunkBytes, so.QueueBytes, so.Source.HWM = spoolMax, 1<<20, 256<<10, 8
		so.Ack = "ipc://" + filepath.Join(filepath.Dir(strings.TrimPrefix(addr, "ipc://")), "ack.sock")
		next := so.OnEvent
		so.OnEvent = func(e event.Event) {
			if e.Kind == event.Backpressure {
				if e.Path == "spool" {
					spoolWaited.Store(true)
				} else {
					queueWaited.Store(true)
				}
				if spoolWaited.Load() && queueWaited.Load() {
					open.Do(func() { gate.Release(1) })
				}
			}
			next(e)
		}
	})
	// Should backpressure never come, the gate opens anyway and the test
	// fails, instead of the sender waiting for ever.
	var timedOut atomic.Bool
	deadline := time.AfterFunc(2*time.Minute, func() {
		open.Do(func() {
			timedOut.Store(true)
			gate.Release(1)
		})
	})
	defer deadline.Stop()
	sendCtx, cancelSend := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelSend()
	sender := exec.CommandContext(sendCtx, testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "long_run", frames, fmt.Sprint(n), "96", "64", "--ack", srv.so.Ack)
	if b, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	if timedOut.Load() {
		t.Fatal("no backpressure from both the spool and the queue within 2 minutes: the gate was opened by the deadline")
	}
	srv.waitRun(t, "long_run")
	srv.stop()

	runOut := filepath.Join(srv.out, "long_run")
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(runOut, report.ServeFile))
	if err := json.Unmarshal(b, &sr); err != nil || sr.Frames != n || sr.Status != report.OK {
		t.Fatalf("serve report %+v (%v)", sr, err)
	}
	if sr.Chunks < 3 || sr.Backpressure.Waits == 0 || sr.Backpressure.QueueWaits == 0 || sr.Backpressure.OverCap != 0 || sr.SpoolPeakBytes > spoolMax+64<<10 {
		t.Fatalf("chunks %d, backpressure %+v, spool peak %d bytes (cap %d): want >= 3 chunks, waits, no frame over the cap",
			sr.Chunks, sr.Backpressure, sr.SpoolPeakBytes, spoolMax)
	}
	t.Logf("%d frames in %d chunks; spool peak %d bytes (cap %d); backpressure %+v", sr.Frames, sr.Chunks, sr.SpoolPeakBytes, spoolMax, sr.Backpressure)
	rep := readRun(runOut)
	if rep == nil || rep.Status != report.OK || len(rep.Streams) != 3 {
		t.Fatalf("report: %+v", rep)
	}
	for _, s := range rep.Streams {
		if s.FramesFound != n || s.FramesWritten != n || !s.Verified || len(s.Gaps) != 0 {
			t.Errorf("%s: found %d, wrote %d, verified %v, gaps %v; want %d, %d, true, none", s.ID, s.FramesFound, s.FramesWritten, s.Verified, s.Gaps, n, n)
		}
		switch s.Pass {
		case "depth":
			verify.SameFrames(t, rep.Path(s), filepath.Join(depthPNGs, "depth_%04d.png"))
		case "id":
			verify.SameFrames(t, rep.Path(s), filepath.Join(frames, "id_%04d.png"))
		}
	}
	for _, left := range []string{SpoolDir, ChunksDir, liveManifestName} {
		if _, err := os.Stat(filepath.Join(runOut, left)); err == nil {
			t.Errorf("%s left behind after a successful run", left)
		}
	}
}

// TestServeConnectsToABindingController: with --connect, serve connects to
// a controller whose PUSH socket binds; frames sent without a begin message
// make a run named after the UTC time of its first frame, ended by --idle.
func TestServeConnectsToABindingController(t *testing.T) {
	addr := testkit.FreeTCP(t)
	frames, _ := senderFrames(t, 5, 16, 16)
	sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "ignored", frames, "5", "16", "16", "--bind", "--no-begin", "--no-end")
	out := make(chan []byte, 1)
	go func() {
		b, err := sender.CombinedOutput()
		if err != nil {
			b = append(b, err.Error()...)
		}
		out <- b
	}()
	before := time.Now().UTC().Add(-time.Second)
	srv := startServe(t, "", func(so *Options) { so.Source.Listen, so.Source.Connect, so.Idle = "", addr, time.Second })
	if b := <-out; !strings.Contains(string(b), "sent 5") {
		t.Fatalf("sender: %s", b)
	}
	var e event.Event
	select {
	case e = <-srv.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the run was not encoded within 2 minutes")
	}
	srv.stop()
	name, ok := strings.CutPrefix(e.Run, "live-")
	started, err := time.Parse("20060102T150405Z", name)
	if !ok || err != nil || started.Before(before.Truncate(time.Second)) || started.After(time.Now()) || e.Status != report.OK {
		t.Fatalf("run %q (%s, %v), want live-<UTC time of its first frame>", e.Run, e.Status, e.Err)
	}
	rep := readRun(filepath.Join(srv.out, e.Run))
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(srv.out, e.Run, report.ServeFile))
	if json.Unmarshal(b, &sr) != nil || sr.Frames != 5 || sr.Ended != "idle" || rep == nil || rep.Streams[0].FramesWritten != 5 {
		t.Fatalf("serve report %+v, report %+v", sr, rep)
	}
}

// TestServeRunsFollowEachOther: runs follow each other on one socket; one
// whose end never came is closed by the next begin ("next-begin"), and each
// gets its own folder, videos and reports.
func TestServeRunsFollowEachOther(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 6, 16, 16)
	srv := startServe(t, addr, nil)
	for _, run := range []struct {
		name  string
		flags []string
	}{{"ep_a", []string{"--no-end"}}, {"ep_b", nil}, {"ep_c", nil}} {
		args := append([]string{testkit.Fixture("tdw_sender.py"), addr, run.name, frames, "6", "16", "16"}, run.flags...)
		if b, err := exec.Command(testkit.Python(t), args...).CombinedOutput(); err != nil {
			t.Fatalf("sender %s: %v\n%s", run.name, err, b)
		}
	}
	ended := map[string]bool{}
	for range 3 {
		select {
		case e := <-srv.done:
			if e.Status != report.OK {
				t.Fatalf("run %s: %s %v", e.Run, e.Status, e.Err)
			}
			ended[e.Run] = true
		case <-time.After(2 * time.Minute):
			t.Fatalf("runs not encoded within 2 minutes: %v", ended)
		}
	}
	srv.stop()
	for name, how := range map[string]report.EndReason{"ep_a": "next-begin", "ep_b": "end", "ep_c": "end"} {
		var sr report.Serve
		b, _ := os.ReadFile(filepath.Join(srv.out, name, report.ServeFile))
		rep := readRun(filepath.Join(srv.out, name))
		if json.Unmarshal(b, &sr) != nil || sr.Ended != how || sr.Interrupted != (how != "end") || sr.Frames != 6 || rep == nil || len(rep.Streams) != 3 {
			t.Errorf("%s: serve report %+v, report %v; want ended %s, 6 frames, 3 streams", name, sr, rep, how)
		}
	}
}

// TestServeHostileFrameNumberAndNewPasses: a real pyzmq sender sends a
// good 120-frame run with _albedo (TDW's mask 512) and a pass unknown to
// tdwstitch in every frame, and half-way one well-formed Images message of
// random bytes numbered 10,000,000. The jump is rejected and counted (the
// run is degraded: a frame the controller sent is not in its videos), the
// unknown pass set aside and counted, no good frame is lost, every video has
// 120 frames, and the exchange ends within seconds (the bound on waitRun is
// a hang guard only).
func TestServeHostileFrameNumberAndNewPasses(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 120, 16, 16)
	srv := startServe(t, addr, nil)
	sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "hostile", frames, "120", "16", "16",
		"--passes", "img,id,depth,albedo", "--unknown-pass", "256", "--stray", "10000000")
	if b, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	srv.waitRunStatus(t, "hostile", report.Degraded)
	srv.degraded = true
	srv.stop()

	runOut := filepath.Join(srv.out, "hostile")
	rep := readRun(runOut)
	var ids []string
	for _, sr := range rep.Streams {
		ids = append(ids, sr.ID)
		if sr.FramesRead != 120 || sr.FramesWritten != 120 || sr.LastFrame != 119 || sr.Status != report.OK {
			t.Errorf("%s: read %d, wrote %d, last frame %d, %s; want 120, 120, 119, ok", sr.ID, sr.FramesRead, sr.FramesWritten, sr.LastFrame, sr.Status)
		}
		if n := verify.Probe(t, rep.Path(sr)).Streams[0].Packets; n != 120 {
			t.Errorf("%s: the video holds %d frames, want 120", sr.ID, n)
		}
	}
	if want := []string{"a/img", "a/id", "a/depth", "a/albedo"}; !slices.Equal(ids, want) {
		t.Errorf("streams %v, want %v", ids, want)
	}
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(runOut, report.ServeFile))
	if err := json.Unmarshal(b, &sr); err != nil || sr.Frames != 120 || sr.Rejected[rejectedJump] != 1 || sr.Status != report.Degraded || sr.Rejected[rejectedUnknownPass] != 120 || sr.Examples[rejectedUnknownPass] != "pass mask 256" {
		t.Fatalf("serve report: frames %d, rejected %v (%v)", sr.Frames, sr.Rejected, err)
	}
}

// TestServeChunkedRunEndsAtLastGoodFrame: in a run encoded in chunks while
// it arrives, a stray message of random bytes numbered past the others
// (within --max-gap, so accepted) is set aside, never held, and costs no
// real frame, wherever it comes: half-way (with chunks so small that the
// stray arrives when one is full: before, the chunk ended at the stray's
// number and every later real frame was lost), first of all (before, its
// number kept any chunk from ending, and the spool grew unbounded), or
// numbered like a real frame still to come (the real one is encoded). A
// resent message is dropped as a duplicate and costs nothing; frames that
// arrive after their part of the run was encoded are counted as late, and
// the run is degraded. Every id video is bit-exact against the frames.
func TestServeChunkedRunEndsAtLastGoodFrame(t *testing.T) {
	for _, tc := range []struct {
		name       string
		chunkBytes int64
		n          int
		args       []string
		status     report.Status
		rejected   map[string]int
		setAside   int
		seconds    float64 // ChunkSeconds, when not the default
	}{
		{"stray half-way", 6000, 60, []string{"--stray", "300"}, report.Degraded, map[string]int{}, 1, 0},
		{"stray when a chunk is full", 1, 24, []string{"--stray", "300"}, report.Degraded, map[string]int{}, 1, 0},
		{"stray first", 6000, 60, []string{"--stray", "10000000", "--stray-first"}, report.Degraded, map[string]int{}, 1, 0},
		// Sealed by its seconds at once; the last chunk's window reaches
		// the stray's number, which must not cost a count up to it.
		{"stray first numbered 2^32-1", 1 << 30, 60, []string{"--stray", "4294967295", "--stray-first"}, report.Degraded, map[string]int{}, 1, 0.5},
		{"stray with a later frame's number", 2500, 40, []string{"--stray", "25"}, report.Degraded, map[string]int{}, 1, 0},
		{"resent message", 2500, 40, []string{"--duplicate"}, report.OK, map[string]int{rejectedDuplicate: 1}, 0, 0},
		{"late frames", 2500, 40, []string{"--resend-old", "3"}, report.Degraded, map[string]int{rejectedLate: 3}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
			frames, _ := senderFrames(t, tc.n, 16, 16)
			srv := startServe(t, addr, func(so *Options) {
				so.ChunkBytes = tc.chunkBytes
				if tc.seconds != 0 {
					so.ChunkSeconds = tc.seconds
				}
			})
			args := append([]string{testkit.Fixture("tdw_sender.py"), addr, "chunked", frames, strconv.Itoa(tc.n), "16", "16", "--passes", "img,id"}, tc.args...)
			if b, err := exec.Command(testkit.Python(t), args...).CombinedOutput(); err != nil {
				t.Fatalf("sender: %v\n%s", err, b)
			}
			var e event.Event
			select {
			case e = <-srv.done:
			case <-time.After(2 * time.Minute):
				t.Fatal("the run was not encoded within 2 minutes")
			}
			if e.Status != tc.status {
				t.Fatalf("run %s: %s %v, want %s", e.Run, e.Status, e.Err, tc.status)
			}
			rep := readRun(filepath.Join(srv.out, "chunked"))
			var sr report.Serve
			b, _ := os.ReadFile(filepath.Join(srv.out, "chunked", report.ServeFile))
			if err := json.Unmarshal(b, &sr); err != nil || sr.Chunks < 2 || !maps.Equal(sr.Rejected, tc.rejected) || sr.FinishSeconds <= 0 {
				t.Fatalf("serve report: %d chunks, rejected %v, final %.3f s after the end (%v); want the run encoded in chunks, rejected %v, a time", sr.Chunks, sr.Rejected, sr.FinishSeconds, err, tc.rejected)
			}
			last := int64(tc.n - 1)
			for _, s := range rep.Streams {
				n := verify.Probe(t, rep.Path(s)).Streams[0].Packets
				if s.FramesWritten != tc.n || n != tc.n || s.LastFrame != last || s.FramesSetAside != tc.setAside {
					t.Errorf("%s: wrote %d (video %d), last frame %d, set aside %d; want %d, %d, %d, %d", s.ID, s.FramesWritten, n, s.LastFrame, s.FramesSetAside, tc.n, tc.n, last, tc.setAside)
				}
				if s.Pass == "id" {
					verify.SameFrames(t, rep.Path(s), filepath.Join(frames, "id_%04d.png"))
				}
			}
			srv.degraded = tc.status == report.Degraded // Serve's error says so, as it should
		})
	}
}

// TestServeExitReflectsRuns: Serve's error says a run failed (ErrFailed)
// or was degraded (ErrDegraded), so the command's exit code can.
func TestServeExitReflectsRuns(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 12, 16, 16)
	os.Remove(filepath.Join(frames, "img_0005.jpg"))
	os.WriteFile(filepath.Join(frames, "img_0005.jpg"), []byte("\xff\xd8 cut short"), 0o644)
	l := &liveServe{out: t.TempDir(), done: make(chan event.Event, 4)}
	so := Options{Options: pipeline.Options{Tool: testkit.FFmpeg(t), OnEvent: func(e event.Event) {
		if e.Kind == event.RunDone {
			l.done <- e
		}
	}}, Source: source.Options{Listen: addr, MaxPart: 16 << 20, HWM: 64}, Idle: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l.out, so) }()
	sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "damaged", frames, "12", "16", "16", "--passes", "img")
	if b, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	select {
	case e := <-l.done:
		if e.Status != report.Degraded {
			t.Fatalf("run %s: %s, want degraded", e.Run, e.Status)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the run was not encoded within 2 minutes")
	}
	cancel()
	if err := <-served; !errors.Is(err, pipeline.ErrDegraded) || errors.Is(err, pipeline.ErrFailed) {
		t.Fatalf("Serve: %v, want pipeline.ErrDegraded", err)
	}
}

// TestServeChunkedSlowControllerKeepsTime: a controller slower than its
// target (20 of 60 fps) with audio: frames are placed by receive time, and
// a run encoded in chunks spans its real 2 s at every chunk boundary (about
// 120 slots for 40 frames), as the audio does.
func TestServeChunkedSlowControllerKeepsTime(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 40, 16, 16)
	wav := filepath.Join(t.TempDir(), "rec.wav")
	os.WriteFile(wav, synth.WAV(2), 0o644)
	srv := startServe(t, addr, func(so *Options) { so.ChunkBytes = 2000 })
	sender := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "slow", frames, "40", "16", "16", "--passes", "img", "--rate", "20", "--audio", wav)
	if b, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	srv.waitRun(t, "slow")
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(srv.out, "slow", report.ServeFile))
	if err := json.Unmarshal(b, &sr); err != nil || sr.Chunks < 3 {
		t.Fatalf("serve report: %d chunks (%v), want several", sr.Chunks, err)
	}
	img := readRun(filepath.Join(srv.out, "slow")).Streams[0]
	if img.FramesRead != 40 || img.FramesWritten < 110 || img.FramesWritten > 125 || img.Timing != "sidecar" {
		t.Errorf("a/img: read %d, wrote %d slots (timing %q); want 40 frames over about 117 slots of 1/60 s", img.FramesRead, img.FramesWritten, img.Timing)
	}
}

// TestServeRefusesAbsurdBeginAndLeavesNoEmptyRun: a begin whose fps is not
// within 1 to 1000 is refused and its frames are rejected (no 10,000 s
// video, no implicit run either), and a run with no accepted frame (a begin
// and an end only) leaves nothing on disk.
func TestServeRefusesAbsurdBeginAndLeavesNoEmptyRun(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 10, 16, 16)
	var mu sync.Mutex
	var said []string
	srv := startServe(t, addr, func(so *Options) {
		done := so.OnEvent
		so.OnEvent = func(e event.Event) {
			if e.Kind == event.Rejected {
				mu.Lock()
				said = append(said, e.Err.Error())
				mu.Unlock()
			}
			done(e)
		}
	})
	for _, args := range [][]string{
		{"slowfps", frames, "10", "16", "16", "--passes", "img", "--begin-fps", "0.0001"},
		{"empty", frames, "0", "16", "16"},
		{"after", frames, "10", "16", "16", "--passes", "img"},
	} {
		if b, err := exec.Command(testkit.Python(t), append([]string{testkit.Fixture("tdw_sender.py"), addr}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("sender: %v\n%s", err, b)
		}
	}
	// The refused begin's frames are rejected: no implicit live-* run.
	if e := <-srv.done; e.Run != "after" || e.Status != report.OK {
		t.Fatalf("first run done: %s %s, want after ok", e.Run, e.Status)
	}
	srv.stop()
	if live, _ := filepath.Glob(filepath.Join(srv.out, "live-*")); len(live) != 0 {
		t.Errorf("the refused run's frames made %v", live)
	}
	if _, err := os.Stat(filepath.Join(srv.out, "empty")); err == nil {
		t.Error("the run with no frame left a folder")
	}
	if _, err := os.Stat(filepath.Join(srv.out, "slowfps")); err == nil {
		t.Error("the refused begin made a run folder")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(said, func(s string) bool {
		return strings.Contains(s, `bad begin message: run "slowfps": fps 0.0001 is not within 1 to 1000`)
	}) || !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "frame of a refused run") }) {
		t.Errorf("rejections said: %q", said)
	}
}

// TestServeReusedRunName: a second run of the same name gets its own folder
// (X-2, said in its serve report), so neither run's clean-up or report
// touches the other's.
func TestServeReusedRunName(t *testing.T) {
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, 30, 16, 16)
	srv := startServe(t, addr, nil)
	for _, n := range []string{"30", "10"} {
		if b, err := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "X", frames, n, "16", "16", "--passes", "img").CombinedOutput(); err != nil {
			t.Fatalf("sender: %v\n%s", err, b)
		}
	}
	srv.waitRun(t, "X")
	srv.waitRun(t, "X")
	srv.stop()
	for folder, want := range map[string]int{"X": 30, "X-2": 10} {
		rep := readRun(filepath.Join(srv.out, folder))
		var sr report.Serve
		b, _ := os.ReadFile(filepath.Join(srv.out, folder, report.ServeFile))
		json.Unmarshal(b, &sr)
		if rep == nil || rep.Streams[0].FramesWritten != want || sr.Run != "X" || sr.Folder != folder || sr.Status != report.OK {
			t.Errorf("%s: report %+v, serve report run %q folder %q %s; want %d frames", folder, rep, sr.Run, sr.Folder, sr.Status, want)
		}
	}
}

// TestServeAcksAnsweredIndependently: an acknowledgement request for a run
// that never begins blocks no other: a whole run r2 is acknowledged while
// the first request still waits.
func TestServeAcksAnsweredIndependently(t *testing.T) {
	dir := t.TempDir()
	addr, ack := "ipc://"+filepath.Join(dir, "tdw.sock"), "ipc://"+filepath.Join(dir, "ack.sock")
	frames, _ := senderFrames(t, 5, 16, 16)
	srv := startServe(t, addr, func(so *Options) { so.Ack = ack })
	never, err := zmq.NewSocket(zmq.REQ)
	if err != nil {
		t.Fatal(err)
	}
	defer never.Close()
	never.SetLinger(0)
	if err := never.Connect(ack); err != nil {
		t.Fatal(err)
	}
	if _, err := never.SendBytes([]byte(`{"run":"never"}`), 0); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testkit.Python(t), testkit.Fixture("tdw_sender.py"), addr, "r2", frames, "5", "16", "16", "--passes", "img", "--ack", ack).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `ack {"run": "r2", "folder": "r2", "frames": 5, "ended": "end"}`) {
		t.Fatalf("r2's ack: %v\n%s", err, out)
	}
	srv.waitRun(t, "r2")
}

// TestServeAudioFIFO: a begin message naming a FIFO as its audio (ffprobe
// would wait in open for ever) does not wedge serve: that run fails at once,
// saying why (its frames stay spooled for a retry), and the next run is
// encoded.
func TestServeAudioFIFO(t *testing.T) {
	tmp := t.TempDir()
	fifo := filepath.Join(tmp, "audio.wav")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "ipc://" + filepath.Join(tmp, "tdw.sock")
	frames, _ := senderFrames(t, 10, 16, 16)
	srv := startServe(t, addr, nil)
	for _, args := range [][]string{
		{"fifo", frames, "10", "16", "16", "--audio", fifo},
		{"after", frames, "10", "16", "16"},
	} {
		if b, err := exec.Command(testkit.Python(t), append([]string{testkit.Fixture("tdw_sender.py"), addr}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("sender: %v\n%s", err, b)
		}
	}
	select {
	case e := <-srv.done:
		if e.Run != "fifo" || e.Status != report.Failed || e.Err == nil || !strings.Contains(e.Err.Error(), "not a regular file (a FIFO)") {
			t.Fatalf("run %s: %s %v, want fifo failed naming the FIFO", e.Run, e.Status, e.Err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the run with a FIFO for audio did not end within 2 minutes (wedged?)")
	}
	srv.waitRun(t, "after")
	srv.failed = true
	if _, err := os.Stat(filepath.Join(srv.out, "fifo", SpoolDir)); err != nil {
		t.Errorf("the failed run's frames are not kept for a retry: %v", err)
	}
}

// TestServeChunkedRunHasAMosaic: serve --mosaic makes a run encoded in
// chunks its mosaic at the end, from its joined videos (the frames have
// left the spool by then): every frame, and the run stays ok.
func TestServeChunkedRunHasAMosaic(t *testing.T) {
	const n = 40
	addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
	frames, _ := senderFrames(t, n, 16, 16)
	srv := startServe(t, addr, func(so *Options) { so.ChunkBytes, so.Mosaic = 2500, true })
	args := []string{testkit.Fixture("tdw_sender.py"), addr, "chunked", frames, strconv.Itoa(n), "16", "16", "--passes", "img,id"}
	if b, err := exec.Command(testkit.Python(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("sender: %v\n%s", err, b)
	}
	select {
	case e := <-srv.done:
		if e.Status != report.OK {
			t.Fatalf("run %s: %s %v, want ok", e.Run, e.Status, e.Err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the run was not encoded within 2 minutes")
	}
	rep := readRun(filepath.Join(srv.out, "chunked"))
	var sr report.Serve
	b, _ := os.ReadFile(filepath.Join(srv.out, "chunked", report.ServeFile))
	if err := json.Unmarshal(b, &sr); err != nil || sr.Chunks < 2 {
		t.Fatalf("serve report: %d chunks (%v); want the run encoded in chunks", sr.Chunks, err)
	}
	m := rep.Mosaic
	if m == nil || m.Status != report.OK || !m.Verified || m.FramesWritten != n {
		t.Fatalf("mosaic %+v; want %d frames, verified", m, n)
	}
	if v := verify.Probe(t, rep.Path(m)).Streams[0]; v.Packets != n || v.Codec != "h264" {
		t.Fatalf("mosaic.mp4: %d packets of %s, want %d of h264", v.Packets, v.Codec, n)
	}
}

// TestServeEncodesWhileTheRunArrives: with ChunkSeconds, a run is sealed
// into chunks of that length while it arrives (the first as soon as it
// holds that many frames, the encoder being idle), long before ChunkBytes;
// by size only, the same run is encoded whole at its end. Either way the videos are whole
// and the id video bit-exact.
func TestServeEncodesWhileTheRunArrives(t *testing.T) {
	const n = 60
	frames, _ := senderFrames(t, n, 16, 16)
	for _, tc := range []struct {
		seconds float64
		chunks  func(int) bool
		want    string
	}{
		{0.5, func(c int) bool { return c >= 2 }, "2 or more"}, // 30 frames at 60 fps
		{-1, func(c int) bool { return c == 0 }, "none (the run encoded whole at its end)"},
	} {
		t.Run(fmt.Sprint(tc.seconds), func(t *testing.T) {
			addr := "ipc://" + filepath.Join(t.TempDir(), "tdw.sock")
			srv := startServe(t, addr, func(so *Options) { so.ChunkSeconds = tc.seconds })
			args := []string{testkit.Fixture("tdw_sender.py"), addr, "arriving", frames, strconv.Itoa(n), "16", "16", "--passes", "img,id"}
			if b, err := exec.Command(testkit.Python(t), args...).CombinedOutput(); err != nil {
				t.Fatalf("sender: %v\n%s", err, b)
			}
			srv.waitRun(t, "arriving")
			var sr report.Serve
			b, _ := os.ReadFile(filepath.Join(srv.out, "arriving", report.ServeFile))
			if err := json.Unmarshal(b, &sr); err != nil || !tc.chunks(sr.Chunks) {
				t.Fatalf("serve report: %d chunks (%v); want %s", sr.Chunks, err, tc.want)
			}
			rep := readRun(filepath.Join(srv.out, "arriving"))
			for _, s := range rep.Streams {
				if s.FramesWritten != n || verify.Probe(t, rep.Path(s)).Streams[0].Packets != n {
					t.Errorf("%s: wrote %d frames; want %d", s.ID, s.FramesWritten, n)
				}
				if s.Pass == "id" {
					verify.SameFrames(t, rep.Path(s), filepath.Join(frames, "id_%04d.png"))
				}
			}
		})
	}
}

// TestChunkFull: a chunk is full at ChunkBytes, or at ChunkSeconds of
// distinct frame numbers (never fewer than 30) while the run's encoder is
// idle; an encoder with a chunk still to do lets it grow.
func TestChunkFull(t *testing.T) {
	l := &live{so: Options{ChunkBytes: 1 << 30, ChunkSeconds: 0.5}}
	r := &liveRun{opts: pipeline.Options{FPS: 60}}
	for _, tc := range []struct {
		numbers   int
		bytes     int64
		unencoded int32
		seconds   float64
		want      bool
	}{
		{29, 0, 0, 0.5, false},
		{30, 0, 0, 0.5, true},
		{300, 0, 1, 0.5, false},          // the encoder is behind: grow
		{1, 1 << 30, 1, 0.5, true},       // the size cap holds anyway
		{1 << 20, 1 << 29, 0, -1, false}, // by size only
		{29, 0, 0, 0.01, false},          // never fewer than minChunkFrames
	} {
		l.so.ChunkSeconds = tc.seconds
		r.chunk.numbers, r.chunk.bytes = tc.numbers, tc.bytes
		r.unencoded.Store(tc.unencoded)
		if got := l.full(r); got != tc.want {
			t.Errorf("%+v: full %v, want %v", tc, got, tc.want)
		}
	}
}
