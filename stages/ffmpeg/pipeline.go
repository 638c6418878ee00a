package ffmpeg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const stderrTail = 4 << 10

// Pipeline is a running decoder -> encoder pair. Frames written to it reach
// the decoder's stdin.
type Pipeline struct {
	stdin    io.WriteCloser
	dec, enc *exec.Cmd
	decArgs  []string
	encArgs  []string
	decErr   *tail
	encErr   *tail
	script   string // a temporary filter file, removed when the pipeline ends

	// written counts bytes handed to ffmpeg, frames those it reported
	// encoding (Encode.Progress); with the output file's size they are the
	// progress the watchdog judges a stall by.
	written  atomic.Int64
	frames   atomic.Int64
	progress sync.WaitGroup // the reader of the encoder's progress lines
	watch    *watchdog
}

// StallError is an encode killed because it made no progress.
type StallError struct {
	For    time.Duration
	Output string
}

func (e *StallError) Error() string {
	return fmt.Sprintf("ffmpeg made no progress on %s for %v (stopped, or a hung disk?) and was killed; run again", e.Output, e.For)
}

// watchdog kills processes whose work has not moved for a while (a
// SIGSTOPped ffmpeg, a hung disk): its owner starts it with the processes
// and stops it when they end.
type watchdog struct {
	out      string
	stall    time.Duration
	stalled  atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

// watch starts a watchdog over out: progress is what has moved (it must
// grow while the work goes on); stall <= 0 watches nothing.
func watch(out string, stall time.Duration, progress func() int64, procs ...*exec.Cmd) *watchdog {
	w := &watchdog{out: out, stall: stall, stop: make(chan struct{})}
	if stall <= 0 {
		return w
	}
	w.done.Go(func() {
		tick := time.NewTicker(min(stall/4, 5*time.Second))
		defer tick.Stop()
		last, since := progress(), time.Now()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			if now := progress(); now != last {
				last, since = now, time.Now()
				continue
			}
			if time.Since(since) >= stall {
				w.stalled.Store(true)
				for _, c := range procs {
					if c != nil && c.Process != nil {
						c.Process.Kill() // the owner reaps it
					}
				}
				return
			}
		}
	})
	return w
}

// fileSize is a file's size, 0 when it is not there (yet).
func fileSize(path string) int64 {
	if info, err := os.Stat(path); err == nil {
		return info.Size()
	}
	return 0
}

// fileTime is a file's modification time in nanoseconds, 0 when it is not
// there (yet).
func fileTime(path string) int64 {
	if info, err := os.Stat(path); err == nil {
		return info.ModTime().UnixNano()
	}
	return 0
}

// end stops the watchdog and waits for it; it returns the stall, if that
// is why the processes ended.
func (w *watchdog) end() error {
	w.stopOnce.Do(func() { close(w.stop) })
	w.done.Wait()
	if w.stalled.Load() {
		return &StallError{For: w.stall, Output: w.out}
	}
	return nil
}

// Start starts the decoder and the encoder, the decoder's stdout piped straight
// into the encoder's stdin (no copy through this process).
func (t Tool) Start(ctx context.Context, dec Decode, enc Encode) (*Pipeline, error) {
	var script string
	if len(enc.Timestamps) > 0 {
		var err error
		script, err = writeTemp("tdwstitch-pts-*.txt", ptsFilter(enc.Timestamps, enc.Images != nil && enc.Images.PadEven), "the frame-times filter")
		if err != nil {
			return nil, err
		}
		enc.script = script
	}
	p, err := t.start(ctx, dec, enc)
	if err != nil && script != "" {
		os.Remove(script)
	}
	if p != nil {
		p.script = script
		p.watch = watch(enc.Output, enc.StallTimeout, func() int64 { return p.written.Load() + p.frames.Load() + fileSize(enc.Output) }, p.dec, p.enc)
	}
	return p, err
}

// writeTemp writes content to a new temporary file (a script ffmpeg reads:
// too long for its command line) and returns its name; what names it in
// errors. The caller removes it.
func writeTemp(pattern, content, what string) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", fmt.Errorf("cannot write %s: %w (is the temporary folder, $TMPDIR, writable?)", what, err)
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("cannot write %s %s: %w (is the temporary folder, $TMPDIR, full?)", what, f.Name(), err)
	}
	return f.Name(), nil
}

