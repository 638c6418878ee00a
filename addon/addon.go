// Package addon holds the TDW-side Python add-on that tdwstitch prints with
// `tdwstitch addon`: an ImageCapture that also writes the timing sidecar.
// It is plain data, safe to read from anywhere.
package addon

import _ "embed"

// Source is tdwstitch_capture.py.
//
//go:embed tdwstitch_capture.py
var Source string
