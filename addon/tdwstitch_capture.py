"""
tdwstitch capture add-on for ThreeDWorld (TDW).

Saves images exactly as TDW's ImageCapture does (RUN/<avatar>/<pass>_<NNNN>.<ext>)
and writes RUN/timing.csv, the timing sidecar tdwstitch reads to place every frame
at its capture time and to line up the separately recorded audio:

    event,frame,time
    audio_start,,812.503117
    frame,0,812.611902
    frame,1,812.651377

All times come from one clock (time.monotonic() by default). Use it like ImageCapture:

    from tdwstitch_capture import TdwstitchCapture
    capture = TdwstitchCapture(path="run", avatar_ids=["a"], pass_masks=["_img", "_id"])
    capture.wrap_audio_utils()              # if you record with AudioUtils.start(...)
    # or: capture.wrap_recorder(recorder)   # a PhysicsAudioRecorder (or anything with start())
    c.add_ons.append(capture)

then `tdwstitch encode run -o videos`. Printed by `tdwstitch addon`.

Streaming mode: give `address` (and a `run` name) to push every frame to a running
`tdwstitch serve` over ZeroMQ (pyzmq, which TDW already depends on) instead of, or with
`path` as well as, saving it:

    capture = TdwstitchCapture(path=None, address="tcp://127.0.0.1:5556", run="episode_1",
                               ack="tcp://127.0.0.1:5557")
    ...
    capture.close()   # ends the run: tdwstitch encodes it

With `ack` (serve started with the same `--ack`), close() waits until serve has received
the whole run before returning, so a controller that exits right after loses nothing even
when serve is behind.
"""

import time
from pathlib import Path
from typing import Callable, List, Optional, Union

from tdw.add_ons.add_on import AddOn
from tdw.output_data import OutputData, Images, SegmentationColors
from tdw.tdw_utils import TDWUtils


