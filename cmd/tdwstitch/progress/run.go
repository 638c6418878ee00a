package progress

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tdwstitch/tdwstitch/pipeline/event"
	"github.com/tdwstitch/tdwstitch/report"
)

// drawEvery is how often the bar is redrawn as frames go by.
const drawEvery = 100 * time.Millisecond

// job is a single run's counts: the plan's streams and frames, fixed when
// the run is planned, so that the bar's length never grows and it never
// ends before the last stream does.
type job struct {
	started           time.Time // when the plan came
	streams, finished int       // streams planned (or started, when more) and finished
	frames, done      int       // frames planned and handled (a finished stream counts whole)
	first             time.Time // the first frame handled: the rate starts there
	firstDone         int
	drawn             time.Time
	words             string // the bar's words as last drawn
}

// runEvent renders a single run's event.
func (d *Display) runEvent(e event.Event) {
	j := &d.job
	switch e.Kind {
	case event.Warning:
		d.warnings = append(d.warnings, e.Err)
	case event.RunPlanned:
		j.streams, j.frames, j.started = j.streams+e.Streams, j.frames+e.Total, time.Now()
		switch {
		case d.mode != Plain || e.Streams == 0:
		case e.Total == 0: // only the preview
			fmt.Fprintf(d.w, "encoding %s\n", count(e.Streams, "stream"))
		default:
			fmt.Fprintf(d.w, "encoding %s, %d frames\n", count(e.Streams, "stream"), e.Total)
		}
		d.drawRun(true)
	case event.StreamStarted:
		d.active[e.Stream] = &activity{total: e.Total, moved: time.Now()}
		if started := j.finished + len(d.active); started > j.streams {
			j.streams = started // a stream the plan did not count
		}
		if d.mode == Plain {
			d.startedLine(e)
		}
		d.drawRun(true)
	case event.FrameDone:
		d.frameDone(e)
	case event.BadFrame, event.MissingFrames:
		if d.problem(e.Stream, e) {
			d.drawRun(true) // back under the line
		}
	case event.StreamDone:
		a := d.active[e.Stream]
		if a != nil { // a stream ends once, after it started
			j.done += max(a.total-a.done, 0) // frames it will not handle still count as gone by
			j.finished++
		}
		delete(d.active, e.Stream)
		d.problemsDone(e.Stream)
		switch {
		case e.Status == report.Failed:
			d.failed(e.Stream, e.Err)
		case d.mode == Plain && a != nil: // a log shows each stream's end (the results come on stdout)
			fmt.Fprintf(d.w, "%s: done (%s), %d of %d streams\n", e.Stream, e.Status, j.finished, j.streams)
		}
		d.drawRun(true)
	}
}

func (d *Display) startedLine(e event.Event) {
	d.last[e.Stream] = time.Now()
	if e.Total > 0 {
		fmt.Fprintf(d.w, "%s: started, %d frames\n", e.Stream, e.Total)
		return
	}
	fmt.Fprintf(d.w, "%s: started\n", e.Stream) // a mosaic or a join counts no frames as it goes
}

func (d *Display) frameDone(e event.Event) {
	j, a := &d.job, d.active[e.Stream]
	if a == nil {
		return
	}
	step := max(e.Done-a.done, 0)
	a.done, a.moved = e.Done, time.Now()
	if e.Total > 0 {
		a.total = e.Total // a mosaic knows its frames once composing
	}
	j.done += step
	if j.first.IsZero() {
		j.first, j.firstDone = time.Now(), j.done
	}
	if d.mode == Plain && time.Since(d.last[e.Stream]) >= plainEvery {
		fmt.Fprintf(d.w, "%s: %d/%d frames\n", e.Stream, e.Done, e.Total)
		d.last[e.Stream] = time.Now()
	}
	d.drawRun(false)
}

// drawRun brings the bar up to date: at once when now is set (a stream
// started or ended, a problem line was printed over it), else at most every
// drawEvery, so that a fast run does not flood the terminal.
func (d *Display) drawRun(now bool) {
	j := &d.job
	if d.mode != Bar || j.streams == 0 || !now && time.Since(j.drawn) < drawEvery {
		return // nothing planned (a report rewritten), nothing to show
	}
	j.drawn = time.Now()
	if d.bar == nil {
		d.bar = progressbar.NewOptions(max(j.frames, 1),
			progressbar.OptionSetWriter(d.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionClearOnFinish())
	}
	if want := max(j.frames, j.done, 1); d.bar.GetMax() != want {
		d.bar.ChangeMax(want)
	}
	done := j.done
	if j.finished < j.streams {
		done = min(done, d.bar.GetMax()-1) // full only once every stream has ended
	}
	d.bar.Set(done) // the count first: the words then draw it with them
	if words := d.runWords(); words != j.words {
		j.words = words
		d.bar.Describe(words)
	}
}

// runWords are the bar's words: "streams 1/3: a/img, b/img; 240 frames/s,
// 12s left". The rate is measured from the first frame handled, and said
// once a second has gone by: no rate at all rather than a made-up one.
func (d *Display) runWords() string {
	j := &d.job
	words := fmt.Sprintf("streams %d/%d", j.finished, j.streams)
	if names := slices.Sorted(maps.Keys(d.active)); len(names) > 0 {
		if len(names) > 3 {
			names = append(names[:3], fmt.Sprintf("+%d", len(names)-3))
		}
		words += ": " + strings.Join(names, ", ")
	}
	if took := time.Since(j.first); !j.first.IsZero() && took >= time.Second && j.done > j.firstDone {
		rate := float64(j.done-j.firstDone) / took.Seconds()
		words += "; " + rateText(rate)
		if j.done < j.frames { // none left to count while a preview is made
			left := time.Duration(float64(j.frames-j.done) / rate * float64(time.Second))
			words += fmt.Sprintf(", %s left", (left + time.Second - 1).Truncate(time.Second)) // 0.4 s is "1s"
		}
	}
	return words
}

// rateText says a rate of frames per second in a unit that shows it: a
// slow job reads "12 frames/min", never "0 frames/s".
func rateText(perSecond float64) string {
	if perSecond >= 1 {
		return fmt.Sprintf("%.0f frames/s", perSecond)
	}
	return fmt.Sprintf("%.1f frames/min", perSecond*60)
}

// count is "1 stream", "2 streams".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// summary is the line the bar leaves when it is taken off the screen: what
// was done, and how long it took.
func (d *Display) summary() string {
	j := &d.job
	return fmt.Sprintf("%d of %s done, %d frames, in %s\n", j.finished, count(j.streams, "stream"), j.done, time.Since(j.started).Round(100*time.Millisecond))
}
