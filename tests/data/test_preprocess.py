"""Any image to a model's input, as its training images were made: digits rebuilt the MNIST way."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cnnlab.data.datasets import InMemoryDataset, Split, load_dataset
from cnnlab.data.facts import DIGIT_LAYOUTS, IMAGENET_MEAN, IMAGENET_STD
from cnnlab.data.loader import Normalization, fit_to_model
from cnnlab.data.preprocess import Preprocessing, fit_image, normalize_digit

MNIST = DIGIT_LAYOUTS["mnist5k"]
DIGITS = Preprocessing("mnist5k", (1, 32, 32), Normalization.lenet())
"""How LeNet-5 trained on mnist5k takes its images."""


def preprocessing(dataset="mnist5k", channels=1):
    return Preprocessing(dataset, (channels, 32, 32), Normalization((0.5,) * channels, (0.25,) * channels))


def draw(size=(200, 200), lines=(((100, 30), (100, 170)),), width=14, ink=0, paper=255, mode="L"):
    """A digit drawn with straight strokes, dark ink on white paper by default."""
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    for line in lines:
        pen.line(line, fill=ink, width=width)
    return image


SEVEN = (((55, 45), (150, 45), (90, 165)),)


def stroke_width(image):
    mask = np.pad(np.asarray(image) > 64, 1)
    boundary = (mask[:, 1:] != mask[:, :-1]).sum() + (mask[1:] != mask[:-1]).sum()
    return 2 * mask.sum() / boundary


@pytest.mark.parametrize(
    ("size", "channels", "target"), [(28, 1, 32), (8, 1, 32), (32, 1, 32), (28, 3, 32), (40, 1, 32)]
)
def test_fit_image_is_fit_to_model(size, channels, target):
    images = torch.randint(0, 256, (3, 1, size, size), dtype=torch.uint8)
    dataset = InMemoryDataset(
        "x",
        ("a",),
        Split(images, torch.zeros(3, dtype=torch.long)),
        Split(images[:1], torch.zeros(1, dtype=torch.long)),
    )
    fitted, _ = fit_to_model(dataset, channels, lambda h, w: h == w == target, (target, target))
    for image, expected in zip(images, fitted.train.images, strict=True):
        assert torch.equal(fit_image(image, channels, (target, target)), expected)


def test_digit_follows_the_mnist_convention():
    digit = normalize_digit(np.asarray(draw(size=(300, 240), lines=SEVEN)), MNIST)
    assert digit.shape == (32, 32) and digit.dtype == np.uint8 and digit.max() == 255
    rows, cols = np.nonzero(digit > 0)
    assert rows.max() - rows.min() + 1 <= 21 and cols.max() - cols.min() + 1 <= 21  # a 20x20 box (+ halo)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) >= 18
    assert digit[:2].max() == digit[-2:].max() == digit[:, :2].max() == digit[:, -2:].max() == 0  # 28 -> 32 border
    weights = digit.astype(float) / digit.sum()
    centre = ((weights.sum(1) * np.arange(32)).sum(), (weights.sum(0) * np.arange(32)).sum())
    assert np.allclose(centre, 15.5, atol=0.75)  # centre of mass at the centre of the field


def test_digit_does_not_depend_on_ink_colour_canvas_or_position():
    reference = normalize_digit(np.asarray(draw(lines=SEVEN)), MNIST).astype(int)
    light_on_dark = normalize_digit(np.asarray(draw(lines=SEVEN, ink=250, paper=10)), MNIST).astype(int)
    shifted = tuple(tuple((x + 120, y + 60) for x, y in line) for line in SEVEN)
    moved = normalize_digit(np.asarray(draw(size=(500, 400), lines=shifted)), MNIST).astype(int)
    gray_paper = normalize_digit(np.asarray(draw(lines=SEVEN, ink=70, paper=190)), MNIST).astype(int)
    for other in (light_on_dark, moved, gray_paper):
        assert np.abs(other - reference).mean() < 4, np.abs(other - reference).mean()


def test_thin_and_thick_strokes_come_out_near_mnist_width():
    pen = normalize_digit(np.asarray(draw(size=(1200, 1200), lines=(((600, 100), (600, 1100)),), width=3)), MNIST)
    marker = normalize_digit(np.asarray(draw(lines=SEVEN, width=45)), MNIST)
    assert 1.7 <= stroke_width(pen) <= 3.5, stroke_width(pen)
    assert stroke_width(marker) <= 4.0, stroke_width(marker)
    assert pen.max() == 255


def test_blank_pictures_have_no_digit():
    with pytest.raises(ValueError, match="found no digit in blank.png"):
        normalize_digit(np.full((50, 50), 255, dtype=np.uint8), MNIST, "blank.png")


def test_dataset_images_saved_as_files_come_back_unchanged(tmp_path):
    trained = preprocessing()
    test = load_dataset("mnist5k").test.images[:20]
    for index, image in enumerate(test):
        Image.fromarray(image[0].numpy()).save(tmp_path / f"{index}.png")
        assert torch.equal(trained.image(tmp_path / f"{index}.png"), image)
        cropped = tmp_path / f"{index}-28.png"  # MNIST's own 28x28 is padded to 32 like the dataset
        Image.fromarray(image[0, 2:30, 2:30].numpy()).save(cropped)
        assert torch.equal(trained.image(cropped), image)


def test_drawings_are_rebuilt_and_transparency_goes_on_white(tmp_path):
    trained = preprocessing()
    draw(lines=SEVEN).save(tmp_path / "seven.png")
    transparent = draw(lines=SEVEN, ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    transparent.save(tmp_path / "transparent.png")
    draw(lines=SEVEN, ink=(20, 20, 120), paper=(250, 240, 220), mode="RGB").save(tmp_path / "blue.jpg", quality=90)
    seven = trained.image(tmp_path / "seven.png")
    assert seven.shape == (1, 32, 32) and seven.dtype == torch.uint8
    assert torch.equal(trained.image(tmp_path / "transparent.png"), seven)
    assert (trained.image(tmp_path / "blue.jpg").int() - seven.int()).abs().float().mean() < 6
    resized = trained.image(tmp_path / "seven.png", "resize")
    assert resized.float().mean() > 200  # no rebuilding: white paper stays white


def test_rgb_models_get_rgb_and_gray_data_gets_gray(tmp_path):
    cifar, digits = preprocessing("cifar10", channels=3), preprocessing("mnist5k", channels=3)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "red.png")
    colour = cifar.image(tmp_path / "red.png")
    assert colour.shape == (3, 32, 32) and colour[0].float().mean() > 190 and colour[1].float().mean() < 40
    gray = digits.image(tmp_path / "red.png", "resize")
    assert gray.shape == (3, 32, 32) and torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    with pytest.raises(ValueError, match='preprocess="digit" is for models trained on digits'):
        cifar.image(tmp_path / "red.png", "digit")


def test_unreadable_images_are_named(tmp_path):
    trained = preprocessing()
    (tmp_path / "junk.png").write_bytes(b"definitely not a png")
    with pytest.raises(ValueError, match="cannot read image .*junk.png"):
        trained.image(tmp_path / "junk.png")
    draw().save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:120])
    with pytest.raises(ValueError, match="cannot read image .*cut.png"):
        trained.image(tmp_path / "cut.png")
    with pytest.raises(ValueError, match="image .*missing.png does not exist"):
        trained.image(tmp_path / "missing.png")


def test_images_in_memory_are_prepared_like_files(tmp_path):
    """A PIL image, a NumPy array and a tensor (HWC or CHW, uint8 or 0..1 floats) give what the file gives."""
    picture = draw(lines=SEVEN)
    picture.save(tmp_path / "seven.png")
    expected = DIGITS.image(tmp_path / "seven.png")
    pixels = np.array(picture)
    for source in (picture, pixels, torch.from_numpy(pixels), torch.from_numpy(pixels)[None], pixels / 255.0):
        assert torch.equal(DIGITS.image(source), expected), type(source)
    test = load_dataset("mnist5k").test.images[0]  # a dataset tensor (1, 32, 32) comes back as it is
    assert torch.equal(DIGITS.image(test), test)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (np.zeros((2, 3, 4, 5), dtype=np.uint8), "has shape \\(2, 3, 4, 5\\); expected an image"),
        (np.full((8, 8), 2.0), "floats from 2 to 2; expected pixels in 0..1"),
        (np.full((8, 8), np.nan), "not finite"),
        (np.full((8, 8), 300), "integers outside 0..255"),
        (["not", "an", "image"], "a list; expected an image file's path"),
    ],
)
def test_things_that_are_not_images_are_refused_with_the_reason(source, message):
    with pytest.raises(ValueError, match=message):
        DIGITS.image(source)


def test_the_normalisation_and_what_an_export_needs():
    colour = Preprocessing("photos", (3, 224, 224), Normalization(IMAGENET_MEAN, IMAGENET_STD))
    pixels = torch.full((3, 224, 224), 255, dtype=torch.uint8)
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(colour.normalize(pixels)[0, :, 0, 0], expected)
    assert colour.to_dict()["channels"] == "rgb" and colour.to_dict()["digits"] is None
    assert DIGITS.to_dict()["digits"] == {"field": 28, "box": 20, "border": 2} and DIGITS.gray
    with pytest.raises(ValueError, match="preprocess must be one of auto, digit, resize"):
        DIGITS.image(np.zeros((8, 8), dtype=np.uint8), "sharpen")
