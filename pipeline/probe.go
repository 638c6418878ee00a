package pipeline

import (
	"context"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/sourcegraph/conc/pool"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// Probe reads and validates every frame of the run in runDir, as Encode
// would, and reports what Encode would write, without running ffmpeg (but
// ffprobe, for the audio).
func Probe(ctx context.Context, runDir string, opts Options) (*report.Run, error) {
	opts.ApplyDefaults()
	started := time.Now()
	rep := newReport(runDir, "", opts, started)
	rep.Output = ""
	run, err := discover.Find(runDir)
	if err != nil {
		return rep, err
	}
	rep.Ignored = ignored(run.Ignored)
	streams, err := selectStreams(run, opts)
	if err != nil {
		return rep, err
	}
	warn(rep, opts, unmatched(run, opts)...)
	audio, warnings, err := resolveAudio(ctx, run, opts)
	rep.Audio = audio
	warn(rep, opts, warnings...)
	if err != nil {
		return rep, err
	}
	bounds, good := boundStreams(ctx, streams, make([]*report.Stream, len(streams)), nil, opts)
	var clock *timing.Clock
	if len(good) > 0 {
		clock, warnings, err = place.Clock(run, good, audio, opts.placing())
		warn(rep, opts, warnings...)
		if err != nil {
			return rep, err
		}
		if clock == nil {
			rep.FileTimes = place.AssessFileTimes(good, audio, opts.placing())
		}
		if w := place.AudioLength(run.Dir, audio, good, clock, opts.placing()); w != nil {
			warn(rep, opts, w)
		}
	}
	rep.Streams = make([]*report.Stream, len(streams))
	spans, notes := place.SpansOf(streams, bounds, rep.Streams, run.Streams, opts.MaxGap)
	warnText(rep, opts, notes...)
	p := pool.New().WithMaxGoroutines(opts.Jobs)
	for i := range streams {
		p.Go(func() { rep.Streams[i] = probeStream(ctx, bounds[i], spans[i], audio, clock, opts) })
	}
	p.Wait()
	rep.Status = report.Planned
	rep.WallSeconds = time.Since(started).Seconds()
	return rep, ctx.Err()
}

func probeStream(ctx context.Context, b frames.Bounded, span *place.Span, audio *report.Audio, clock *timing.Clock, opts Options) *report.Stream {
	s := b.Stream
	sr := video.NewReport(b, opts.video())
	video.Widen(sr, place.Held(s, clock, audio, place.Part{Span: span}, opts.placing()))
	if b.Err != nil {
		sr.Status, sr.Error = report.Failed, b.Err.Error()
		opts.OnEvent(event.Event{Kind: event.StreamDone, Stream: sr.ID, Status: sr.Status, Err: b.Err})
		return sr
	}
	pl := place.Stream(s, sr, clock, audio, place.Part{Span: span}, opts.placing())
	shp := b.Shape
	want := b.Shape // read by the readers; shp is set by this goroutine
	frames.Scan(ctx, s.Frames, opts.checks(), false, &want, func(c frames.Checked) bool {
		if c.Err == nil {
			c.Err = shp.Match(c)
		}
		if c.Err != nil {
			sr.BadFrames = append(sr.BadFrames, report.BadFrame{Path: c.Frame.Rel, Reason: c.Err.Error()})
			return true
		}
		sr.FramesRead++
		return true
	})
	if shp.Set {
		sr.SourceFormat, sr.PixFmt = string(shp.Info.Format), shp.Info.PixFmt
		sr.Width, sr.Height = shp.Info.Width, shp.Info.Height
	}
	sr.Codec, sr.PixFmt = "ffv1", ffmpeg.LosslessPixFmt(sr.PixFmt)
	if s.Pass.Visual() {
		sr.Codec, sr.PixFmt = "h264", "yuv420p"
		sr.Width, sr.Height = sr.Width+sr.Width%2, sr.Height+sr.Height%2
	}
	slots := pl.PlannedSlots(sr.FramesRead)
	if pl.ByNumber() {
		slots = pl.PlannedSlots(len(s.Frames))
	}
	sr.FramesWritten, sr.Duration, sr.Status = int(slots), float64(slots)/opts.FPS, report.Planned
	switch {
	case sr.FramesRead == 0:
		sr.Status, sr.Error = report.Failed, "no readable frame"
	case video.StrictFails(sr, opts.video()):
		err := video.ProblemsError(s, sr)
		sr.Status, sr.Error = report.Failed, err.Error()
		opts.OnEvent(event.Event{Kind: event.StreamDone, Stream: sr.ID, Status: sr.Status, Err: err})
	case sr.WrittenStatus() == report.Degraded:
		sr.Status = report.Degraded // would be written, with frames missing or bad
	}
	return sr
}
