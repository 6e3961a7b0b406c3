"""Every kind of image file reads as the same picture: a digit saved as floats, 16 or 32 bits, with alpha, a palette,
one bit or in CIELAB reaches the model as the 8-bit gray file of it does.

PIL clips deep pixels at 255 when it converts them to 8 bits: a float TIFF in 0..1 became black ("the image is
blank") and a 16-bit image white wherever it was lighter than 255 of 65,535. Each image here is made with PIL and
NumPy, written to a file, and read back as the lab (bytes), the command line (a path) and Python (a PIL image) read.
"""

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageDraw

from cnnlab.data.loader import Normalization
from cnnlab.data.preprocess import Preprocessing, decode_image

DIGITS = Preprocessing("mnist5k", (1, 32, 32), Normalization((0.1,), (0.3,)))
PHOTOS = Preprocessing("cifar10", (3, 32, 32), Normalization((0.5,) * 3, (0.25,) * 3))


def three() -> np.ndarray:
    """A "3" in gray ink (not black: antialiased and mid-gray strokes are what clipping loses) on white paper."""
    image = Image.new("L", (64, 64), 255)
    draw = ImageDraw.Draw(image)
    draw.arc((18, 6, 46, 32), 200, 90, fill=90, width=5)
    draw.arc((18, 30, 46, 58), 270, 160, fill=90, width=5)
    return np.asarray(image)


def _alpha(gray: np.ndarray) -> Image.Image:
    """Ink as opacity on a transparent sheet, as a drawing program saves a drawing."""
    ink = Image.fromarray(np.zeros_like(gray))
    return Image.merge("LA", [ink, Image.fromarray(255 - gray)])


def _palette(gray: np.ndarray) -> Image.Image:
    image = Image.fromarray(gray).convert("P")
    image.info["transparency"] = int(np.asarray(image)[0, 0])  # the paper's entry
    return image


def _lab(gray: np.ndarray) -> Image.Image:
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    return ImageCms.applyTransform(
        Image.fromarray(gray).convert("RGB"), ImageCms.buildTransform(srgb, lab, "RGB", "LAB")
    )


KINDS = {
    "float 0..1 (F)": lambda g: Image.fromarray(g.astype(np.float32) / 255),
    "float 0..255 (F)": lambda g: Image.fromarray(g.astype(np.float32)),
    "float 0..65535 (F)": lambda g: Image.fromarray(g.astype(np.float32) * 257),
    "16-bit (I;16)": lambda g: Image.fromarray(g.astype(np.uint16) * 257),
    "32-bit 0..65535 (I)": lambda g: Image.fromarray(g.astype(np.int32) * 257),
    "32-bit 0..255 (I)": lambda g: Image.fromarray(g.astype(np.int32)),
    "gray with alpha (LA)": _alpha,
    "palette with transparency (P)": _palette,
    "CIELAB (LAB)": _lab,
    "CMYK": lambda g: Image.fromarray(g).convert("CMYK"),
    "8-bit (L)": lambda g: Image.fromarray(g),
}


def _file(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG" if image.mode in ("LA", "P") else "TIFF")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("preprocessing", [DIGITS, PHOTOS], ids=["digit model", "colour model"])
def test_every_kind_of_image_reads_as_its_8_bit_gray_file(kind, preprocessing, tmp_path):
    gray = three()
    expected = preprocessing.image(Image.fromarray(gray)).int()
    image = KINDS[kind](gray)
    data = _file(image)
    (tmp_path / "three.tif").write_bytes(data)
    for source in (decode_image(data), tmp_path / "three.tif", image):
        seen = preprocessing.image(source).int()
        assert (seen - expected).abs().max() <= 2, f"{kind} from {type(source).__name__}"


def test_one_bit_images_read_as_their_ink():
    gray = three()
    bilevel = Image.fromarray(gray < 200).convert("1")  # True where there is ink: white in a 1-bit image
    inverted = Image.fromarray(gray >= 200)  # paper white, ink black
    seen = DIGITS.image(decode_image(_file(inverted)))
    assert torch.equal(seen, DIGITS.image(inverted)) and seen.float().mean() > 10
    assert DIGITS.image(bilevel).float().mean() > 10  # light ink on black, as MNIST


@pytest.mark.parametrize(
    ("pixels", "says"),
    [
        (np.full((8, 8), np.nan, dtype=np.float32), "holds values that are not finite numbers"),
        (
            np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8),
            r"holds floats from -1 to 1; expected pixels in 0\.\.1",
        ),
        (np.full((8, 8), 70000, dtype=np.int32), r"holds integers from 70000 to 70000; expected pixels in 0\.\.255"),
    ],
)
def test_deep_pixels_without_a_convention_are_refused_by_name(pixels, says, tmp_path):
    path = tmp_path / "odd.tif"
    Image.fromarray(pixels).save(path)
    with pytest.raises(ValueError, match=f"^image {re.escape(str(path))} {says}"):
        DIGITS.image(path)
    with pytest.raises(ValueError, match=f"^upload.tif {says}"):
        DIGITS.image(Image.open(path), name="upload.tif")


@pytest.mark.parametrize("kind", ["float 0..1 (F)", "16-bit (I;16)", "8-bit (L)"])
def test_deep_images_reduced_while_decoding_read_as_the_8_bit_one(kind):
    gray = three()
    expected = DIGITS.image(decode_image(_file(KINDS["8-bit (L)"](gray)), max_side=40)).int()
    seen = DIGITS.image(decode_image(_file(KINDS[kind](gray)), max_side=40)).int()
    assert (seen - expected).abs().max() <= 2


def test_an_upload_of_deep_pixels_without_a_convention_is_named():
    with pytest.raises(ValueError, match=r"^upload\.tif holds floats from -1 to -1; expected pixels in 0\.\.1"):
        decode_image(_file(Image.fromarray(np.full((8, 8), -1, dtype=np.float32))), name="upload.tif")
