"""The animation's player page in a real browser: the file opened from disk in Debian's Chromium (Playwright).

Its sliders are moved as a person moves them; the input, kernel, bias and outputs the page then shows are read
back from its picture (the SVG's cells) and must be what ``F.conv2d`` (``F.conv_transpose2d``, the pools) gives
on them, with the formula ``cnnlab.layers.shapes`` writes. An impossible setting shows one line and the page works
again once the slider moves back. Every request that is not ``file:`` or ``data:`` is aborted and recorded, and a
test fails if one was attempted, or if the console shows an error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from cnnlab.layers import shapes
from cnnlab.viz.animation import animate
from tests._browser import NEEDS_CHROMIUM, OpenedPage, chromium

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("player")
    conv = animate("conv", input=5, kernel=3, stride=2, padding=1, values=True).save(folder / "conv.html")
    pool = animate("pool", input=(5, 7), kernel=(2, 3), ceil_mode=True, mode="mean").save(folder / "pool.html")
    transposed = animate("transposed", input=3, kernel=3, stride=2, padding=1, output_padding=1)
    return {"conv": conv, "pool": pool, "transposed": transposed.save(folder / "transposed.html")}


class Opened(OpenedPage):
    """The player opened from disk at a slide's size, with its sliders and the numbers it shows."""

    def __init__(self, browser: Any, path: Path, width: int = 1280, height: int = 720) -> None:
        super().__init__(browser, path, width, height)

    def slide(self, name: str, value: int, axis: int = 0) -> None:
        """Move a slider as a person does (the browser fires its input event)."""
        self.page.locator(f"#{name}-{axis}").fill(str(value))

    def shown(self) -> dict[str, Any]:
        """What the picture shows, read from its cells: the input (the grid's input cells, row by row), the
        kernel, the bias, and the outputs' numbers once the step slider is at the last position."""
        step = self.page.locator("#step")
        if step.is_enabled():  # (it is not while the settings are impossible)
            step.fill(step.get_attribute("max"))
        return self.page.evaluate(
            """() => {
                const values = (selector) => [...document.querySelectorAll(selector)].map((cell) => ({
                    y: Number(cell.dataset.y), x: Number(cell.dataset.x), value: Number(cell.dataset.value),
                    text: cell.textContent }));
                const bias = document.querySelector('[data-role=bias]'), message = document.getElementById('message');
                return {
                    input: values('[data-role=grid] g[data-cell=input]'), kernel: values('[data-role=kernel] g'),
                    bias: bias && Number(bias.dataset.value), output: values('[data-role=output] g'),
                    formula: [...document.querySelectorAll('#formula div')].map((line) => line.textContent),
                    message: message.hidden ? null : message.textContent,
                };
            }"""
        )


def _number(text: str) -> float:
    """A number as the page writes it: "(\u22121)" is -1."""
    return float(text.strip("()").replace("\u2212", "-"))


def grid_of(cells: list[dict[str, Any]], rows: int, cols: int, read: str = "value") -> torch.Tensor:
    assert len(cells) == rows * cols
    ordered = sorted(cells, key=lambda cell: (cell["y"], cell["x"]))
    numbers = [float(cell[read].replace("\u2212", "-")) if read == "text" else cell[read] for cell in ordered]
    return torch.tensor(numbers, dtype=torch.float64).reshape(rows, cols)


@pytest.fixture
def conv(browser, pages):
    opened = Opened(browser, pages["conv"])
    yield opened
    opened.close()


def check_conv(shown: dict[str, Any], i: tuple[int, int], k: tuple[int, int], s: int, p: int, d: int) -> None:
    x = grid_of(shown["input"], *i)
    weight = grid_of(shown["kernel"], *k)
    expected = F.conv2d(x[None, None], weight[None, None], torch.tensor([shown["bias"]], dtype=torch.float64),
                        stride=s, padding=p, dilation=d)[0, 0]  # fmt: skip
    found = grid_of(shown["output"], *expected.shape, read="text")  # the numbers written in the output cells
    torch.testing.assert_close(found, expected)
    assert shown["formula"] == list(shapes.explain_conv(i[0], k[0], s, p, d).lines)  # square sizes: one line


