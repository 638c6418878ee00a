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

// version is ffmpeg's version text, and whether it is at least MinVersion:
// from the cache when this binary was asked before, else by running it.
func version(ffmpegPath string) (text string, ok bool, err error) {
	c := openVersionCache(ffmpegPath)
	if text, found := c.get(); found {
		return text, atLeastMin(text), nil
	}
	text, err = runVersion(ffmpegPath)
	if err != nil {
		return "", false, err
	}
	c.put(text)
	return text, atLeastMin(text), nil
}

// runVersion runs ffmpeg -version and reads its version text.
func runVersion(ffmpegPath string) (string, error) {
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
		return "", fmt.Errorf("%s -version failed: %w (is it ffmpeg?)", ffmpegPath, err)
	}
	m := versionLine.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s -version does not say its version (is it ffmpeg?)", ffmpegPath)
	}
	return string(m[1]), nil
}

// atLeastMin reports whether version text is MinVersion or later (a text
// that does not start with numbers, as a build from git, is taken as new).
func atLeastMin(text string) bool {
	n := versionNumbers.FindStringSubmatch(text)
	if n == nil {
		return true
	}
	major, _ := strconv.Atoi(n[1])
	minor, _ := strconv.Atoi(n[2])
	return major > MinVersion[0] || major == MinVersion[0] && minor >= MinVersion[1]
}
