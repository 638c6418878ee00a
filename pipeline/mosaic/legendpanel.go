package mosaic

import (
	"fmt"
	"image"
	"image/color"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// legendRow is the height of one row of the legend under the strip.
const legendRow = 14

// legendCell is the width of one legend entry: a swatch and 20 characters.
const legendCell = 14 + 7*20 + 8

// present is the legend's entries whose colour shows in a sample of the
// run's _id frames (up to 8, spread over the run): the objects in view.
func present(legend []report.LegendEntry, tiles []frames.Bounded) []report.LegendEntry {
	if len(legend) == 0 {
		return nil
	}
	seen := map[[3]uint8]bool{} // every colour of the sampled frames
	for _, b := range tiles {
		if b.Stream.Pass != tdw.ID {
			continue
		}
		fs := b.Stream.Frames
		for k := range min(8, len(fs)) {
			f := fs[k*len(fs)/min(8, len(fs))]
			img := decode(map[int64]discover.Frame{f.Number: f}, f.Number, b.Shape)
			if img == nil {
				continue
			}
			markColours(seen, img)
		}
	}
	var out []report.LegendEntry
	for _, e := range legend {
		if seen[rgbOf(e.Color)] {
			out = append(out, e)
		}
	}
	return out
}

// markColours adds every colour of img to seen; an _id frame decodes as
// RGBA (image/png's RGB), read directly, other kinds through At.
func markColours(seen map[[3]uint8]bool, img image.Image) {
	if rgba, ok := img.(*image.RGBA); ok {
		for i := 0; i+3 < len(rgba.Pix); i += 4 {
			seen[[3]uint8{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2]}] = true
		}
		return
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}] = true
		}
	}
}

// rgbOf reads a legend colour, "#rrggbb" as ReadLegend writes it.
func rgbOf(hex string) [3]uint8 {
	var c [3]uint8
	fmt.Sscanf(hex, "#%02x%02x%02x", &c[0], &c[1], &c[2])
	return c
}

// withLegend grows the layout by the rows n legend entries take under the
// strip (as many a row as fit), and returns where they go.
func withLegend(l Layout, n int) (Layout, image.Rectangle) {
	if n == 0 {
		return l, image.Rectangle{}
	}
	perRow := max(1, l.Width/legendCell)
	rows := (n + perRow - 1) / perRow
	area := image.Rect(0, l.Height, l.Width, l.Height+rows*legendRow+4)
	l.Height = even(float64(area.Max.Y))
	return l, area
}

// drawLegend draws the entries in area: a swatch of each colour, then its
// name and category, cut to the cell.
func (c *Canvas) drawLegend() {
	perRow := max(1, c.legendArea.Dx()/legendCell)
	for i, e := range c.legend {
		x := c.legendArea.Min.X + 4 + (i%perRow)*legendCell
		y := c.legendArea.Min.Y + 2 + (i/perRow)*legendRow
		rgb := rgbOf(e.Color)
		col := color.RGBA{rgb[0], rgb[1], rgb[2], 255}
		for yy := y + 2; yy < y+legendRow-2; yy++ {
			for xx := x; xx < x+10; xx++ {
				c.img.SetRGBA(xx, yy, col)
			}
		}
		label := e.Name
		if e.Category != "" && e.Category != e.Name {
			label += " (" + e.Category + ")"
		}
		c.text(image.Pt(x+14, y+legendRow-3), fit(label, legendCell-22), textColour)
	}
}
