package ffmpeg

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// versionCache remembers `ffmpeg -version`'s answer for one binary, in
// the user's cache folder (TDWSTITCH_CACHE_DIR when set): asking costs
// about 0.14 s on every command (ffmpeg loads all its libraries first),
// 2% of a 600-frame encode. The key is the binary's resolved path, size
// and modification time, so a binary replaced in place (a package upgrade)
// is asked again. (A wrapper script whose ffmpeg behind it changes keeps
// its old answer until the script itself changes.) The cache is a
// convenience: when it cannot be read or written, ffmpeg is asked.
type versionCache struct {
	file, key string
}

func openVersionCache(ffmpegPath string) versionCache {
	dir := os.Getenv("TDWSTITCH_CACHE_DIR")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return versionCache{}
		}
		dir = filepath.Join(base, "tdwstitch")
	}
	real, err := filepath.EvalSymlinks(ffmpegPath)
	if err != nil {
		return versionCache{}
	}
	if real, err = filepath.Abs(real); err != nil {
		return versionCache{}
	}
	fi, err := os.Stat(real)
	if err != nil {
		return versionCache{}
	}
	return versionCache{file: filepath.Join(dir, "ffmpeg-versions.json"),
		key: fmt.Sprintf("%s %d %d", real, fi.Size(), fi.ModTime().UnixNano())}
}

func (c versionCache) read() map[string]string {
	m := map[string]string{}
	// At most 64 short entries: a bigger file is not ours to trust or read.
	if fi, err := os.Stat(c.file); err != nil || !fi.Mode().IsRegular() || fi.Size() > 64<<10 {
		return m
	}
	if b, err := os.ReadFile(c.file); err == nil {
		json.Unmarshal(b, &m)
	}
	return m
}

func (c versionCache) get() (string, bool) {
	if c.file == "" {
		return "", false
	}
	text, ok := c.read()[c.key]
	return text, ok && text != ""
}

// put records text for the binary: written whole (a temporary file
// renamed), so a concurrent command reads the old cache or the new one.
func (c versionCache) put(text string) {
	if c.file == "" {
		return
	}
	m := c.read()
	if len(m) > 64 { // binaries come and go: forget the old ones
		m = map[string]string{}
	}
	m[c.key] = text
	b, err := json.Marshal(m)
	if err != nil || os.MkdirAll(filepath.Dir(c.file), 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.file), ".ffmpeg-versions-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file) != nil {
		os.Remove(tmp.Name())
	}
}
