"""The slide standard in code: SVG text sizes read back, and what they become on a 16:9 slide."""

from __future__ import annotations

import argparse
import math

import pytest

from cnnlab.cli._parser import CommandParser, add_aspect_argument, add_title_argument
from cnnlab.errors import SettingError
from cnnlab.viz.figure import new_picture, save
from cnnlab.viz.slide import (
    MIN_FONT_PT,
    SlideCheck,
    SvgText,
    aspect_ratio,
    font_for_slide,
    read_svg,
    slide_scale,
    title_mode,
    titled,
)


def _svg(body: str, size: str = 'width="200pt" height="100pt" viewBox="0 0 200 100"') -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" {size}>{body}</svg>'


def test_a_matplotlib_figure_reads_back_at_its_font_sizes(tmp_path):
    picture = new_picture(640, 360)
    axes = picture.add_subplot()
    axes.set_title("accuracy", fontsize=14)
    axes.set_xlabel("epoch", fontsize=9)
    axes.tick_params(labelsize=11)
    check = read_svg(save(picture, tmp_path / "figure.svg"))
    assert (check.width, check.height) == pytest.approx((460.8, 259.2))  # 6.4 x 3.6 in
    sizes = {text.text: text.size for text in check.texts}
    assert sizes["accuracy"] == pytest.approx(14) and sizes["epoch"] == pytest.approx(9)
    assert check.smallest.text == "epoch"
    # 6.4 in fills the slide's 13.33 in: everything is enlarged 960 / 460.8 = 2.083 times
    assert check.scale == pytest.approx(960 / 460.8)
    assert check.smallest_on_slide == pytest.approx(9 * 960 / 460.8)
    assert check.passes  # 18.75 pt


def test_font_for_slide_is_the_size_that_just_passes(tmp_path):
    for width, height in [(640, 360), (1100, 420), (500, 900)]:
        needed = font_for_slide(width, height)
        picture = new_picture(width, height)
        picture.text(0.5, 0.5, "just", fontsize=needed)
        picture.text(0.5, 0.2, "under", fontsize=needed * 0.95)
        check = read_svg(save(picture, tmp_path / f"{width}.svg"))
        assert [text.text for text in check.below()] == ["under"]
        assert check.smallest_on_slide == pytest.approx(0.95 * MIN_FONT_PT)
    assert font_for_slide(640, 360) == pytest.approx(8.64)
    assert font_for_slide(1280, 720) == pytest.approx(17.28)


def test_transforms_scale_text_and_inheritance_reaches_children():
    svg = _svg(
        '<g font-size="10"><text>ten</text>'
        '<g transform="scale(2)"><text>twenty</text></g>'
        '<g transform="matrix(0 3 -3 0 5 5)"><text>thirty, rotated</text></g>'
        '<g transform="translate(4 4) rotate(30)"><text>ten again</text></g></g>'
    )
    sizes = {text.text: text.size for text in read_svg(svg).texts}
    assert sizes == pytest.approx({"ten": 10, "twenty": 20, "thirty, rotated": 30, "ten again": 10})


def test_style_declarations_tspans_and_units():
    svg = _svg(
        "<text style=\"font: bold 12px 'DejaVu Sans'\">shorthand</text>"
        '<text style="font-size: 9pt; fill: red">in points</text>'
        '<text font-size="8">base<tspan font-size="4">sub</tspan> tail</text>'
    )
    sizes = [(text.text, text.size) for text in read_svg(svg).texts]
    assert sizes == [("shorthand", 12), ("in points", 12), ("base", 8), ("sub", 4), ("tail", 8)]


def test_the_size_comes_from_width_and_height_in_any_unit_or_the_viewbox():
    inches = read_svg(_svg('<text font-size="50">a</text>', 'width="2in" height="1in" viewBox="0 0 200 100"'))
    assert (inches.width, inches.height) == (144, 72)
    assert inches.texts[0].size == pytest.approx(36)  # 50 user units of the 200-unit-wide, 144 pt picture
    pixels = read_svg(_svg('<text font-size="10">a</text>', 'viewBox="0 0 400 200"'))
    assert (pixels.width, pixels.height) == (300, 150)
    assert pixels.texts[0].size == pytest.approx(7.5)


def test_a_picture_taller_than_the_slide_is_fitted_by_its_height():
    tall = SlideCheck(width=300, height=900, texts=(SvgText("x", 10),))
    assert tall.scale == pytest.approx(540 / 900)
    assert tall.smallest_on_slide == pytest.approx(6)
    assert not tall.passes and "below 18 pt" in str(tall)
    assert slide_scale(960, 540) == 1


def test_a_picture_without_text_passes_and_bad_input_is_refused():
    empty = read_svg(_svg('<rect width="10" height="10"/>'))
    assert empty.smallest is None and math.isinf(empty.smallest_on_slide) and empty.passes
    with pytest.raises(ValueError, match="not an SVG"):
        read_svg("<html></html>")
    with pytest.raises(ValueError, match="not an SVG"):
        read_svg(b"<svg")
    with pytest.raises(ValueError, match="neither a width and height nor a viewBox"):
        read_svg('<svg xmlns="http://www.w3.org/2000/svg"><text>a</text></svg>')
    with pytest.raises(ValueError, match="positive"):
        slide_scale(0, 10)


def test_metadata_and_definitions_are_not_text():
    svg = _svg(
        '<metadata><text font-size="1">date</text></metadata><title>tooltip</title><text font-size="20">a</text>'
    )
    assert [text.text for text in read_svg(svg).texts] == ["a"]


@pytest.mark.parametrize(("text", "ratio"), [("16:9", 16 / 9), ("4:3", 4 / 3), ("2x1", 2.0), (" 1.5 : 1 ", 1.5),
                                             (1.25, 1.25)])  # fmt: skip
def test_aspect_ratios(text, ratio):
    assert aspect_ratio(text) == pytest.approx(ratio)


@pytest.mark.parametrize("text", ["wide", "16:0", "0:9", "100:1", "-16:9", True, float("nan")])
def test_impossible_aspects_are_refused_in_one_line(text):
    with pytest.raises(SettingError, match="WIDTH:HEIGHT"):
        aspect_ratio(text)


def test_titles():
    assert titled("short", "C1", "C1 of runs/x/best.pt") == "C1"
    assert titled("full", "C1", "C1 of runs/x/best.pt") == "C1 of runs/x/best.pt"
    assert titled("full", "C1") == "C1"
    assert titled("none", "C1", "C1 of runs/x/best.pt") == ""
    with pytest.raises(SettingError, match="full, short, none"):
        title_mode("long")


def test_the_command_line_arguments(capsys):
    parser = CommandParser(prog="cnnlab draw")
    add_title_argument(parser)
    add_aspect_argument(parser)
    args = parser.parse_args([])
    assert (args.title, args.aspect) == ("short", None)
    args = parser.parse_args(["--title", "none", "--aspect", "16:9"])
    assert (args.title, args.aspect) == ("none", pytest.approx(16 / 9))
    for wrong in (["--title", "long"], ["--aspect", "wide"]):
        with pytest.raises(SystemExit) as stopped:
            parser.parse_args(wrong)
        assert stopped.value.code == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "cnnlab draw: error:" in error
    assert isinstance(parser, argparse.ArgumentParser)
