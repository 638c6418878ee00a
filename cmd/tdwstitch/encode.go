package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/progress"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/spf13/cobra"

	"github.com/tdwstitch/tdwstitch/pipeline"
)

func newEncodeCmd(io ioStreams) *cobra.Command {
	var (
		flags  jobFlags
		outDir string
		force  bool
		prog   progress.Flags
	)
	c := &cobra.Command{
		Use:   "encode RUN_DIR -o OUT_DIR",
		Short: "Encode one finished run: a video per (avatar, pass), and a JSON report",
		Long: `Encode one finished TDW run: one video per (avatar, pass) under OUT_DIR,
mirroring the run's layout (OUT_DIR/<avatar>/img.mp4, OUT_DIR/<avatar>/id.mkv, ...),
and the report OUT_DIR/tdwstitch-report.json. Visual passes (img, albedo) become
H.264 MP4; data passes (id, depth, ...) lossless FFV1 Matroska, bit-exact RGB.

An output is kept while the report's fingerprint of its frames, audio, timing
sidecar and options still matches; otherwise it is made again and replaced
(only by a verified new file). --force redoes every selected stream.
` + exitCodesHelp,
		Example: `  # ImageCapture saved ~/tdw_output/run1/a/img_0000.jpg, id_0000.png, depth_0000.png, ...
  tdwstitch encode ~/tdw_output/run1 -o ~/videos/run1

  # With the audio recorded beside it; every pass side by side; a preview to glance at
  tdwstitch encode ~/tdw_output/run1 -o ~/videos/run1 --audio ~/tdw_output/run1/audio.wav --mosaic --preview

  # Only avatar a's _img and _id passes, captured at 30 FPS
  tdwstitch encode ~/tdw_output/run1 -o ~/videos/run1 --avatars a --passes img,id --fps 30

  # In a script: no progress, and fail on any missing or broken frame
  tdwstitch encode ~/tdw_output/run1 -o ~/videos/run1 -q --strict || echo "run1: exit $?"`,
		Args: oneDir("RUN_DIR"),
		RunE: func(c *cobra.Command, args []string) error {
			if outDir == "" {
				return usageErrorf("encode needs an output folder: -o OUT_DIR")
			}
			opts, err := flags.options(c.Flags())
			if err != nil {
				return err
			}
			opts.Force = force
			mode, err := progressMode(&prog, io)
			if err != nil {
				return err
			}
			show := progress.New(io.Err, mode, false)
			show.Heartbeat(opts.StallTimeout)
			opts.OnEvent = show.Event
			rep, reportPath, err := pipeline.Encode(c.Context(), args[0], outDir, opts)
			show.Close()
			printStreams(io, rep, outDir)
			show.SayWarnings()
			if reportPath != "" {
				fmt.Fprintf(io.Out, "report: %s\n", reportPath)
			}
			return err
		},
	}
	flags.register(c.Flags(), true)
	c.Flags().StringVarP(&outDir, "output", "o", "", "output `OUT_DIR` (created if missing)")
	c.Flags().BoolVar(&force, "force", false, "encode every selected stream again, even when its output is up to date")
	prog.Register(c.Flags(), "one bar over every stream's frames", "only failures, warnings and the results")
	return c
}

// printStreams says on stdout what became of each output, damage included
// (also with --quiet): failures are on stderr.
func printStreams(io ioStreams, rep *report.Run, outDir string) {
	streams := rep.Streams
	for _, view := range []*report.Stream{rep.Mosaic, rep.Preview} {
		if view != nil {
			streams = append(slices.Clone(streams), view)
		}
	}
	for _, s := range streams {
		path := filepath.Join(outDir, filepath.FromSlash(s.Output))
		switch {
		case s.Status == report.Failed, s.NotSelected:
		case s.Kept:
			fmt.Fprintf(io.Out, "kept %s (up to date%s)\n", path, damage(s, rep.Options.Gaps))
		default:
			fmt.Fprintf(io.Out, "wrote %s (%d frames, %.2f s, %s%s)\n", path, s.FramesWritten, s.Duration, s.Codec, damage(s, rep.Options.Gaps))
			if s == rep.Mosaic {
				fmt.Fprintf(io.Out, "  mosaic %dx%d: every pass side by side, plays in a browser\n", s.Width, s.Height)
			}
		}
	}
}

// damage describes a degraded stream's missing and bad frames: "; DEGRADED:
// 3 missing, 2 bad: held; 1 set aside (not encoded)".
func damage(s *report.Stream, gaps string) string {
	if s.Status != report.Degraded {
		return ""
	}
	var filled, parts []string
	if s.MissingFrames > 0 {
		filled = append(filled, fmt.Sprintf("%d missing", s.MissingFrames))
	}
	if n := len(s.BadFrames) - s.FramesSetAside; n > 0 {
		filled = append(filled, fmt.Sprintf("%d bad", n))
	}
	if len(filled) > 0 {
		how := "held"
		if gaps == string(pipeline.Drop) {
			how = "dropped"
		}
		parts = append(parts, strings.Join(filled, ", ")+": "+how)
	}
	if s.FramesSetAside > 0 {
		parts = append(parts, fmt.Sprintf("%d set aside (not encoded)", s.FramesSetAside))
	}
	return "; DEGRADED: " + strings.Join(parts, "; ")
}
