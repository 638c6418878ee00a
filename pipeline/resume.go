package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// streamInputs fingerprints what a stream's video is made from: every frame
// file's name, size and modification time, the audio and timing sidecar it
// may use, and the options that shape the output. Only stat calls: a batch
// over an unchanged tree decides it has nothing to do without reading frames.
func streamInputs(run *discover.Run, s *discover.Stream, opts Options) string {
	h := sha256.New()
	fmt.Fprintf(h, "tdwstitch inputs %d\n%s\n", report.Schema, s.ID())
	fmt.Fprintf(h, "fps=%v gaps=%s on_bad=%s deep=%v timing=%s fit=%v vfr=%v max_gap=%d max_pixels=%d\n",
		opts.FPS, opts.Gaps, opts.OnBad, opts.Deep, opts.Timing, opts.FitAudio, opts.VFR, opts.MaxGap, opts.MaxPixels)
	if s.Pass.Visual() { // x264's settings shape only the pictures
		fmt.Fprintf(h, "crf=%d preset=%s\n", opts.CRF, opts.Preset)
	}
	for _, f := range s.Frames {
		fmt.Fprintf(h, "f %s %d %d\n", f.Rel, f.Size, f.ModTime.UnixNano())
	}
	for _, f := range s.Duplicates {
		fmt.Fprintf(h, "d %s %d %d\n", f.Rel, f.Size, f.ModTime.UnixNano())
	}
	if s.Pass.Visual() && !opts.NoAudio {
		audio := opts.Audio
		if audio == "" && len(run.Audio) == 1 {
			audio = run.Audio[0]
		}
		statInto(h, "a", audio)
		fmt.Fprintf(h, "candidates %d\n", len(run.Audio))
	}
	statInto(h, "t", filepath.Join(run.Dir, timing.SidecarName))
	io.WriteString(h, place.CameraNote(run.Streams, s, opts.MaxGap)) // its span follows the other passes
	return hex.EncodeToString(h.Sum(nil))
}

func statInto(h hash.Hash, tag, path string) {
	if path == "" {
		return
	}
	if info, err := os.Stat(path); err == nil {
		fmt.Fprintf(h, "%s %s %d %d\n", tag, absPath(path), info.Size(), info.ModTime().UnixNano())
	}
}

// upToDate returns the previous report's entry for a stream whose inputs are
// unchanged and whose video is still in place, as large as it was written,
// or nil.
func upToDate(prev *report.Run, outDir, id, inputs string) *report.Stream {
	if prev == nil {
		return nil
	}
	for _, sr := range prev.Streams {
		if sr.ID != id || (sr.Status != report.OK && sr.Status != report.Degraded) || sr.Inputs != inputs {
			continue
		}
		if info, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(sr.Output))); err == nil && info.Mode().IsRegular() && info.Size() == sr.Bytes {
			return sr
		}
	}
	return nil
}
