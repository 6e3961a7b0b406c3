"""The report's galleries (the worst images beside their maps, and captioned examples) on a 16:9 slide: 18 points."""

import numpy as np
import pytest

from cnnlab.viz.examples import plot_examples
from cnnlab.viz.mistakes import plot_mistake_maps
from cnnlab.viz.slide import read_svg


def digits(count: int) -> list[np.ndarray]:
    return [np.random.default_rng(i).random((32, 32)).astype(np.float32) for i in range(count)]


@pytest.mark.parametrize("count", [1, 4, 12])
def test_worst_images_and_their_maps_fit_a_slide(tmp_path, count):
    images = digits(count)
    maps = [image - 0.5 for image in images]
    captions = [f"{i % 10} read as {(i + 3) % 10} (74%)\n#{100 + i}, loss {9 - i / 2:.2f}" for i in range(count)]
    picture = plot_mistake_maps(images, maps, captions, title=f"the {count} test images with the highest loss",
                                scale_label="drop in p(predicted class) when a square of 8x8 pixels hides the pixel",
                                signed=True)  # fmt: skip
    check = read_svg(picture.save(tmp_path / "worst.svg"))
    assert check.passes, check.below()
    assert check.aspect >= 1.0  # landscape


def test_a_long_caption_wraps_inside_its_column(tmp_path):
    captions = ["automobile read as airplane (51%) after a very long while\n#1, loss 3.10"] * 4
    picture = plot_mistake_maps(digits(4), digits(4), captions, title="t", scale_label="s", signed=False)
    lines = [text.get_text() for text in picture.texts if "automobile" in text.get_text()]
    assert lines and all(text.count("\n") >= 2 for text in lines)
    assert read_svg(picture.save(tmp_path / "worst.svg")).passes


@pytest.mark.parametrize("count", [1, 6, 12])
def test_examples_fit_a_slide(tmp_path, count):
    picture = plot_examples(digits(count), [f"#{i}\nclass {i % 10}" for i in range(count)], title="the test images")
    check = read_svg(picture.save(tmp_path / "examples.svg"))
    assert check.passes, check.below()
