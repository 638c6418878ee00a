package report

// Error is a failure as a report says it (Msg), still wrapping its cause
// (its class and type, which the CLI reads for exit codes and advice).
type Error struct {
	Msg   string
	Cause error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Cause }
