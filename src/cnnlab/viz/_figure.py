"""What every picture shares: matplotlib imported on first use, grids of tiles, saving with a known size."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DPI", "FORMATS", "GridPicture", "grid_shape", "mosaic", "pyplot", "save", "wrap"]

DPI = 100
"""Figures are laid out in pixels and saved at this resolution, so a PNG's size is the figure's size."""

FORMATS = ("png", "svg")


@dataclass(frozen=True)
class GridPicture:
    """A picture of tiles in a grid, and the grid, so that a caller (or a test) can count the tiles.

    Attributes:
        path: the file written.
        rows, cols: the grid; tiles fill it row by row.
        tiles: how many tiles it holds (the last row may be short).
        size: ``(width, height)`` of the picture in pixels (for PNG files).
    """

    path: Path
    rows: int
    cols: int
    tiles: int
    size: tuple[int, int]


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the file-only Agg backend (no display needed, none opened)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, out: str | Path) -> Path:
    """Write ``figure`` to ``out`` (PNG or SVG, by the suffix) and close it.

    The PNG carries no "Software" text: a report that inlines it then holds no web address at all.
    """
    out = Path(out)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"pictures are written as {' or '.join(FORMATS)}, not {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Software": None} if suffix == "png" else {"Creator": None}
    try:
        figure.savefig(out, dpi=DPI, metadata=metadata)
    finally:
        pyplot().close(figure)
    return out


def wrap(text: str, width_px: int, fontsize: float = 10) -> str:
    """Break each line of ``text`` so that it fits ``width_px`` pixels at ``fontsize`` points."""
    chars = max(20, int(width_px / (0.62 * fontsize * DPI / 72)))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def grid_shape(count: int, tile_aspect: float = 1.0) -> tuple[int, int]:
    """``(rows, cols)`` for ``count`` tiles of height/width ``tile_aspect``, as near a square as can be."""
    cols = max(1, math.ceil(math.sqrt(count * tile_aspect)))
    cols = min(cols, count) if count else 1
    return max(1, math.ceil(count / cols)), cols


def mosaic(tiles: np.ndarray, cols: int, fill: float = np.nan) -> np.ndarray:
    """Tiles ``(N, h, w)`` or ``(N, h, w, 3)`` laid out row by row, with thin lines of ``fill`` between them.

    Small tiles are first enlarged by repeating each pixel (a 5x5 kernel becomes 20x20), so that the
    lines between tiles stay thin next to them.
    """
    side = max(tiles.shape[1:3])
    repeat = -(-16 // side)  # ceil(16 / side)
    if repeat > 1:
        tiles = tiles.repeat(repeat, axis=1).repeat(repeat, axis=2)
    count, height, width = tiles.shape[:3]
    gap = max(1, round(max(height, width) / 12))
    rows = max(1, math.ceil(count / cols))
    shape = (rows * height + (rows - 1) * gap, cols * width + (cols - 1) * gap, *tiles.shape[3:])
    canvas = np.full(shape, fill, dtype=np.float32)
    for index in range(count):
        row, col = divmod(index, cols)
        top, left = row * (height + gap), col * (width + gap)
        canvas[top : top + height, left : left + width] = tiles[index]
    return canvas
