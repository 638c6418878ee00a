package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
)

// Frames reads a video back as raw RGBA frames on a constant grid of FPS
// frames a second from its start (a frame repeats or drops to stay on it),
// Width x Height as stored (an H.264 video of an odd size has its even
// padding): lossless RGB videos come back bit-exact. Every
// Step-th frame of the grid only, when Step > 1.
type Frames struct {
	Input         string
	Width, Height int
	FPS           float64
	Step          int
}

// Args is the argument vector.
func (f Frames) Args() []string {
	filter := "fps=" + fps(f.FPS)
	if f.Step > 1 {
		filter += fmt.Sprintf(",select='not(mod(n\\,%d))'", f.Step)
	}
	// One thread: a mosaic reads every tile's video at once, and counts as
	// one encode in the budget.
	return slices.Concat(quiet, []string{"-threads", "1", "-i", "file:" + f.Input, "-map", "0:v:0", "-vf", filter, "-fps_mode", "passthrough",
		"-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"})
}

// FrameReader is a running Frames decode.
type FrameReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *tail
	args   []string
	size   int
	done   bool
}

// ReadFrames starts decoding f; Close the reader when done.
func (t Tool) ReadFrames(ctx context.Context, f Frames) (*FrameReader, error) {
	r := &FrameReader{args: f.Args(), stderr: newTail(stderrTail), size: f.Width * f.Height * 4}
	r.cmd = t.command(ctx, t.FFmpeg, r.args)
	r.cmd.Stderr = r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.out = out
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start ffmpeg %s: %w", t.FFmpeg, err)
	}
	return r, nil
}

// Next fills buf (Width*Height*4 bytes) with the next frame. At the end of
// the video it returns io.EOF, or the decoder's error if it failed.
func (r *FrameReader) Next(buf []byte) error {
	if r.done {
		return io.EOF
	}
	_, err := io.ReadFull(r.out, buf[:r.size])
	if err == nil {
		return nil
	}
	r.done = true
	werr := r.cmd.Wait()
	if errors.Is(err, io.EOF) && werr == nil {
		return io.EOF
	}
	if werr != nil {
		return newError("decoder", r.args, werr, r.stderr)
	}
	return fmt.Errorf("the decoder's output ended inside a frame: %w", err)
}

// Close stops the decoder (when it has not ended) and waits for it.
func (r *FrameReader) Close() {
	if r.done {
		return
	}
	r.done = true
	r.cmd.Process.Kill()
	r.cmd.Wait()
}
