package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// newVersionCmd is tdwstitch version: what a bug report needs to say.
func newVersionCmd(io ioStreams) *cobra.Command {
	var ffmpegPath string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print tdwstitch's version and commit, and the ffmpeg it would use",
		Long: "Print tdwstitch's version (a release's tag, or the pseudo-version with the commit it was built from), " +
			"the Go toolchain and platform, and the ffmpeg found (its version and path, or why it cannot be used). " +
			"The same version is in every report (\"version\", \"ffmpeg\").",
		Example: "  tdwstitch version\n  tdwstitch --version\n  tdwstitch version --ffmpeg /opt/ffmpeg/bin/ffmpeg",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprint(io.Out, versionText(ffmpegPath))
			if ffmpegPath != "" { // asked to check that one: say whether it can be used
				if _, err := ffmpeg.Locate(ffmpegPath); err != nil {
					return err
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&ffmpegPath, "ffmpeg", "", "ffmpeg `PATH` to check (default: ffmpeg on PATH)")
	return c
}

// versionText is what version and --version print.
func versionText(ffmpegPath string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tdwstitch %s\n", report.Version())
	if commit, at, modified := report.Revision(); commit != "" {
		dirty := ""
		if modified {
			dirty = " with uncommitted changes"
		}
		fmt.Fprintf(&b, "commit %s (%s)%s\n", commit, at, dirty)
	}
	fmt.Fprintf(&b, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if tool, err := ffmpeg.Locate(ffmpegPath); err != nil {
		fmt.Fprintf(&b, "ffmpeg: %v\n", err)
	} else {
		fmt.Fprintf(&b, "ffmpeg %s (%s)\n", tool.Version, tool.FFmpeg)
	}
	return b.String()
}
