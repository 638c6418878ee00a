"""Drives tdwstitch_capture.py in streaming mode: fake controller responses
carrying real Images FlatBuffers, pushed to a running tdwstitch serve."""
import json
import sys

from tdw_sender import images
from tdwstitch_capture import TdwstitchCapture

address, jpg, png, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(jpg, "rb") as f:
    jpg_bytes = f.read()
with open(png, "rb") as f:
    png_bytes = f.read()
ack = sys.argv[5] if len(sys.argv) > 5 else None
cap = TdwstitchCapture(path=None, address=address, run="streamed", avatar_ids=["a"], fps=30, ack=ack)
segm = b"\x00\x00\x00\x00segm" + json.dumps([{"id": 5, "color": [9, 8, 7], "name": "chair", "category": "furniture"}]).encode()
for i in range(n):
    resp = [images("a", [(1, jpg_bytes, 2), (2, png_bytes, 1)], 16, 16), i.to_bytes(4, "big")]
    cap.on_send(([segm] if i == 0 else []) + resp)  # TDW sends the colours once
cap.on_send([b"\x00\x00\x00\x00tran" + b"\x00" * 8, n.to_bytes(4, "big")])  # no images: not forwarded
cap.close()
print("streamed", n, "acknowledged", cap.acknowledged)
