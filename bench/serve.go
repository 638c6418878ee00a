package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// benchServe measures live ingest: a pyzmq sender (Debian's python3, as a TDW
// controller) pushes frames to `tdwstitch serve` as fast as it can; serve's
// report gives frames received over the receive span (receive + check +
// spool), the sender prints its median time per send.
func benchServe(rounds int, work, bin string, extra []string) error {
	for _, c := range []struct {
		name   string
		size   int
		frames int
		pass   string
	}{{"256x256 PNG (_id)", 256, 4000, "id"}, {"1024x1024 JPEG (_img)", 1024, 400, "img"}} {
		dir := filepath.Join(work, fmt.Sprintf("serve-%s-%d-%d", c.pass, c.size, c.frames))
		if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
			fmt.Printf("generating %d %dx%d frames in %s ...\n", c.frames, c.size, c.size, dir)
			os.MkdirAll(dir, 0o755)
			s := synth.Scene{Width: c.size, Height: c.size}
			for i := range c.frames {
				img, id, _ := s.Frame(i % 60)
				if c.pass == "id" {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("id_%04d.png", i)), synth.EncodePNG(id), 0o644)
				} else {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("img_%04d.jpg", i)), s.EncodeJPEG(img), 0o644)
				}
			}
			os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
		}
		var ingest, sendMS []float64
		for round := range rounds {
			r, send, err := serveRound(work, bin, dir, c.size, c.frames, c.pass, extra)
			if err != nil {
				return err
			}
			ingest, sendMS = append(ingest, r.IngestFPS), append(sendMS, send)
			fmt.Printf("serve %s round %d: %d frames received in %.2f s: %.0f frames/s ingest, %d chunks encoded while receiving, spool peak %.1f MiB, backpressure %d waits; sender median send %.4f ms; run %s\n",
				c.name, round+1, r.Frames, r.Seconds, r.IngestFPS, r.Chunks, float64(r.Peak)/(1<<20), r.Backpressure.Waits, send, r.Status)
		}
		fmt.Printf("serve %s: median of %d rounds: %.0f frames/s ingest, %.4f ms per send\n", c.name, rounds, medianOf(ingest), medianOf(sendMS))
	}
	return nil
}

// serveReport is what the bench reads of tdwstitch-serve.json.
type serveReport struct {
	Frames       int     `json:"frames"`
	Seconds      float64 `json:"receive_seconds"`
	IngestFPS    float64 `json:"ingest_fps"`
	Chunks       int     `json:"chunks"`
	Peak         int64   `json:"spool_peak_bytes"`
	Backpressure struct {
		Waits int `json:"waits"`
	} `json:"backpressure"`
	Status string `json:"status"`
}

// serveRound runs serve, pushes the workload with the Python sender and
// reads the run's ingest report. Chunks of 16 MiB make the encoder work
// behind the receiver, as in a long run.
func serveRound(work, bin, dir string, size, frames int, pass string, extra []string) (serveReport, float64, error) {
	var r serveReport
	out := filepath.Join(work, "serve-out")
	os.RemoveAll(out)
	addr := "ipc://" + filepath.Join(work, "serve.sock")
	serve := exec.Command(bin, append([]string{"serve", "-o", out, "--listen", addr, "--idle", "10m", "--chunk-mb", "16"}, extra...)...)
	var serveErr strings.Builder
	serve.Stderr = &serveErr
	if err := serve.Start(); err != nil {
		return r, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	sender := exec.Command("/usr/bin/python3", "fixtures/tdw_sender.py", addr, "bench", dir,
		fmt.Sprint(frames), fmt.Sprint(size), fmt.Sprint(size), "--passes", pass)
	var b []byte
	sent := make(chan error, 1)
	go func() {
		var err error
		b, err = sender.CombinedOutput()
		sent <- err
	}()
	select {
	case err := <-sent:
		if err != nil {
			return r, 0, fmt.Errorf("sender: %v: %s", err, b)
		}
	case err := <-exited:
		sender.Process.Kill()
		<-sent
		exited <- err // for the deferred wait
		return r, 0, fmt.Errorf("serve exited early (%v): %s", err, serveErr.String())
	}
	var send float64
	if f := strings.Fields(string(b)); len(f) > 0 {
		send, _ = strconv.ParseFloat(f[len(f)-1], 64)
	}
	report := filepath.Join(out, "bench", "tdwstitch-serve.json")
	// Polling a file another process writes: the bench's only way to see it.
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(report); err == nil {
			break
		}
	}
	rb, err := os.ReadFile(report)
	if err == nil {
		err = json.Unmarshal(rb, &r)
	}
	if err != nil {
		return r, 0, fmt.Errorf("serve report: %v", err)
	}
	return r, send, nil
}
