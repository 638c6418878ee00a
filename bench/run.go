package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// runWorkload is a whole TDW run: one avatar with _img (JPEG, or PNG as
// set_img_pass_encoding gives), _id and _depth (PNG).
type runWorkload struct {
	frames, size int
	img          string // "jpeg" or "png"
}

// parseRunWorkloads reads "600x512:jpeg,300x1024:png".
func parseRunWorkloads(spec string) ([]runWorkload, error) {
	var ws []runWorkload
	for _, w := range strings.Split(spec, ",") {
		shape, img, ok := strings.Cut(w, ":")
		n, size, ok2 := strings.Cut(shape, "x")
		frames, err1 := strconv.Atoi(n)
		px, err2 := strconv.Atoi(size)
		if !ok || !ok2 || err1 != nil || err2 != nil || (img != "jpeg" && img != "png") {
			return nil, fmt.Errorf("workload %q: want FRAMESxSIZE:jpeg|png, e.g. 600x512:jpeg", w)
		}
		ws = append(ws, runWorkload{frames: frames, size: px, img: img})
	}
	return ws, nil
}

// passJob is one pass of a run as a user's one-liner encodes it.
type passJob struct {
	pass, pattern string
	rawFmt        string   // what the pass decodes to for its encoder
	codec         []string // the one-liner's encoder options
	ours          []string // tdwstitch's encoder options (the floor's)
	out           string
}

// benchRun times a whole run, alternating in one go: tdwstitch encode; the
// one-liners a user would run one after the other (x264 for img, FFV1 for
// id and depth); the same three under GNU parallel -j2; and the CPU floor:
// decoding every frame, then each encoder (tdwstitch's settings) fed raw
// frames from disk, each on one thread (threads only add CPU), whose
// summed CPU time divided by the cores is the least wall time any tool can
// take. It prints medians, ratios to that floor, CPU use, tdwstitch's own
// peak RSS (not its ffmpegs'), the img PSNR of both tools and whether the
// data passes are bit-exact, and fails when the quality is not the
// one-liner's (PSNR 0.05 dB or more apart, data passes not bit-exact).
func benchRun(rounds int, spec, work, bin string, variants []variant) error {
	workloads, err := parseRunWorkloads(spec)
	if err != nil {
		return err
	}
	for _, w := range workloads {
		if err := benchOneRun(rounds, w, work, bin, variants); err != nil {
			return err
		}
	}
	return nil
}

