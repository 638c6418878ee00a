package wire

import (
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// ImagesID is the type id (bytes [4:8]) of TDW's Images output data.
const ImagesID = "imag"

// Pass masks of TDW's FBOutput.PassMask enum, as TDW's generated
// FBOutput/PassMask.py spells them (_albedo is 512, not the next bit after
// _depth_simple). A mask not listed here is a pass a newer TDW added: that
// pass is set aside (Images.Unknown), never the frame's other passes.
var passMasks = map[int32]tdw.Pass{
	1: tdw.Img, 2: tdw.ID, 4: tdw.Category, 8: tdw.Mask, 16: tdw.Depth,
	32: tdw.Normals, 64: tdw.Flow, 128: tdw.DepthSimple, 512: tdw.Albedo,
}

// Extension values of ImagePass.extension.
const (
	extPNG = 1
	extJPG = 2
)

// ImagePass is one pass of an Images message. Image aliases the message.
type ImagePass struct {
	Pass   tdw.Pass
	Format tdw.Format // what the extension field says; depth passes are raw RGB whatever it says
	Image  []byte
}

// Images is TDW's Images output data: one avatar's passes for one frame.
type Images struct {
	AvatarID   string
	SensorName string
	Width      int
	Height     int
	Passes     []ImagePass
	// Unknown are the pass masks of passes this parser does not know
	// (a newer TDW's); they are not in Passes.
	Unknown []int32
}

// ErrMalformed is wrapped by every ParseImages error.
var ErrMalformed = errors.New("malformed Images message")

// UnknownPassError is a well-formed pass whose mask is not one of TDW's
// passes this parser knows.
type UnknownPassError struct{ Mask int32 }

func (e *UnknownPassError) Error() string { return fmt.Sprintf("unknown pass mask %d", e.Mask) }

// TypeID returns an output-data blob's type id, bytes [4:8].
func TypeID(blob []byte) (string, bool) {
	if len(blob) < 8 {
		return "", false
	}
	return string(blob[4:8]), true
}

// ParseImages reads an Images FlatBuffer (root table at the offset in bytes
// [0:4], file identifier "imag"), checking every offset against the buffer.
func ParseImages(b []byte) (*Images, error) {
	if id, ok := TypeID(b); !ok || id != ImagesID {
		return nil, fmt.Errorf("%w: not an Images blob (type id %q)", ErrMalformed, id)
	}
	root, err := tableAt(b, int64(flatbuffers.GetUOffsetT(b)))
	if err != nil {
		return nil, err
	}
	im := &Images{}
	if im.AvatarID, err = root.str(0); err != nil {
		return nil, err
	}
	if im.SensorName, err = root.str(1); err != nil {
		return nil, err
	}
	w, err := root.i32(2, 0)
	if err != nil {
		return nil, err
	}
	h, err := root.i32(3, 0)
	if err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || w > 1<<15 || h > 1<<15 {
		return nil, fmt.Errorf("%w: impossible size %dx%d", ErrMalformed, w, h)
	}
	im.Width, im.Height = int(w), int(h)
	at, n, err := root.vector(4, 4)
	if err != nil {
		return nil, err
	}
	for i := range n {
		elem := at + 4*i
		p, err := tableAt(b, elem+int64(flatbuffers.GetUOffsetT(b[elem:])))
		if err != nil {
			return nil, err
		}
		pass, err := parsePass(p)
		var unknown *UnknownPassError
		switch {
		case errors.As(err, &unknown):
			im.Unknown = append(im.Unknown, unknown.Mask)
			continue
		case err != nil:
			return nil, fmt.Errorf("pass %d: %w", i, err)
		}
		im.Passes = append(im.Passes, pass)
	}
	return im, nil
}

func parsePass(p table) (ImagePass, error) {
	mask, err := p.i32(0, 1)
	if err != nil {
		return ImagePass{}, err
	}
	at, n, err := p.vector(1, 1)
	if err != nil {
		return ImagePass{}, err
	}
	pass, ok := passMasks[mask]
	if !ok {
		// Well-formed (its image vector is in bounds), only new to us.
		return ImagePass{}, &UnknownPassError{Mask: mask}
	}
	ext, err := p.u8(2, extPNG)
	if err != nil {
		return ImagePass{}, err
	}
	format := tdw.PNG
	switch ext {
	case extPNG:
	case extJPG:
		format = tdw.JPEG
	default:
		return ImagePass{}, fmt.Errorf("%w: unknown extension %d", ErrMalformed, ext)
	}
	return ImagePass{Pass: pass, Format: format, Image: p.b[at : at+n : at+n]}, nil
}

// table is a FlatBuffers table whose vtable has been bounds-checked.
type table struct {
	b      []byte
	pos    int64 // the table
	vt     int64 // its vtable
	vtLen  int64
	objLen int64
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

func tableAt(b []byte, pos int64) (table, error) {
	size := int64(len(b))
	if pos < 0 || pos+4 > size {
		return table{}, malformed("table offset %d outside %d bytes", pos, size)
	}
	vt := pos - int64(flatbuffers.GetSOffsetT(b[pos:]))
	if vt < 0 || vt+4 > size {
		return table{}, malformed("vtable offset %d outside %d bytes", vt, size)
	}
	t := table{b: b, pos: pos, vt: vt,
		vtLen: int64(flatbuffers.GetVOffsetT(b[vt:])), objLen: int64(flatbuffers.GetVOffsetT(b[vt+2:]))}
	if t.vtLen < 4 || t.vtLen%2 != 0 || vt+t.vtLen > size || t.objLen < 4 || pos+t.objLen > size {
		return table{}, malformed("vtable at %d does not fit", vt)
	}
	return t, nil
}

// field returns the absolute position of field slot (0 if absent), checking
// that width bytes of it lie inside the table.
func (t table) field(slot int, width int64) (int64, error) {
	voff := 4 + 2*int64(slot)
	if voff+2 > t.vtLen {
		return 0, nil
	}
	o := int64(flatbuffers.GetVOffsetT(t.b[t.vt+voff:]))
	if o == 0 {
		return 0, nil
	}
	if o+width > t.objLen {
		return 0, malformed("field %d runs past its table", slot)
	}
	return t.pos + o, nil
}

func (t table) i32(slot int, def int32) (int32, error) {
	at, err := t.field(slot, 4)
	if err != nil || at == 0 {
		return def, err
	}
	return flatbuffers.GetInt32(t.b[at:]), nil
}

func (t table) u8(slot int, def uint8) (uint8, error) {
	at, err := t.field(slot, 1)
	if err != nil || at == 0 {
		return def, err
	}
	return flatbuffers.GetUint8(t.b[at:]), nil
}

// vector returns where the elements of vector field slot start and how many
// there are, each elem bytes wide, all inside the buffer. Absent: 0, 0.
func (t table) vector(slot int, elem int64) (int64, int64, error) {
	at, err := t.field(slot, 4)
	if err != nil || at == 0 {
		return 0, 0, err
	}
	start := at + int64(flatbuffers.GetUOffsetT(t.b[at:]))
	size := int64(len(t.b))
	if start+4 > size {
		return 0, 0, malformed("vector %d outside the buffer", slot)
	}
	n := int64(flatbuffers.GetUOffsetT(t.b[start:]))
	if start+4+n*elem > size { // n < 2^32 and elem <= 4: no overflow in int64
		return 0, 0, malformed("vector %d announces %d elements, the buffer holds fewer", slot, n)
	}
	return start + 4, n, nil
}

func (t table) str(slot int) (string, error) {
	at, n, err := t.vector(slot, 1)
	if err != nil || at == 0 {
		return "", err
	}
	return string(t.b[at : at+n]), nil
}

// FramerateID is the type id of TDW's Framerate output data.
const FramerateID = "fram"

// Framerate is TDW's Framerate output data: the target framerate the build
// was asked for, the time one frame advanced, and the physics step.
type Framerate struct {
	Target  int     `json:"target_framerate"`
	FrameDt float64 `json:"frame_dt"`
	Physics float64 `json:"physics_time_step"`
}

// ParseFramerate reads a Framerate FlatBuffer with the same checks as ParseImages.
func ParseFramerate(b []byte) (Framerate, error) {
	if id, ok := TypeID(b); !ok || id != FramerateID {
		return Framerate{}, fmt.Errorf("%w: not a Framerate blob (type id %q)", ErrMalformed, id)
	}
	t, err := tableAt(b, int64(flatbuffers.GetUOffsetT(b)))
	if err != nil {
		return Framerate{}, err
	}
	target, err := t.i32(0, 0)
	if err != nil {
		return Framerate{}, err
	}
	dt, err := t.f32(1)
	if err != nil {
		return Framerate{}, err
	}
	phys, err := t.f32(2)
	if err != nil {
		return Framerate{}, err
	}
	return Framerate{Target: int(target), FrameDt: float64(dt), Physics: float64(phys)}, nil
}

func (t table) f32(slot int) (float32, error) {
	at, err := t.field(slot, 4)
	if err != nil || at == 0 {
		return 0, err
	}
	return flatbuffers.GetFloat32(t.b[at:]), nil
}
