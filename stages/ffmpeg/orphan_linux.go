package ffmpeg

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks the kernel to kill the child when tdwstitch dies, even
// by SIGKILL: an orphaned ffmpeg would otherwise keep writing a file that the
// next run is about to clean up.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
