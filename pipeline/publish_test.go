package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPublishNeverClobbersUnasked(t *testing.T) {
	dir := t.TempDir()
	tmp, final := filepath.Join(dir, ".v.mp4.tmp-1"), filepath.Join(dir, "v.mp4")
	write := func(p, s string) { os.WriteFile(p, []byte(s), 0o644) }
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }

	write(tmp, "new")
	if err := publish(tmp, final, false); err != nil || read(final) != "new" {
		t.Fatalf("publish to a free path: %v, %q", err, read(final))
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("the temporary file is still there")
	}
	write(tmp, "newer")
	if err := publish(tmp, final, false); err == nil || !strings.Contains(err.Error(), "appeared") || read(final) != "new" {
		t.Fatalf("publish over an existing file without replace: %v, %q", err, read(final))
	}
	if err := publish(tmp, final, true); err != nil || read(final) != "newer" {
		t.Fatalf("publish with replace: %v, %q", err, read(final))
	}
}
