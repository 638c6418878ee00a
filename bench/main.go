// Command bench times whole commands on a TDW-like _img run, alternating them
// round by round so that a noisy shared machine hurts each alike, and prints
// medians and ratios: tdwstitch encode; the plain one-liner TDW's docs give,
// with the same encoder settings; and the encode-only floor (the same x264
// settings fed raw yuv420p frames from disk, no decoding at all). It also
// compares output quality (PSNR against the source frames) and tdwstitch's
// own peak RSS. Run it with `go tool task bench` (flags after `--`).
package main

import (
	"bytes"
	"flag"
	"fmt"
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

func main() {
	rounds := flag.Int("rounds", 5, "times each command runs")
	frames := flag.Int("frames", 600, "frames in the workload")
	size := flag.Int("size", 512, "frame width and height")
	work := flag.String("work", "bench-out", "folder for workloads and outputs (reused)")
	bin := flag.String("bin", "bin/tdwstitch", "tdwstitch binary")
	formats := flag.String("formats", "jpeg,png", "img encodings to measure: jpeg, png")
	mode := flag.String("mode", "encode", "encode (one _img stream), run (whole runs: img, id, depth), batch (a dataset), rerun (1,000 unchanged runs), serve (live ingest), serve-run (whole runs streamed at TDW's fastest capture rates: how soon their videos are final), or views (the cost of --mosaic and --preview: half the frames at 5/8 the size)")
	runs := flag.Int("runs", 40, "batch: runs in the dataset")
	serveArgs := flag.String("serve-args", "", "serve: more flags for tdwstitch serve, space-separated (e.g. --max-peers 0)")
	wholeRuns := flag.String("runs-of", "600x512:jpeg,600x512:png,300x1024:jpeg", "run: whole-run workloads, FRAMESxSIZE:IMG (img as jpeg or png; id and depth PNG)")
	liveSeconds := flag.Float64("live-seconds", 20, "serve-run: seconds of capture each live run lasts")
	liveWhich := flag.String("live-runs", "1024,256", "serve-run: which live runs: 1024 (img+id PNG at 30 FPS), 256 (all passes at 45 FPS)")
	ours := flag.String("ours", "", "run: more tdwstitch encode variants to time beside the default, ';'-separated flag sets (e.g. '--jobs 1;--jobs 2')")
	compare := flag.String("compare", "", "encode, run: another tdwstitch binary (an earlier build) timed beside -bin with the same flags")
	flag.Parse()
	var extra []variant
	if *compare != "" {
		extra = append(extra, variant{bin: *compare})
	}
	switch *mode {
	case "run":
		if err := benchRun(*rounds, *wholeRuns, *work, *bin, append(flagVariants(*ours), extra...)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	case "batch":
		if err := benchBatch(*rounds, *runs, *work, *bin); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	case "serve":
		if err := benchServe(*rounds, *work, *bin, strings.Fields(*serveArgs)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	case "serve-run":
		if err := benchServeRun(*rounds, *liveSeconds, *liveWhich, *work, *bin, strings.Fields(*serveArgs)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	case "views":
		if err := benchViews(*rounds, *frames/2, *size*5/8, *work, *bin); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	case "rerun":
		if err := benchRerun(*work, *bin); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	for _, f := range strings.Split(*formats, ",") {
		if err := benchFormat(f, *rounds, *frames, *size, *work, *bin, extra); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

type command struct {
	name string
	args []string
	out  string
	self bool // tdwstitch itself: sample its own peak RSS
	// before runs untimed before each run (e.g. clearing outputs).
	before func() error
}

type sample struct {
	wall, cpu time.Duration
	rssKiB    int
}

func benchFormat(format string, rounds, frames, size int, work, bin string, variants []variant) error {
	ext := map[string]string{"jpeg": "jpg", "png": "png"}[format]
	if ext == "" {
		return fmt.Errorf("unknown format %q (jpeg or png)", format)
	}
	run := filepath.Join(work, fmt.Sprintf("run-%s-%d-%d-8bit", format, frames, size))
	if _, err := os.Stat(filepath.Join(run, "a", fmt.Sprintf("img_%04d.%s", frames-1, ext))); err != nil {
		fmt.Printf("generating %d %dx%d %s frames in %s ...\n", frames, size, size, format, run)
		s := synth.Scene{Width: size, Height: size, Frames: frames, FPS: 60}
		if err := s.Write(run, "a", synth.Passes{Img: true, ImgPNG: format == "png"}); err != nil {
			return err
		}
	}
	pattern := filepath.Join(run, "a", "img_%04d."+ext)
	raw := filepath.Join(work, fmt.Sprintf("raw-%d-%d.yuv", frames, size))
	if err := ffmpeg("-framerate", "60", "-i", pattern, "-pix_fmt", "yuv420p", "-f", "rawvideo", raw); err != nil {
		return err
	}
	defer os.Remove(raw)
	outs := filepath.Join(work, "out-"+format)
	os.MkdirAll(outs, 0o755)
	x264 := []string{"-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p"}
	cmds := []command{
		{name: "tdwstitch encode", args: []string{bin, "encode", run, "-o", filepath.Join(outs, "tdwstitch"), "--force", "-q", "--no-audio"},
			out: filepath.Join(outs, "tdwstitch", "a", "img.mp4"), self: true},
		{name: "ffmpeg one-liner", args: slices.Concat([]string{"ffmpeg", "-loglevel", "error", "-y", "-framerate", "60", "-i", pattern}, x264, []string{filepath.Join(outs, "one-liner.mp4")}),
			out: filepath.Join(outs, "one-liner.mp4")},
		{name: "encode-only floor", args: slices.Concat([]string{"ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", size, size), "-framerate", "60", "-i", raw}, x264, []string{filepath.Join(outs, "floor.mp4")}),
			out: filepath.Join(outs, "floor.mp4")},
		// Decoding every frame, then x264 fed raw frames, each on one thread:
		// the CPU any tool must spend, over the cores, is the least wall time.
		{name: "CPU floor (sum)", args: []string{"sh", "-c", shellLine([]string{"ffmpeg", "-loglevel", "error", "-y", "-threads", "1", "-framerate", "60", "-i", pattern, "-f", "rawvideo", "-pix_fmt", "yuv420p", "/dev/null"}) + " && " +
			shellLine(slices.Concat([]string{"ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", size, size), "-framerate", "60", "-i", raw}, x264, []string{"-threads", "1", filepath.Join(outs, "floor1.mp4")}))}},
	}
	for i, v := range variants {
		c := v.command(bin, run, filepath.Join(outs, fmt.Sprintf("tdwstitch-%d", i)))
		c.out = filepath.Join(outs, fmt.Sprintf("tdwstitch-%d", i), "a", "img.mp4")
		cmds = append(cmds, c)
	}
	results, err := alternate(cmds, rounds)
	if err != nil {
		return err
	}

	cores := float64(numCPU())
	fmt.Printf("\n%s workload: %d frames %dx%d, %d rounds alternating, medians (%d CPUs)\n", format, frames, size, size, rounds, numCPU())
	oneLiner, floor, cpuFloor := median(results[1], wallOf), median(results[2], wallOf), median(results[3], cpuOf)/cores
	fmt.Printf("CPU floor: %.2f s of CPU over %d cores = %.2f s\n", median(results[3], cpuOf), numCPU(), cpuFloor)
	fmt.Printf("%-20s %8s %8s %10s %10s %10s %10s %9s\n", "command", "wall s", "cpu s", "/one-liner", "/floor", "/CPU floor", "PSNR dB", "RSS MiB")
	for i, c := range cmds {
		if i == 3 {
			continue
		}
		w := median(results[i], wallOf)
		rss := "-"
		if c.self {
			rss = fmt.Sprintf("%.1f", float64(slices.Max(rssOf(results[i])))/1024)
		}
		fmt.Printf("%-20s %8.2f %8.2f %10.3f %10.3f %10.3f %10s %9s\n", c.name, w, median(results[i], cpuOf), w/oneLiner, w/floor, w/cpuFloor, psnr(c.out, pattern), rss)
	}
	fmt.Printf("walls (s): ")
	for i, c := range cmds {
		fmt.Printf("%s %v  ", c.name, walls(results[i]))
	}
	fmt.Println()
	// Each round against its own floors: steadier on a drifting machine.
	fmt.Printf("per round, median: ")
	for i, c := range cmds {
		if i == 2 || i == 3 {
			continue
		}
		toFloor, toCPU := make([]float64, rounds), make([]float64, rounds)
		for r := range rounds {
			toFloor[r] = results[i][r].wall.Seconds() / results[2][r].wall.Seconds()
			toCPU[r] = results[i][r].wall.Seconds() / (results[3][r].cpu.Seconds() / cores)
		}
		fmt.Printf("%s %.3f /floor %.3f /CPU floor  ", c.name, medianOf(toFloor), medianOf(toCPU))
	}
	fmt.Println()
	return nil
}

// alternate runs every command rounds times, rotating their order each
// round so a noisy machine hurts each alike; results[i] are cmds[i]'s.
func alternate(cmds []command, rounds int) ([][]sample, error) {
	results := make([][]sample, len(cmds))
	for r := range rounds {
		for k := range cmds {
			i := (k + r) % len(cmds)
			s, err := timeIt(cmds[i])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cmds[i].name, err)
			}
			results[i] = append(results[i], s)
		}
	}
	return results, nil
}

func numCPU() int {
	b, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func ffmpeg(args ...string) error {
	out, err := exec.Command("ffmpeg", append([]string{"-loglevel", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg %v: %v: %s", args, err, out)
	}
	return nil
}

// timeIt runs one command, measuring wall time, CPU of it and its children,
// and for tdwstitch its own peak RSS (VmHWM, sampled until it exits; the
// children's RSS is not included).
func timeIt(c command) (sample, error) {
	if c.before != nil {
		if err := c.before(); err != nil {
			return sample{}, err
		}
	}
	cmd := exec.Command(c.args[0], c.args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	done := make(chan struct{})
	hwm := make(chan int, 1)
	go func() {
		peak := 0
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > peak {
				peak = v
			}
			select {
			case <-done:
				hwm <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	peak := <-hwm
	if err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: wall, cpu: cpu, rssKiB: peak}, nil
}

func vmHWM(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// psnr compares out with the source frames converted the way the one-liner
// converts them (to limited-range yuv420p).
func psnr(out, pattern string) string {
	cmd := exec.Command("ffmpeg", "-nostdin", "-i", out, "-framerate", "60", "-i", pattern,
		"-lavfi", "[1:v]format=yuv420p[ref];[0:v][ref]psnr", "-f", "null", "-")
	b, _ := cmd.CombinedOutput()
	m := regexp.MustCompile(`PSNR y:[0-9.inf]+ u:[0-9.inf]+ v:[0-9.inf]+ average:([0-9.inf]+)`).FindSubmatch(b)
	if m == nil {
		return "?"
	}
	return string(m[1])
}

func wallOf(s sample) float64 { return s.wall.Seconds() }
func cpuOf(s sample) float64  { return s.cpu.Seconds() }

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func rssOf(ss []sample) []int {
	var r []int
	for _, s := range ss {
		r = append(r, s.rssKiB)
	}
	return r
}

func walls(ss []sample) []string {
	var w []string
	for _, s := range ss {
		w = append(w, strconv.FormatFloat(s.wall.Seconds(), 'f', 2, 64))
	}
	return w
}

// flagVariants splits -ours into flag sets.
func flagVariants(spec string) []variant {
	var vs []variant
	for _, v := range strings.Split(spec, ";") {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, variant{flags: strings.Fields(v)})
		}
	}
	return vs
}

// variant is another way to run tdwstitch encode, timed beside the
// default: other flags (-ours), or another binary (-compare).
type variant struct {
	bin   string // "": -bin
	flags []string
}

// command is the variant's encode of run into out.
func (v variant) command(bin, run, out string) command {
	name := "tdwstitch " + strings.Join(v.flags, " ")
	if v.bin != "" {
		bin, name = v.bin, "compare: "+filepath.Base(v.bin)
	}
	return command{name: name, self: true,
		args: slices.Concat([]string{bin, "encode", run, "-o", out, "--force", "-q", "--no-audio"}, v.flags)}
}
