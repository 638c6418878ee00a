package gallery

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/sourcegraph/conc/iter"

	"github.com/tdwstitch/tdwstitch/report"
)

// FileName is the gallery's page in the output root.
const FileName = "index.html"

// FilesDir is the folder beside the page that holds its pictures.
const FilesDir = "index_files"

// maxListed bounds what a card lists of one kind (bad frames, warnings):
// the rest are counted, and are in the run's report.
const maxListed = 3

// maxErrorChars bounds an error shown on a card.
const maxErrorChars = 600

// Write builds the gallery of br's runs in outRoot: it reads each run's
// report, makes the pictures it lacks, writes the page whole (a temporary
// file renamed into place) and removes pictures no run shows any more. It
// returns the page's path.
func Write(ctx context.Context, br *report.Batch, outRoot string) (string, error) {
	files := filepath.Join(outRoot, FilesDir)
	if err := os.MkdirAll(files, 0o755); err != nil {
		return "", fmt.Errorf("cannot make the gallery's folder %s: %w", files, err)
	}
	mapper := iter.Mapper[report.BatchRun, card]{MaxGoroutines: runtime.NumCPU()}
	cards := mapper.Map(br.RunList, func(r *report.BatchRun) card { return cardOf(ctx, *r, outRoot, files) })
	if err := ctx.Err(); err != nil {
		return "", err
	}
	slices.SortStableFunc(cards, func(a, b card) int { return cmp.Or(rank(a.Status)-rank(b.Status), strings.Compare(a.Name, b.Name)) })
	for i := range cards {
		sum := sha256.Sum256([]byte(cards[i].Name))
		cards[i].Anchor = "run-" + hex.EncodeToString(sum[:6]) // the same for a run from one batch to the next
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, pageOf(br, cards)); err != nil {
		return "", err
	}
	dest := filepath.Join(outRoot, FileName)
	if err := writeAtomic(dest, buf.Bytes()); err != nil {
		return "", fmt.Errorf("cannot write the gallery %s: %w", dest, err)
	}
	prune(files, cards)
	return dest, nil
}

// card is one run: its row in the overview table and its card.
type card struct {
	Anchor   string // the card's id in the page, from the run's name
	Name     string // the run's path under the root
	Status   report.Status
	UpToDate bool
	Error    string
	Report   string // the run's report, a URL relative to the page
	Frames   int    // frames of the run's longest stream
	Missing  int64  // missing frames, over every stream
	Bad      int    // bad frames, over every stream
	Seconds  float64
	Play     string // the video a card plays (mosaic, else img), a relative URL
	PlayKind string // "mosaic" or the stream's ID
	Pictures pictures
	NoSheet  string // why there is no contact sheet
	Streams  []streamLine
	BadList  []string
	MoreBad  int
	Warnings []string
	MoreWarn int
	Others   []link // the run's other videos (lossless FFV1 ones do not play in a browser)
}

type streamLine struct {
	ID      string
	Status  report.Status
	Frames  int
	Missing int64
	Bad     int
	Error   string
}

type link struct{ Name, URL string }

// cardOf reads a run's report and makes the pictures it lacks. A run
// without a readable report still gets its row, from the batch summary.
func cardOf(ctx context.Context, r report.BatchRun, outRoot, files string) card {
	c := card{Name: r.Run, Status: r.Status, Error: clip(r.Error), Report: href(r.Report), Warnings: slices.Clone(r.Warnings)}
	rep, err := report.ReadRun(filepath.Join(outRoot, filepath.FromSlash(r.Run)))
	if err != nil {
		c.NoSheet = "no run report"
		return c
	}
	if r.Status == report.Skipped {
		c.Status, c.UpToDate = rep.Status, true
	}
	if c.Error == "" {
		c.Error = clip(rep.Error)
	}
	if len(c.Warnings) == 0 {
		c.Warnings = slices.Clone(rep.Warnings)
	}
	var bad []string
	for _, s := range rep.Streams {
		line := streamLine{ID: s.ID, Status: s.Status, Frames: s.FramesFound, Missing: s.MissingFrames, Bad: len(s.BadFrames), Error: clip(s.Error)}
		c.Streams = append(c.Streams, line)
		c.Frames, c.Missing, c.Bad = max(c.Frames, s.FramesFound), c.Missing+s.MissingFrames, c.Bad+len(s.BadFrames)
		c.Seconds = max(c.Seconds, s.Duration)
		for _, b := range s.BadFrames {
			if len(bad) < maxListed {
				bad = append(bad, clip(fmt.Sprintf("%s: %s", b.Path, b.Reason)))
			}
		}
		if s.Status.Written() {
			c.Others = append(c.Others, link{Name: s.Output, URL: href(r.Run, s.Output)})
			if s.Visual() && c.Play == "" {
				c.Play, c.PlayKind = href(r.Run, s.Output), s.ID
			}
		}
	}
	if m := rep.Mosaic; m != nil && m.Status.Written() {
		c.Play, c.PlayKind = href(r.Run, m.Output), "mosaic"
	}
	c.Others = slices.DeleteFunc(c.Others, func(l link) bool { return l.URL == c.Play })
	c.BadList, c.MoreBad = bad, max(0, c.Bad-len(bad))
	c.MoreWarn = max(0, len(c.Warnings)-maxListed)
	c.Warnings = c.Warnings[:min(len(c.Warnings), maxListed)]
	for i, w := range c.Warnings {
		c.Warnings[i] = clip(w)
	}
	c.Pictures, c.NoSheet = picturesOf(ctx, rep, r.Run, files)
	return c
}

// rank puts failed runs first, then degraded ones, then the rest.
func rank(status report.Status) int {
	switch status {
	case report.Failed:
		return 0
	case report.Degraded:
		return 1
	}
	return 2
}

// href is a URL relative to the page for a slash-separated path under the
// output root, each element escaped: run folders may be named anything.
func href(parts ...string) string {
	var segs []string
	for _, s := range strings.Split(path.Join(parts...), "/") {
		// A colon would make "a:b/..." read as a URL scheme.
		segs = append(segs, strings.ReplaceAll(url.PathEscape(s), ":", "%3A"))
	}
	return strings.Join(segs, "/")
}

// clip cuts a long message for a card; the report has all of it.
func clip(s string) string {
	if len(s) <= maxErrorChars {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorChars], "") + " … (see the run's report)"
}

// writeAtomic writes data to a temporary file beside dest and renames it
// into place, so dest is whole or absent.
func writeAtomic(dest string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), dest)
}
