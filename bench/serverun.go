package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// liveRun is a whole run as a controller streams it to serve at its
// capture rate: passes (the sender's --passes) of size px at fps.
type liveRun struct {
	name   string
	size   int
	fps    float64
	passes string
	imgPNG bool
}

// liveRuns are TDW's fastest published capture rates (issue 14).
var liveRuns = map[string]liveRun{
	"1024": {"img+id 1024x1024 PNG at 30 FPS", 1024, 30, "img,id", true},
	"256":  {"all passes 256x256 at 45 FPS", 256, 45, "all", false},
}

// liveCycle is how many distinct frames the sender cycles through.
const liveCycle = 120

// benchServeRun streams whole runs to `tdwstitch serve` at TDW's fastest
// capture rates, seconds long each, and reports what a controller waits
// for: how long after its end message the run's videos are final (its
// RunDone line), beside what serve did meanwhile (chunks encoded while the
// run arrived, backpressure on the sender, CPU of serve and its ffmpegs).
// It fails when the run is not ok or the id video is not bit-exact.
func benchServeRun(rounds int, seconds float64, which, work, bin string, extra []string) error {
	for _, k := range strings.Split(which, ",") {
		w, ok := liveRuns[k]
		if !ok {
			return fmt.Errorf("no live run %q: 1024 or 256", k)
		}
		dir, err := liveFrames(work, w)
		if err != nil {
			return err
		}
		frames := int(seconds * w.fps)
		var lags, cpus []float64
		for round := range rounds {
			r, err := liveRound(work, bin, dir, w, frames, extra)
			if err != nil {
				return fmt.Errorf("%s: %w", w.name, err)
			}
			lags, cpus = append(lags, r.lag), append(cpus, r.cpu)
			fmt.Printf("serve %s, round %d: %d frames (%.1f s of capture) sent in %.2f s (first frame to end message); videos final %.2f s after the end message (serve's report: %.2f s); %d chunks encoded while it arrived, %d after; backpressure %d waits; CPU %.1f s (%.0f%% of %d cores over the run and its finish), of which serve itself %.1f s; run %s, id bit-exact %v\n",
				w.name, round+1, frames, seconds, r.sent, r.lag, r.finish, r.chunksBefore, r.chunksAfter, r.waits, r.cpu, 100*r.cpu/(r.sent+r.lag)/float64(numCPU()), numCPU(), r.ownCPU, r.status, r.exact)
			if r.status != "ok" || !r.exact {
				return fmt.Errorf("%s: run %s, id bit-exact %v", w.name, r.status, r.exact)
			}
		}
		fmt.Printf("serve %s: median of %d rounds: videos final %.2f s after the end message of a %.0f s run; CPU %.1f s\n", w.name, rounds, medianOf(lags), seconds, medianOf(cpus))
	}
	return nil
}

// liveFrames writes the sender's files for w once: img (JPEG, or PNG),
// id PNG and depth as raw RGB bottom row first, as TDW sends it.
func liveFrames(work string, w liveRun) (string, error) {
	dir := filepath.Join(work, fmt.Sprintf("live-%d-%v", w.size, w.imgPNG))
	if _, err := os.Stat(filepath.Join(dir, "done-8bit")); err == nil {
		return dir, nil
	}
	fmt.Printf("generating %d %dx%d frames in %s ...\n", liveCycle, w.size, w.size, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	s := synth.Scene{Width: w.size, Height: w.size, Frames: liveCycle, FPS: 60}
	for i := range liveCycle {
		img, id, depth := s.Frame(i)
		normals, flow := s.Motion(i)
		files := map[string][]byte{
			fmt.Sprintf("normals_%04d.png", i): synth.EncodePNG(normals),
			fmt.Sprintf("flow_%04d.png", i):    synth.EncodePNG(flow),
			fmt.Sprintf("img_%04d.png", i):     synth.EncodePNG(img),
			fmt.Sprintf("img_%04d.jpg", i):     s.EncodeJPEG(img),
			fmt.Sprintf("id_%04d.png", i):      synth.EncodePNG(id),
			fmt.Sprintf("depth_%04d.raw", i):   synth.RawBottomUp(depth),
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return "", err
			}
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, "done-8bit"), nil, 0o644)
}

// liveResult is one round's figures.
type liveResult struct {
	sent, lag, cpu            float64
	ownCPU                    float64 // serve's Go process alone (-1: unknown)
	finish                    float64 // serve's own finish_seconds
	chunksBefore, chunksAfter int
	waits                     int
	status                    string
	exact                     bool
}

