package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tdwstitch/tdwstitch/pipeline"
)

func newEncodeCmd(io ioStreams) *cobra.Command {
	var (
		flags  jobFlags
		outDir string
		force  bool
		quiet  bool
	)
	c := &cobra.Command{
		Use:   "encode RUN_DIR -o OUT_DIR",
		Short: "Encode one finished run: a video per (avatar, pass), and a JSON report",
		Long: `Encode one finished TDW run: one video per (avatar, pass) under OUT_DIR,
mirroring the run's layout (OUT_DIR/<avatar>/img.mp4, OUT_DIR/<avatar>/id.mkv, ...),
and the report OUT_DIR/tdwstitch-report.json. Visual passes (img, albedo) become
H.264 MP4; data passes (id, depth, ...) lossless FFV1 Matroska, bit-exact RGB.`,
		Args: oneDir("RUN_DIR"),
		RunE: func(c *cobra.Command, args []string) error {
			if outDir == "" {
				return usageErrorf("encode needs an output folder: -o OUT_DIR")
			}
			opts, err := flags.options()
			if err != nil {
				return err
			}
			opts.Force = force
			prog := newProgress(io, quiet)
			opts.OnEvent = prog.event
			rep, reportPath, err := pipeline.Encode(c.Context(), args[0], outDir, opts)
			prog.close()
			for _, s := range rep.Streams {
				switch s.Status {
				case pipeline.OK:
					fmt.Fprintf(io.Out, "wrote %s (%d frames, %.2f s, %s)\n", filepath.Join(outDir, s.Output), s.FramesWritten, s.Duration, s.Codec)
				case pipeline.Skipped:
					fmt.Fprintf(io.Out, "kept %s (exists; --force replaces it)\n", filepath.Join(outDir, s.Output))
				}
			}
			for _, w := range rep.Warnings {
				fmt.Fprintln(io.Err, "tdwstitch: warning:", w)
			}
			if reportPath != "" {
				fmt.Fprintf(io.Out, "report: %s\n", reportPath)
			}
			return err
		},
	}
	flags.register(c.Flags())
	c.Flags().StringVarP(&outDir, "output", "o", "", "output `OUT_DIR` (created if missing)")
	c.Flags().BoolVar(&force, "force", false, "replace outputs that already exist")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print no progress")
	return c
}
