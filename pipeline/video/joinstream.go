package video

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// AllBad reports whether a chunk's stream failed only because none of its
// frames in that chunk could be used: the stream goes on in other chunks.
func AllBad(sr *report.Stream) bool {
	// Bad frames include duplicates, which frames found do not count.
	return sr.Status == report.Failed && sr.FramesRead == 0 && sr.FramesFound > 0 && len(sr.BadFrames) >= sr.FramesFound
}

// JoinStream merges one stream's chunk reports (in order) and joins its
// chunk videos, parts, into runOut with the run's audio: the stream of a
// live run encoded in chunks, as its report describes it.
func JoinStream(ctx context.Context, srs []*report.Stream, parts []string, runOut string, audio *report.Audio, clock *timing.Clock, opts Settings) *report.Stream {
	// The first chunk that wrote frames says what the video is (size,
	// format); a chunk of only bad frames has none of that.
	base := slices.IndexFunc(srs, func(c *report.Stream) bool { return !AllBad(c) })
	if base < 0 {
		base = 0
	}
	sr := *srs[base]
	first := srs[0]
	// The video starts at the base chunk's first frame (the audio is lined
	// up there); the counts are the whole stream's.
	sr.FramesFound, sr.FramesRead, sr.FramesWritten, sr.FramesDropped = first.FramesFound, first.FramesRead, first.FramesWritten, first.FramesDropped
	sr.LastFrame, sr.MissingFrames, sr.FramesSetAside = first.LastFrame, first.MissingFrames, first.FramesSetAside
	sr.Gaps, sr.BadFrames = append([]report.Gap{}, first.Gaps...), append([]report.BadFrame{}, first.BadFrames...)
	var failures []string
	for i, c := range srs {
		if c.Status == report.Failed && !AllBad(c) {
			failures = append(failures, fmt.Sprintf("frames %d to %d: %s", c.FirstFrame, c.LastFrame, c.Error))
		}
		if i == 0 {
			continue
		}
		if c.FirstFrame > sr.LastFrame+1 {
			sr.Gaps = append(sr.Gaps, report.Gap{From: sr.LastFrame + 1, To: c.FirstFrame - 1})
			sr.MissingFrames += c.FirstFrame - sr.LastFrame - 1
		}
		sr.FramesFound += c.FramesFound
		sr.FramesRead += c.FramesRead
		sr.FramesWritten += c.FramesWritten
		sr.FramesDropped += c.FramesDropped
		sr.LastFrame = c.LastFrame
		sr.Gaps = append(sr.Gaps, c.Gaps...)
		sr.MissingFrames += c.MissingFrames
		sr.BadFrames = append(sr.BadFrames, c.BadFrames...)
		sr.FramesSetAside += c.FramesSetAside
	}
	sr.Status, sr.Error, sr.Verified, sr.Audio = "", "", false, nil
	final := filepath.Join(runOut, filepath.FromSlash(sr.Output))
	emit := func(e event.Event) {
		if opts.OnEvent != nil {
			e.Stream = sr.ID
			opts.OnEvent(e)
		}
	}
	// A join reads no frames (Total 0): progress has nothing to count.
	emit(event.Event{Kind: event.StreamStarted})
	if len(parts) == 0 {
		failures = append(failures, fmt.Sprintf("no readable frame: all %d frames are bad (see bad_frames)", len(sr.BadFrames)))
	}
	err := errors.New(strings.Join(failures, "; "))
	if len(failures) == 0 {
		err = Join(ctx, &sr, parts, final, audio, clock, opts)
	}
	if err != nil {
		sr.Status, sr.Error = report.Failed, err.Error()
	} else {
		sr.Status = sr.WrittenStatus()
	}
	emit(event.Event{Kind: event.StreamDone, Status: sr.Status, Output: final, Err: Reported(&sr, err)})
	return &sr
}
