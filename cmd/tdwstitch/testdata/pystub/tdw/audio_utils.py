class AudioUtils:
    started = []

    @staticmethod
    def start(output_path, until=None) -> None:
        AudioUtils.started.append(output_path)
