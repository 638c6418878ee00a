//go:build !linux

package ffmpeg

import "os"

func setPipeSize(*os.File, int) {}
