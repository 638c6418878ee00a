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
