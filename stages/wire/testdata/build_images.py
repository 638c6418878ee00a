"""Builds a TDW Images message with the Python flatbuffers runtime, calling the
builder exactly as TDW's generated FBOutput/Images.py and ImagePass.py do, and
writes it to stdout: the bytes a controller's resp list would carry."""
import sys

import flatbuffers

b = flatbuffers.Builder(1024)
passes = [(1, b"\xff\xd8 a jpeg \xff\xd9", 2), (2, b"\x89PNG an id pass", 1), (16, bytes(range(24)), 1)]
offsets = []
for mask, image, ext in passes:
    b.StartVector(1, len(image), 1)            # ImagePassStartImageVector
    for byte in reversed(image):
        b.PrependByte(byte)
    vec = b.EndVector()
    b.StartObject(3)                           # ImagePassStart
    b.PrependInt32Slot(0, mask, 1)             # ImagePassAddPassMask
    b.PrependUOffsetTRelativeSlot(1, vec, 0)   # ImagePassAddImage
    b.PrependUint8Slot(2, ext, 1)              # ImagePassAddExtension
    offsets.append(b.EndObject())
b.StartVector(4, len(offsets), 4)              # ImagesStartPassesVector
for o in reversed(offsets):
    b.PrependUOffsetTRelative(o)
passes_vec = b.EndVector()
avatar, sensor = b.CreateString(sys.argv[1]), b.CreateString("SensorContainer")
b.StartObject(5)                               # ImagesStart
b.PrependUOffsetTRelativeSlot(0, avatar, 0)
b.PrependUOffsetTRelativeSlot(1, sensor, 0)
b.PrependInt32Slot(2, 4, 0)
b.PrependInt32Slot(3, 2, 0)
b.PrependUOffsetTRelativeSlot(4, passes_vec, 0)
b.Finish(b.EndObject(), file_identifier=b"imag")
sys.stdout.buffer.write(b.Output())
