package mosaic

import (
	"image"
	"image/color"
	"math"
	"slices"
)

// Planes are the camera's clipping planes in metres, which scale TDW's
// depth encoding. TDW's defaults: near 0.1, far 100.
type Planes struct{ Near, Far float64 }

// DefaultPlanes are TDW's default camera clipping planes.
var DefaultPlanes = Planes{Near: 0.1, Far: 100}

// Metres decodes one pixel of a TDW _depth image, as TDWUtils.get_depth_values
// does: (R + G/256 + B/256²) * (far - near) / 256.
func (p Planes) Metres(r, g, b uint8) float64 {
	v := float64(r) + float64(g)/256 + float64(b)/(256*256)
	return v * (p.Far - p.Near) / 256
}

// Range is the span of metres the colour map covers, the same for every
// frame of a run so that a colour means one distance throughout.
type Range struct{ Min, Max float64 }

// EstimateRange is the 1st to 99th percentile of the metres in the sample
// images (every 4th pixel of each), so that a few far or near pixels (the
// sky, a wall at the near plane) do not wash out the rest.
func EstimateRange(sample []image.Image, p Planes) Range {
	var ms []float64
	for _, img := range sample {
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				r, g, bl, _ := img.At(x, y).RGBA()
				ms = append(ms, p.Metres(uint8(r>>8), uint8(g>>8), uint8(bl>>8)))
			}
		}
	}
	if len(ms) == 0 {
		return Range{0, p.Far}
	}
	slices.Sort(ms)
	lo, hi := ms[len(ms)/100], ms[len(ms)*99/100]
	if hi <= lo {
		hi = lo + 1e-3
	}
	return Range{lo, hi}
}

// At is where metres m falls in the range, from 0 to 1.
func (r Range) At(m float64) float64 {
	return min(1, max(0, (m-r.Min)/(r.Max-r.Min)))
}

// Turbo is Google's Turbo colour map at x in [0, 1] (the polynomial fit
// published with it): perceptually ordered, dark blue near, dark red far.
func Turbo(x float64) color.RGBA {
	x = min(1, max(0, x))
	r := 0.13572138 + x*(4.61539260+x*(-42.66032258+x*(132.13108234+x*(-152.94239396+x*59.28637943))))
	g := 0.09140261 + x*(2.19418839+x*(4.84296658+x*(-14.18503333+x*(4.27729857+x*2.82956604))))
	b := 0.10667330 + x*(12.64194608+x*(-60.58204836+x*(110.36276771+x*(-89.90310912+x*27.34824973))))
	return color.RGBA{byteOf(r), byteOf(g), byteOf(b), 255}
}

func byteOf(v float64) uint8 { return uint8(math.Round(min(1, max(0, v)) * 255)) }

// depthTile colours a _depth image in metres through Turbo over rng. A
// 24-bit depth value has 2^24 possible metres but a frame uses few, and
// the colour map is smooth: the colour is looked up by the top 16 bits.
func depthTile(src image.Image, p Planes, rng Range) *image.RGBA {
	b := src.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	var lut [1 << 16]color.RGBA
	var have [1 << 16]bool
	colour := func(r, g, bl uint8) color.RGBA {
		k := int(r)<<8 | int(g)
		if !have[k] {
			lut[k], have[k] = Turbo(rng.At(p.Metres(r, g, bl))), true
		}
		return lut[k]
	}
	if rgba, ok := src.(*image.RGBA); ok { // what image/png gives for RGB
		for y := 0; y < b.Dy(); y++ {
			row := rgba.Pix[y*rgba.Stride : y*rgba.Stride+4*b.Dx()]
			dst := out.Pix[y*out.Stride : y*out.Stride+4*b.Dx()]
			for x := 0; x+3 < len(row); x += 4 {
				c := colour(row[x], row[x+1], row[x+2])
				dst[x], dst[x+1], dst[x+2], dst[x+3] = c.R, c.G, c.B, 255
			}
		}
		return out
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := src.At(x, y).RGBA()
			out.SetRGBA(x-b.Min.X, y-b.Min.Y, colour(uint8(r>>8), uint8(g>>8), uint8(bl>>8)))
		}
	}
	return out
}
