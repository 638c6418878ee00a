package batch

import (
	"fmt"
	"path"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/gallery"
)

// WriteGallery writes OUT_ROOT/index.html for the runs of a batch summary,
// reading each run's report and source frames. It returns the page's path.
func WriteGallery(br *report.Batch, outRoot string) (string, error) {
	var runs []gallery.Run
	for _, r := range br.RunList {
		g := gallery.Run{Name: r.Run, Status: r.Status, Error: r.Error, Report: r.Report}
		rep, _ := report.ReadRun(filepath.Join(outRoot, filepath.FromSlash(r.Run)))
		var frames map[string][]string
		if rep != nil {
			if run, err := discover.Find(rep.Run); err == nil {
				frames = map[string][]string{}
				for _, s := range run.Streams {
					for _, f := range s.Frames {
						frames[s.ID()] = append(frames[s.ID()], f.Path)
					}
				}
			}
			for _, s := range rep.Streams {
				gs := gallery.Stream{ID: s.ID, Visual: s.Visual() && s.Status.Written(), Frames: frames[s.ID], Gaps: s.MissingFrames,
					Status: s.Status, Error: s.Error, Seconds: s.Duration}
				if s.Status.Written() {
					gs.Video = path.Join(r.Run, s.Output)
				}
				for _, b := range s.BadFrames {
					gs.Bad = append(gs.Bad, fmt.Sprintf("%s: %s", b.Path, b.Reason))
				}
				g.Streams = append(g.Streams, gs)
			}
		}
		runs = append(runs, g)
	}
	return gallery.Write(outRoot, runs)
}
