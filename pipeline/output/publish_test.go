package output

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPublishReplacesWhole: the verified video replaces the earlier one in
// one rename, readable by everyone, and no temporary file is left.
func TestPublishReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	tmp, final := filepath.Join(dir, ".v.mp4.tmp-1"), filepath.Join(dir, "v.mp4")
	write := func(p, s string) { os.WriteFile(p, []byte(s), 0o600) }
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }

	write(tmp, "new")
	if err := Publish(tmp, final); err != nil || read(final) != "new" {
		t.Fatalf("publish to a free path: %v, %q", err, read(final))
	}
	write(tmp, "newer")
	if err := Publish(tmp, final); err != nil || read(final) != "newer" {
		t.Fatalf("publish over the earlier video: %v, %q", err, read(final))
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("the temporary file is still there")
	}
	if info, _ := os.Stat(final); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want -rw-r--r--", info.Mode().Perm())
	}
}