func benchOneRun(rounds int, w runWorkload, work, bin string, variants []variant) error {
	run := filepath.Join(work, fmt.Sprintf("wholerun-%s-%d-%d-8bit", w.img, w.frames, w.size))
	imgExt := map[string]string{"jpeg": "jpg", "png": "png"}[w.img]
	if _, err := os.Stat(filepath.Join(run, "a", fmt.Sprintf("depth_%04d.png", w.frames-1))); err != nil {
		fmt.Printf("generating %d %dx%d img (%s), id and depth frames in %s ...\n", w.frames, w.size, w.size, w.img, run)
		s := synth.Scene{Width: w.size, Height: w.size, Frames: w.frames, FPS: 60}
		if err := s.Write(run, "a", synth.Passes{Img: true, ImgPNG: w.img == "png", ID: true, Depth: true}); err != nil {
			return err
		}
	}
	outs := filepath.Join(work, "out-wholerun")
	if err := os.MkdirAll(outs, 0o755); err != nil {
		return err
	}
	x264 := []string{"-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p"}
	ffv1 := []string{"-c:v", "ffv1"}
	ourFFV1 := []string{"-c:v", "ffv1", "-level", "3", "-slices", "4", "-slicecrc", "1", "-pix_fmt", "bgr0"} // stages/ffmpeg's
	passes := []passJob{
		{"img", filepath.Join(run, "a", "img_%04d."+imgExt), "yuv420p", x264, x264, filepath.Join(outs, "img.mp4")},
		{"id", filepath.Join(run, "a", "id_%04d.png"), "rgb24", ffv1, ourFFV1, filepath.Join(outs, "id.mkv")},
		{"depth", filepath.Join(run, "a", "depth_%04d.png"), "rgb24", ffv1, ourFFV1, filepath.Join(outs, "depth.mkv")},
	}
	// The floor's encoders read frames decoded beforehand, untimed.
	raws := make([]string, len(passes))
	for i, p := range passes {
		raws[i] = filepath.Join(work, fmt.Sprintf("raw-%s-%s-%d-%d.%s", w.img, p.pass, w.frames, w.size, p.rawFmt))
		if err := ffmpeg("-framerate", "60", "-i", p.pattern, "-f", "rawvideo", "-pix_fmt", p.rawFmt, raws[i]); err != nil {
			return err
		}
		defer os.Remove(raws[i])
	}
	var oneLiners, floor []string
	for i, p := range passes {
		oneLiners = append(oneLiners, shellLine(slices.Concat([]string{"ffmpeg", "-loglevel", "error", "-y", "-framerate", "60", "-i", p.pattern}, p.codec, []string{p.out})))
		floor = append(floor, shellLine([]string{"ffmpeg", "-loglevel", "error", "-y", "-threads", "1", "-framerate", "60", "-i", p.pattern, "-f", "rawvideo", "-pix_fmt", p.rawFmt, "/dev/null"}))
		floor = append(floor, shellLine(slices.Concat([]string{"ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", p.rawFmt,
			"-s", fmt.Sprintf("%dx%d", w.size, w.size), "-framerate", "60", "-i", raws[i]}, p.ours, []string{"-threads", "1", filepath.Join(outs, "floor-"+filepath.Base(p.out))})))
	}
	ours := filepath.Join(outs, "tdwstitch")
	cmds := []command{
		{name: "CPU floor (sum)", args: []string{"sh", "-c", strings.Join(floor, " && ")}},
		{name: "one-liners, in turn", args: []string{"sh", "-c", strings.Join(oneLiners, " && ")}},
		{name: "one-liners, parallel", args: slices.Concat([]string{"parallel", "-j2", "--halt", "now,fail=1", ":::"}, oneLiners)},
		{name: "tdwstitch encode", args: []string{bin, "encode", run, "-o", ours, "--force", "-q", "--no-audio"}, self: true},
	}
	for i, v := range variants { // more ways to run tdwstitch, to compare
		cmds = append(cmds, v.command(bin, run, fmt.Sprintf("%s-%d", ours, i)))
	}
	results, err := alternate(cmds, rounds)
	if err != nil {
		return err
	}
	cores := float64(numCPU())
	floorWall := median(results[0], cpuOf) / cores
	fmt.Printf("\nwhole run: img (%s), id and depth, %d frames %dx%d, %d rounds alternating, medians (%d CPUs)\n", w.img, w.frames, w.size, w.size, rounds, numCPU())
	fmt.Printf("CPU floor: %.2f s of CPU over %d cores = %.2f s\n", median(results[0], cpuOf), numCPU(), floorWall)
	fmt.Printf("%-26s %8s %8s %8s %8s %12s\n", "command", "wall s", "cpu s", "/floor", "CPU use", "own RSS MiB")
	for i, c := range cmds[1:] {
		i++
		wall, cpu := median(results[i], wallOf), median(results[i], cpuOf)
		rss := "-"
		if c.self {
			rss = fmt.Sprintf("%.1f", float64(slices.Max(rssOf(results[i])))/1024)
		}
		fmt.Printf("%-26s %8.2f %8.2f %8.3f %7.0f%% %12s\n", c.name, wall, cpu, wall/floorWall, 100*cpu/wall/cores, rss)
	}
	fmt.Printf("walls (s): ")
	for i, c := range cmds {
		fmt.Printf("%s %v  ", c.name, walls(results[i]))
	}
	fmt.Println()
	// The machine's speed drifts between rounds (the floor's own rounds
	// spread by 15% here): each round against its own floor is steadier.
	fmt.Printf("per round against that round's floor, median: ")
	for i, c := range cmds[1:] {
		ratios := make([]float64, rounds)
		for r := range rounds {
			ratios[r] = results[i+1][r].wall.Seconds() / (results[0][r].cpu.Seconds() / cores)
		}
		fmt.Printf("%s %.3f  ", c.name, medianOf(ratios))
	}
	fmt.Println()
	var bad []string
	ourPSNR, theirPSNR := psnr(filepath.Join(ours, "a", "img.mp4"), passes[0].pattern), psnr(passes[0].out, passes[0].pattern)
	fmt.Printf("img PSNR dB: tdwstitch %s, one-liner %s\n", ourPSNR, theirPSNR)
	a, err1 := strconv.ParseFloat(ourPSNR, 64)
	b, err2 := strconv.ParseFloat(theirPSNR, 64)
	if err1 != nil || err2 != nil || math.Abs(a-b) >= 0.05 {
		bad = append(bad, "img PSNR")
	}
	for _, p := range passes[1:] {
		exact := sameFrames(filepath.Join(ours, "a", p.pass+".mkv"), p.pattern)
		fmt.Printf("%s bit-exact: tdwstitch %v, one-liner %v\n", p.pass, exact, sameFrames(p.out, p.pattern))
		if !exact {
			bad = append(bad, p.pass+" not bit-exact")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("whole run %+v: tdwstitch's output is not the one-liner's quality: %s", w, strings.Join(bad, ", "))
	}
	return nil
}

// shellLine quotes args for sh.
func shellLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// sameFrames reports whether the video holds the source frames bit for bit
// (their RGB, frame by frame, as many of them).
func sameFrames(video, pattern string) bool {
	want := frameSums("-framerate", "60", "-i", pattern)
	return len(want) > 0 && slices.Equal(frameSums("-i", video), want)
}
