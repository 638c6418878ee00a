package mosaic

import (
	"context"
	"fmt"
	"image"
	"image/color"

	"golang.org/x/image/draw"

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
func present(ctx context.Context, legend []report.LegendEntry, tiles []frames.Bounded) []report.LegendEntry {
	if len(legend) == 0 {
		return nil
	}
	var sample []image.Image
	for _, b := range tiles {
		if b.Stream.Pass != tdw.ID {
			continue
		}
		fs := b.Stream.Frames
		for k := range min(8, len(fs)) {
			f := fs[k*len(fs)/min(8, len(fs))]
			if img := decode(ctx, map[int64]discover.Frame{f.Number: f}, f.Number, b.Shape); img != nil {
				sample = append(sample, img)
			}
		}
	}
	return InView(legend, sample)
}

// InView is the legend's entries whose colour shows in any of the _id
// images: the objects in view, in the legend's order.
func InView(legend []report.LegendEntry, ids []image.Image) []report.LegendEntry {
	if len(legend) == 0 {
		return nil
	}
	seen := map[[3]uint8]bool{} // every colour of the images
	for _, img := range ids {
		markColours(seen, img)
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

// drawLegend draws the canvas's legend in its area.
func (c *Canvas) drawLegend() { drawLegend(c.img, c.legendArea, c.legend) }

// LegendPanel is the entries drawn as the mosaic draws them under its
// strip, on an image width pixels wide and as tall as they need (nil for
// none): the gallery shows it beside a run's contact sheet.
func LegendPanel(entries []report.LegendEntry, width int) *image.RGBA {
	if len(entries) == 0 {
		return nil
	}
	l, area := withLegend(Layout{Width: width}, len(entries))
	img := image.NewRGBA(image.Rect(0, 0, l.Width, l.Height))
	draw.Draw(img, img.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
	drawLegend(img, area, entries)
	return img
}

// drawLegend draws entries in area of img: a swatch of each colour, then
// its name and category, cut to the cell.
func drawLegend(img *image.RGBA, area image.Rectangle, entries []report.LegendEntry) {
	perRow := max(1, area.Dx()/legendCell)
	for i, e := range entries {
		x := area.Min.X + 4 + (i%perRow)*legendCell
		y := area.Min.Y + 2 + (i/perRow)*legendRow
		rgb := rgbOf(e.Color)
		col := color.RGBA{rgb[0], rgb[1], rgb[2], 255}
		for yy := y + 2; yy < y+legendRow-2; yy++ {
			for xx := x; xx < x+10; xx++ {
				img.SetRGBA(xx, yy, col)
			}
		}
		label := e.Name
		if e.Category != "" && e.Category != e.Name {
			label += " (" + e.Category + ")"
		}
		drawText(img, image.Pt(x+14, y+legendRow-3), fit(label, legendCell-22), textColour)
	}
}
