// Package gallery writes a batch's browser gallery: OUT_ROOT/index.html with a
// card per run (failed runs first), a poster frame and a contact sheet per
// stream, the visual videos playable in the page, and links to the reports.
//
// The page is self-contained: thumbnails are inlined as data URIs and the
// videos are relative links, so it opens from disk with no network. Write
// decodes up to SheetFrames frames per stream and scales them with
// golang.org/x/image/draw; it is safe to call from one goroutine at a time
// per output root.
package gallery
