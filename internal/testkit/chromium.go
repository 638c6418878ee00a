package testkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sourcegraph/conc"
)

// Browser is Debian's headless Chromium driven over the DevTools protocol
// on a pipe (--remote-debugging-pipe: JSON messages ending in a NUL byte,
// read from fd 3 and written to fd 4). Tests load a page and run script in
// it as a user's clicks (user gestures) in real time: --dump-dom's virtual
// time runs ahead of a playing video.
type Browser struct {
	t       testing.TB
	cmd     *exec.Cmd
	send    *os.File
	replies chan cdpMessage
	next    atomic.Int64
}

// Page is one tab of a Browser.
type Page struct {
	b       *Browser
	session string
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    any             `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Chromium starts a headless Chromium for the test; it is stopped when
// the test ends. A missing chromium fails the test with its install.
func Chromium(t testing.TB) *Browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test needs Debian's chromium (go tool task deps installs it): %v", err)
	}
	toChrome, ours, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	theirs, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fd 3: it reads; fd 4: it writes
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	toChrome.Close()
	fromChrome.Close()
	b := &Browser{t: t, cmd: cmd, send: ours, replies: make(chan cdpMessage, 64)}
	var reader conc.WaitGroup
	reader.Go(func() {
		defer close(b.replies)
		r := bufio.NewReader(theirs)
		for {
			line, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var m cdpMessage
			if json.Unmarshal(line[:len(line)-1], &m) == nil && m.ID != 0 {
				b.replies <- m
			}
		}
	})
	t.Cleanup(func() {
		ours.Close()
		cmd.Process.Kill()
		cmd.Wait()
		theirs.Close() // the reader's next read fails: it ends
		for range b.replies {
		}
		reader.Wait()
	})
	return b
}

// call sends one command (to a page's session when session is set) and
// waits up to timeout for its reply.
func (b *Browser) call(session, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	id := b.next.Add(1)
	msg, _ := json.Marshal(cdpMessage{ID: id, Method: method, SessionID: session, Params: params})
	if _, err := b.send.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-b.replies:
			if !ok {
				return nil, fmt.Errorf("%s: chromium exited", method)
			}
			if m.ID != id {
				continue // a reply to an earlier call that timed out
			}
			if m.Error != nil {
				return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
			}
			return m.Result, nil
		case <-deadline:
			return nil, fmt.Errorf("%s: no reply in %v", method, timeout)
		}
	}
}

// Open loads url in a new tab and waits for its load event.
func (b *Browser) Open(url string) *Page {
	b.t.Helper()
	res, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, time.Minute)
	if err != nil {
		b.t.Fatal(err)
	}
	var target struct{ TargetID string }
	json.Unmarshal(res, &target)
	res, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, time.Minute)
	if err != nil {
		b.t.Fatal(err)
	}
	var attached struct{ SessionID string }
	json.Unmarshal(res, &attached)
	p := &Page{b: b, session: attached.SessionID}
	if _, err := b.call(p.session, "Page.navigate", map[string]any{"url": url}, time.Minute); err != nil {
		b.t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var loaded bool
		p.Eval(`location.href !== "about:blank" && document.readyState === "complete"`, time.Minute, &loaded)
		if loaded {
			return p
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s did not load in a minute", url)
		}
	}
}

// Eval runs script in the page as a user gesture (it may start playback),
// awaits it when it is a promise, and decodes its value into v (nil: not
// wanted). A thrown error or a timeout fails the test.
func (p *Page) Eval(script string, timeout time.Duration, v any) {
	p.b.t.Helper()
	res, err := p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": script, "awaitPromise": true,
		"returnByValue": true, "userGesture": true, "timeout": timeout.Milliseconds()}, timeout+10*time.Second)
	if err != nil {
		p.b.t.Fatal(err)
	}
	var out struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	if err := json.Unmarshal(res, &out); err != nil {
		p.b.t.Fatalf("evaluate: %v", err)
	}
	if e := out.ExceptionDetails; e != nil {
		p.b.t.Fatalf("script failed: %s %s", e.Text, e.Exception.Description)
	}
	if v != nil {
		if err := json.Unmarshal(out.Result.Value, v); err != nil {
			p.b.t.Fatalf("script's value %s: %v", out.Result.Value, err)
		}
	}
}

// Screenshot saves what the page shows, width x height pixels from its
// top, as a PNG at path.
func (p *Page) Screenshot(path string, width, height int) {
	p.b.t.Helper()
	if _, err := p.b.call(p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, time.Minute); err != nil {
		p.b.t.Fatal(err)
	}
	res, err := p.b.call(p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, time.Minute)
	if err != nil {
		p.b.t.Fatal(err)
	}
	var shot struct{ Data []byte } // base64 in JSON: decoded by encoding/json
	if err := json.Unmarshal(res, &shot); err != nil {
		p.b.t.Fatal(err)
	}
	if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
		p.b.t.Fatal(err)
	}
}
