package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// benchBatch times a small TDW dataset (runs of 120 frames, 256x256 JPEG)
// stitched by tdwstitch batch, by a sequential loop of the one-liner, by GNU
// parallel -j2 of it, and by the hand-tuned parallel -j2 with -threads 1,
// and prints the CPU floor: the single-threaded encodes' CPU time over the cores.
func benchBatch(rounds, runs int, work, bin string) error {
	root := filepath.Join(work, fmt.Sprintf("dataset-%d", runs))
	if _, err := os.Stat(filepath.Join(root, fmt.Sprintf("run_%03d", runs-1), "a", "img_0119.jpg")); err != nil {
		fmt.Printf("generating %d runs of 120 256x256 frames in %s ...\n", runs, root)
		for i := range runs {
			s := synth.Scene{Width: 256, Height: 256, Frames: 120, FPS: 60}
			// Each run its own stretch of the scene, as different episodes are.
			if err := s.WriteFrom(filepath.Join(root, fmt.Sprintf("run_%03d", i)), "a", synth.Passes{Img: true}, i*37); err != nil {
				return err
			}
		}
	}
	out := filepath.Join(work, "batch-out")
	clear := func() error { os.RemoveAll(out); return os.MkdirAll(out, 0o755) }
	oneLiner := func(threads string) string {
		return `ffmpeg -nostdin -loglevel error -y -framerate 60 -i {}/a/img_%04d.jpg -c:v libx264 -preset medium -crf 18 -pix_fmt yuv420p ` + threads + ` ` + out + `/{/}.mp4`
	}
	dirs := root + "/run_*"
	cmds := []command{
		{name: "tdwstitch batch", args: []string{bin, "batch", root, "-o", out, "-q", "--no-audio"}, before: clear},
		{name: "loop of one-liner", args: []string{"bash", "-c", `for d in ` + dirs + `; do ` + strings.ReplaceAll(strings.ReplaceAll(oneLiner(""), "{/}", `$(basename $d)`), "{}", "$d") + `; done`}, before: clear},
		{name: "parallel -j2", args: []string{"bash", "-c", `parallel -j2 '` + oneLiner("") + `' ::: ` + dirs}, before: clear},
		{name: "parallel -j2 -threads 1", args: []string{"bash", "-c", `parallel -j2 '` + oneLiner("-threads 1") + `' ::: ` + dirs}, before: clear},
	}
	results, err := alternate(cmds, rounds)
	if err != nil {
		return err
	}
	cores := float64(numCPU())
	floor := median(results[3], cpuOf) / cores
	fmt.Printf("\nbatch workload: %d runs x 120 frames 256x256 JPEG, %d rounds alternating, medians (%d CPUs)\n", runs, rounds, numCPU())
	fmt.Printf("CPU floor (single-threaded encodes' CPU / cores): %.2f s\n", floor)
	fmt.Printf("%-26s %8s %8s %10s %14s %16s\n", "command", "wall s", "cpu s", "/floor", "/parallel -j2", "/hand-tuned")
	par, tuned := median(results[2], wallOf), median(results[3], wallOf)
	for i, c := range cmds {
		w := median(results[i], wallOf)
		fmt.Printf("%-26s %8.2f %8.2f %10.3f %14.3f %16.3f\n", c.name, w, median(results[i], cpuOf), w/floor, w/par, w/tuned)
	}
	for i, c := range cmds {
		fmt.Printf("%s walls: %v\n", c.name, walls(results[i]))
	}
	return nil
}

// benchRerun times tdwstitch batch over 1,000 runs that are already encoded
// and unchanged: it must decide there is nothing to do in well under 2 s.
func benchRerun(work, bin string) error {
	root := filepath.Join(work, "rerun-1000")
	out := filepath.Join(work, "rerun-1000-out")
	if _, err := os.Stat(filepath.Join(out, "tdwstitch-batch.json")); err != nil {
		fmt.Printf("generating and encoding 1,000 tiny runs in %s (once) ...\n", root)
		for i := range 1000 {
			s := synth.Scene{Width: 16, Height: 16, Frames: 4, FPS: 60}
			if err := s.Write(filepath.Join(root, fmt.Sprintf("scene%d/run_%04d", i%10, i)), "a", synth.Passes{Img: true, ID: true}); err != nil {
				return err
			}
		}
		if b, err := exec.Command(bin, "batch", root, "-o", out, "-q").CombinedOutput(); err != nil {
			return fmt.Errorf("first batch: %v: %s", err, b)
		}
	}
	var ws []sample
	for range 5 {
		start := time.Now()
		b, err := exec.Command(bin, "batch", root, "-o", out, "-q").CombinedOutput()
		if err != nil {
			return fmt.Errorf("re-run: %v: %s", err, b)
		}
		ws = append(ws, sample{wall: time.Since(start)})
		if !strings.Contains(string(b), "1000 up to date") {
			return fmt.Errorf("re-run did work: %s", b)
		}
	}
	fmt.Printf("re-run over 1,000 unchanged runs (2,000 streams): median %.3f s, walls %v\n", median(ws, wallOf), walls(ws))
	return nil
}
