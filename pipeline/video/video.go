package video

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/report"

	"github.com/tdwstitch/tdwstitch/stages/discover"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
	"github.com/tdwstitch/tdwstitch/stages/tdw"
	"github.com/tdwstitch/tdwstitch/stages/timing"
)

// Job is one stream's encode as the planner made it.
type Job struct {
	frames.Bounded               // the stream cut to its evidence, and its shape
	OutDir         string        // the run's output folder
	Audio          *report.Audio // the run's audio (visual passes carry it), or nil
	Clock          *timing.Clock // capture times, or nil
	Part           place.Part    // where a live run's chunk sits in the run; zero: a whole run
}

// Settings are what encoding a stream depends on, from the encode's options.
type Settings struct {
	Tool           ffmpeg.Tool
	FPS            float64
	CRF            int
	Preset         string
	EncoderThreads int
	OneProcess     bool
	StallTimeout   time.Duration
	Checks         frames.Checks     // how frames are read and checked
	Place          place.Config      // how frames are placed in slots
	FailGaps       bool              // a missing (or held bad) frame fails the stream: --gaps fail
	FailBad        bool              // a bad frame fails the stream: --on-bad fail
	OnEvent        func(event.Event) // nil: none
	Space          output.Space      // free disk space; nil: the filesystem's
}

// Encode encodes one stream to a temporary file, verifies it and renames
// it into place. The outcome is in the report; the error, when the stream
// failed, is its cause as a value (the report's message, wrapping it).
func Encode(ctx context.Context, job Job, opts Settings) (*report.Stream, error) {
	if opts.OnEvent == nil {
		opts.OnEvent = func(event.Event) {}
	}
	b, outDir := job.Bounded, job.OutDir
	s := b.Stream
	sr := NewReport(b, opts)
	Widen(sr, place.Held(s, job.Clock, job.Audio, job.Part, opts.Place))
	final := filepath.Join(outDir, filepath.FromSlash(sr.Output))
	if ctx.Err() != nil {
		// Interrupted before this stream began: say so, start nothing.
		sr.Status, sr.Error = report.Failed, fmt.Sprintf("interrupted (%v) before it started: run again to encode this stream", context.Cause(ctx))
		MarkStale(sr, final)
		return sr, ctx.Err()
	}
	emit := func(e event.Event) { e.Stream = sr.ID; opts.OnEvent(e) }
	emit(event.Event{Kind: event.StreamStarted, Total: len(s.Frames)})
	for _, g := range sr.Gaps {
		emit(event.Event{Kind: event.MissingFrames, Path: gapNames(s, g)})
	}
	for _, bad := range sr.BadFrames {
		emit(event.Event{Kind: event.BadFrame, Path: bad.Path, Err: errors.New(bad.Reason)})
	}
	err := b.Err
	if err == nil {
		err = encodeTo(ctx, job, sr, final, opts, emit)
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		sr.Status, sr.Error = report.Failed, fmt.Sprintf("interrupted (%v): no output written; run again to encode this stream", context.Cause(ctx))
	default:
		sr.Status, sr.Error = report.Failed, err.Error()
	}
	if sr.Status == report.Failed {
		// No video: nothing was written to one (the counts said what was
		// sent to ffmpeg).
		sr.FramesWritten, sr.FramesDropped, sr.Duration, sr.Bytes = 0, 0, 0, 0
		MarkStale(sr, final)
	}
	failure := Reported(sr, err)
	emit(event.Event{Kind: event.StreamDone, Status: sr.Status, Output: final, Err: failure})
	return sr, failure
}

// Cost estimates the work of encoding the job, in nanoseconds of one
// core, to start the costliest first. Per frame, measured on one thread
// (600 512x512 frames of each pass, 2026-12-02): decoding a PNG about 7 ns
// a pixel and 13 ns a byte of file (inflating), a JPEG about 6 ns a pixel;
// x264 medium about 57 ns a pixel; FFV1 about 15 ns a pixel and 70 ns a
// byte of the PNG it came from (both follow the picture's entropy). So a
// depth pass (52 KB a frame there) weighs about twice an id pass (3.5 KB)
// of the same size, which pixels alone cannot tell. Nil: 0.
func (j *Job) Cost() int64 {
	if j == nil {
		return 0
	}
	s := j.Bounded.Stream
	px := int64(1)
	if info := j.Bounded.Shape.Info; j.Bounded.Shape.Set {
		px = int64(info.Width) * int64(info.Height)
	}
	var cost int64
	visual := s.Pass.Visual()
	for _, f := range s.Frames {
		if f.Format == tdw.JPEG {
			cost += 6 * px
		} else {
			cost += 7*px + 13*f.Size
		}
		if visual {
			cost += 57 * px
		} else {
			cost += 15*px + 70*f.Size
		}
	}
	return cost
}

