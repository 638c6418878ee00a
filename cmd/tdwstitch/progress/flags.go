package progress

import (
	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/flagvalue"
)

// Flags are --progress and its short form -q (--progress none).
type Flags struct {
	choice string
	quiet  bool
}

// Register adds --progress and -q to fs; quiet says what -q still prints.
func (f *Flags) Register(fs *pflag.FlagSet, quiet string) {
	flagvalue.EnumVar(fs, &f.choice, "progress", "auto", []string{"auto", "bar", "plain", "none"},
		"how progress is shown on stderr: auto (a bar on a terminal, plain lines otherwise and when TERM=dumb), bar, plain (a line per step, for logs), or none")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "--progress none: "+quiet)
}

// Mode is the mode the flags ask for; terminal says whether stderr is a
// terminal that can redraw a bar (not TERM=dumb).
func (f *Flags) Mode(terminal bool) Mode {
	switch {
	case f.quiet || f.choice == "none":
		return None
	case f.choice == "bar", f.choice == "auto" && terminal:
		return Bar
	}
	return Plain
}
