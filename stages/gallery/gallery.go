package gallery

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	_ "image/png" // decode PNG frames
	"os"
	"path/filepath"
	"slices"

	"github.com/tdwstitch/tdwstitch/report"

	"golang.org/x/image/draw"
)

// FileName is the gallery's file name in the output root.
const FileName = "index.html"

// SheetFrames is how many frames a contact sheet shows.
const SheetFrames = 8

// thumbWidth is a thumbnail's width in pixels.
const thumbWidth = 160

// Run is one card.
type Run struct {
	Name    string // path relative to the dataset root
	Status  report.Status
	Error   string
	Report  string // report path relative to the output root
	Streams []Stream
}

// Stream is one row of a card.
type Stream struct {
	ID      string
	Video   string   // video path relative to the output root; "" when none
	Visual  bool     // playable in a browser (H.264 MP4)
	Frames  []string // source frame files, in order (a sample is shown)
	Gaps    int64
	Bad     []string // "path: reason"
	Status  report.Status
	Error   string
	Seconds float64
}

// Write renders the gallery into outRoot and returns its path.
func Write(outRoot string, runs []Run) (string, error) {
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b Run) int { return rank(a.Status) - rank(b.Status) })
	cards := make([]card, len(runs))
	for i, r := range runs {
		cards[i] = card{Run: r}
		for _, s := range r.Streams {
			cards[i].Streams = append(cards[i].Streams, row{Stream: s, Sheet: sheet(s.Frames, !s.Visual)})
			if cards[i].Poster == "" && s.Visual && len(s.Frames) > 0 {
				cards[i].Poster = thumbURI(s.Frames[len(s.Frames)/2], 2*thumbWidth)
			}
		}
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, cards); err != nil {
		return "", err
	}
	path := filepath.Join(outRoot, FileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("cannot write the gallery %s: %w", path, err)
	}
	return path, os.Rename(tmp, path)
}

// rank puts failed runs first, then degraded ones, then the rest as given.
func rank(status report.Status) int {
	switch status {
	case report.Failed:
		return 0
	case report.Degraded:
		return 1
	}
	return 2
}

type card struct {
	Run
	Poster  template.URL
	Streams []row
}

type row struct {
	Stream
	Sheet template.URL
}

// sheet is a contact sheet of SheetFrames frames spread over the stream, as
// a JPEG data URI; "" when no frame decodes.
func sheet(frames []string, exact bool) template.URL {
	if len(frames) == 0 {
		return ""
	}
	n := min(SheetFrames, len(frames))
	var thumbs []image.Image
	for i := range n {
		if m := thumb(frames[i*(len(frames)-1)/max(1, n-1)], thumbWidth/2, exact); m != nil {
			thumbs = append(thumbs, m)
		}
	}
	if len(thumbs) == 0 {
		return ""
	}
	w, h := thumbs[0].Bounds().Dx(), thumbs[0].Bounds().Dy()
	cols := 4
	rows := (len(thumbs) + cols - 1) / cols
	sheet := image.NewRGBA(image.Rect(0, 0, cols*w, rows*h))
	for i, t := range thumbs {
		at := image.Pt((i%cols)*w, (i/cols)*h)
		draw.Draw(sheet, image.Rectangle{at, at.Add(t.Bounds().Size())}, t, t.Bounds().Min, draw.Src)
	}
	return dataURI(sheet)
}

// thumb decodes path and scales it to width: bilinear for pictures, nearest
// neighbour when exact, so data passes show only their true colours.
func thumb(path string, width int, exact bool) image.Image {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return nil
	}
	b := src.Bounds()
	width = min(width, b.Dx()) // never blow a small frame up
	height := max(1, b.Dy()*width/max(1, b.Dx()))
	dst := image.NewRGBA(image.Rect(0, 0, width, height))
	var scaler draw.Scaler = draw.ApproxBiLinear
	if exact {
		scaler = draw.NearestNeighbor
	}
	scaler.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	return dst
}

func thumbURI(path string, width int) template.URL {
	if m := thumb(path, width, false); m != nil {
		return dataURI(m)
	}
	return ""
}

func dataURI(m image.Image) template.URL {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 80}); err != nil {
		return ""
	}
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

var page = template.Must(template.New("gallery").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tdwstitch gallery</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;background:#f4f4f4;color:#222}
.card{background:#fff;border-radius:6px;padding:1em;margin:0 0 1.2em;box-shadow:0 1px 3px #0002}
.card.failed{border-left:6px solid #c0392b}.card.degraded{border-left:6px solid #e67e22}.card.ok{border-left:6px solid #27ae60}.card.skipped{border-left:6px solid #7f8c8d}
h2{margin:0 0 .4em;font-size:16px}.status{font-weight:bold;text-transform:uppercase;font-size:12px}
.err{color:#c0392b;white-space:pre-wrap}.stream{display:flex;gap:1em;align-items:flex-start;margin:.6em 0}
video{width:320px;background:#000}.sheet{max-width:640px}.meta{font-size:12px;color:#555}
</style></head><body>
<h1>tdwstitch gallery</h1>
<p class="meta">{{len .}} runs; failed runs first, then degraded ones. Videos play from the files beside this page.</p>
{{range .}}<div class="card {{.Status}}">
<h2>{{.Name}} <span class="status">{{.Status}}</span></h2>
{{if .Error}}<div class="err">{{.Error}}</div>{{end}}
{{if .Poster}}<img class="poster" alt="poster of {{.Name}}" src="{{.Poster}}">{{end}}
<p class="meta"><a href="{{.Report}}">report</a></p>
{{range .Streams}}<div class="stream">
{{if and .Visual .Video}}<video controls preload="metadata" src="{{.Video}}" data-stream="{{.ID}}"></video>{{else if .Video}}<a href="{{.Video}}">{{.Video}}</a>{{end}}
<div><div><b>{{.ID}}</b> <span class="status">{{.Status}}</span> <span class="meta">{{printf "%.2f" .Seconds}} s, {{len .Frames}} frames, {{.Gaps}} missing, {{len .Bad}} bad</span></div>
{{if .Error}}<div class="err">{{.Error}}</div>{{end}}
{{if .Sheet}}<img class="sheet" alt="contact sheet of {{.ID}}" src="{{.Sheet}}">{{end}}
{{range .Bad}}<div class="meta">bad frame {{.}}</div>{{end}}
</div></div>{{end}}
</div>{{end}}
<script>
// Record each video's duration once its metadata loads (tests read it).
for (const v of document.querySelectorAll("video")) {
  v.addEventListener("loadedmetadata", () => { v.dataset.duration = String(v.duration); });
}
</script>
</body></html>
`))
