package ffmpeg

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	ffgo "github.com/u2takey/ffmpeg-go"
)

// Concat joins videos of one stream, encoded with the same parameters, into
// one file without re-encoding (ffmpeg's concat demuxer, stream copy), and
// muxes the audio into a visual stream as Encode does. Live runs are encoded
// in chunks while frames still arrive; this makes their final videos.
type Concat struct {
	Parts       []string // the chunk videos, in order
	Visual      bool     // MP4 with audio; otherwise Matroska
	Audio       string
	AudioRate   int
	AudioOffset float64
	Duration    float64
	Output      string
	// StallTimeout kills the join when its output has not grown for this
	// long (a stopped ffmpeg, a hung disk); 0: never.
	StallTimeout time.Duration
	list         string // the concat demuxer's list file, written by Tool.Concat
}

// Args is the argument vector.
func (c Concat) Args() []string {
	video := ffgo.Input("file:"+c.list, ffgo.KwArgs{"f": "concat", "safe": 0})
	streams := []*ffgo.Stream{video.Video()}
	out := ffgo.KwArgs{"c:v": "copy", "f": "matroska"}
	if c.Visual {
		out["f"], out["movflags"] = "mp4", "+faststart"
		if c.Audio != "" {
			streams = muxAudio(streams, out, c.Audio, c.AudioRate, c.AudioOffset, c.Duration)
		}
	}
	args := ffgo.Output(streams, "file:"+c.Output, out).OverWriteOutput().GetArgs()
	return slices.Concat(quiet, args)
}

// concatList is the concat demuxer's script naming the parts; quotes in a
// path are escaped as the demuxer's own syntax wants.
func concatList(parts []string) string {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	for _, p := range parts {
		fmt.Fprintf(&b, "file 'file:%s'\n", strings.ReplaceAll(p, "'", `'\''`))
	}
	return b.String()
}

// Concat runs c and waits for it.
func (t Tool) Concat(ctx context.Context, c Concat) error {
	list, err := writeTemp("tdwstitch-concat-*.txt", concatList(c.Parts), "the concat list")
	if err != nil {
		return err
	}
	defer os.Remove(list)
	c.list = list
	// +faststart ends by moving the index to the front of the file, which
	// does not grow it: its modification time is progress too.
	return t.runWatched(ctx, "concat", c.Args(), c.Output, c.StallTimeout, func() int64 { return fileSize(c.Output) + fileTime(c.Output) })
}

// runWatched runs one ffmpeg writing output and waits for it, killing it
// when progress has not moved for stall (0: never).
func (t Tool) runWatched(ctx context.Context, role string, args []string, output string, stall time.Duration, progress func() int64) error {
	stderr := newTail(stderrTail)
	cmd := t.command(ctx, t.FFmpeg, args)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start ffmpeg %s: %w", t.FFmpeg, err)
	}
	dog := watch(output, stall, progress, cmd)
	err := cmd.Wait()
	if stalled := dog.end(); stalled != nil {
		return stalled
	}
	return newError(role, args, err, stderr)
}
