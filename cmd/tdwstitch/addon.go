package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tdwstitch/tdwstitch/addon"
)

func newAddonCmd(io ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "addon",
		Short: "Print the TDW add-on that saves frames with a timing sidecar: tdwstitch addon > tdwstitch_capture.py",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(io.Out, addon.Source)
			return err
		},
	}
}
