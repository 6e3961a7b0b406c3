"""``cnnlab.show`` helpers that the pictures share (the pictures themselves: tests/cli/test_show_report.py)."""

from pathlib import Path

import pytest
from PIL import Image

from cnnlab import show


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("photos/cat.jpg", "cat"),
        (Path("a b/My Seven!.png"), "My-Seven"),
        ("digits/7.tar.png", "7.tar"),
        ("../..", "image"),  # nothing left that names a file
        (Image.new("L", (4, 4)), "image"),
    ],
)
def test_image_name_is_a_file_stem_safe_in_a_path(image, name):
    assert show.image_name(show.subject("lenet5"), image) == name


def test_image_name_of_the_bundled_defaults_says_which_they_are():
    assert show.image_name(show.subject("lenet5")) == "mnist5k-test-685"
    assert show.image_name(show.subject("resnet20")) == "china"


def test_image_name_of_an_opened_file_is_its_stem(tmp_path):
    path = tmp_path / "drawn.png"
    Image.new("L", (8, 8)).save(path)
    with Image.open(path) as image:
        assert show.image_name(show.subject("lenet5"), image) == "drawn"
