package gallery

import (
	"html/template"
	"time"

	"github.com/tdwstitch/tdwstitch/report"
)

// pageData is what the page shows.
type pageData struct {
	Cards   []card
	Counts  []count // runs by status, for the filter
	Summary string  // the batch summary, relative to the page
	Root    string
	Made    string
}

type count struct {
	Status report.Status
	N      int
}

func pageOf(br *report.Batch, cards []card) pageData {
	d := pageData{Cards: cards, Summary: href(report.BatchFile), Root: br.Root, Made: time.Now().UTC().Format(time.DateTime + " UTC")}
	n := map[report.Status]int{}
	for _, c := range cards {
		n[c.Status]++
	}
	for _, s := range []report.Status{report.Failed, report.Degraded, report.OK, report.Skipped} {
		if n[s] > 0 {
			d.Counts = append(d.Counts, count{s, n[s]})
		}
	}
	return d
}

// page is the gallery. Every byte is repeated per run, so the markup is
// terse (optional closing tags left out); cards are rendered only near the
// viewport (content-visibility), pictures load lazily and a card makes its
// video player when asked to play. The hash says what to show: #status=X
// filters, #run-XXXX opens that run's card and plays it. Players note their state
// in data attributes (state, time, duration), which tests read.
var page = template.Must(template.New("gallery").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tdwstitch gallery</title>
<meta name="viewport" content="width=device-width">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;background:#f4f4f4;color:#222}
table{border-collapse:collapse;background:#fff;margin:.5em 0 2em}th,td{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}
th:first-child,td:first-child{text-align:left}td:nth-child(2){text-align:left;font-weight:bold}
tr[data-s=failed] td:nth-child(2),.failed>h2 .st{color:#c0392b}tr[data-s=degraded] td:nth-child(2),.degraded>h2 .st{color:#d35400}
#filter button{margin-right:.3em}#filter button[aria-pressed=true]{font-weight:bold}
.card{background:#fff;border-radius:6px;padding:1em;margin:0 0 1.2em;box-shadow:0 1px 3px #0002;border-left:6px solid #27ae60;content-visibility:auto;contain-intrinsic-size:auto 480px}
.card.failed{border-left-color:#c0392b}.card.degraded{border-left-color:#e67e22}
h2{margin:0 0 .4em;font-size:16px}.st{font-size:12px;text-transform:uppercase}h2 a{font-size:12px;font-weight:normal}
.err{color:#c0392b;white-space:pre-wrap}.warn{color:#8a5a00}.meta{font-size:12px;color:#555;margin:.2em 0}
.media{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}.media img,video{max-width:100%;height:auto}
button.play{position:relative;padding:0;border:0;background:#000;cursor:pointer;min-width:160px;min-height:90px}
button.play span{position:absolute;left:8px;bottom:8px;background:#000b;color:#fff;padding:2px 8px;border-radius:3px}
video{width:480px;background:#000}ul{margin:.5em 0;padding-left:1.2em;font-size:13px}
</style></head><body>
<h1>tdwstitch gallery</h1>
<p class="meta">{{len .Cards}} runs of {{.Root}}, failed runs first, then degraded ones; made {{.Made}}. <a href="{{.Summary}}">batch summary</a></p>
<nav id="filter">show: <button data-f="all" aria-pressed="true">all ({{len .Cards}})</button>{{range .Counts}}<button data-f="{{.Status}}">{{.Status}} ({{.N}})</button>{{end}} <span class="meta"><span id="shown">{{len .Cards}}</span> shown</span></nav>
<table id="runs"><thead><tr><th>run<th>status<th>frames<th>missing<th>bad<th>seconds<th>report</thead><tbody>
{{range .Cards}}<tr data-s="{{.Status}}"><td><a href="#{{.Anchor}}">{{.Name}}</a><td>{{.Status}}<td>{{.Frames}}<td>{{.Missing}}<td>{{.Bad}}<td>{{printf "%.2f" .Seconds}}<td><a href="{{.Report}}">report</a>
{{end}}</tbody></table>
{{range .Cards}}<article class="card {{.Status}}" id="{{.Anchor}}" data-s="{{.Status}}"><h2>{{.Name}} <span class="st">{{.Status}}{{if .UpToDate}} (up to date){{end}}</span> <a href="{{.Report}}">report</a></h2>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}<div class="media">
{{- if .Play}}<button class="play" data-src="{{.Play}}" data-kind="{{.PlayKind}}">{{with .Pictures.Poster}}{{if .URL}}<img loading="lazy" src="{{.URL}}" width="{{.Width}}" height="{{.Height}}" alt="">{{end}}{{end}}<span>&#9654; {{.PlayKind}}</span></button>{{end}}
{{- with .Pictures.Sheet}}{{if .URL}}<img loading="lazy" class="sheet" src="{{.URL}}" width="{{.Width}}" height="{{.Height}}" alt="contact sheet">{{end}}{{end}}
{{- with .Pictures.Legend}}{{if .URL}}<img loading="lazy" class="legend" src="{{.URL}}" width="{{.Width}}" height="{{.Height}}" alt="objects in view">{{end}}{{end}}
{{- if .NoSheet}}<p class="meta">{{.NoSheet}}</p>{{end}}</div>
<ul>{{range .Streams}}<li>{{.ID}} {{.Status}}, {{.Frames}} frames{{if .Missing}}, {{.Missing}} missing{{end}}{{if .Bad}}, {{.Bad}} bad{{end}}{{if .Error}}: <span class="err">{{.Error}}</span>{{end}}{{end}}</ul>
{{- range .BadList}}<p class="meta">bad frame {{.}}</p>{{end}}{{if .MoreBad}}<p class="meta">and {{.MoreBad}} more bad frames: see the report</p>{{end}}
{{- range .Warnings}}<p class="warn">{{.}}</p>{{end}}{{if .MoreWarn}}<p class="meta">and {{.MoreWarn}} more warnings: see the report</p>{{end}}
{{- if .Others}}<p class="meta">videos: {{range .Others}}<a href="{{.URL}}">{{.Name}}</a> {{end}}</p>{{end}}</article>
{{end}}<script>
(() => {
  const rows = document.querySelectorAll("#runs tbody tr"), cards = document.querySelectorAll(".card");
  function filter(f) {
    let n = 0;
    for (const el of rows) { el.hidden = f !== "all" && el.dataset.s !== f; if (!el.hidden) n++; }
    for (const el of cards) el.hidden = f !== "all" && el.dataset.s !== f;
    for (const b of document.querySelectorAll("#filter button")) b.setAttribute("aria-pressed", String(b.dataset.f === f));
    document.getElementById("shown").textContent = n;
  }
  function play(card) {
    const b = card.querySelector("button.play");
    if (!b) return;
    const v = document.createElement("video");
    v.controls = true; v.playsInline = true; v.src = b.dataset.src; v.dataset.kind = b.dataset.kind;
    for (const ev of ["playing", "ended", "error"]) v.addEventListener(ev, () => { v.dataset.state = ev; });
    v.addEventListener("timeupdate", () => { v.dataset.time = String(v.currentTime); });
    v.addEventListener("loadedmetadata", () => { v.dataset.duration = String(v.duration); });
    b.replaceWith(v);
    v.play().catch(() => {}); // without a click first, the browser may wait for one on the player
  }
  function route() {
    let h = location.hash.slice(1);
    try { h = decodeURIComponent(h); } catch (e) {} // a hand-made hash may not decode
    if (h.startsWith("status=")) return filter(h.slice(7));
    const card = h && document.getElementById(h);
    if (!card || !card.classList.contains("card")) return;
    if (card.hidden) filter("all");
    play(card);
    card.scrollIntoView();
  }
  document.getElementById("filter").addEventListener("click", e => {
    const f = e.target.dataset.f;
    if (f) { history.replaceState(null, "", "#status=" + f); filter(f); }
  });
  document.addEventListener("click", e => {
    const b = e.target.closest("button.play"), a = e.target.closest("#runs a[href^='#']");
    if (b) play(b.closest(".card"));
    if (a) { e.preventDefault(); history.pushState(null, "", a.getAttribute("href")); route(); }
  });
  addEventListener("hashchange", route);
  route();
})();
</script>
</body></html>
`))
