package ffmpeg

import (
	"os"

	"golang.org/x/sys/unix"
)

func setPipeSize(f *os.File, n int) {
	// Best effort: a smaller buffer is only slower.
	unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, n)
}
