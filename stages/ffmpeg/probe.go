package ffmpeg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Media is what ffprobe says of a file.
type Media struct {
	Format   string  // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Duration float64 // seconds
	Streams  []MediaStream
}

// MediaStream is one stream of a Media.
type MediaStream struct {
	Type       string  // "video" or "audio"
	Codec      string  // e.g. "h264", "ffv1", "aac"
	PixFmt     string  // video only
	Width      int     // video only
	Height     int     // video only
	FrameRate  float64 // video only: average frame rate
	Packets    int     // counted packets (frames for video); 0 unless counted
	Duration   float64
	SampleRate int // audio only
}

// Video returns the first video stream, if any.
func (m Media) Video() (MediaStream, bool) { return m.first("video") }

// Audio returns the first audio stream, if any.
func (m Media) Audio() (MediaStream, bool) { return m.first("audio") }

func (m Media) first(typ string) (MediaStream, bool) {
	for _, s := range m.Streams {
		if s.Type == typ {
			return s, true
		}
	}
	return MediaStream{}, false
}

// Probe reads path's container and streams. countPackets reads the whole file
// to count packets, which for our videos is the number of frames.
func (t Tool) Probe(ctx context.Context, path string, countPackets bool) (Media, error) {
	args := []string{"-v", "error", "-print_format", "json", "-show_format", "-show_streams"}
	if countPackets {
		args = append(args, "-count_packets")
	}
	args = append(args, "file:"+path)
	cmd := t.command(ctx, t.FFprobe, args)
	var stdout bytes.Buffer
	stderr := newTail(stderrTail)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		return Media{}, newError("ffprobe", args, err, stderr)
	}
	return parseProbe(stdout.Bytes())
}

type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType     string `json:"codec_type"`
		CodecName     string `json:"codec_name"`
		PixFmt        string `json:"pix_fmt"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		AvgFrameRate  string `json:"avg_frame_rate"`
		NbReadPackets string `json:"nb_read_packets"`
		Duration      string `json:"duration"`
		SampleRate    string `json:"sample_rate"`
	} `json:"streams"`
}

func parseProbe(b []byte) (Media, error) {
	var pj probeJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return Media{}, fmt.Errorf("cannot read ffprobe's output: %w", err)
	}
	m := Media{Format: pj.Format.FormatName, Duration: number(pj.Format.Duration)}
	for _, s := range pj.Streams {
		m.Streams = append(m.Streams, MediaStream{
			Type: s.CodecType, Codec: s.CodecName, PixFmt: s.PixFmt, Width: s.Width, Height: s.Height,
			FrameRate: rational(s.AvgFrameRate), Packets: int(number(s.NbReadPackets)),
			Duration: number(s.Duration), SampleRate: int(number(s.SampleRate)),
		})
	}
	return m, nil
}

func number(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func rational(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return number(s)
	}
	if d := number(den); d != 0 {
		return number(num) / d
	}
	return 0
}
