package mosaic

import (
	"image"
	"math"
	"slices"

	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// Order is the tiles' order in a row: the pictures first, then the labels,
// then the geometry.
var Order = []tdw.Pass{tdw.Img, tdw.Albedo, tdw.ID, tdw.Category, tdw.Mask, tdw.Depth, tdw.DepthSimple, tdw.Normals, tdw.Flow}

// Source is one stream the mosaic shows: its avatar, pass and frame size.
type Source struct {
	Avatar        string
	Pass          tdw.Pass
	Width, Height int
}

// Tile is a source's place in the mosaic: its picture and, above it, its
// label.
type Tile struct {
	Source
	Label string
	Rect  image.Rectangle // the picture
	Text  image.Point     // the label's baseline
}

// Layout is the mosaic's frame: one row per avatar, one tile per pass in
// Order, and a strip at the bottom for the frame number and time.
type Layout struct {
	Width, Height int
	Tiles         []Tile
	Strip         image.Rectangle
}

// Heights of a tile's label bar and of the bottom strip, in pixels (the
// 7x13 font and a margin).
const (
	labelHeight = 16
	stripHeight = 18
)

// Plan lays the sources out at most maxWidth pixels wide: every tile scaled
// by one factor (never up), aspect kept, even sizes for H.264 4:2:0.
func Plan(sources []Source, maxWidth int) Layout {
	rows := map[string][]Source{}
	var avatars []string
	for _, s := range sources {
		if _, ok := rows[s.Avatar]; !ok {
			avatars = append(avatars, s.Avatar)
		}
		rows[s.Avatar] = append(rows[s.Avatar], s)
	}
	slices.Sort(avatars)
	widest := 0
	for _, a := range avatars {
		slices.SortFunc(rows[a], func(x, y Source) int { return slices.Index(Order, x.Pass) - slices.Index(Order, y.Pass) })
		w := 0
		for _, s := range rows[a] {
			w += s.Width + s.Width%2 // as padded to even
		}
		widest = max(widest, w)
	}
	scale := 1.0
	if widest > maxWidth {
		scale = float64(maxWidth) / float64(widest)
	}
	var l Layout
	y := 0
	for _, a := range avatars {
		x, rowHeight := 0, 0
		for _, s := range rows[a] {
			w, h := even(float64(s.Width)*scale), even(float64(s.Height)*scale)
			label := string(s.Pass)
			if a != "" {
				label = a + "/" + label
			}
			l.Tiles = append(l.Tiles, Tile{Source: s, Label: label,
				Rect: image.Rect(x, y+labelHeight, x+w, y+labelHeight+h), Text: image.Pt(x+3, y+labelHeight-4)})
			x += w
			rowHeight = max(rowHeight, labelHeight+h)
		}
		l.Width = max(l.Width, x)
		y += rowHeight
	}
	l.Strip = image.Rect(0, y, l.Width, y+stripHeight)
	l.Height = y + stripHeight
	return l
}

// even rounds v down to an even whole number (so scaled rows stay within
// the width asked for), at least 2; a size that is already whole and odd
// (not scaled) is padded up by one.
func even(v float64) int {
	if v == math.Trunc(v) && int(v)%2 == 1 {
		return int(v) + 1
	}
	return max(2, int(v/2)*2)
}
