package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Control is one of tdwstitch's own messages, which the add-on sends on
// the same socket as TDW's responses: the first part names it.
type Control int

const (
	// NotControl: a TDW response (output data, the frame number last).
	NotControl Control = iota
	// Begin starts a run: a second part holds JSON {"run", "fps", "audio"}.
	Begin
	// End ends the run.
	End
	// AudioStart marks the instant the controller started recording audio;
	// the receiver stamps it with its receive time, the clock frames are on.
	AudioStart
	// SegmentationColors carries, in a second part, what TDW sent once for
	// segmentation (the JSON list the add-on saves as
	// segmentation_colors.json): the run's legend.
	SegmentationColors
)

// The first part of each control message.
const (
	BeginTopic      = "tdwstitch/begin"
	EndTopic        = "tdwstitch/end"
	AudioStartTopic = "tdwstitch/audio_start"
	// SegmentationColorsTopic's second part is the legend's JSON.
	SegmentationColorsTopic = "tdwstitch/segmentation_colors"
)

// BeginMessage is a begin message's JSON. A nil field was not given.
type BeginMessage struct {
	Run string `json:"run"`
	// FPS is the run's frame rate, within 1 to 1000 (0.0001 would make 10
	// frames a 10,000 s video).
	FPS *float64 `json:"fps"`
	// Audio is the run's recording, relative to the run's output folder;
	// "" means the run has none.
	Audio *string `json:"audio"`
}

// ErrBadBegin is the class of every reason a begin message is refused
// (errors.Is); the reason itself is a *BeginError.
var ErrBadBegin = errors.New("bad begin message")

// BeginError is a refused begin message; Detail says why ("" when it is
// not the JSON object expected).
type BeginError struct{ Detail string }

func (e *BeginError) Error() string {
	if e.Detail == "" {
		return ErrBadBegin.Error()
	}
	return ErrBadBegin.Error() + ": " + e.Detail
}

// Is makes a *BeginError an ErrBadBegin.
func (e *BeginError) Is(target error) bool { return target == ErrBadBegin }

// ParseControl says which control message parts is, if any, and parses a
// begin message, checking its run name (SafeName) and frame rate.
func ParseControl(parts [][]byte) (Control, BeginMessage, error) {
	var b BeginMessage
	if len(parts) == 0 {
		return NotControl, b, nil
	}
	switch string(parts[0]) {
	case EndTopic:
		return End, b, nil
	case AudioStartTopic:
		return AudioStart, b, nil
	case SegmentationColorsTopic:
		return SegmentationColors, b, nil
	case BeginTopic:
	default:
		return NotControl, b, nil
	}
	if len(parts) != 2 || json.Unmarshal(parts[1], &b) != nil {
		return Begin, b, &BeginError{}
	}
	if err := SafeName(b.Run); err != nil {
		return Begin, b, &BeginError{Detail: "run name: " + err.Error()}
	}
	if b.FPS != nil && !(*b.FPS >= 1 && *b.FPS <= 1000) {
		return Begin, b, &BeginError{Detail: fmt.Sprintf("run %q: fps %g is not within 1 to 1000", b.Run, *b.FPS)}
	}
	return Begin, b, nil
}
