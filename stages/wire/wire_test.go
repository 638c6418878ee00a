package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/tdwstitch/tdwstitch/fixtures/tdwmsg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

type testPass struct {
	mask  int32
	image []byte
	ext   uint8
}

// buildImages builds an Images message as TDW does (see fixtures/tdwmsg).
func buildImages(avatar, sensor string, w, h int32, passes []testPass) []byte {
	var ps []tdwmsg.Pass
	for _, p := range passes {
		ps = append(ps, tdwmsg.Pass{Mask: p.mask, Image: p.image, Ext: p.ext})
	}
	return tdwmsg.Images(avatar, sensor, w, h, ps)
}

func sample() []byte {
	return buildImages("a", "SensorContainer", 4, 2, []testPass{
		{1, []byte("\xff\xd8jpeg bytes\xff\xd9"), 2},
		{2, []byte("\x89PNG id"), 1},
		{16, bytes.Repeat([]byte{7}, 4*2*3), 1},
	})
}

func TestParseImages(t *testing.T) {
	im, err := ParseImages(sample())
	if err != nil {
		t.Fatal(err)
	}
	if im.AvatarID != "a" || im.SensorName != "SensorContainer" || im.Width != 4 || im.Height != 2 || len(im.Passes) != 3 {
		t.Fatalf("parsed %+v", im)
	}
	want := []struct {
		pass   tdw.Pass
		format tdw.Format
		n      int
	}{{tdw.Img, tdw.JPEG, 14}, {tdw.ID, tdw.PNG, 7}, {tdw.Depth, tdw.PNG, 24}}
	for i, w := range want {
		p := im.Passes[i]
		if p.Pass != w.pass || p.Format != w.format || len(p.Image) != w.n {
			t.Errorf("pass %d = %s %s %d bytes, want %+v", i, p.Pass, p.Format, len(p.Image), w)
		}
	}
	if id, _ := TypeID(sample()); id != "imag" {
		t.Errorf("TypeID = %q", id)
	}
}

