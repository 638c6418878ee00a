package advice

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tdwstitch/tdwstitch/pipeline"
	"github.com/tdwstitch/tdwstitch/pipeline/batch"
	"github.com/tdwstitch/tdwstitch/pipeline/frames"
	"github.com/tdwstitch/tdwstitch/pipeline/output"
	"github.com/tdwstitch/tdwstitch/pipeline/place"
	"github.com/tdwstitch/tdwstitch/pipeline/video"
	"github.com/tdwstitch/tdwstitch/stages/ffmpeg"
)

// TestExplainNamesTheFlag: each error class that a flag can change gets
// that flag from the CLI, wrapped however deep; others are left alone.
func TestExplainNamesTheFlag(t *testing.T) {
	wrap := func(err error) error { return pipeline.Failure(fmt.Errorf("a/img: %w", err)) }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wrap(&frames.GapError{Need: 499969, Msg: "gap"}), "gap (--max-gap; if the gap is real, pass --max-gap 499969, or 0 for no limit)"},
		{wrap(&frames.GapError{Timed: true, Need: 7, Msg: "pause"}), "pause (--max-gap; if the pause is real, pass --max-gap 7, or --timing none)"},
		{wrap(&frames.PixelsError{Width: 9, Height: 9, Max: 64}), "a/img: frame is 9x9, more pixels than the limit (64) allows: an image bomb? (--max-pixels 64; raise it if the frame is real)"},
		{wrap(&ffmpeg.StallError{Output: "x.mp4"}), ", or raise --stall-timeout"},
		{wrap(fmt.Errorf("%w: not here", ffmpeg.ErrMissing)), "ffmpeg not found: not here, or pass --ffmpeg /path/to/ffmpeg"},
		{errors.New("plain"), "plain"},
	} {
		if got := Explain(tc.err); len(got) < len(tc.want) || got[len(got)-len(tc.want):] != tc.want {
			t.Errorf("Explain(%v) = %q, want it to end %q", tc.err, got, tc.want)
		}
	}
}

