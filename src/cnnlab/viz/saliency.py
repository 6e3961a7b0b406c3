"""A saliency map beside its input: the image, the map, the map over the image, and the random-weights twin.

The map's colours say what its values are: a sequential scale (``inferno``, dark to bright) for maps that are
never negative (the gradient's size, Grad-CAM after its ReLU), and a diverging one centred on zero (``RdBu_r``:
red where hiding a part lowered the class's probability, blue where it raised it) for occlusion. The twin's row
shows the same method on the same architecture with random weights (Adebayo et al. 2018) and, beside it, every
pixel's rank in the two maps against each other: a cloud with no direction is a map that depends on what the
network learned.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

from cnnlab.viz.figure import DPI, SLIDE_CANVAS, SLIDE_FONT, Grid, Picture, new_picture

__all__ = ["MapPanel", "colour_scale", "plot_saliency"]

_PAD = 12  # pixels around everything
_LEFT = 76  # pixels left of the first column: the rank plot's numbers and label
_GAP = 70  # pixels between the input's column and the map's (their titles are wider than the panels)
_BAR = 86  # pixels between the map's column and the overlay's: the colour bar and its numbers
_LINE = round(SLIDE_FONT * DPI / 72 * 1.35)  # pixels per line of text
_CHAR = SLIDE_FONT * DPI / 72 * 0.6  # pixels per character, about
_TITLE = _LINE + 12  # pixels above each panel for its title
_LABELS = 2 * _LINE + 4  # pixels under the second row for the rank plot's numbers and axis label
_BIGGEST = 230  # pixels a side of a panel at most
_OVERLAY_ALPHA = 0.55


@dataclass(frozen=True)
class MapPanel:
    """One row of the picture: a map, what it is, and the class it explains.

    Attributes:
        map: ``(H, W)`` values.
        title: the map's panel title (what the values are).
        signed: the values may be negative (a diverging scale centred on zero).
        overlay_title: the overlay's panel title.
    """

    map: np.ndarray
    title: str
    signed: bool
    overlay_title: str


def colour_scale(values: np.ndarray, signed: bool) -> tuple[str, float, float]:
    """``(colour map, low, high)``: ``RdBu_r`` symmetric about zero for signed values, else ``inferno`` from 0."""
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    top = top if top > 0 else 1.0
    return ("RdBu_r", -top, top) if signed else ("inferno", 0.0, top)


def _show_input(axis: object, image: np.ndarray) -> None:
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    axis.set_axis_off()


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _rank(values: np.ndarray) -> np.ndarray:
    """Each value's rank from 0 to 1 (ties share their mean rank), as Spearman's correlation ranks them."""
    from scipy.stats import rankdata

    ranks = rankdata(values.ravel())
    return (ranks - 1) / max(1, ranks.size - 1)


@dataclass(frozen=True)
class _Layout:
    """The panels' side and where the columns and rows start, in pixels (rows from the bottom)."""

    panel: int
    width: int
    height: int
    columns: tuple[int, int, int]


def _layout(rows: int, heading: int, caption_lines: int) -> _Layout:
    """Panels as large as the slide-sized canvas allows for ``rows`` rows, ``heading`` title lines and the caption."""
    fixed = _PAD + heading * _LINE + rows * _TITLE + (_LABELS if rows == 2 else 0) + caption_lines * _LINE + 2 * _PAD
    fixed_width = _LEFT + _GAP + _BAR + _PAD
    panel = int(min((SLIDE_CANVAS[1] - fixed) / rows, (SLIDE_CANVAS[0] - fixed_width) / 3, _BIGGEST))
    first = _LEFT
    columns = (first, first + panel + _GAP, first + 2 * panel + _GAP + _BAR)
    return _Layout(panel, columns[2] + panel + _PAD, fixed + rows * panel, columns)


def _map_axes(figure: Picture, layout: _Layout, row_bottom: float, column: int) -> object:
    width, height = layout.width, layout.height
    return figure.add_axes(
        (layout.columns[column] / width, row_bottom / height, layout.panel / width, layout.panel / height)
    )


