"""A LeNet-5 trained for a few epochs on the bundled digits, shared by the lab's tests."""

import io

import pytest
from PIL import Image, ImageDraw

from cnnlab.run import train


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory):
    return train("lenet5", epochs=3, output=str(tmp_path_factory.mktemp("lab") / "lenet5-run"), progress=False)


def png_bytes(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def seven():
    """A 7 drawn dark on white, as a person draws one: the bytes of a PNG file."""
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(55, 45), (150, 45), (90, 165)], fill=0, width=14)
    return png_bytes(image)
