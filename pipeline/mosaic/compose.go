package mosaic

import (
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// Colours of the mosaic's frame: a dark background, light text, and the
// strip's mark for a held frame.
var (
	background = color.RGBA{24, 24, 24, 255}
	textColour = color.RGBA{235, 235, 235, 255}
	heldColour = color.RGBA{255, 170, 0, 255}
)

// Canvas composes mosaic frames: each tile keeps its latest picture (a
// missing or bad frame holds the previous one, as in the pass videos), and
// Frame draws them with their labels and the strip.
type Canvas struct {
	layout Layout
	planes Planes
	depth  Range
	img    *image.RGBA
	tiles  []*image.RGBA // the latest picture of each tile, at its size
	held   []bool        // the tile shows an earlier frame than the strip's
	// legend lists the objects in view under the strip, in legendArea.
	legend     []report.LegendEntry
	legendArea image.Rectangle
}

// NewCanvas makes a canvas for layout; depth tiles are coloured over rng.
func NewCanvas(layout Layout, planes Planes, rng Range) *Canvas {
	c := &Canvas{layout: layout, planes: planes, depth: rng,
		img: image.NewRGBA(image.Rect(0, 0, layout.Width, layout.Height)), tiles: make([]*image.RGBA, len(layout.Tiles)), held: make([]bool, len(layout.Tiles))}
	return c
}

// Set gives tile i its picture for the frame being composed: a decoded
// frame of its pass (nil: none this frame, the tile holds its last).
func (c *Canvas) Set(i int, src image.Image) {
	if src == nil {
		c.held[i] = true
		return
	}
	t := c.layout.Tiles[i]
	c.held[i] = false
	src = Picture(t.Pass, src, c.planes, c.depth)
	dst := c.tiles[i]
	if dst == nil {
		dst = image.NewRGBA(image.Rect(0, 0, t.Rect.Dx(), t.Rect.Dy()))
		c.tiles[i] = dst
	}
	if d := dst.Bounds().Size().Sub(src.Bounds().Size()); d.X >= 0 && d.X <= 1 && d.Y >= 0 && d.Y <= 1 {
		// Not scaled: an odd size is padded to the even tile, not stretched.
		draw.Draw(dst, dst.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
		draw.Draw(dst, src.Bounds().Sub(src.Bounds().Min), src, src.Bounds().Min, draw.Src)
		return
	}
	Scaler(t.Pass).Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
}

// Picture is what a frame of pass shows as: _depth in metres through
// Turbo over rng, _depth_simple as grey, any other pass as it is.
func Picture(pass tdw.Pass, src image.Image, p Planes, rng Range) image.Image {
	switch pass {
	case tdw.Depth:
		return depthTile(src, p, rng)
	case tdw.DepthSimple:
		return grey(src)
	}
	return src
}

// Scaler scales a picture of pass: bilinear for pictures and depth, nearest
// neighbour for the other data passes, so they show only their true colours.
func Scaler(pass tdw.Pass) draw.Scaler {
	if !pass.Visual() && pass != tdw.Depth && pass != tdw.DepthSimple {
		return draw.NearestNeighbor
	}
	return draw.ApproxBiLinear
}

// Held reports whether a tile of the frame being composed shows an earlier
// frame (its stream has none, or a bad one, for this number).
func (c *Canvas) Held() bool { return slices.Contains(c.held, true) }

// Frame draws the mosaic for frame number n, captured at t seconds from the
// first (the strip says "k/fps" when times are not known: t < 0 means so).
// The returned bytes are RGBA, row after row, valid until the next Frame.
func (c *Canvas) Frame(n int64, t float64) []byte {
	draw.Draw(c.img, c.img.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
	var held []string
	for i, tile := range c.layout.Tiles {
		if pic := c.tiles[i]; pic != nil {
			draw.Draw(c.img, tile.Rect, pic, image.Point{}, draw.Src)
		}
		if c.held[i] {
			held = append(held, tile.Label)
		}
		c.text(tile.Text, fit(tile.Label, tile.Rect.Dx()-3), textColour)
	}
	strip := fmt.Sprintf("frame %d", n)
	if t >= 0 {
		strip += fmt.Sprintf("   %.3f s", t)
	}
	base := image.Pt(c.layout.Strip.Min.X+4, c.layout.Strip.Max.Y-5)
	c.text(base, strip, textColour)
	end := base.X + 7*len(strip)
	if len(held) > 0 {
		heldText := "held: " + strings.Join(held, ", ")
		c.text(base.Add(image.Pt(7*(len(strip)+3), 0)), heldText, heldColour)
		end += 7 * (3 + len(heldText))
	}
	c.colourBar(end)
	c.drawLegend()
	return c.img.Pix
}

// fit cuts a label to the pixels it has (7 a character).
func fit(s string, width int) string {
	if n := max(0, width/7); len(s) > n {
		return s[:n]
	}
	return s
}

// barWidth is the depth colour bar's gradient, in pixels.
const barWidth = 96

// colourBar draws, at the strip's right end, the depth colour map with the
// metres at its ends, when a depth tile is shown and the strip has room
// after its text (which ends at x = textEnd).
func (c *Canvas) colourBar(textEnd int) {
	if !slices.ContainsFunc(c.layout.Tiles, func(t Tile) bool { return t.Pass == tdw.Depth }) {
		return
	}
	lo, hi := fmt.Sprintf("%.1f m", c.depth.Min), fmt.Sprintf("%.1f m", c.depth.Max)
	r := c.colourBarRect(len(lo), len(hi))
	if r.Min.X-7*len(lo)-8 < textEnd {
		return // no room beside the strip's text
	}
	for x := r.Min.X; x < r.Max.X; x++ {
		col := Turbo(float64(x-r.Min.X) / float64(barWidth-1))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			c.img.SetRGBA(x, y, col)
		}
	}
	baseline := c.layout.Strip.Max.Y - 5
	c.text(image.Pt(r.Min.X-7*len(lo)-4, baseline), lo, textColour)
	c.text(image.Pt(r.Max.X+4, baseline), hi, textColour)
}

// colourBarRect is where the gradient goes, leaving room for the labels
// of lo and hi characters either side.
func (c *Canvas) colourBarRect(lo, hi int) image.Rectangle {
	right := c.layout.Width - 4 - 7*hi - 4
	return image.Rect(right-barWidth, c.layout.Strip.Min.Y+5, right, c.layout.Strip.Max.Y-5)
}

// text draws s with its baseline at p, clipped to the canvas.
func (c *Canvas) text(p image.Point, s string, col color.Color) { drawText(c.img, p, s, col) }

// drawText draws s in the mosaic's 7x13 font with its baseline at p,
// clipped to img.
func drawText(img draw.Image, p image.Point, s string, col color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(p.X, p.Y)}
	d.DrawString(s)
}

// DrawLabel draws s in the mosaic's font, light on a dark box, with the
// box's top-left corner at p: the gallery's frame numbers.
func DrawLabel(img draw.Image, p image.Point, s string) {
	box := image.Rect(p.X, p.Y, p.X+7*len(s)+4, p.Y+14)
	draw.Draw(img, box, image.NewUniform(background), image.Point{}, draw.Src)
	drawText(img, image.Pt(p.X+2, p.Y+11), s, textColour)
}

// grey shows a _depth_simple image (already grey levels) as it is.
func grey(src image.Image) image.Image {
	b := src.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), src, b.Min, draw.Src)
	return out
}
