"""Writes to stdout an Images message built by the Python flatbuffers runtime,
through fixtures/tdw_sender.py's images() (TDW's generated builder calls):
the bytes a controller's resp list would carry. Run with fixtures/ on PYTHONPATH."""
import sys

from tdw_sender import images

passes = [(1, b"\xff\xd8 a jpeg \xff\xd9", 2), (2, b"\x89PNG an id pass", 1), (16, bytes(range(24)), 1)]
sys.stdout.buffer.write(images(sys.argv[1], passes, 4, 2))
