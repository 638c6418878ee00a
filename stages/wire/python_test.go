//go:build full

package wire

import (
	"os"
	"os/exec"
	"testing"

	"github.com/tdwstitch/tdwstitch/internal/testkit"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// TestParsesPythonBuiltImages: a message built by the Python flatbuffers
// runtime (the one TDW's controller side uses), under Debian's python3.
func TestParsesPythonBuiltImages(t *testing.T) {
	cmd := exec.Command(testkit.Python(t), "testdata/build_images.py", "cam ü")
	cmd.Env = append(os.Environ(), "PYTHONPATH=../../fixtures", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 testdata/build_images.py (needs python3-flatbuffers; go tool task deps installs it): %v", err)
	}
	im, err := ParseImages(out)
	if err != nil {
		t.Fatal(err)
	}
	if im.AvatarID != "cam ü" || im.Width != 4 || im.Height != 2 || len(im.Passes) != 3 ||
		im.Passes[0].Format != tdw.JPEG || string(im.Passes[1].Image) != "\x89PNG an id pass" || im.Passes[2].Pass != tdw.Depth || len(im.Passes[2].Image) != 24 {
		t.Fatalf("parsed %+v", im)
	}
}