// liveRound runs serve, streams the run at its rate, and times serve's
// stderr lines: chunks done, then the run done.
func liveRound(work, bin, dir string, w liveRun, frames int, extra []string) (liveResult, error) {
	var r liveResult
	out := filepath.Join(work, "serve-run-out")
	os.RemoveAll(out)
	addr := "ipc://" + filepath.Join(work, "serve-run.sock")
	serve := exec.Command(bin, append([]string{"serve", "-o", out, "--listen", addr, "--idle", "10m", "--progress", "plain"}, extra...)...)
	stderr, err := serve.StderrPipe()
	if err != nil {
		return r, err
	}
	if err := serve.Start(); err != nil {
		return r, err
	}
	lines := make(chan timedLine, 1024)
	go readTimed(stderr, lines)
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
	}()
	args := []string{"fixtures/tdw_sender.py", addr, "bench", dir, fmt.Sprint(frames), fmt.Sprint(w.size), fmt.Sprint(w.size),
		"--passes", w.passes, "--rate", fmt.Sprint(w.fps), "--begin-fps", fmt.Sprint(w.fps), "--cycle", fmt.Sprint(liveCycle)}
	if w.imgPNG {
		args = append(args, "--img-png")
	}
	b, err := exec.Command("/usr/bin/python3", args...).CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("sender: %v: %s", err, b)
	}
	start, err := sentAt(string(b), "first frame at ")
	if err != nil {
		return r, err
	}
	ended, err := sentAt(string(b), "end sent at ")
	if err != nil {
		return r, err
	}
	r.sent = ended.Sub(start).Seconds()
	var log []string
	for l := range lines {
		log = append(log, l.text)
		switch {
		case strings.Contains(l.text, "chunk") && strings.Contains(l.text, "encoded"):
			if l.at.Before(ended) {
				r.chunksBefore++
			} else {
				r.chunksAfter++
			}
		case runDone.MatchString(l.text):
			r.lag = l.at.Sub(ended).Seconds()
			r.status = runDone.FindStringSubmatch(l.text)[1]
		}
		if r.status != "" {
			break
		}
	}
	if r.status == "" {
		return r, fmt.Errorf("serve ended without finishing the run: %s", strings.Join(log, "\n"))
	}
	r.ownCPU = ownCPU(serve.Process.Pid) // before it exits: its own, without its ffmpegs
	serve.Process.Signal(syscall.SIGTERM)
	serve.Wait()
	if u, ok := serve.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
	}
	var rep struct {
		Backpressure struct {
			Waits int `json:"waits"`
		} `json:"backpressure"`
		FinishSeconds float64 `json:"finish_seconds"`
	}
	if b, err := os.ReadFile(filepath.Join(out, "bench", "tdwstitch-serve.json")); err == nil {
		json.Unmarshal(b, &rep)
	}
	r.waits, r.finish = rep.Backpressure.Waits, rep.FinishSeconds
	r.exact = cycledFrames(filepath.Join(out, "bench", "a", "id.mkv"), filepath.Join(dir, "id_%04d.png"), frames)
	return r, nil
}

// runDone is serve's line for the run's end (--progress plain).
var runDone = regexp.MustCompile(`^run bench: (ok|degraded|failed) \(`)

type timedLine struct {
	at   time.Time
	text string
}

// readTimed sends each line of r with the time it arrived.
func readTimed(r io.Reader, lines chan<- timedLine) {
	defer close(lines)
	s := bufio.NewScanner(r)
	for s.Scan() {
		lines <- timedLine{time.Now(), s.Text()}
	}
}

// sentAt reads the time of the sender's line "PREFIX UNIX_TIME".
func sentAt(out, prefix string) (time.Time, error) {
	for _, l := range strings.Split(out, "\n") {
		if t, ok := strings.CutPrefix(l, prefix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(0, int64(f*1e9)), nil
		}
	}
	return time.Time{}, fmt.Errorf("the sender printed no %q line: %s", prefix, out)
}

// cycledFrames reports whether video holds frames 0..n-1 of the cycled
// files (frame i is file i % liveCycle) bit for bit.
func cycledFrames(video, pattern string, n int) bool {
	got, src := frameSums("-i", video), frameSums("-framerate", "60", "-i", pattern)
	if len(src) != liveCycle || len(got) != n {
		return false
	}
	want := make([]string, n)
	for i := range want {
		want[i] = src[i%liveCycle]
	}
	return slices.Equal(got, want)
}

// frameSums is the MD5 of each frame's RGB.
func frameSums(in ...string) []string {
	args := slices.Concat([]string{"-nostdin", "-loglevel", "error"}, in, []string{"-map", "0:v", "-pix_fmt", "rgb24", "-f", "framemd5", "-"})
	b, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		return nil
	}
	var sums []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ","); len(f) == 6 && !strings.HasPrefix(l, "#") {
			sums = append(sums, strings.TrimSpace(f[5]))
		}
	}
	return sums
}

// ownCPU is a running process's own CPU time in seconds (user and system,
// not its children's), from /proc; -1 when that cannot be read.
func ownCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name (which may hold spaces) in parentheses:
	// state is the first, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (utime + stime) / 100 // USER_HZ, 100 on Linux
}
