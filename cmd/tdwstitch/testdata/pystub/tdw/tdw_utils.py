import os


class TDWUtils:
    @staticmethod
    def zero_padding(integer: int, width: int = 4) -> str:
        return str(integer).zfill(width)

    @staticmethod
    def save_images(images, filename: str, output_directory="dist", resize_to=None, append_pass: bool = True) -> None:
        for i in range(images.get_num_passes()):
            if append_pass:
                fi = images.get_pass_mask(i)[1:] + "_" + filename + "." + images.get_extension(i)
            else:
                fi = filename + "." + images.get_extension(i)
            with open(os.path.join(output_directory, fi), "wb") as f:
                f.write(images.get_image(i))
