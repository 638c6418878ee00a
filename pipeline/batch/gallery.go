package batch

import (
	"context"

	"github.com/tdwstitch/tdwstitch/pipeline/gallery"
	"github.com/tdwstitch/tdwstitch/report"
)

// WriteGallery writes OUT_ROOT/index.html for the runs of a batch summary
// (gallery.Write). It returns the page's path.
func WriteGallery(ctx context.Context, br *report.Batch, outRoot string) (string, error) {
	return gallery.Write(ctx, br, outRoot)
}