// Planned is the event that says what a run will encode before the first
// stream starts: the streams with a job (nil: done already) and their
// frames.
func Planned(jobs []*Job) event.Event {
	e := event.Event{Kind: event.RunPlanned}
	for _, j := range jobs {
		if j != nil {
			e.Streams++
			e.Total += len(j.Bounded.Stream.Frames)
		}
	}
	return e
}

// Unselected are the previous report's entries for streams not encoded this
// time (--passes, --avatars), kept with their last result while their video
// is still on disk: a report lists every output in its folder.
func Unselected(prev *report.Run, outDir string, streams []*discover.Stream) []*report.Stream {
	if prev == nil {
		return nil
	}
	var out []*report.Stream
	for _, sr := range prev.Streams {
		if slices.ContainsFunc(streams, func(s *discover.Stream) bool { return s.ID() == sr.ID }) {
			continue
		}
		if sr.Status == report.Failed && !sr.StaleOutput {
			sr.Kept, sr.NotSelected = true, true
			out = append(out, sr) // describes no file
			continue
		}
		if info, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(sr.Output))); err == nil && info.Mode().IsRegular() {
			sr.Kept, sr.NotSelected = true, true
			out = append(out, sr)
		}
	}
	return out
}

// MarkStale notes in a failed stream's report that the file at its output
// path is an earlier encode's, left in place.
func MarkStale(sr *report.Stream, final string) {
	if info, err := os.Stat(final); err == nil && info.Mode().IsRegular() {
		sr.StaleOutput = true
		sr.Error += fmt.Sprintf("; %s is from an earlier encode and does not match these inputs (left in place)", final)
	}
}

// gapNames names a gap's missing frames by the files they would have been.
func gapNames(s *discover.Stream, g report.Gap) string {
	if g.From == g.To {
		return s.NameOf(g.From)
	}
	return s.NameOf(g.From) + " .. " + s.NameOf(g.To)
}

var errWrite = errors.New("ffmpeg stopped reading frames")

// Reported is a failed stream's error as its report says it, still
// wrapping err (its class and type, for the CLI's advice); nil unless the
// stream failed.
func Reported(sr *report.Stream, err error) error {
	if sr.Status != report.Failed {
		return nil
	}
	return &ReportedError{Msg: sr.Error, Cause: err}
}

// ReportedError is a failure as a report says it (Msg), still wrapping its
// cause (its class and type, which the CLI reads for exit codes and advice).
type ReportedError struct {
	Msg   string
	Cause error
}

func (e *ReportedError) Error() string { return e.Msg }
func (e *ReportedError) Unwrap() error { return e.Cause }

// Widen lists in a stream's report the frames its camera's span holds
// before and after its own that it has no file for, as missing (sp nil:
// none).
func Widen(sr *report.Stream, sp *place.Span) {
	if sp == nil {
		return
	}
	var lead, trail []report.Gap
	for _, g := range sp.Missing {
		if g.To < sr.FirstFrame {
			lead = append(lead, g)
		} else {
			trail = append(trail, g)
		}
		sr.MissingFrames += g.Missing()
	}
	sr.Gaps = slices.Concat(lead, sr.Gaps, trail)
}

// NewReport is a stream's report before it is encoded: what was found,
// missing and set aside.
func NewReport(b frames.Bounded, opts Settings) *report.Stream {
	s := b.Stream
	sr := &report.Stream{
		ID: s.ID(), Avatar: s.Avatar, Pass: string(s.Pass), Prefix: s.Prefix, Output: OutputName(s),
		FramesFound: len(s.Frames) + len(b.Outside), FPS: opts.FPS, Gaps: gaps(s.Gaps()), BadFrames: []report.BadFrame{},
	}
	if sr.Gaps == nil {
		sr.Gaps = []report.Gap{}
	}
	if n := len(s.Frames); n > 0 {
		sr.FirstFrame, sr.LastFrame = s.Frames[0].Number, s.Frames[n-1].Number
	}
	for _, g := range sr.Gaps {
		sr.MissingFrames += g.Missing()
	}
	for _, d := range s.Duplicates {
		sr.BadFrames = append(sr.BadFrames, report.BadFrame{Path: d.Rel, Reason: fmt.Sprintf("duplicate of frame number %d: not encoded", d.Number)})
	}
	sr.BadFrames = append(sr.BadFrames, b.Outside...)
	sr.FramesSetAside = len(sr.BadFrames)
	sr.Encoder = "ffv1"
	if s.Pass.Visual() {
		sr.Encoder = fmt.Sprintf("libx264 crf=%d preset=%s", opts.CRF, opts.Preset)
	}
	return sr
}

