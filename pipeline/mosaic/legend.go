package mosaic

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/discover"
)

// LegendName is the file in a run where the add-on saves what TDW sends
// once for segmentation (send_segmentation_colors): each object's id,
// colour in the _id pass, name and category.
const LegendName = "segmentation_colors.json"

// maxLegendBytes bounds the file: about 100 bytes an object, so 16 MiB is
// over 100,000 objects, more than any scene holds.
const maxLegendBytes = 16 << 20

// legendEntry is one object as the add-on writes it.
type legendEntry struct {
	ID       int64  `json:"id"`
	Color    [3]int `json:"color"`
	Name     string `json:"name"`
	Category string `json:"category"`
}

// ReadLegend reads RUN/segmentation_colors.json. A run without one has no
// legend (nil, nil); a file that is not a regular file, too large, or not
// a list of {id, color [r,g,b], name, category} is an error naming it.
func ReadLegend(runDir string) ([]report.LegendEntry, error) {
	path := filepath.Join(runDir, LegendName)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("legend %s cannot be read: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("legend %s cannot be read: %w", path, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("legend %s is not a regular file (%s)", path, discover.FileKind(info.Mode()))
	case info.Size() > maxLegendBytes:
		return nil, fmt.Errorf("legend %s is %d bytes, more than a scene's objects take (%d): is it the right file?", path, info.Size(), maxLegendBytes)
	}
	legend, err := ParseLegend(io.LimitReader(f, maxLegendBytes))
	if err != nil {
		return nil, fmt.Errorf("legend %s %v", path, err)
	}
	return legend, nil
}

// ParseLegend reads a legend's JSON (see ReadLegend); the error says what
// is wrong, to follow the legend's name.
func ParseLegend(r io.Reader) ([]report.LegendEntry, error) {
	var entries []legendEntry
	if err := json.NewDecoder(r).Decode(&entries); err != nil {
		return nil, fmt.Errorf("is not a list of {id, color, name, category}: %v", err)
	}
	out := make([]report.LegendEntry, 0, len(entries))
	for i, e := range entries {
		for _, c := range e.Color {
			if c < 0 || c > 255 {
				return nil, fmt.Errorf("entry %d (%q) has colour %v, want 0-255 each", i, e.Name, e.Color)
			}
		}
		out = append(out, report.LegendEntry{ID: e.ID, Color: fmt.Sprintf("#%02x%02x%02x", e.Color[0], e.Color[1], e.Color[2]), Name: e.Name, Category: e.Category})
	}
	return out, nil
}