def _draw_row(figure: Picture, image: np.ndarray, panel: MapPanel, row_bottom: float, layout: _Layout,
              first: object | None) -> None:  # fmt: skip
    width, height = layout.width, layout.height
    from matplotlib.ticker import FuncFormatter

    cmap, low, high = colour_scale(panel.map, panel.signed)
    if first is not None:
        axis = _map_axes(figure, layout, row_bottom, 0)
        _show_input(axis, image)
        axis.set_title(first, fontsize=SLIDE_FONT)
    axis = _map_axes(figure, layout, row_bottom, 1)
    shown = axis.imshow(panel.map, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    axis.set_axis_off()
    axis.set_title(panel.title, fontsize=SLIDE_FONT)
    left = (layout.columns[1] + layout.panel + 6) / width
    bar_axis = figure.add_axes((left, row_bottom / height, 10 / width, layout.panel / height))
    bar = figure.colorbar(shown, cax=bar_axis)  # its own axes: the map stays as large as the input beside it
    bar.ax.tick_params(labelsize=SLIDE_FONT)
    bar.ax.locator_params(nbins=4)
    # numbers as they are (2e-05), not over a shared "1e-5" that would sit on the panel title above the bar
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
    axis = _map_axes(figure, layout, row_bottom, 2)
    axis.imshow(_gray(image), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axis.imshow(panel.map, cmap=cmap, vmin=low, vmax=high, alpha=_OVERLAY_ALPHA, interpolation="bilinear")
    axis.set_axis_off()
    axis.set_title(panel.overlay_title, fontsize=SLIDE_FONT)


def _draw_ranks(figure: Picture, trained: np.ndarray, random: np.ndarray, title: str, row_bottom: float,
                layout: _Layout) -> None:  # fmt: skip
    axis = _map_axes(figure, layout, row_bottom, 0)
    axis.scatter(_rank(trained), _rank(random), s=4, alpha=0.35, color="#1f5fa8", linewidths=0, rasterized=True)
    axis.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xticks=[0, 0.5, 1], yticks=[0, 0.5, 1])
    axis.set_xticklabels(["0", "0.5", "1"])
    axis.set_yticklabels(["0", "0.5", "1"])
    axis.set_xlabel("rank, trained map", fontsize=SLIDE_FONT)
    axis.set_ylabel("rank, random", fontsize=SLIDE_FONT)
    axis.tick_params(labelsize=SLIDE_FONT)
    axis.set_title(title, fontsize=SLIDE_FONT)


def plot_saliency(
    image: np.ndarray,
    panel: MapPanel,
    *,
    input_title: str,
    title: str,
    caption: str,
    twin: MapPanel | None = None,
    ranks_title: str = "",
) -> Picture:
    """Input, map and overlay in a row; with ``twin``, a second row: the pixels' ranks in the two maps against
    each other, the twin's map and its overlay. ``title`` above (none if empty), ``caption`` below.

    ``image`` is ``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8. ``picture.grids`` names each row (``trained``,
    ``random``) with the map's shape. The picture fits :data:`~cnnlab.viz.figure.SLIDE_CANVAS` with text of
    :data:`~cnnlab.viz.figure.SLIDE_FONT`: 18 points or more on a 16:9 slide.
    """
    rows = 1 if twin is None else 2
    chars = int((SLIDE_CANVAS[0] - 2 * _PAD) / _CHAR)
    heading = textwrap.wrap(title, chars) if title else []
    words = textwrap.wrap(caption, chars) if caption else []
    layout = _layout(rows, len(heading), len(words))
    if words:  # the caption rewrapped to the picture's own width
        words = textwrap.wrap(caption, int((layout.width - 2 * _PAD) / _CHAR))
        layout = _layout(rows, len(heading), len(words))
    figure = new_picture(layout.width, layout.height)
    top_row = layout.height - _PAD - len(heading) * _LINE - _TITLE - layout.panel
    _draw_row(figure, image, panel, top_row, layout, first=input_title)
    shape = tuple(panel.map.shape)
    figure.grids = [Grid("trained", 1, 3, 3, shape)]
    if twin is not None:
        bottom_row = top_row - _TITLE - layout.panel
        _draw_ranks(figure, panel.map, twin.map, ranks_title, bottom_row, layout)
        _draw_row(figure, image, twin, bottom_row, layout, first=None)
        figure.grids.append(Grid("random", 1, 3, 3, shape))
    if heading:
        figure.text(0.5, 1 - _PAD / layout.height, "\n".join(heading), ha="center", va="top", fontsize=SLIDE_FONT,
                    weight="bold")  # fmt: skip
    if words:
        figure.text(0.5, _PAD / layout.height, "\n".join(words), ha="center", va="bottom", fontsize=SLIDE_FONT,
                    color="#333")  # fmt: skip
    return figure
