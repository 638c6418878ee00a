import json


class OutputData:
    @staticmethod
    def get_data_type_id(b: bytes) -> str:
        return b[4:8].decode("utf-8")


class Images:
    """Fake Images blob: b"????imag" + JSON {"avatar", "passes": [{"mask", "file", "ext"}]}."""

    def __init__(self, b: bytes):
        d = json.loads(b[8:].decode("utf-8"))
        self._avatar, self._passes = d["avatar"], d["passes"]

    def get_avatar_id(self) -> str:
        return self._avatar

    def get_num_passes(self) -> int:
        return len(self._passes)

    def get_pass_mask(self, i: int) -> str:
        return self._passes[i]["mask"]

    def get_image(self, i: int) -> bytes:
        with open(self._passes[i]["file"], "rb") as f:
            return f.read()

    def get_extension(self, i: int) -> str:
        return self._passes[i]["ext"]


class SegmentationColors:
    """Fake SegmentationColors blob: b"????segm" + JSON [{"id", "color", "name", "category"}]."""

    def __init__(self, b: bytes):
        self._objects = json.loads(b[8:].decode("utf-8"))

    def get_num(self) -> int:
        return len(self._objects)

    def get_object_id(self, i: int) -> int:
        return self._objects[i]["id"]

    def get_object_color(self, i: int):
        return tuple(self._objects[i]["color"])

    def get_object_name(self, i: int) -> str:
        return self._objects[i]["name"]

    def get_object_category(self, i: int) -> str:
        return self._objects[i]["category"]
