// Package gallery writes a batch's gallery: OUT_ROOT/index.html, an
// overview table of every run (status, frames, missing, bad, duration,
// links to its report and the batch summary) that filters by status, then
// a card per run that plays its mosaic (or its img video), with a contact
// sheet of every stream's frames, numbered, and the legend of the objects
// in view.
//
// The page scales to thousands of runs: pictures are files beside it
// (FilesDir), loaded lazily, named by what they show so an unchanged run's
// are kept from one batch to the next, and a card makes its video player
// only when asked to play. It opens from disk with no network. Write is
// safe to call from one process at a time per output root.
package gallery
