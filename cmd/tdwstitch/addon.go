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
		Example: `  # Save the add-on beside your controller
  tdwstitch addon > tdwstitch_capture.py

  # In the controller, instead of ImageCapture:
  #   from tdwstitch_capture import TdwstitchCapture
  #   capture = TdwstitchCapture(path="run1", avatar_ids=["a"], pass_masks=["_img", "_id"])
  #   c.add_ons.append(capture)
  # then: tdwstitch encode run1 -o videos`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(io.Out, addon.Source)
			return err
		},
	}
}