// TestParseImagesPassMasks: masks are TDW's own (FBOutput/PassMask.py:
// _albedo = 512), and a pass this parser does not know (256, or a newer
// TDW's) is set aside without losing the message's other passes.
func TestParseImagesPassMasks(t *testing.T) {
	b := buildImages("a", "s", 4, 2, []testPass{
		{1, []byte("img"), 2}, {256, []byte("new"), 1}, {2, []byte("id"), 1}, {512, []byte("albedo"), 1}, {3, []byte("x"), 1},
	})
	im, err := ParseImages(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []tdw.Pass
	for _, p := range im.Passes {
		got = append(got, p.Pass)
	}
	if want := []tdw.Pass{tdw.Img, tdw.ID, tdw.Albedo}; !slices.Equal(got, want) {
		t.Errorf("passes = %v, want %v", got, want)
	}
	if want := []int32{256, 3}; !slices.Equal(im.Unknown, want) {
		t.Errorf("unknown = %v, want %v", im.Unknown, want)
	}
	// An unknown pass whose image vector runs past the message is still
	// malformed: its length field (just before its bytes) claims 2 GiB.
	bad := buildImages("a", "s", 4, 2, []testPass{{256, []byte("xxxxxxxx"), 1}})
	at := bytes.Index(bad, []byte("xxxxxxxx"))
	binary.LittleEndian.PutUint32(bad[at-4:], 1<<31-1)
	if _, err := ParseImages(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown pass past the end: error = %v, want ErrMalformed", err)
	}
	binary.LittleEndian.PutUint32(bad[at-4:], 8)
	if _, err := ParseImages(bad); err != nil {
		t.Errorf("the same message intact: %v", err)
	}
}

func TestParseImagesRejects(t *testing.T) {
	good := sample()
	for name, b := range map[string][]byte{
		"empty":         nil,
		"other type":    append(append([]byte{}, good[:4]...), append([]byte("tran"), good[8:]...)...),
		"truncated":     good[:len(good)/2],
		"root past end": append([]byte{0xff, 0xff, 0xff, 0x7f}, good[4:]...),
		"unknown ext":   buildImages("a", "s", 4, 2, []testPass{{1, []byte("x"), 9}}),
		"absurd size":   buildImages("a", "s", 1<<20, 2, nil),
		"zero width":    buildImages("a", "s", 0, 2, nil),
	} {
		if _, err := ParseImages(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzParseImages: no message may panic the parser, and whatever it accepts
// lies inside the message.
func FuzzParseImages(f *testing.F) {
	f.Add(sample())
	f.Add(buildImages("cam/../x", "", 1, 1, []testPass{{128, nil, 2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := ParseImages(b)
		if err != nil {
			return
		}
		for _, p := range im.Passes {
			if len(p.Image) > len(b) {
				t.Fatalf("a pass of %d bytes from a message of %d", len(p.Image), len(b))
			}
		}
	})
}

func TestSafeName(t *testing.T) {
	for _, ok := range []string{"a", "cam_0", "Ünï cam", "-x", "a.b"} {
		if err := SafeName(ok); err != nil {
			t.Errorf("SafeName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "..", "../x", "a/b", `a\b`, ".hidden", "a\x00b", "a\nb", "\x1b[31m", strings.Repeat("x", 200), "\xff\xfe"} {
		if err := SafeName(bad); err == nil {
			t.Errorf("SafeName(%q) accepted it", bad)
		}
	}
}

// FuzzSafeName: an accepted name is one element directly inside any root.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"a", "../x", "a/b", ".", "x\x00", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if SafeName(name) != nil {
			return
		}
		root := "/out/run"
		p := filepath.Join(root, name)
		if filepath.Dir(p) != root || filepath.Base(p) != name {
			t.Fatalf("accepted %q escapes or changes: %s", name, p)
		}
	})
}

func TestFrameNumber(t *testing.T) {
	if n, err := FrameNumber([]byte{0, 0, 1, 2}); err != nil || n != 258 {
		t.Fatalf("FrameNumber = %d, %v", n, err)
	}
	if _, err := FrameNumber(nil); err == nil {
		t.Fatal("empty frame number accepted")
	}
}

func TestParseFramerate(t *testing.T) {
	b := flatbuffers.NewBuilder(64)
	b.StartObject(3)
	b.PrependInt32Slot(0, 60, 0)
	b.PrependFloat32Slot(1, 0.02, 0)
	b.PrependFloat32Slot(2, 0.01, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte(FramerateID))
	fr, err := ParseFramerate(b.FinishedBytes())
	if err != nil || fr.Target != 60 || float32(fr.FrameDt) != 0.02 || float32(fr.Physics) != 0.01 {
		t.Fatalf("ParseFramerate = %+v, %v", fr, err)
	}
	if _, err := ParseFramerate(sample()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("an Images blob parsed as Framerate: %v", err)
	}
	if _, err := ParseFramerate(b.FinishedBytes()[:10]); err == nil {
		t.Fatal("a truncated Framerate parsed")
	}
}

func TestParseControl(t *testing.T) {
	fps := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		parts [][]byte
		kind  Control
		err   string
		fps   *float64
	}{
		{[][]byte{[]byte("tdwstitch/end")}, End, "", nil},
		{[][]byte{[]byte("tdwstitch/audio_start")}, AudioStart, "", nil},
		{[][]byte{[]byte("imag"), {0, 0, 0, 1}}, NotControl, "", nil},
		{nil, NotControl, "", nil},
		{[][]byte{[]byte("tdwstitch/begin"), []byte(`{"run":"r1","fps":30}`)}, Begin, "", fps(30)},
		{[][]byte{[]byte("tdwstitch/begin")}, Begin, "bad begin message", nil},
		{[][]byte{[]byte("tdwstitch/begin"), []byte(`{"run":`)}, Begin, "bad begin message", nil},
		{[][]byte{[]byte("tdwstitch/begin"), []byte(`{"run":"../x"}`)}, Begin, "bad begin message: run name:", nil},
		{[][]byte{[]byte("tdwstitch/begin"), []byte(`{"run":"r","fps":0.0001}`)}, Begin, `bad begin message: run "r": fps 0.0001 is not within 1 to 1000`, nil},
		{[][]byte{[]byte("tdwstitch/begin"), []byte(`{"run":"r","fps":"NaN"}`)}, Begin, "bad begin message", nil},
	} {
		kind, b, err := ParseControl(tc.parts)
		if kind != tc.kind || (err == nil) != (tc.err == "") || err != nil && !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("%q: %v, %v; want %v, %q", tc.parts, kind, err, tc.kind, tc.err)
		}
		if err != nil && !errors.Is(err, ErrBadBegin) {
			t.Errorf("%q: %v does not wrap ErrBadBegin", tc.parts, err)
		}
		if tc.fps != nil && (b.FPS == nil || *b.FPS != *tc.fps) {
			t.Errorf("%q: fps %v, want %v", tc.parts, b.FPS, *tc.fps)
		}
	}
}
