// Package tdw names what ThreeDWorld writes: its image passes, which of them are
// pictures and which are data, and the image formats it saves them in.
//
// It is the leaf that every other tdwstitch package may import; it imports
// nothing of ours, holds no state and is safe for concurrent use.
package tdw
