"""The animation's player page as Python writes it: one file, nothing fetched, opening at the animation's settings.

The page's arithmetic is tested under Node (test_animation_page_js.py) and the page in Chromium
(test_animation_page_browser.py); here, what goes into it: the settings read back from the animation, its own
numbers, the inlined script and style, the notebook's frame, and ``cnnlab animate ... --output x.html``.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
import torch
import torch.nn.functional as F

from cnnlab.cli.main import main
from cnnlab.viz.animation import CONV_ARITHMETIC, animate
from cnnlab.viz.animation_page import STATIC, PageSettings, page_data, page_settings, player_page

CASES = {case.name: case for case in CONV_ARITHMETIC}


class _Page(HTMLParser):
    """The page's elements that could fetch something, its scripts and its data block."""

    def __init__(self) -> None:
        super().__init__()
        self.fetching: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self.data: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.fetching += [(tag, value or "") for name, value in attrs if name in ("src", "href", "srcset", "action")]
        if tag == "link" or (tag == "script" and "src" in named):
            self.fetching.append((tag, str(named)))
        self._in = "data" if named.get("id") == "player-data" else tag

    def handle_data(self, data: str) -> None:
        if self._in == "data":
            self.data = data
        elif self._in == "script":
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def _pairs(**sizes: int | tuple[int, int]) -> dict[str, tuple[int, int]]:
    return {name: (value, value) if isinstance(value, int) else value for name, value in sizes.items()}


@pytest.mark.parametrize("case", CONV_ARITHMETIC, ids=lambda case: case.name)
def test_the_page_opens_at_each_of_the_guides_settings(case):
    arguments = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0} | case.arguments
    expected = PageSettings(kind=case.kind, **_pairs(**arguments))
    assert page_settings(case.animate()) == expected


@pytest.mark.parametrize(
    ("kind", "arguments", "expected"),
    [
        ("pool", {"input": (5, 7), "kernel": (2, 3), "ceil_mode": True, "mode": "mean"},
         {"stride": (2, 3), "padding": (0, 0), "mode": "mean", "ceil_mode": True}),
        ("pool", {"input": 7, "kernel": 2, "stride": 1, "dilation": 2},
         {"stride": (1, 1), "padding": (0, 0), "dilation": (2, 2), "mode": "max"}),
        ("conv", {"input": (6, 9), "kernel": (3, 1), "stride": (2, 3), "padding": (1, 0), "dilation": (2, 1)},
         {"stride": (2, 3), "padding": (1, 0), "dilation": (2, 1)}),
        ("transposed", {"input": (3, 2), "kernel": 3, "stride": (2, 3), "output_padding": (1, 2)},
         {"stride": (2, 3), "padding": (0, 0), "output_padding": (1, 2)}),
    ],
)  # fmt: skip
def test_rectangular_pool_and_transposed_settings_are_read_back(kind, arguments, expected):
    sizes = {name: arguments[name] for name in ("input", "kernel")}
    settings = page_settings(animate(kind, **arguments))
    assert settings == PageSettings(kind=kind, **_pairs(**sizes), **expected)


def test_a_name_that_spells_no_settings_is_refused():
    animation = animate("conv", input=5, kernel=3)
    animation.name = "conv-i5-k3-s1-p1-q7"
    with pytest.raises(ValueError, match="not an animation's name"):
        page_settings(animation)


@pytest.mark.parametrize("name", ["padding_strides", "padding_strides_odd_transposed", "dilation"])
def test_the_page_carries_the_animations_own_numbers(name):
    animation = CASES[name].animate(values=True)
    data = page_data(animation, seconds_per_frame=0.25)
    assert data["delay_ms"] == 250
    assert data["bias"] == (getattr(animation, "bias", None) or 0)  # its own bias, or none: its outputs are the page's
    x = torch.tensor(data["input_values"], dtype=torch.float64)[None, None]
    weight = torch.tensor(data["kernel_values"], dtype=torch.float64)[None, None]
    settings = page_settings(animation)
    common = {"stride": settings.stride, "padding": settings.padding, "dilation": settings.dilation,
              "bias": torch.tensor([data["bias"]], dtype=torch.float64)}  # fmt: skip
    if animation.kind == "conv":
        out = F.conv2d(x, weight, **common)
    else:
        out = F.conv_transpose2d(x, weight, output_padding=settings.output_padding, **common)
    torch.testing.assert_close(out[0, 0], torch.from_numpy(animation.outputs))


def test_without_values_the_page_draws_its_own_numbers_with_a_bias():
    data = page_data(animate("conv", input=5, kernel=3))
    assert data["input_values"] is None and data["kernel_values"] is None and data["bias"] == 1


def test_the_page_is_one_file_with_everything_inlined_and_nothing_fetched():
    animation = CASES["padding_strides"].animate(values=True)
    page = animation.html(seconds_per_frame=0.25)
    found = parsed(page)
    assert found.fetching == []
    assert "{{" not in page and "<img" not in page
    assert "default-src 'none'" in page and "connect-src 'none'" in page  # the browser refuses any request
    for name in ("animation_arithmetic.js", "animation_player.js"):
        assert (STATIC / name).read_text(encoding="utf-8").strip() in "".join(found.scripts)
    data = json.loads(found.data)
    assert data["kind"] == "conv" and data["input"] == [5, 5] and data["stride"] == [2, 2] and data["delay_ms"] == 250
    assert page.count("<h1") == 1 and page.count("<title>") == 1  # the title once; the formula is the page's to write


def test_a_script_ending_inside_the_data_cannot_end_its_element(monkeypatch):
    animation = animate("conv", input=4, kernel=3)
    monkeypatch.setattr("cnnlab.viz.animation_page.page_data", lambda *_: {"note": "</script><script>alert(1)"})
    page = player_page(animation)
    assert "</script><script>alert" not in page and json.loads(parsed(page).data)["note"].startswith("</script>")


def test_a_notebook_shows_the_player_in_its_own_frame():
    animation = animate("pool", input=4, kernel=2)
    shown = animation._repr_html_()
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" title="Max pooling" style="[^"]*"></iframe>', shown)
    assert match is not None
    assert html.unescape(match.group(1)) == animation.html()


def test_cli_writes_the_page(tmp_path, capsys):
    out = tmp_path / "x.html"
    code = main(["animate", "transposed", "-i", "3", "-k", "3", "-s", "2", "-p", "1", "--output-padding", "1",
                 "--values", "--output", str(out)])  # fmt: skip
    assert code == 0
    assert f"{out}  (36 frames, " in capsys.readouterr().out
    data = json.loads(parsed(out.read_text(encoding="utf-8")).data)
    assert data["kind"] == "transposed" and data["output_padding"] == [1, 1] and len(data["input_values"]) == 3
