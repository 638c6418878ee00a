// Package wire reads what a TDW controller sends: the parts of a
// Controller.communicate() response (output-data blobs named by bytes [4:8],
// the frame number last), TDW's Images FlatBuffer, and the avatar ids that
// become folder names. It is the groundwork of `tdwstitch serve` (issue 6).
//
// Everything arriving on a socket is hostile until checked: ParseImages
// bounds-checks every offset and length itself (the FlatBuffers Go runtime
// has no verifier and slices unchecked), never panics and never allocates more
// than the message already holds (image bytes are sub-slices of it).
// SafeName admits only names that stay one folder inside the output.
// All functions are pure and safe for concurrent use.
package wire
