package output

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fullBelow is the free space under which a failed write is taken for a
// full disk: ffmpeg's MP4 muxer does not report a failed write (it exits 0
// with a truncated file that then fails verification), so the disk's own
// free space is the evidence.
const fullBelow = 1 << 20

// Space reports the bytes left for this process on the filesystem holding
// dir. The zero value asks the filesystem (statfs); a caller (a test) may
// pass its own to stand in for a full disk.
type Space func(dir string) (int64, error)

func (s Space) free(dir string) (int64, error) {
	if s != nil {
		return s(dir)
	}
	return statfsFree(dir)
}

func statfsFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	blocks := st.Bavail
	if unix.Geteuid() == 0 {
		blocks = st.Bfree // root may use the reserved blocks too
	}
	return int64(blocks) * int64(st.Bsize), nil
}

// NoSpaceError is a write that failed because the disk holding Dir is full.
// It matches syscall.ENOSPC with errors.Is.
type NoSpaceError struct {
	Dir  string
	Free int64
	Err  error // what failed
}

func (e *NoSpaceError) Error() string {
	what := e.Err.Error()
	var short *ShortVideoError
	if errors.As(e.Err, &short) {
		what = short.facts() // not a corrupt frame: no hint to look for one
	}
	return fmt.Sprintf("no space left on device: the disk holding %s has %d KiB free (%s); free some space and run again",
		e.Dir, e.Free>>10, what)
}

func (e *NoSpaceError) Unwrap() []error { return []error{e.Err, syscall.ENOSPC} }

// WhenFull names a failed write into dir for what it is when the disk is
// full (the error says so, or too little space is left), and returns other
// errors unchanged.
func WhenFull(dir string, err error) error { return Space(nil).WhenFull(dir, err) }

// WhenFull is the package's WhenFull with s as the measure of free space.
func (s Space) WhenFull(dir string, err error) error {
	var full *NoSpaceError
	if err == nil || errors.As(err, &full) {
		return err
	}
	free, serr := s.free(dir)
	if SaysFull(err) || serr == nil && free < fullBelow {
		return &NoSpaceError{Dir: dir, Free: free, Err: err}
	}
	return err
}

// SaysFull reports whether err itself says the disk was full (ENOSPC, or
// ffmpeg's message for it), whatever the disk's free space is now.
func SaysFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "No space left on device")
}