def test_the_page_opens_at_the_animations_settings_and_numbers(conv):
    animation = animate("conv", input=5, kernel=3, stride=2, padding=1, values=True)
    sum_line = conv.page.locator("#sum").inner_text()  # the first output's sum, written out
    products = re.findall(r"(\(?\u2212?\d+\)?)\u00d7(\(?\u2212?\d+\)?)", sum_line)
    assert len(products) == 9 and sum_line.startswith("out[0, 0] = ")
    bias, written = re.search(r"\+ bias (\S+) = (\S+)$", sum_line).groups()
    total = sum(_number(a) * _number(b) for a, b in products) + _number(bias)
    assert total == _number(written) == animation.outputs[0, 0]
    shown = conv.shown()
    assert shown["message"] is None
    found = grid_of(shown["output"], 3, 3, read="text")
    torch.testing.assert_close(found, torch.from_numpy(animation.outputs))  # the GIF's numbers
    check_conv(shown, (5, 5), (3, 3), 2, 1, 1)
    assert conv.page.locator("h1").count() == 1 and conv.page.locator("h1").inner_text() == "Convolution"


@pytest.mark.parametrize(
    ("i", "k", "s", "p", "d"),
    [(7, 3, 1, 0, 1), (6, 3, 2, 1, 1), (8, 2, 3, 2, 1), (7, 3, 1, 1, 2), (9, 4, 2, 3, 2), (4, 1, 1, 0, 1)],
)
def test_sliders_recompute_the_output_as_pytorch_does(conv, i, k, s, p, d):
    for name, value in (("input", i), ("kernel", k), ("stride", s), ("padding", p), ("dilation", d)):
        conv.slide(name, value)
    shown = conv.shown()
    assert shown["message"] is None, shown["message"]
    check_conv(shown, (i, i), (k, k), s, p, d)


def test_rectangular_settings_recompute_too(conv):
    conv.page.locator("#separate").check()
    for name, height, width in (("input", 6, 9), ("kernel", 3, 2), ("stride", 2, 3), ("padding", 1, 0)):
        conv.slide(name, height, 0)
        conv.slide(name, width, 1)
    shown = conv.shown()
    x, weight = grid_of(shown["input"], 6, 9), grid_of(shown["kernel"], 3, 2)
    bias = torch.tensor([shown["bias"]], dtype=torch.float64)
    expected = F.conv2d(x[None, None], weight[None, None], bias, stride=(2, 3), padding=(1, 0))[0, 0]
    torch.testing.assert_close(grid_of(shown["output"], *expected.shape, read="text"), expected)
    assert shown["formula"] == [f"height: {shapes.explain_conv(6, 3, 2, 1).lines[0]}",
                                f"width: {shapes.explain_conv(9, 2, 3, 0).lines[0]}"]  # fmt: skip


def test_an_impossible_setting_says_so_in_one_line_and_the_page_works_after(conv):
    conv.slide("padding", 0)
    conv.slide("input", 3)
    conv.slide("kernel", 5)
    shown = conv.shown()
    assert shown["message"] == "Not possible: kernel 5 is larger than the padded input 3 (i=3, p=0)."
    assert conv.page.locator("#stage.stale").count() == 1 and conv.page.locator("#step").is_disabled()
    conv.slide("kernel", 2)
    shown = conv.shown()
    assert shown["message"] is None and conv.page.locator("#stage.stale").count() == 0
    check_conv(shown, (3, 3), (2, 2), 2, 0, 1)


