package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// benchViews times what the run's views cost: tdwstitch encode of one run
// with img, id and depth, plain, with --mosaic and with --preview,
// alternating, and prints medians and the ratios to the plain encode
// (issue 12's goal: at most 1.3x).
func benchViews(rounds, frames, size int, work, bin string) error {
	run := filepath.Join(work, fmt.Sprintf("views-%d-%d", frames, size))
	if _, err := os.Stat(filepath.Join(run, "a", fmt.Sprintf("depth_%04d.png", frames-1))); err != nil {
		fmt.Printf("generating %d %dx%d img+id+depth frames in %s ...\n", frames, size, size*3/4, run)
		s := synth.Scene{Width: size, Height: size * 3 / 4, Frames: frames, FPS: 60}
		if err := s.Write(run, "a", synth.Passes{Img: true, ID: true, Depth: true}); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(run, "audio.wav"), synth.WAV(float64(frames)/60), 0o644); err != nil {
			return err
		}
	}
	out := filepath.Join(work, "out-views")
	clear := func() error { return os.RemoveAll(out) }
	base := []string{bin, "encode", run, "-o", out, "-q"}
	cmds := []command{
		{name: "encode", args: base, before: clear, self: true},
		{name: "encode --mosaic", args: append(base, "--mosaic"), before: clear, self: true},
		{name: "encode --preview", args: append(base, "--preview"), before: clear, self: true},
	}
	results, err := alternate(cmds, rounds)
	if err != nil {
		return err
	}
	fmt.Printf("\nviews workload: %d frames %dx%d img+id+depth with audio, %d rounds alternating, medians (%d CPUs)\n", frames, size, size*3/4, rounds, numCPU())
	plain := median(results[0], wallOf)
	fmt.Printf("%-20s %8s %8s %8s %9s\n", "command", "wall s", "cpu s", "/plain", "RSS MiB")
	for i, c := range cmds {
		w := median(results[i], wallOf)
		fmt.Printf("%-20s %8.2f %8.2f %8.2f %9.1f\n", c.name, w, median(results[i], cpuOf), w/plain, float64(slices.Max(rssOf(results[i])))/1024)
	}
	return nil
}