// TestExplainSaysTheLibrarysTypesInFlags: the library's typed errors and
// warnings name no flag; the CLI says them in its flags, whole (a timing
// error is rephrased where it stands in the message, keeping any gap's
// advice) or with the flag added.
func TestExplainSaysTheLibrarysTypesInFlags(t *testing.T) {
	gap := &frames.GapError{Timed: true, Need: 9, Msg: "run/timing.csv: frame 3 is late"}
	short := &output.ShortVideoError{}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{pipeline.Failure(fmt.Errorf("run: %w", &place.TimingError{Asked: place.TimingSidecar, Path: "run/timing.csv", Err: errors.New("run/timing.csv:3: bad")})),
			"run: --timing sidecar: run/timing.csv:3: bad (fix or write run/timing.csv, or pass --timing auto to go without it)"},
		{&place.TimingError{Asked: place.TimingAuto, Err: gap, Next: "1/fps spacing"},
			"timing: run/timing.csv: frame 3 is late; --timing auto fell back to 1/fps spacing (--max-gap; if the pause is real, pass --max-gap 9, or --timing none)"},
		{&place.TimingError{Asked: place.AskedVFR, Path: "run"}, "--vfr needs capture times, and run has none that can be used: write a valid timing.csv, or --timing mtime to use file times, or drop --vfr"},
		{&place.TimingError{Asked: place.AskedFit}, "--fit audio needs the run's audio, and there is none to use (name one with --audio FILE, without --no-audio; or drop --fit)"},
		{&pipeline.SelectionError{Dir: "run", Found: []string{"a/img"}, Passes: []string{"depth"}, Avatars: []string{"b"}}, "no stream in run matches the passes depth and avatars b asked for (found: a/img): check --passes and --avatars"},
		{&pipeline.AbsentError{Pass: "depth", Dir: "run"}, "--passes depth: run has no depth frames"},
		{&pipeline.AbsentError{Avatar: "b", Dir: "run"}, `--avatars b: run has no avatar folder "b" with frames`},
		{&pipeline.AudioError{Dir: "run", Choices: []string{"a.wav", "b.wav"}}, "2 audio files in run (a.wav, b.wav): none muxed; name the one to use, or leave only one in the run (--audio FILE names it)"},
		{&pipeline.AudioError{Path: "a.wav", Err: errors.New("eof"), Named: true}, "audio a.wav cannot be read (eof): nothing encoded; replace the file, or leave the audio out (drop --audio, or pass --no-audio instead)"},
		{&pipeline.AudioError{Path: "a.wav", Err: errors.New("eof"), Strict: true}, "audio a.wav cannot be read (eof): nothing encoded; replace the file (--strict or --on-bad fail makes it fail the run; without them the videos go without audio), or pass --no-audio"},
		{&place.TimingError{Asked: place.TimingSidecar, Path: "t.csv", Err: errors.New("bad"), Strict: true}, "--timing sidecar: bad (fix or write t.csv, or pass --timing none to go without capture times)"},
		{&place.TimingError{Asked: place.TimingSidecar, Path: "t.csv", Err: errors.New("bad"), VFR: true, FileTimes: errors.New("copied")}, "--timing sidecar: bad (fix or write t.csv; only a valid sidecar gives --vfr its times here)"},
		{&place.TimingError{Asked: place.TimingSidecar, Path: "t.csv", Err: errors.New("bad"), VFR: true}, "--timing sidecar: bad (fix or write t.csv, or pass --timing mtime to use file times)"},
		{&place.TimingError{Asked: place.TimingAuto, Path: "t.csv", Err: errors.New("bad"), Strict: true, VFR: true, FileTimes: errors.New("copied")}, "timing: bad (--strict or --on-bad fail: fix or write t.csv; only a valid sidecar gives --vfr its times here)"},
		{&place.TimingError{Asked: place.TimingMtime, Err: errors.New("copied"), VFR: true}, "--timing mtime: copied (--vfr needs capture times: write a valid timing.csv and pass --timing auto, or drop both --vfr and --timing mtime)"},
		{&place.TimingError{Asked: place.AskedVFR, Path: "run", FileTimes: errors.New("copied")}, "--vfr needs capture times, and run has none that can be used: write a valid timing.csv (its file times cannot serve: copied), or drop --vfr"},
		{&place.TimingError{Asked: place.AskedVFR, Path: "run", Timing: place.TimingNone}, "--vfr needs capture times, and --timing none gives none: pass --timing auto with a valid timing.csv, or --timing mtime to use file times, or drop --vfr"},
		{&place.TimingError{Asked: place.TimingAuto, Err: gap, Strict: true, VFR: true, Path: "t.csv"},
			"timing: run/timing.csv: frame 3 is late (--strict or --on-bad fail: fix or write t.csv, or pass --timing mtime to use file times) (--max-gap; if the pause is real, pass --max-gap 9)"},
		{&pipeline.AudioError{Path: "a.wav", Err: errors.New("eof")}, "audio a.wav cannot be read (eof): videos are encoded without audio; replace the file, or pass --no-audio"},
		{&video.StrictError{Missing: 1, Items: []string{"missing a/img_0003.jpg"}}, "1 frame missing, and whole streams only were asked for, so it is not written: missing a/img_0003.jpg; restore the missing files (--strict, --gaps fail or --on-bad fail asks for that; without it the stream is written, degraded, each such frame held by its neighbour)"},
		{&output.FolderError{What: "create", Dir: "/ro", Err: errors.New("read-only")}, "cannot create the output folder /ro: read-only (choose a writable folder with -o)"},
		{&output.BusyError{Dir: "out", Holder: "pid 7"}, "another tdwstitch (pid 7) is writing out: wait for it to finish, or write elsewhere (another -o)"},
		{&output.NoSpaceError{Dir: "out", Err: short}, "free some space and run again (or write elsewhere with -o)"},
		{&batch.NoShardsError{Dir: "out/.shards"}, "no shard summaries in out/.shards: run the shards first (tdwstitch batch --shard K/N)"},
	} {
		if got := Explain(tc.err); !strings.HasSuffix(got, tc.want) || strings.Count(got, "(--") > strings.Count(tc.want, "(--") {
			t.Errorf("Explain(%v)\n = %q\nwant it to end %q", tc.err, got, tc.want)
		}
	}
}

// TestFlagErrorSaysTheFlag: the library names Options fields; the CLI
// says its flags, longer names first (NoAudio is not No + Audio).
func TestFlagErrorSaysTheFlag(t *testing.T) {
	for _, tc := range []struct {
		opts pipeline.Options
		want string
	}{
		{pipeline.Options{Audio: "a.wav", NoAudio: true}, `--audio "a.wav" contradicts --no-audio: pass one`},
		{pipeline.Options{FPS: 2000}, "--fps 2000 is out of range (1 to 1000)"},
		{pipeline.Options{OnBad: "q"}, `--on-bad "q" is not one of skip, fail`},
	} {
		if got := FlagError(tc.opts.Validate()); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
