"""What every picture shares: a matplotlib Figure that shows itself in Jupyter, saving, grids of tiles.

Pictures are :class:`Picture` s: matplotlib ``Figure`` s made without ``pyplot``, so that drawing needs
no display, leaves nothing open, and a figure returned in Jupyter is shown once, inline, as a PNG. They are
laid out in pixels at :data:`DPI`, so a PNG's size is the figure's size. :func:`save` writes PNG or SVG
atomically; SVG keeps its text as text (``svg.fonttype = "none"``), so a label can be edited on a slide
and a program can read the numbers back.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cnnlab.errors import path_setting
from cnnlab.files import atomic_output

__all__ = [
    "DPI",
    "FORMATS",
    "SLIDE_CANVAS",
    "SLIDE_FONT",
    "Grid",
    "Picture",
    "grid_shape",
    "mosaic",
    "mosaic_shape",
    "new_picture",
    "png_bytes",
    "save",
    "wrap",
]

DPI = 100
"""Figures are laid out in pixels and saved at this resolution, so a PNG's size is the figure's size."""

FORMATS = ("png", "svg")

SLIDE_FONT = 12.0
"""Points: the text size of the slide-sized pictures (feature maps, filters, fields, saliency). Within a canvas of
:data:`SLIDE_CANVAS` it is 18.6 points once the picture fills a 16:9 slide (:func:`cnnlab.viz.slide.font_for_slide`
of 860 x 484 pixels is 11.6), the standard's 18 and a little to spare."""

SLIDE_CANVAS = (860, 484)
"""The largest canvas, width and height in pixels (16:9), of a picture whose text is :data:`SLIDE_FONT`."""


@dataclass(frozen=True)
class Grid:
    """Tiles in a grid, filled row by row, so that a caller (or a test) can count them.

    Attributes:
        name: what the tiles are of (a layer).
        rows, cols: the grid.
        tiles: how many tiles it holds (the last row may be short).
        shape: the shape of what was tiled: ``(C, H, W)`` feature maps, ``(C_out, C_in, kH, kW)`` kernels,
            ``(N,)`` for N pictures.
        bars: the "tiles" are single values (maps of 1x1) drawn as a bar chart, a bar per channel in
            one row, instead of a grid of one-pixel squares.
    """

    name: str
    rows: int
    cols: int
    tiles: int
    shape: tuple[int, ...] = ()
    bars: bool = False

    @property
    def shape_text(self) -> str:
        """``6x28x28``."""
        return "x".join(map(str, self.shape))


class Picture(Figure):
    """A matplotlib ``Figure`` that Jupyter shows as a PNG, and the grids of tiles drawn in it.

    Attributes:
        grids: one :class:`Grid` per grid of tiles (feature maps, filters), in drawing order.
        about: what the picture shows, in a line.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grids: list[Grid] = []
        self.about = ""  # what the picture shows, in a line (for a caption or a command's output)
        self.panels: list[Any] = []  # the grids' drawings, to draw again one at a time (viz.feature_maps)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, as a PNG of it has."""
        width, height = self.get_size_inches() * DPI
        return round(width), round(height)

    def _repr_png_(self) -> bytes:
        return png_bytes(self)

    def save(self, out: str | Path) -> Path:
        """Write the picture to ``out`` (PNG or SVG, by the suffix); see :func:`save`."""
        return save(self, out)


def new_picture(width: float, height: float) -> Picture:
    """An empty picture of ``width x height`` pixels."""
    return Picture(figsize=(width / DPI, height / DPI), dpi=DPI)


def _format(out: Path) -> str:
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"pictures are written as {' or '.join(FORMATS)}, not {out.name!r}")
    return suffix


def _write(figure: Figure, target: Any, fmt: str) -> None:
    import matplotlib

    # No "Software"/"Creator" text: a report that inlines the picture then holds no web address at all.
    metadata = {"Software": None} if fmt == "png" else {"Creator": None}
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(target, format=fmt, dpi=DPI, metadata=metadata)


def save(figure: Figure, out: str | Path) -> Path:
    """Write ``figure`` to ``out`` (PNG or SVG, by the suffix) atomically; returns ``out``.

    Raises:
        ValueError: another suffix.
    """
    out = path_setting("out", out).expanduser()
    fmt = _format(out)
    with atomic_output(out) as temporary:
        _write(figure, temporary, fmt)
    return out


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (for Jupyter, and for pages that inline their pictures)."""
    buffer = io.BytesIO()
    _write(figure, buffer, "png")
    return buffer.getvalue()


def wrap(text: str, width_px: int, fontsize: float = 10) -> str:
    """Break each line of ``text`` so that it fits ``width_px`` pixels at ``fontsize`` points."""
    chars = max(20, int(width_px / (0.62 * fontsize * DPI / 72)))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def grid_shape(count: int, tile_aspect: float = 1.0) -> tuple[int, int]:
    """``(rows, cols)`` for ``count`` tiles of height/width ``tile_aspect``, as near a square as can be."""
    cols = max(1, math.ceil(math.sqrt(count * tile_aspect)))
    cols = min(cols, count) if count else 1
    return max(1, math.ceil(count / cols)), cols


def mosaic(
    tiles: np.ndarray, cols: int, fill: float = np.nan, *, min_side: int = 16, gap: float = 1 / 12
) -> np.ndarray:
    """Tiles ``(N, h, w)`` or ``(N, h, w, 3)`` laid out row by row, with thin lines of ``fill`` between them.

    Small tiles are first enlarged by repeating each pixel until they are ``min_side`` pixels or more (a 5x5
    kernel becomes 20x20), so that the lines between tiles, ``gap`` of a tile's side (at least one pixel), stay
    thin next to them.
    """
    repeat = _repeat(tiles.shape[1:3], min_side)
    if repeat > 1:
        tiles = tiles.repeat(repeat, axis=1).repeat(repeat, axis=2)
    count, height, width = tiles.shape[:3]
    line = _gap(height, width, gap)
    shape = mosaic_shape(count, tiles.shape[1:3], cols, min_side=1, gap=gap)
    canvas = np.full((*shape, *tiles.shape[3:]), fill, dtype=np.float32)
    for index in range(count):
        row, col = divmod(index, cols)
        top, left = row * (height + line), col * (width + line)
        canvas[top : top + height, left : left + width] = tiles[index]
    return canvas


def _repeat(tile_hw: tuple[int, int], min_side: int) -> int:
    """How many times :func:`mosaic` repeats each pixel of a tile this size (so that it reaches ``min_side``)."""
    return max(1, -(-min_side // max(tile_hw)))  # ceil(min_side / side)


def _gap(height: int, width: int, gap: float) -> int:
    return max(1, round(max(height, width) * gap))


def mosaic_shape(
    count: int, tile_hw: tuple[int, int], cols: int, *, min_side: int = 16, gap: float = 1 / 12
) -> tuple[int, int]:
    """``(height, width)`` of :func:`mosaic`'s canvas for ``count`` tiles of ``tile_hw`` in ``cols`` columns."""
    repeat = _repeat(tile_hw, min_side)
    height, width = tile_hw[0] * repeat, tile_hw[1] * repeat
    line = _gap(height, width, gap)
    rows = max(1, math.ceil(count / cols))
    return rows * height + (rows - 1) * line, cols * width + (cols - 1) * line