class TdwstitchCapture(AddOn):
    """Per-frame image capture with a timing sidecar for tdwstitch."""

    def __init__(self, path: Optional[Union[str, Path]] = None, avatar_ids: Optional[List[str]] = None,
                 pass_masks: Optional[List[str]] = None, png: bool = False,
                 clock: Callable[[], float] = time.monotonic,
                 address: Optional[str] = None, run: Optional[str] = None, fps: Optional[float] = None,
                 ack: Optional[str] = None, ack_timeout: float = 120):
        super().__init__()
        if path is None and address is None:
            raise ValueError("give a path to save frames to, an address to stream them to, or both")
        self.avatar_ids = avatar_ids
        self.pass_masks = pass_masks if pass_masks is not None else ["_img"]
        self.png = png
        self.frame = 0
        self._clock = clock
        self._timing = None
        self.path = None
        if path is not None:
            self.path = Path(path).expanduser().resolve()
            self.path.mkdir(parents=True, exist_ok=True)
            # Line-buffered: a crashed controller still leaves every row it had.
            self._timing = open(self.path / "timing.csv", "w", buffering=1)
            self._timing.write("event,frame,time\n")
        self._sock = None
        self.run, self._ack, self._ack_timeout = run, ack, ack_timeout
        self.acknowledged = None  # serve's answer to the ack: {"run", "folder", "frames", "ended"}
        if address is not None:
            import json
            import zmq
            # Our own context, terminated in close(): that waits until every
            # queued frame and the end message are handed to the connection
            # (a process that exits first loses them).
            self._ctx = zmq.Context()
            self._sock = self._ctx.socket(zmq.PUSH)
            self._sock.connect(address)
            if run is not None:
                begin = {"run": run, "fps": fps, "audio": None}
                self._sock.send_multipart([b"tdwstitch/begin", json.dumps(begin).encode()])

    def get_initialization_commands(self) -> List[dict]:
        commands = [{"$type": "set_pass_masks", "pass_masks": self.pass_masks, "avatar_id": a}
                    for a in (self.avatar_ids or [])]
        send = {"$type": "send_images", "frequency": "always"}
        if self.avatar_ids is not None:
            send["ids"] = self.avatar_ids
        commands.append(send)
        if self.png:
            commands.append({"$type": "set_img_pass_encoding", "value": True})
        # Which object each _id colour is: tdwstitch copies it into the
        # run's report as its legend.
        commands.append({"$type": "send_segmentation_colors", "frequency": "once"})
        return commands

    def on_send(self, resp: List[bytes]) -> None:
        # The frame arrived just now: this is its capture time on our clock.
        received = self._clock()
        for r in resp[:-1]:
            if OutputData.get_data_type_id(r) == "segm":
                self._segmentation_colors(SegmentationColors(r))
        if self._sock is not None and any(OutputData.get_data_type_id(r) in ("imag", "fram") for r in resp[:-1]):
            # tdwstitch serve stamps it on arrival; it parses what it needs.
            self._sock.send_multipart(resp)
        if self.path is None:
            return
        saved = False
        for i in range(len(resp) - 1):
            if OutputData.get_data_type_id(resp[i]) != "imag":
                continue
            images = Images(resp[i])
            avatar_id = images.get_avatar_id()
            if self.avatar_ids is not None and avatar_id not in self.avatar_ids:
                continue
            folder = self.path / avatar_id
            folder.mkdir(parents=True, exist_ok=True)
            TDWUtils.save_images(images=images, output_directory=str(folder),
                                 filename=TDWUtils.zero_padding(self.frame, 4))
            saved = True
        if saved:
            self._timing.write(f"frame,{self.frame},{received:.6f}\n")
            self.frame += 1

    def _segmentation_colors(self, segm) -> None:
        """What TDW sends once for segmentation, as tdwstitch's legend: saved
        beside the frames, and sent to serve when streaming."""
        import json
        objects = [{"id": int(segm.get_object_id(i)), "color": [int(c) for c in segm.get_object_color(i)],
                    "name": segm.get_object_name(i), "category": segm.get_object_category(i)}
                   for i in range(segm.get_num())]
        data = json.dumps(objects, indent=1)
        if self._sock is not None:
            self._sock.send_multipart([b"tdwstitch/segmentation_colors", data.encode()])
        if self.path is not None:
            # Written whole, then renamed: a reader never sees half a file.
            tmp = self.path / "segmentation_colors.json.tmp"
            tmp.write_text(data)
            tmp.replace(self.path / "segmentation_colors.json")

    def audio_started(self, at: Optional[float] = None) -> None:
        """Record that the audio recording started now (or at `at`, same clock)."""
        if self._timing is not None:
            self._timing.write(f"audio_start,,{self._clock() if at is None else at:.6f}\n")
        if self._sock is not None:
            self._sock.send_multipart([b"tdwstitch/audio_start", b"{}"])

    def wrap_recorder(self, recorder) -> None:
        """Make recorder.start(...) record audio_start when the recording begins."""
        start = recorder.start

        def timed_start(*args, **kwargs):
            result = start(*args, **kwargs)
            self.audio_started()
            return result

        recorder.start = timed_start

    def wrap_audio_utils(self) -> None:
        """Make AudioUtils.start(...) record audio_start when the recording begins."""
        from tdw.audio_utils import AudioUtils
        start = AudioUtils.start

        def timed_start(*args, **kwargs):
            result = start(*args, **kwargs)
            self.audio_started()
            return result

        AudioUtils.start = staticmethod(timed_start)

    def close(self) -> None:
        """Flush and close timing.csv, and end the streamed run (also done
        when the add-on is collected)."""
        if self._timing is not None and not self._timing.closed:
            self._timing.close()
        if self._sock is not None:
            self._sock.send_multipart([b"tdwstitch/end", b"{}"])
            if self._ack is not None and self.run is not None:
                import zmq
                req = self._ctx.socket(zmq.REQ)
                req.connect(self._ack)
                req.send_json({"run": self.run})
                if req.poll(int(self._ack_timeout * 1000)):
                    self.acknowledged = req.recv_json()
                req.close(linger=0)
            self._sock.close(linger=60000)
            self._sock = None
            self._ctx.term()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
