"""An animation as a page that computes itself: sliders for the settings, the picture drawn by the page's script.

``Animation.html()`` writes one self-contained file (its script and style inlined, no network, no server): the
grid with its padding, the window, the kernel as its own grid (and the flipped one a transposed convolution
applies), the output filling cell by cell with small integer values, the current cell's sum, and the output
size's formula with its numbers, once. Sliders for input, kernel, stride, padding and dilation (output padding
for a transposed convolution; mode and ceil mode for pooling) recompute all of it in the page
(``static/animation_arithmetic.js``, the arithmetic of :mod:`cnnlab.layers.shapes` and of
:mod:`cnnlab.viz.animation` in JavaScript, tested against PyTorch under Node and in Chromium). The page opens at
the animation's own settings and, when it was made with ``values=True``, its own numbers.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cnnlab.viz.embed import element_text, script_json

__all__ = ["PageSettings", "page_data", "page_settings", "player_frame", "player_page"]

STATIC = Path(__file__).parent / "static"
# The page's frame in a notebook: tall enough for the picture, the sum, the formula and the sliders.
FRAME_HEIGHT_PX = 720

_PLACEHOLDER = re.compile(r"\{\{([A-Z]+)\}\}")
_KIND_WORDS = {"conv": "conv", "transposed": "transposed", "maxpool": "pool", "meanpool": "pool"}
_TITLES = {"conv": "Convolution", "transposed": "Transposed convolution", "pool": "{mode} pooling"}
Pair = tuple[int, int]


class Animated(Protocol):
    """What the page reads of a :class:`cnnlab.viz.animation.Animation`."""

    kind: str
    name: str
    cells: np.ndarray
    grid_values: np.ndarray | None
    kernel: np.ndarray | None


@dataclass(frozen=True)
class PageSettings:
    """The settings a page opens at: each size a ``(height, width)`` pair, as :func:`cnnlab.animate` takes them."""

    kind: str
    input: Pair
    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair = (1, 1)
    output_padding: Pair = (0, 0)
    mode: str = "max"
    ceil_mode: bool = False


def page_settings(animation: Animated) -> PageSettings:
    """The settings of ``animation``, read back from its name (``conv-i5-k3-s2-p1``, which spells them all).

    Raises:
        ValueError: a name that does not spell an animation's settings.
    """
    words = animation.name.split("-")
    kind = _KIND_WORDS.get(words[0])
    if kind is None:
        raise ValueError(f"not an animation's name: {animation.name!r}")
    sizes: dict[str, Pair] = {}
    ceil_mode = False
    for word in words[1:]:
        match = re.fullmatch(r"(op|i|k|s|p|d)(\d+)(?:x(\d+))?", word)
        if word == "ceil":
            ceil_mode = True
        elif match is None:
            raise ValueError(f"not an animation's name: {animation.name!r} ({word!r})")
        else:
            first = int(match.group(2))
            sizes[match.group(1)] = (first, int(match.group(3) or first))
    mode = words[0].removesuffix("pool") if kind == "pool" else "max"
    return PageSettings(
        kind=kind, input=sizes["i"], kernel=sizes["k"], stride=sizes["s"], padding=sizes["p"],
        dilation=sizes.get("d", (1, 1)), output_padding=sizes.get("op", (0, 0)), mode=mode, ceil_mode=ceil_mode,
    )  # fmt: skip


def _given_input(animation: Animated, shape: Pair) -> list[list[float]] | None:
    """The input the animation's numbers were drawn from: its input cells, row by row (``None`` without values,
    or where the transposed convolution's padding crops some inputs out of the grid)."""
    if animation.grid_values is None:
        return None
    inside = animation.cells == "input"
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if (len(rows), len(cols)) != shape:
        return None
    return animation.grid_values[np.ix_(rows, cols)].tolist()


def _given_kernel(animation: Animated) -> list[list[float]] | None:
    if animation.kernel is None:
        return None
    # The animation keeps the kernel as it is applied: a transposed convolution's is the flipped one.
    kernel = np.flip(animation.kernel, (0, 1)) if animation.kind == "transposed" else animation.kernel
    return kernel.tolist()


def _bias(animation: Animated) -> float:
    """The animation's bias if it has one; none (0) where it has numbers without a bias, so that the page's
    outputs are the animation's; 1 where the page draws its own numbers."""
    bias = getattr(animation, "bias", None)
    if bias is not None:
        return float(bias)
    return 0.0 if animation.grid_values is not None else 1.0


def page_data(animation: Animated, seconds_per_frame: float = 0.6) -> dict[str, Any]:
    """The page's data block: the settings it opens at, the animation's own numbers, the time a frame shows."""
    settings = page_settings(animation)
    return {
        **asdict(settings),
        "seed": 0,
        "bias": _bias(animation),
        "input_values": _given_input(animation, settings.input),
        "kernel_values": _given_kernel(animation),
        "delay_ms": round(seconds_per_frame * 1000),
    }


def _title(settings: PageSettings) -> str:
    return _TITLES[settings.kind].format(mode=settings.mode.capitalize())


def _static(name: str, element: str) -> str:
    return element_text(STATIC / name, element)


def player_page(animation: Animated, seconds_per_frame: float = 0.6) -> str:
    """The self-contained player page of ``animation`` (one HTML file, no network)."""
    data = page_data(animation, seconds_per_frame)
    parts = {
        "TITLE": html.escape(_title(page_settings(animation))),
        "CSS": _static("animation_player.css", "style"),
        "ARITHMETIC": _static("animation_arithmetic.js", "script"),
        "PLAYER": _static("animation_player.js", "script"),
        "DATA": script_json(data),
    }
    template = (STATIC / "animation_player.html").read_text(encoding="utf-8")
    # One pass: a part that happens to hold a placeholder's text stays as it is.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], template)


def player_frame(animation: Animated, seconds_per_frame: float = 0.6) -> str:
    """The player in an ``<iframe>`` for a notebook: its script and element names kept apart from the notebook's
    and from another player's."""
    page = html.escape(player_page(animation, seconds_per_frame), quote=True)
    title = html.escape(_title(page_settings(animation)), quote=True)
    return (
        f'<iframe srcdoc="{page}" title="{title}" style="width: 100%; max-width: 1280px; '
        f'height: {FRAME_HEIGHT_PX}px; border: 1px solid #ddd"></iframe>'
    )
