"""The confusion matrix to the slide standard: landscape, every text (counts included) 18 points on a 16:9 slide,
a sequential colour map from zero, short titles by default; too many classes for readable counts say so."""

import numpy as np
import pytest

from cnnlab.viz.confusion import plot_confusion
from cnnlab.viz.slide import read_svg


def matrix(n: int, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, (n, n)) + np.diag(rng.integers(60, 110, n))
    return counts.tolist()


def test_ten_classes_every_count_at_slide_size(tmp_path):
    counts = matrix(10)
    picture = plot_confusion(counts, [str(d) for d in range(10)], short_title="mnist5k test: top-1 90.2%")
    (axis, _bar) = picture.axes
    written = sorted(int(text.get_text()) for text in axis.texts)
    assert written == sorted(c for row in counts for c in row if c)
    image = axis.images[0]
    assert image.get_cmap().name == "Blues" and image.get_clim() == (0, 1)  # sequential, from zero
    check = read_svg(picture.save(tmp_path / "confusion.svg"))
    assert check.passes, check.below()
    assert check.aspect == pytest.approx(4 / 3, abs=0.01)
    assert picture.about == "10 classes, the count in every cell"


def test_a_hundred_classes_name_every_few_and_leave_counts_to_the_colours(tmp_path):
    names = [f"class{i}" for i in range(100)]
    picture = plot_confusion(matrix(100), names)
    (axis, _bar) = picture.axes
    assert not axis.texts
    assert "every" in axis.get_xlabel() and len(axis.get_xticks()) < 30
    assert "too many for readable counts" in picture.about
    check = read_svg(picture.save(tmp_path / "confusion.svg"))
    assert check.passes, check.below()


def test_titles_short_full_none(tmp_path):
    classes = ["a", "b", "c"]
    assert plot_confusion(matrix(3), classes).axes[0].get_title() == "confusion matrix"
    full = plot_confusion(matrix(3), classes, title="full", short_title="s", full_title="lenet5 on x: long")
    assert full.axes[0].get_title() == "lenet5 on x: long"
    assert plot_confusion(matrix(3), classes, title="none", short_title="s").axes[0].get_title() == ""


def test_a_16_to_9_matrix_still_passes(tmp_path):
    check = read_svg(plot_confusion(matrix(10), list("0123456789"), aspect=16 / 9).save(tmp_path / "c.svg"))
    assert check.aspect == pytest.approx(16 / 9, abs=0.01) and check.passes
