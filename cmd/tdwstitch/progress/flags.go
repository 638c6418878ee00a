package progress

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/tdwstitch/tdwstitch/cmd/tdwstitch/flagvalue"
)

// Flags are --progress and its short form -q (--progress none).
type Flags struct {
	choice string
	quiet  bool
	fs     *pflag.FlagSet // to tell a --progress given from its default
}

// Register adds --progress and -q to fs; bar says what the command's bar
// shows, quiet what -q still prints.
func (f *Flags) Register(fs *pflag.FlagSet, bar, quiet string) {
	f.fs = fs
	flagvalue.EnumVar(fs, &f.choice, "progress", "auto", []string{"auto", "bar", "plain", "none"},
		"how progress is shown on stderr: auto ("+bar+" on a terminal, plain lines otherwise and when TERM=dumb), bar, plain (a line per step, for logs), or none")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "--progress none: "+quiet)
}

// Mode is the mode the flags ask for; terminal says whether stderr is a
// terminal that can redraw a bar (not TERM=dumb). -q with another
// --progress than none asks for two things at once: an error.
func (f *Flags) Mode(terminal bool) (Mode, error) {
	if f.quiet && f.choice != "none" && f.fs.Changed("progress") {
		return None, fmt.Errorf("-q is --progress none; it cannot go with --progress %s: pass one of them", f.choice)
	}
	switch {
	case f.quiet || f.choice == "none":
		return None, nil
	case f.choice == "bar", f.choice == "auto" && terminal:
		return Bar, nil
	}
	return Plain, nil
}
