package container

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Info is what Inspect found.
type Info struct {
	Codec    string // "h264" or "ffv1"
	Width    int
	Height   int
	Frames   int
	HasAudio bool
}

// Inspect reads an MP4 or Matroska file's video track and audio presence.
func Inspect(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	r := &reader{f: f, size: st.Size()}
	head, err := r.bytes(0, 8)
	if err != nil {
		return Info{}, err
	}
	switch {
	case bytes.Equal(head[4:8], []byte("ftyp")):
		return inspectMP4(r)
	case bytes.Equal(head[:4], []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return inspectMKV(r)
	}
	return Info{}, errors.New("neither MP4 nor Matroska")
}

// reader reads by offset through a small window, so walking headers costs
// few system calls.
type reader struct {
	f    *os.File
	size int64
	win  []byte
	at   int64
}

func (r *reader) bytes(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > r.size {
		return nil, io.ErrUnexpectedEOF
	}
	if off < r.at || off+int64(n) > r.at+int64(len(r.win)) {
		want := max(n, 64<<10)
		want = int(min(int64(want), r.size-off))
		if cap(r.win) < want {
			r.win = make([]byte, want)
		}
		r.win = r.win[:want]
		if _, err := r.f.ReadAt(r.win, off); err != nil && err != io.EOF {
			return nil, err
		}
		r.at = off
	}
	return r.win[off-r.at : off-r.at+int64(n)], nil
}

// --- MP4 ---

type box struct {
	typ        string
	start, end int64 // payload
}

// boxes lists the boxes in [start, end).
func (r *reader) boxes(start, end int64) ([]box, error) {
	var out []box
	for off := start; off+8 <= end; {
		h, err := r.bytes(off, 8)
		if err != nil {
			return nil, err
		}
		size, typ, hdr := int64(binary.BigEndian.Uint32(h)), string(h[4:8]), int64(8)
		switch size {
		case 1:
			l, err := r.bytes(off+8, 8)
			if err != nil {
				return nil, err
			}
			size, hdr = int64(binary.BigEndian.Uint64(l)), 16
		case 0:
			size = end - off
		}
		if size < hdr || off+size > end {
			return nil, fmt.Errorf("MP4 box %q at %d has a bad size", typ, off)
		}
		out = append(out, box{typ, off + hdr, off + size})
		off += size
	}
	return out, nil
}

func (r *reader) child(b box, path ...string) (box, bool) {
	for _, typ := range path {
		kids, err := r.boxes(b.start, b.end)
		if err != nil {
			return box{}, false
		}
		found := false
		for _, k := range kids {
			if k.typ == typ {
				b, found = k, true
				break
			}
		}
		if !found {
			return box{}, false
		}
	}
	return b, true
}

func inspectMP4(r *reader) (Info, error) {
	top, err := r.boxes(0, r.size)
	if err != nil {
		return Info{}, err
	}
	var info Info
	video := false
	for _, moov := range top {
		if moov.typ != "moov" {
			continue
		}
		traks, err := r.boxes(moov.start, moov.end)
		if err != nil {
			return Info{}, err
		}
		for _, trak := range traks {
			if trak.typ != "trak" {
				continue
			}
			hdlr, ok := r.child(trak, "mdia", "hdlr")
			if !ok {
				continue
			}
			h, err := r.bytes(hdlr.start+8, 4)
			if err != nil {
				return Info{}, err
			}
			switch string(h) {
			case "soun":
				info.HasAudio = true
			case "vide":
				if video {
					continue
				}
				video = true
				stbl, ok := r.child(trak, "mdia", "minf", "stbl")
				if !ok {
					return Info{}, errors.New("MP4 video track has no sample table")
				}
				if err := mp4Video(r, stbl, &info); err != nil {
					return Info{}, err
				}
			}
		}
	}
	if !video {
		return Info{}, errors.New("MP4 has no video track")
	}
	return info, nil
}

func mp4Video(r *reader, stbl box, info *Info) error {
	stsd, ok := r.child(stbl, "stsd")
	if !ok {
		return errors.New("MP4 video track has no sample description")
	}
	entry, err := r.bytes(stsd.start+8, 8+78) // first sample entry: header + visual fields
	if err != nil {
		return err
	}
	if string(entry[4:8]) == "avc1" {
		info.Codec = "h264"
	} else {
		info.Codec = string(entry[4:8])
	}
	info.Width = int(binary.BigEndian.Uint16(entry[8+24:]))
	info.Height = int(binary.BigEndian.Uint16(entry[8+26:]))
	stsz, ok := r.child(stbl, "stsz")
	if !ok {
		return errors.New("MP4 video track has no sample sizes")
	}
	b, err := r.bytes(stsz.start+8, 4)
	if err != nil {
		return err
	}
	info.Frames = int(binary.BigEndian.Uint32(b))
	return nil
}

// --- Matroska ---

const (
	idSegment     = 0x18538067
	idTracks      = 0x1654AE6B
	idTrackEntry  = 0xAE
	idTrackNumber = 0xD7
	idTrackType   = 0x83
	idCodecID     = 0x86
	idCodecPriv   = 0x63A2
	idVideo       = 0xE0
	idPixelWidth  = 0xB0
	idPixelHeight = 0xBA
	idCluster     = 0x1F43B675
	idSimpleBlock = 0xA3
	idBlockGroup  = 0xA0
	idBlock       = 0xA1
)

type element struct {
	id         uint64
	start, end int64 // payload
}

// vint reads an EBML variable-length integer at off; id keeps the marker bit.
func (r *reader) vint(off int64, id bool) (v uint64, n int, err error) {
	b, err := r.bytes(off, 1)
	if err != nil {
		return 0, 0, err
	}
	n = 1
	for mask := byte(0x80); n <= 8 && b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if n > 8 {
		return 0, 0, errors.New("Matroska: bad variable-length integer")
	}
	all, err := r.bytes(off, n)
	if err != nil {
		return 0, 0, err
	}
	v = uint64(all[0])
	if !id {
		v &= 0xFF >> n
	}
	for _, c := range all[1:] {
		v = v<<8 | uint64(c)
	}
	if !id && v == 1<<(7*n)-1 {
		return 0, 0, errors.New("Matroska: element of unknown size")
	}
	return v, n, nil
}

func (r *reader) elements(start, end int64, each func(element) error) error {
	for off := start; off < end; {
		id, n, err := r.vint(off, true)
		if err != nil {
			return err
		}
		size, m, err := r.vint(off+int64(n), false)
		if err != nil {
			return err
		}
		e := element{id, off + int64(n+m), off + int64(n+m) + int64(size)}
		if e.end > end {
			return fmt.Errorf("Matroska element %#x at %d runs past its parent", id, off)
		}
		if err := each(e); err != nil {
			return err
		}
		off = e.end
	}
	return nil
}

func (r *reader) uint(e element) uint64 {
	b, err := r.bytes(e.start, int(e.end-e.start))
	if err != nil || len(b) > 8 {
		return 0
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func inspectMKV(r *reader) (Info, error) {
	var info Info
	videoTrack := uint64(0)
	err := r.elements(0, r.size, func(seg element) error {
		if seg.id != idSegment {
			return nil
		}
		return r.elements(seg.start, seg.end, func(e element) error {
			switch e.id {
			case idTracks:
				return r.elements(e.start, e.end, func(t element) error {
					if t.id == idTrackEntry {
						return mkvTrack(r, t, &info, &videoTrack)
					}
					return nil
				})
			case idCluster:
				return r.elements(e.start, e.end, func(b element) error {
					switch b.id {
					case idSimpleBlock:
						return countBlock(r, b.start, videoTrack, &info)
					case idBlockGroup:
						return r.elements(b.start, b.end, func(g element) error {
							if g.id == idBlock {
								return countBlock(r, g.start, videoTrack, &info)
							}
							return nil
						})
					}
					return nil
				})
			}
			return nil
		})
	})
	if err != nil {
		return Info{}, err
	}
	if videoTrack == 0 {
		return Info{}, errors.New("Matroska file has no video track")
	}
	return info, nil
}

func mkvTrack(r *reader, t element, info *Info, videoTrack *uint64) error {
	var number, typ uint64
	var codec, fourcc string
	var w, h int
	err := r.elements(t.start, t.end, func(e element) error {
		switch e.id {
		case idTrackNumber:
			number = r.uint(e)
		case idTrackType:
			typ = r.uint(e)
		case idCodecID:
			b, err := r.bytes(e.start, int(e.end-e.start))
			if err != nil {
				return err
			}
			codec = string(bytes.TrimRight(b, "\x00"))
		case idCodecPriv:
			// V_MS/VFW/FOURCC keeps a BITMAPINFOHEADER: biCompression at 16.
			if b, err := r.bytes(e.start, int(min(e.end-e.start, 20))); err == nil && len(b) == 20 {
				fourcc = string(b[16:20])
			}
		case idVideo:
			return r.elements(e.start, e.end, func(v element) error {
				switch v.id {
				case idPixelWidth:
					w = int(r.uint(v))
				case idPixelHeight:
					h = int(r.uint(v))
				}
				return nil
			})
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case typ == 2:
		info.HasAudio = true
	case typ == 1 && *videoTrack == 0:
		*videoTrack, info.Width, info.Height = number, w, h
		if codec == "V_MS/VFW/FOURCC" {
			codec = fourcc
		}
		info.Codec = map[string]string{"V_FFV1": "ffv1", "FFV1": "ffv1", "V_MPEG4/ISO/AVC": "h264"}[codec]
		if info.Codec == "" {
			info.Codec = codec
		}
	}
	return nil
}

// countBlock counts a block of the video track; laced blocks (several
// frames in one) are not something ffmpeg writes for video, so they are an
// error rather than a guess.
func countBlock(r *reader, off int64, videoTrack uint64, info *Info) error {
	if videoTrack == 0 {
		return errors.New("Matroska: blocks before the track list")
	}
	track, n, err := r.vint(off, false)
	if err != nil || track != videoTrack {
		return err
	}
	flags, err := r.bytes(off+int64(n)+2, 1)
	if err != nil {
		return err
	}
	if flags[0]&0x06 != 0 {
		return errors.New("Matroska: laced video block")
	}
	info.Frames++
	return nil
}
