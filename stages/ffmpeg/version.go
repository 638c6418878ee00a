package ffmpeg

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// MinVersion is the oldest ffmpeg tdwstitch runs with: 5.1 brought
// -fps_mode, which every encode passes (older ones fail with "Error
// splitting the argument list: Option not found").
var MinVersion = [2]int{5, 1}

// ErrTooOld is wrapped by Locate's error when ffmpeg is older than
// MinVersion.
var ErrTooOld = errors.New("ffmpeg too old")

// versionLine reads "ffmpeg version 5.1.6-0+deb12u1 Copyright ...": the
// version text, and its major and minor numbers when it starts with them
// (a build from git says "N-12345-g..." and is taken as new).
var versionLine = regexp.MustCompile(`^ffmpeg version (\S+)`)
var versionNumbers = regexp.MustCompile(`^n?(\d+)\.(\d+)`)

// version runs ffmpeg -version: its version text, and whether it is at
// least MinVersion.
func version(ffmpegPath string) (text string, ok bool, err error) {
	cmd := exec.Command(ffmpegPath, "-hide_banner", "-version")
	cmd.WaitDelay = time.Second
	kill := time.AfterFunc(30*time.Second, func() { // a hung "ffmpeg" must not hang start-up
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
	})
	defer kill.Stop()
	out, err := cmd.Output()
	if err != nil {
		return "", false, fmt.Errorf("%s -version failed: %w (is it ffmpeg?)", ffmpegPath, err)
	}
	m := versionLine.FindSubmatch(out)
	if m == nil {
		return "", false, fmt.Errorf("%s -version does not say its version (is it ffmpeg?)", ffmpegPath)
	}
	text = string(m[1])
	n := versionNumbers.FindStringSubmatch(text)
	if n == nil {
		return text, true, nil
	}
	major, _ := strconv.Atoi(n[1])
	minor, _ := strconv.Atoi(n[2])
	return text, major > MinVersion[0] || major == MinVersion[0] && minor >= MinVersion[1], nil
}
