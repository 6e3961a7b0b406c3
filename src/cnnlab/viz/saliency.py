"""A saliency map beside its input: the image, the map, the map over the image, and the random-weights twin.

The map's colours say what its values are: a sequential scale (``inferno``, dark to bright) for maps that are
never negative (the gradient's size, Grad-CAM after its ReLU), and a diverging one centred on zero (``RdBu_r``:
red where hiding a part lowered the class's probability, blue where it raised it) for occlusion. The twin's row
shows the same method on the same architecture with random weights (Adebayo et al. 2018) and, beside it, every
pixel's rank in the two maps against each other: a cloud with no direction is a map that depends on what the
network learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.viz.figure import Grid, Picture, new_picture, wrap

__all__ = ["MapPanel", "colour_scale", "plot_saliency"]

_PANEL = 300  # pixels a side of each image panel
_GAP = 90  # pixels between panels, and around them (a colour bar and its numbers fit in one)
_TITLE = 56  # pixels above each row for the panels' titles
_HEADER = 50  # pixels above everything for the picture's title
_LABELS = 50  # pixels under the second row for the rank plot's axis label
_FOOTER = 60  # pixels below everything for the caption
_FONT = 15  # points: the panels' titles
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


def _map_axes(figure: Picture, row_bottom: float, column: int, width: float, height: float) -> object:
    left = (_GAP + column * (_PANEL + _GAP)) / width
    return figure.add_axes((left, row_bottom / height, _PANEL / width, _PANEL / height))


def _draw_row(figure: Picture, image: np.ndarray, panel: MapPanel, row_bottom: float, size: tuple[float, float],
              first: object | None) -> None:  # fmt: skip
    width, height = size
    cmap, low, high = colour_scale(panel.map, panel.signed)
    if first is not None:
        axis = _map_axes(figure, row_bottom, 0, width, height)
        _show_input(axis, image)
        axis.set_title(first, fontsize=_FONT)
    axis = _map_axes(figure, row_bottom, 1, width, height)
    shown = axis.imshow(panel.map, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    axis.set_axis_off()
    axis.set_title(panel.title, fontsize=_FONT)
    left = (_GAP + _PANEL + _GAP) / width + _PANEL / width
    bar_axis = figure.add_axes((left + 8 / width, row_bottom / height, 12 / width, _PANEL / height))
    bar = figure.colorbar(shown, cax=bar_axis)  # its own axes: the map stays as large as the input beside it
    bar.ax.tick_params(labelsize=12)
    axis = _map_axes(figure, row_bottom, 2, width, height)
    axis.imshow(_gray(image), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axis.imshow(panel.map, cmap=cmap, vmin=low, vmax=high, alpha=_OVERLAY_ALPHA, interpolation="bilinear")
    axis.set_axis_off()
    axis.set_title(panel.overlay_title, fontsize=_FONT)


def _draw_ranks(figure: Picture, trained: np.ndarray, random: np.ndarray, title: str, row_bottom: float,
                size: tuple[float, float]) -> None:  # fmt: skip
    width, height = size
    axis = figure.add_axes((_GAP / width, row_bottom / height, _PANEL / width, _PANEL / height))
    axis.scatter(_rank(trained), _rank(random), s=4, alpha=0.35, color="#1f5fa8", linewidths=0, rasterized=True)
    axis.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
    axis.set_xlabel("rank, trained map", fontsize=12)
    axis.set_ylabel("rank, random map", fontsize=12)
    axis.tick_params(labelsize=11)
    axis.set_title(title, fontsize=_FONT)


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
    each other, the twin's map and its overlay.

    ``image`` is ``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8. ``picture.grids`` names each row (``trained``,
    ``random``) with the map's shape.
    """
    rows = 1 if twin is None else 2
    width = 3 * _PANEL + 4 * _GAP + 40
    height = _HEADER + rows * (_PANEL + _TITLE) + (_LABELS if twin is not None else 0) + _FOOTER
    figure = new_picture(width, height)
    size = (width, height)
    top_row = height - _HEADER - _TITLE - _PANEL
    _draw_row(figure, image, panel, top_row, size, first=input_title)
    shape = tuple(panel.map.shape)
    figure.grids = [Grid("trained", 1, 3, 3, shape)]
    if twin is not None:
        bottom_row = top_row - _TITLE - _PANEL
        _draw_ranks(figure, panel.map, twin.map, ranks_title, bottom_row, size)
        _draw_row(figure, image, twin, bottom_row, size, first=None)
        figure.grids.append(Grid("random", 1, 3, 3, shape))
    figure.text(0.5, 1 - 12 / height, title, ha="center", va="top", fontsize=17, weight="bold")
    figure.text(0.5, 12 / height, wrap(caption, width - 40, 11), ha="center", va="bottom", fontsize=11, color="#333")
    return figure
