package output

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LockName is the lock file in an output folder: one writer at a time.
const LockName = ".tdwstitch.lock"

// Lock takes the output folder's lock (flock(2), released by the
// kernel when the process dies, so it is never stale) and writes the holder
// in it for the message another process gets. Two processes encoding into
// one folder would otherwise replace each other's videos and reports.
func Lock(outDir string) (unlock func(), err error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, &FolderError{What: "create", Dir: outDir, Err: err}
	}
	path := filepath.Join(outDir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &FolderError{What: "write in", Dir: outDir, Err: err}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &BusyError{Dir: outDir, Holder: strings.TrimSpace(string(holder))}
		}
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOLCK) {
			return func() {}, nil // a file system without locks (some NFS, Lustre): one writer is then up to the user
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d on %s\n", os.Getpid(), host)
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}

// FolderError: the output folder cannot be made or written in.
type FolderError struct {
	What string // "create", "write in"
	Dir  string
	Err  error
}

func (e *FolderError) Error() string {
	return fmt.Sprintf("cannot %s the output folder %s: %v", e.What, e.Dir, e.Err)
}

func (e *FolderError) Unwrap() error { return e.Err }

// BusyError: another process holds the output folder's lock.
type BusyError struct {
	Dir, Holder string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("another tdwstitch (%s) is writing %s: wait for it to finish, or write elsewhere", e.Holder, e.Dir)
}