def test_transposed_and_pooling_from_the_layer_menu(conv):
    conv.page.select_option("#kind", "transposed")
    for name, value in (("input", 3), ("kernel", 3), ("stride", 2), ("padding", 1), ("dilation", 1)):
        conv.slide(name, value)
    conv.slide("output_padding", 1)
    state = conv.page.evaluate("window.cnnlabPlayer.state()")
    shown = conv.shown()
    x = torch.tensor(state["input"], dtype=torch.float64)
    weight = grid_of(shown["kernel"], 3, 3)
    expected = F.conv_transpose2d(x[None, None], weight[None, None], torch.tensor([shown["bias"]], dtype=torch.float64),
                                  stride=2, padding=1, output_padding=1)[0, 0]  # fmt: skip
    torch.testing.assert_close(grid_of(shown["output"], 6, 6, read="text"), expected)
    assert conv.page.locator("[data-role=flipped] g").count() == 9  # the flipped kernel beside the original
    conv.page.select_option("#kind", "pool")
    conv.page.select_option("#mode", "max")
    conv.page.locator("#ceil").check()
    for name, value in (("input", 6), ("kernel", 3), ("stride", 2), ("padding", 1)):
        conv.slide(name, value)
    state = conv.page.evaluate("window.cnnlabPlayer.state()")
    x = torch.tensor(state["input"], dtype=torch.float64)
    expected = F.max_pool2d(x[None, None], 3, 2, 1, ceil_mode=True)[0, 0]
    torch.testing.assert_close(grid_of(conv.shown()["output"], *expected.shape, read="text"), expected)


def test_rectangular_mean_pooling_opens_at_its_settings(browser, pages):
    opened = Opened(browser, pages["pool"])
    try:
        state = opened.page.evaluate("window.cnnlabPlayer.state()")
        x = torch.tensor(state["input"], dtype=torch.float64)
        expected = F.avg_pool2d(x[None, None], (2, 3), ceil_mode=True)[0, 0]
        torch.testing.assert_close(torch.tensor(state["outputs"], dtype=torch.float64), expected)
        assert opened.page.locator("#separate").is_checked() and opened.page.locator("#ceil").is_checked()
        assert opened.page.locator("h1").inner_text() == "Mean pooling"
    finally:
        opened.close()


def test_play_steps_through_and_pause_stops(conv):
    conv.page.locator("#play").click()
    conv.page.wait_for_function("() => document.getElementById('at').textContent.startsWith('3 /')", timeout=10_000)
    conv.page.locator("#play").click()
    assert conv.page.locator("#play").inner_text() == "Play"
    stopped = conv.page.locator("#at").inner_text()
    conv.page.wait_for_timeout(1500)
    assert conv.page.locator("#at").inner_text() == stopped


def test_readable_on_a_slide_and_stacked_on_a_narrow_window(browser, pages):
    wide = Opened(browser, pages["conv"])
    try:
        sizes = wide.page.evaluate(
            """() => ['#sum', '#formula', '#notes', '#legend', '#controls label', '#controls output',
                   '#at', 'button', 'select', '#stage text'].map((selector) => Math.min(
                   ...[...document.querySelectorAll(selector)].map((e) => parseFloat(getComputedStyle(e).fontSize))))"""
        )
        assert min(sizes) >= 24  # CSS px at 1280 px wide: 18 pt on a 16:9 slide (960 pt wide)
        bottom = wide.page.evaluate("document.getElementById('formula').getBoundingClientRect().bottom")
        assert bottom <= 720  # the picture, its sum and the formula on one screen
    finally:
        wide.close()
    narrow = Opened(browser, pages["conv"], width=400, height=800)
    try:
        assert narrow.page.evaluate("document.documentElement.scrollWidth") <= 400  # stacked, nothing cut off
        picture, controls = (narrow.page.locator(name).bounding_box() for name in ("#picture", "#controls"))
        assert controls["y"] >= picture["y"] + picture["height"] - 1
    finally:
        narrow.close()


@pytest.mark.parametrize("width", [1280, 400])
def test_formulas_wrap_only_between_them(browser, pages, width):
    opened = Opened(browser, pages["transposed"], width=width)
    try:
        pieces = opened.page.evaluate(
            """() => [...document.querySelectorAll('#formula .side, #notes .side')].map((piece) =>
                   [piece.textContent, piece.getClientRects().length])"""
        )
        assert len(pieces) >= 6  # the formula's sides, and the note's "s - 1 = 1", "d*(k - 1) - p = 1", ...
        if width == 1280:  # on a slide, each on one line (a phone may break a formula longer than its width)
            assert [text for text, lines in pieces if lines != 1] == []
        assert opened.page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        opened.close()
