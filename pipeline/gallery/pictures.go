package gallery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/image/draw"

	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/mosaic"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
)

// SheetFrames is how many frames of each stream a contact sheet shows,
// spread over the stream.
const SheetFrames = 8

// Sizes of the pictures, in pixels: a contact sheet's thumbnail and the
// poster a card shows before its video plays.
const (
	thumbWidth   = 96
	thumbMaxH    = 160
	posterWidth  = 320
	posterMaxH   = 400
	sheetGap     = 2
	sheetLabelH  = 16
	pictureStyle = "1" // changes when the pictures look different: old ones are made again
	// maxSheetRows bounds a contact sheet (one row a stream) and
	// maxLegendShown the legend picture, whatever a run holds.
	maxSheetRows   = 24
	maxLegendShown = 120
)

// pictures are a card's files in FilesDir.
type pictures struct{ Poster, Sheet, Legend picture }

// picture is one file, as a URL relative to the page, with its size so the
// page keeps its layout while pictures load; a zero picture is none.
type picture struct {
	URL           string
	Width, Height int
}

// ours matches the names of the pictures Write makes (and their
// temporary files), the only files prune removes.
var ours = regexp.MustCompile(`^\.?[0-9a-f]{16}\.(poster\.jpg|sheet\.jpg|legend\.png)(\.tmp-[0-9]+)?$`)

// staleTemp is how old a temporary picture must be before prune removes
// it: younger, another process may be writing it.
const staleTemp = time.Hour

// picturesOf returns a run's pictures, made from its source frames unless
// made already for the same inputs, or why there is no contact sheet.
func picturesOf(ctx context.Context, rep *report.Run, rel, files string) (pictures, string) {
	key := keyOf(rep, rel)
	name := func(kind string) string { return filepath.Join(files, key+"."+kind) }
	if sheet := existing(name("sheet.jpg")); sheet.URL != "" { // the sheet is written last
		return pictures{Poster: existing(name("poster.jpg")), Sheet: sheet, Legend: existing(name("legend.png"))}, ""
	}
	run, err := discover.Find(rep.Run)
	if err != nil {
		return pictures{}, fmt.Sprintf("no contact sheet: the run's frames are not at %s any more", rep.Run)
	}
	rows, poster, inView := sample(ctx, rep, run)
	if len(rows) == 0 {
		return pictures{}, "no contact sheet: no frame of the run could be read"
	}
	var p pictures
	if poster != nil {
		p.Poster = save(name("poster.jpg"), poster)
	}
	if len(inView) > maxLegendShown {
		inView = inView[:maxLegendShown] // the report lists them all
	}
	if panel := mosaic.LegendPanel(inView, sheetWidth()); panel != nil {
		p.Legend = save(name("legend.png"), panel)
	}
	if p.Sheet = save(name("sheet.jpg"), contactSheet(rows)); p.Sheet.URL == "" {
		return p, fmt.Sprintf("no contact sheet: it could not be written in %s (is the disk full?)", files)
	}
	return p, ""
}