// StrictFails reports whether the stream's problems so far fail it under
// --gaps fail / --on-bad fail (--strict).
func StrictFails(sr *report.Stream, opts Settings) bool {
	held := len(sr.BadFrames) - sr.FramesSetAside // bad frames whose slots --gaps fills
	return opts.FailGaps && (sr.MissingFrames > 0 || held > 0) || opts.FailBad && len(sr.BadFrames) > 0
}

// ProblemsError lists a stream's missing and bad frames by file name when
// they fail it (StrictFails): the first few in the message, all of them in
// the report.
func ProblemsError(s *discover.Stream, sr *report.Stream) error {
	e := &StrictError{Missing: sr.MissingFrames, Bad: len(sr.BadFrames)}
	for _, g := range sr.Gaps {
		e.Items = append(e.Items, "missing "+gapNames(s, g))
	}
	for _, b := range sr.BadFrames {
		e.Items = append(e.Items, fmt.Sprintf("bad %s (%s)", b.Path, b.Reason))
	}
	const shown = 5
	if len(e.Items) > shown {
		e.More, e.Items = len(e.Items)-shown, e.Items[:shown]
	}
	return e
}

// StrictError: frames are missing or bad, and the settings (FailGaps,
// FailBad) say the stream is encoded whole or not at all.
type StrictError struct {
	Missing int64
	Bad     int
	Items   []string // the first few problems, by file name
	More    int      // problems not in Items
}

func (e *StrictError) Error() string {
	more := ""
	if e.More > 0 {
		more = fmt.Sprintf("; and %d more (see the report)", e.More)
	}
	var fix []string
	if e.Missing > 0 {
		fix = append(fix, "restore the missing files")
	}
	if e.Bad > 0 {
		fix = append(fix, "replace the bad ones")
	}
	return fmt.Sprintf("%s, and whole streams only were asked for, so it is not written: %s%s; %s",
		e.counts(), strings.Join(e.Items, "; "), more, strings.Join(fix, " and "))
}

// counts says how many frames are missing and bad: "1 frame missing",
// "2 bad frames", "3 frames missing and 2 bad".
func (e *StrictError) counts() string {
	frames := func(n int64) string {
		if n == 1 {
			return "1 frame"
		}
		return fmt.Sprintf("%d frames", n)
	}
	switch {
	case e.Missing > 0 && e.Bad > 0:
		return fmt.Sprintf("%s missing and %d bad", frames(e.Missing), e.Bad)
	case e.Missing > 0:
		return frames(e.Missing) + " missing"
	}
	if e.Bad == 1 {
		return "1 bad frame"
	}
	return fmt.Sprintf("%d bad frames", e.Bad)
}

// encodeTo writes the stream's video to a temporary file beside final and,
// once verified, renames it into place. ffmpeg reads the files itself
// where it can (directFiles); when that does not hold to the end the
// stream is encoded again through the pipe.
func encodeTo(ctx context.Context, job Job, sr *report.Stream, final string, opts Settings, emit func(event.Event)) error {
	tmp, err := output.TempBeside(final)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed into place

	pl := place.Stream(job.Stream, sr, job.Clock, job.Audio, job.Part, opts.Place)
	emit = rising(emit)
	if files := directFiles(job.Bounded, pl, job.Part); files != nil {
		bad, read := len(sr.BadFrames), sr.FramesRead
		err := encodeFrames(ctx, job, sr, pl, files, tmp, final, opts, emit)
		if !errors.Is(err, errNotDirect) {
			if err != nil {
				return err
			}
			return publish(ctx, sr, tmp, final, opts)
		}
		sr.BadFrames, sr.FramesRead = sr.BadFrames[:bad], read
	}
	if err := encodeFrames(ctx, job, sr, pl, nil, tmp, final, opts, emit); err != nil {
		return err
	}
	return publish(ctx, sr, tmp, final, opts)
}

