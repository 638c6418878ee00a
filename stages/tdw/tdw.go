package tdw

import "strings"

// Pass is an image pass mask without its leading underscore ("img", "id", ...),
// as it appears in TDW's file names.
type Pass string

// The passes TDW's ImageCapture add-on and TDWUtils.save_images write.
const (
	Img         Pass = "img"
	ID          Pass = "id"
	Category    Pass = "category"
	Mask        Pass = "mask"
	Depth       Pass = "depth"
	DepthSimple Pass = "depth_simple"
	Normals     Pass = "normals"
	Flow        Pass = "flow"
	Albedo      Pass = "albedo"
)

// Passes lists every known pass in the order tdwstitch reports them.
var Passes = []Pass{Img, ID, Category, Mask, Depth, DepthSimple, Normals, Flow, Albedo}

// Visual reports whether a pass is a picture for people (encoded lossy, H.264)
// rather than data whose every pixel value matters (encoded lossless).
func (p Pass) Visual() bool { return p == Img || p == Albedo }

// ParsePass returns the pass named s (with or without its leading underscore).
func ParsePass(s string) (Pass, bool) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "_")
	for _, p := range Passes {
		if string(p) == s {
			return p, true
		}
	}
	return "", false
}

// Format is an image file format TDW saves.
type Format string

// The formats TDW writes: _img is JPEG unless set_img_pass_encoding asked for
// PNG; every other pass is PNG.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
)

// FormatOfExt returns the format a file extension (".jpg", ".PNG", ...) names.
func FormatOfExt(ext string) (Format, bool) {
	switch strings.ToLower(ext) {
	case ".jpg", ".jpeg":
		return JPEG, true
	case ".png":
		return PNG, true
	}
	return "", false
}
