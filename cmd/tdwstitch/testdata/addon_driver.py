"""Drives tdwstitch_capture.py like a TDW controller would: fake resp lists,
a fake clock with irregular frame intervals, audio started via AudioUtils."""
import json
import sys

from tdw.audio_utils import AudioUtils
from tdwstitch_capture import TdwstitchCapture

run, img, idp, frames = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
now = [100.0]
cap = TdwstitchCapture(path=run, avatar_ids=["a"], pass_masks=["_img", "_id"], clock=lambda: now[0])
types = [c["$type"] for c in cap.get_initialization_commands()]
assert "send_images" in types and "set_pass_masks" in types and "send_segmentation_colors" in types, types

cap.wrap_audio_utils()
now[0] = 100.05
AudioUtils.start(output_path="audio.wav")
assert AudioUtils.started == ["audio.wav"]


def images(avatar):
    passes = [{"mask": "_img", "file": img, "ext": "jpg"}, {"mask": "_id", "file": idp, "ext": "png"}]
    return b"\x00\x00\x00\x00imag" + json.dumps({"avatar": avatar, "passes": passes}).encode()


intervals = [0.010, 0.045, 0.020, 0.033]
for f in range(frames):
    now[0] += intervals[f % len(intervals)]
    other = b"\x00\x00\x00\x00tran" + b"\x01\x02"
    resp = [other, images("a"), images("b"), f.to_bytes(4, "big")]
    if f == 0:  # TDW sends the segmentation colours once, with the first frame
        segm = [{"id": 11, "color": [231, 76, 60], "name": "ball", "category": "sphere"}]
        resp.insert(0, b"\x00\x00\x00\x00segm" + json.dumps(segm).encode())
    cap.on_send(resp)
now[0] += 0.02
cap.on_send([images("b"), frames.to_bytes(4, "big")])  # only an avatar not captured: no frame
cap.close()
print("ok", cap.frame)

# A recorder add-on (PhysicsAudioRecorder-like): its start() is wrapped too.
class Recorder:
    def __init__(self):
        self.path = None

    def start(self, path):
        self.path = path


other = TdwstitchCapture(path=run + "-recorder", clock=lambda: 7.25)
recorder = Recorder()
other.wrap_recorder(recorder)
recorder.start("rec.wav")
other.close()
assert recorder.path == "rec.wav"
with open(run + "-recorder/timing.csv") as f:
    assert f.read() == "event,frame,time\naudio_start,,7.250000\n"
print("recorder ok")
