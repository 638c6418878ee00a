package pipeline

import "errors"

// The classes of a job's outcome. They classify an error without adding to
// its text (its message is the reason, ready to print): test them with
// errors.Is.
var (
	// ErrFailed: the run, or one of its streams, failed (the others still
	// finished); for many runs, one of them did.
	ErrFailed = errors.New("run failed")
	// ErrDegraded: every output was written, but some stream is degraded
	// (frames were missing or bad: held or dropped). Its errors say
	// "degraded: ..." themselves.
	ErrDegraded = errors.New("degraded")
)

// Failure marks err as ErrFailed, keeping its message and its own chain
// (errors.Is and As still find what it wraps).
func Failure(err error) error {
	if err == nil || errors.Is(err, ErrFailed) {
		return err
	}
	return &classified{class: ErrFailed, err: err}
}

// classified is an error marked with a class.
type classified struct {
	class, err error
}

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() []error { return []error{c.err, c.class} }