func (t Tool) start(ctx context.Context, dec Decode, enc Encode) (*Pipeline, error) {
	if enc.Images != nil || enc.Raw {
		return t.startOne(ctx, enc)
	}
	if dec.Files != nil || enc.Progress != nil {
		return nil, errors.New("ffmpeg reads files, and reports progress, only in one process (Encode.Images)")
	}
	p := &Pipeline{decArgs: dec.Args(), encArgs: enc.Args(), decErr: newTail(stderrTail), encErr: newTail(stderrTail)}
	p.dec = t.command(ctx, t.FFmpeg, p.decArgs)
	p.enc = t.command(ctx, t.FFmpeg, p.encArgs)
	p.dec.Stderr, p.enc.Stderr = p.decErr, p.encErr

	raw, rawW, err := bigPipe()
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	defer rawW.Close()
	files, filesW, err := bigPipe()
	if err != nil {
		return nil, err
	}
	defer files.Close() // the decoder has its own copy once started
	p.dec.Stdout, p.enc.Stdin = rawW, raw
	p.dec.Stdin, p.stdin = files, filesW
	if err := p.enc.Start(); err != nil {
		filesW.Close()
		return nil, fmt.Errorf("cannot start ffmpeg %s: %w", t.FFmpeg, err)
	}
	if err := p.dec.Start(); err != nil {
		filesW.Close()
		p.enc.Process.Kill()
		p.enc.Wait()
		return nil, fmt.Errorf("cannot start ffmpeg %s: %w", t.FFmpeg, err)
	}
	return p, nil
}

// progressOut hands the encoder's stdout to a goroutine that reads its
// progress lines, when fn is set: it counts the frames encoded and tells
// fn. The caller closes the returned write end once the encoder started
// (nil when fn is; closing nil is harmless), which ends the reader when
// the encoder does.
func (p *Pipeline) progressOut(fn func(int64)) (*os.File, error) {
	if fn == nil {
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cannot create a pipe for ffmpeg's progress: %w", err)
	}
	p.enc.Stdout = w
	p.progress.Go(func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			v, ok := strings.CutPrefix(sc.Text(), "frame=")
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); ok && err == nil && n > p.frames.Load() {
				p.frames.Store(n)
				fn(n)
			}
		}
		io.Copy(io.Discard, r) // a line too long: keep the encoder from blocking on its stdout
	})
	return w, nil
}

// closeInput closes the write end of the decoder's (or lone encoder's)
// stdin, where there is one.
func (p *Pipeline) closeInput() {
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// pipeSize is the buffer asked for each pipe: a few raw frames, so the
// processes on either side wake up once per frame rather than once per 64 KiB.
const pipeSize = 1 << 20

// bigPipe is an os.Pipe with a larger kernel buffer where the system allows
// it (Linux F_SETPIPE_SZ); elsewhere, or when refused, the default buffer.
func bigPipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create a pipe for ffmpeg: %w", err)
	}
	setPipeSize(w, pipeSize)
	return r, w, nil
}

// startOne starts a lone encoder that reads the image files itself (or,
// Raw, the raw frames written to the pipeline).
func (t Tool) startOne(ctx context.Context, enc Encode) (*Pipeline, error) {
	p := &Pipeline{encArgs: enc.Args(), encErr: newTail(stderrTail)}
	p.enc = t.command(ctx, t.FFmpeg, p.encArgs)
	p.enc.Stderr = p.encErr
	if enc.Images == nil || enc.Images.Files == nil {
		files, filesW, err := bigPipe()
		if err != nil {
			return nil, err
		}
		defer files.Close()
		p.enc.Stdin, p.stdin = files, filesW
	}
	progress, err := p.progressOut(enc.Progress)
	if err != nil {
		p.closeInput()
		return nil, err
	}
	defer progress.Close()
	if err := p.enc.Start(); err != nil {
		p.closeInput()
		progress.Close() // ends the reader, whose pipe no process holds
		p.progress.Wait()
		return nil, fmt.Errorf("cannot start ffmpeg %s: %w", t.FFmpeg, err)
	}
	return p, nil
}

// Write sends one image file's bytes to the decoder (Raw: one raw frame).
// A pipeline reading Files has no input to write to.
func (p *Pipeline) Write(b []byte) (int, error) {
	if p.stdin == nil {
		return 0, errors.New("this ffmpeg reads its image files itself")
	}
	n, err := p.stdin.Write(b)
	p.written.Add(int64(n))
	return n, err
}

// Close ends the input and waits for both processes. The error is the
// encoder's when both failed: a dead encoder is what makes the decoder fail.
func (p *Pipeline) Close() error {
	defer p.removeScript()
	p.closeInput()
	var decErr error
	if p.dec != nil {
		decErr = newError("decoder", p.decArgs, p.dec.Wait(), p.decErr)
	}
	encErr := newError("encoder", p.encArgs, p.enc.Wait(), p.encErr)
	p.progress.Wait()
	return firstNonNil(p.watch.end(), encErr, decErr)
}

// Abort kills both processes and waits for them; for early exits.
func (p *Pipeline) Abort() {
	defer p.removeScript()
	p.closeInput()
	for _, c := range []*exec.Cmd{p.dec, p.enc} {
		if c != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
	p.progress.Wait()
	p.watch.end()
}

func firstNonNil(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (p *Pipeline) removeScript() {
	if p.script != "" {
		os.Remove(p.script)
	}
}