// encodeFrames encodes the stream into tmp: through the pipe, or with
// ffmpeg reading files itself (errNotDirect when that did not hold).
func encodeFrames(ctx context.Context, job Job, sr *report.Stream, pl place.Placement, files *ffmpeg.Files, tmp, final string, opts Settings, emit func(event.Event)) error {
	s := job.Stream
	w := &slotWriter{place: pl, limit: -1, maxGap: opts.Checks.MaxGap, files: files}
	if job.Part.Chunk {
		w.next, w.limit = w.place.Bounds(job.Part)
	}
	if files != nil {
		total := int64(len(s.Frames))
		w.progress = func(n int64) { emit(event.Event{Kind: event.FrameDone, Done: int(min(n, total)), Total: int(total)}) }
	}
	failing, firstBad, failure := feedFrames(ctx, job, sr, w, tmp, opts, emit)
	if failure == nil && ctx.Err() != nil {
		failure = ctx.Err()
	}
	if failure == nil && failing {
		return ProblemsError(s, sr)
	}
	if failure == nil && w.pipe == nil {
		first := sr.BadFrames[0]
		failure = fmt.Errorf("no readable frame: all %d frames are bad (e.g. %s: %w); check the run's files", len(s.Frames), first.Path, firstBad)
		if firstBad == nil {
			failure = fmt.Errorf("no readable frame: all %d frames are bad (e.g. %s: %s); check the run's files", len(s.Frames), first.Path, first.Reason)
		}
	}
	if failure == nil {
		failure = w.finish()
	}
	if w.pipe != nil {
		// A failed write means ffmpeg stopped reading: its own exit says why.
		if failure != nil && !errors.Is(failure, errWrite) {
			w.abort()
			return failure
		}
		if err := w.pipe.Close(); err != nil {
			var ff *ffmpeg.Error
			if files != nil && ctx.Err() == nil && errors.As(err, &ff) && ff.ExitCode >= 0 && !output.SaysFull(err) {
				// ffmpeg refused something (not killed, not stalled, not
				// writing to a full disk, which the pipe would only fill
				// again): the pipe says what.
				return errNotDirect
			}
			return opts.Space.WhenFull(filepath.Dir(final), fmt.Errorf("encoding %s: %w", final, err))
		}
	}
	if failure != nil {
		return failure
	}
	if files != nil && changedSince(s.Frames) != "" {
		return errNotDirect
	}
	sr.FramesWritten, sr.FramesDropped = w.written, w.dropped
	return nil
}

// feedFrames reads the stream's frames in order and writes the good ones
// to the encoder, starting it at the first, and lists the bad ones. Under
// --strict a stream with problems is not encoded (failing), but still read
// to the end so that the error lists every problem. firstBad is the first
// bad frame's error when it is the stream's first listed problem.
func feedFrames(ctx context.Context, job Job, sr *report.Stream, w *slotWriter, tmp string, opts Settings, emit func(event.Event)) (failing bool, firstBad, failure error) {
	s := job.Stream
	failing = StrictFails(sr, opts)
	shp := job.Shape  // what most frames agree on; unset: the first good frame's
	want := job.Shape // read by the readers; shp is set by this goroutine
	done := 0
	direct := w.files != nil
	frames.Scan(ctx, s.Frames, opts.Checks, !failing && !direct, &want, func(c frames.Checked) bool {
		done++
		if !direct { // else ffmpeg tells how far it is
			defer emit(event.Event{Kind: event.FrameDone, Done: done, Total: len(s.Frames)})
		}
		if c.Err == nil {
			c.Err = shp.Match(c)
		}
		if direct && (c.Err != nil || int64(c.Info.Length) != c.Frame.Size) {
			w.abort()
			failure = errNotDirect
			return false
		}
		if c.Err != nil {
			if firstBad == nil && len(sr.BadFrames) == 0 {
				firstBad = c.Err
			}
			w.bad++
			sr.BadFrames = append(sr.BadFrames, report.BadFrame{Path: c.Frame.Rel, Reason: c.Err.Error()})
			emit(event.Event{Kind: event.BadFrame, Path: c.Frame.Rel, Err: c.Err})
			if !failing && StrictFails(sr, opts) {
				failing = true
				w.abort()
			}
			return true
		}
		sr.FramesRead++
		if failing {
			return true
		}
		if w.pipe == nil {
			if failure = w.start(ctx, sr, c.Info, tmp, opts); failure != nil {
				return false
			}
		}
		failure = w.put(c.Frame.Number, c.Data)
		return failure == nil
	})
	return failing, firstBad, failure
}

// publish verifies the finished video and renames it into place.
func publish(ctx context.Context, sr *report.Stream, tmp, final string, opts Settings) error {
	if err := output.Verify(ctx, sr, tmp, final, opts.Tool, opts.Space); err != nil {
		return err
	}
	if sr.Audio != nil { // the audio the video carries, now that its length is known
		sr.Audio = place.StreamAudio(sr.Audio, sr.Duration, sr.Audio.Offset)
	}
	if info, err := os.Stat(tmp); err == nil {
		sr.Bytes = info.Size()
	}
	if err := output.Publish(tmp, final); err != nil {
		return err
	}
	sr.Status = sr.WrittenStatus()
	return nil
}

// OutputName is where a stream's video goes under the output folder,
// slash-separated: <avatar>/<pass>.mp4 for pictures, .mkv for data.
func OutputName(s *discover.Stream) string {
	if s.Pass.Visual() {
		return s.ID() + ".mp4"
	}
	return s.ID() + ".mkv"
}

// gaps are a stream's missing frame numbers as the report says them.
func gaps(gs []discover.Gap) []report.Gap {
	out := make([]report.Gap, len(gs))
	for i, g := range gs {
		out[i] = report.Gap(g)
	}
	return out
}
