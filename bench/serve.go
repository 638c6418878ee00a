package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tdwstitch/tdwstitch/fixtures/synth"
)

// benchServe measures live ingest: a pyzmq sender (Debian's python3, as a TDW
// controller) pushes frames to `tdwstitch serve` as fast as it can; serve's
// report gives frames received over the receive span (receive + check +
// spool), the sender prints its median time per send.
func benchServe(work, bin string) error {
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
		out := filepath.Join(work, "serve-out")
		os.RemoveAll(out)
		addr := "ipc://" + filepath.Join(work, "serve.sock")
		serve := exec.Command(bin, "serve", "-o", out, "--listen", addr, "--idle", "10m")
		if err := serve.Start(); err != nil {
			return err
		}
		sender := exec.Command("/usr/bin/python3", "fixtures/tdw_sender.py", addr, "bench", dir,
			fmt.Sprint(c.frames), fmt.Sprint(c.size), fmt.Sprint(c.size), "--passes", c.pass)
		b, err := sender.CombinedOutput()
		if err != nil {
			serve.Process.Kill()
			return fmt.Errorf("sender: %v: %s", err, b)
		}
		report := filepath.Join(out, "bench", "tdwstitch-serve.json")
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, err := os.Stat(report); err == nil {
				break
			}
		}
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
		var r struct {
			Frames    int     `json:"frames"`
			Seconds   float64 `json:"receive_seconds"`
			IngestFPS float64 `json:"ingest_fps"`
			Status    string  `json:"status"`
		}
		rb, err := os.ReadFile(report)
		if err == nil {
			err = json.Unmarshal(rb, &r)
		}
		if err != nil {
			return fmt.Errorf("serve report: %v", err)
		}
		fmt.Printf("serve %s: %d frames received in %.2f s: %.0f frames/s ingest; sender: %s; run %s\n",
			c.name, r.Frames, r.Seconds, r.IngestFPS, strings.TrimSpace(string(b)), r.Status)
	}
	return nil
}
