package ffmpeg

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Error is a failed ffmpeg or ffprobe process.
type Error struct {
	Role       string   // "decoder", "encoder" or "ffprobe"
	Args       []string // the argument vector, without the program
	ExitCode   int      // -1 when killed by a signal
	StderrTail string   // the last lines it printed
	Err        error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("ffmpeg %s failed (exit code %d)", e.Role, e.ExitCode)
	if e.Role == "ffprobe" {
		msg = fmt.Sprintf("ffprobe failed (exit code %d)", e.ExitCode)
	}
	if e.ExitCode == -1 {
		msg = fmt.Sprintf("ffmpeg %s was killed (%v)", e.Role, e.Err)
	}
	if tail := strings.TrimSpace(e.StderrTail); tail != "" {
		lines := strings.Split(tail, "\n")
		msg += ": " + strings.TrimSpace(lines[len(lines)-1])
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func newError(role string, args []string, err error, stderr *tail) error {
	if err == nil {
		return nil
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return &Error{Role: role, Args: args, ExitCode: code, StderrTail: stderr.String(), Err: err}
}

// tail keeps the last max bytes written to it: enough of ffmpeg's stderr to
// explain a failure without holding a long log.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
