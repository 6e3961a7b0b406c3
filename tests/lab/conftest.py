"""A LeNet-5 trained for a few epochs on the bundled digits, shared by the lab's tests."""

import io
import re
import subprocess
import sys

import pytest
from PIL import Image, ImageDraw

from cnnlab.run import train


@pytest.fixture(scope="module")
def lab(lab_run):
    """`cnnlab lab RUN resnet20` on a free port, as a user starts it (one per test module, for the browser tests);
    its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "lab", str(lab_run.path), "resnet20", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
    if match is None:
        process.kill()
        pytest.fail(f"cnnlab lab did not say where it listens: {line!r} {process.stderr.read()}")
    yield match.group(1)
    process.terminate()
    process.wait(timeout=30)


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