// keyOf names a run's pictures by what they show: the run, its streams'
// inputs (frames and options, as the report fingerprints them) and its
// legend.
func keyOf(rep *report.Run, rel string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", pictureStyle, rel, rep.Run)
	for _, s := range rep.Streams {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", s.ID, s.Inputs, s.Status)
	}
	for _, e := range rep.Legend {
		fmt.Fprintf(h, "%d %s %s %s\x00", e.ID, e.Color, e.Name, e.Category)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// existing is the picture at path when it is there, with its size.
func existing(path string) picture {
	f, err := os.Open(path)
	if err != nil {
		return picture{}
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return picture{}
	}
	return picture{URL: href(FilesDir, filepath.Base(path)), Width: cfg.Width, Height: cfg.Height}
}

// save encodes img beside the page (JPEG, or PNG for exact colours) and
// returns it as a picture; a zero picture if it cannot be written.
func save(path string, img image.Image) picture {
	var buf bytes.Buffer
	var err error
	if filepath.Ext(path) == ".png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	}
	if err != nil || writeAtomic(path, buf.Bytes()) != nil {
		return picture{}
	}
	b := img.Bounds()
	return picture{URL: href(FilesDir, filepath.Base(path)), Width: b.Dx(), Height: b.Dy()}
}

// sheetRow is one stream's thumbnails on the contact sheet.
type sheetRow struct {
	ID     string
	Thumbs []thumb
}

// thumb is a sampled frame; Img is nil when it could not be read.
type thumb struct {
	Number int64
	Img    image.Image
}

// sample decodes up to SheetFrames frames of each stream of the report,
// spread over it, into thumbnails; the poster is the middle sample of the
// first picture stream (else of the first stream); inView is the legend's
// objects whose colour shows in the sampled _id frames.
func sample(ctx context.Context, rep *report.Run, run *discover.Run) (rows []sheetRow, poster image.Image, inView []report.LegendEntry) {
	byID := map[string]*discover.Stream{}
	for _, s := range run.Streams {
		byID[s.ID()] = s
	}
	seen := map[int64]bool{} // legend entries in view, by id
	var posterFrom *discover.Frame
	var posterPass tdw.Pass
	lim := frames.Checks{MaxPixels: rep.Options.MaxPixels}
	for _, rs := range rep.Streams {
		s := byID[rs.ID]
		if s == nil || len(s.Frames) == 0 || len(rows) == maxSheetRows {
			continue
		}
		row := sheetRow{ID: rs.ID}
		picks := spread(s.Frames, SheetFrames)
		for _, f := range picks {
			t := thumb{Number: f.Number}
			if img, err := frames.Decode(ctx, f, lim, nil); err == nil {
				t.Img = scaled(img, s.Pass, thumbWidth, thumbMaxH)
				if s.Pass == tdw.ID {
					for _, e := range mosaic.InView(rep.Legend, []image.Image{img}) {
						seen[e.ID] = true
					}
				}
			}
			row.Thumbs = append(row.Thumbs, t)
		}
		coloured(row.Thumbs, s.Pass)
		rows = append(rows, row)
		if mid := picks[len(picks)/2]; posterFrom == nil || (s.Pass.Visual() && !posterPass.Visual()) {
			posterFrom, posterPass = &mid, s.Pass
		}
	}
	if posterFrom != nil {
		if img, err := frames.Decode(ctx, *posterFrom, lim, nil); err == nil {
			width := min(posterWidth, img.Bounds().Dx()) // a small frame is not blown up
			pic := scaled(img, posterPass, width, posterMaxH)
			coloured([]thumb{{Img: pic}}, posterPass)
			poster = pic
		}
	}
	shown := map[string]bool{} // one entry a colour: a colour is one object in the _id pass
	for _, e := range rep.Legend {
		if seen[e.ID] && !shown[e.Color] {
			shown[e.Color] = true
			inView = append(inView, e)
		}
	}
	return rows, poster, inView
}

// spread picks up to n frames spread evenly over fs, first and last
// included.
func spread(fs []discover.Frame, n int) []discover.Frame {
	n = min(n, len(fs))
	out := make([]discover.Frame, n)
	for k := range n {
		out[k] = fs[k*(len(fs)-1)/max(1, n-1)]
	}
	return out
}

// scaled is src scaled to width (height by its aspect, at most maxH). The
// raw values of a data pass are never blended: _id keeps its exact
// colours, _depth its encoded metres (coloured afterwards).
func scaled(src image.Image, pass tdw.Pass, width, maxH int) image.Image {
	b := src.Bounds()
	h := min(maxH, max(1, b.Dy()*width/max(1, b.Dx())))
	dst := image.NewRGBA(image.Rect(0, 0, width, h))
	scaler := mosaic.Scaler(pass)
	if pass == tdw.Depth {
		scaler = draw.NearestNeighbor
	}
	scaler.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	return dst
}

// coloured turns thumbnails of a depth pass into what the mosaic shows:
// metres through Turbo, over the range of these samples.
func coloured(ts []thumb, pass tdw.Pass) {
	if pass != tdw.Depth && pass != tdw.DepthSimple {
		return
	}
	var imgs []image.Image
	for _, t := range ts {
		if t.Img != nil {
			imgs = append(imgs, t.Img)
		}
	}
	rng := mosaic.EstimateRange(imgs, mosaic.DefaultPlanes)
	for i, t := range ts {
		if t.Img != nil {
			ts[i].Img = mosaic.Picture(pass, t.Img, mosaic.DefaultPlanes, rng)
		}
	}
}

// sheetWidth is a contact sheet's width: SheetFrames thumbnails and gaps.
func sheetWidth() int { return SheetFrames*(thumbWidth+sheetGap) + sheetGap }

// contactSheet draws the rows: each stream's name, then its thumbnails,
// each with its frame number; a frame that could not be read is a grey
// box marked "unreadable".
func contactSheet(rows []sheetRow) image.Image {
	height := sheetGap
	for _, r := range rows {
		height += sheetLabelH + rowHeight(r) + sheetGap
	}
	sheet := image.NewRGBA(image.Rect(0, 0, sheetWidth(), height))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{24, 24, 24, 255}), image.Point{}, draw.Src)
	y := sheetGap
	for _, r := range rows {
		mosaic.DrawLabel(sheet, image.Pt(sheetGap, y), r.ID)
		y += sheetLabelH
		h := rowHeight(r)
		for i, t := range r.Thumbs {
			at := image.Pt(sheetGap+i*(thumbWidth+sheetGap), y)
			cell := image.Rectangle{Min: at, Max: at.Add(image.Pt(thumbWidth, h))}
			if t.Img != nil {
				draw.Draw(sheet, cell, t.Img, t.Img.Bounds().Min, draw.Src)
			} else {
				draw.Draw(sheet, cell, image.NewUniform(color.RGBA{90, 90, 90, 255}), image.Point{}, draw.Src)
				mosaic.DrawLabel(sheet, at, "unreadable")
			}
			mosaic.DrawLabel(sheet, image.Pt(at.X, cell.Max.Y-14), fmt.Sprint(t.Number))
		}
		y += h + sheetGap
	}
	return sheet
}

// rowHeight is the tallest thumbnail of a row (a default for none).
func rowHeight(r sheetRow) int {
	h := 0
	for _, t := range r.Thumbs {
		if t.Img != nil {
			h = max(h, t.Img.Bounds().Dy())
		}
	}
	if h == 0 {
		h = thumbWidth * 3 / 4
	}
	return max(h, 28) // room for the labels
}

// prune removes the pictures in files that no card shows: those of runs
// gone from the batch or whose inputs changed, and temporary files left
// for over staleTemp. Only names Write makes are touched.
func prune(files string, cards []card) {
	keep := map[string]bool{}
	for _, c := range cards {
		for _, p := range []picture{c.Pictures.Poster, c.Pictures.Sheet, c.Pictures.Legend} {
			if p.URL != "" {
				keep[filepath.Base(p.URL)] = true
			}
		}
	}
	entries, _ := os.ReadDir(files)
	for _, e := range entries {
		if keep[e.Name()] || !ours.MatchString(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil && (!strings.HasPrefix(e.Name(), ".") || time.Since(info.ModTime()) > staleTemp) {
			os.Remove(filepath.Join(files, e.Name()))
		}
	}
}
