"""The input region one unit of a feature map sees, drawn on the image the network is given.

The picture is landscape, for a slide: the image on the left, what the field is (its size, rows and columns,
how far it reaches into the padding) written on the right, all in :data:`~cnnlab.viz.figure.SLIDE_FONT` within
:data:`~cnnlab.viz.figure.SLIDE_CANVAS`, so that the smallest text is 18 points or more on a 16:9 slide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.viz.figure import DPI, SLIDE_CANVAS, SLIDE_FONT, Picture, new_picture

if TYPE_CHECKING:
    from cnnlab.inspection.feature_maps import FieldBox

__all__ = ["plot_receptive_field"]

_PAD = 12  # pixels around everything
_AXIS_LEFT, _AXIS_BOTTOM = 80, 56  # pixels for the row axis's numbers and label; the column axis's
_LINE = round(SLIDE_FONT * DPI / 72 * 1.35)  # pixels per line of text
_CHAR = SLIDE_FONT * DPI / 72 * 0.6  # pixels per character, about
_NOTES = 34  # characters per line of the notes beside the image


def _dim_outside(axis: Any, inside: tuple[float, float, float, float], height: int, width: int) -> None:
    """Dim the image around the rectangle ``inside`` (x, y, w, h) with four bands."""
    from matplotlib.patches import Rectangle

    x, y, w, h = inside
    shade = {"color": "#1c2a4a", "alpha": 0.6, "linewidth": 0}  # dims a photo, tints a black background
    for bx, by, bw, bh in (
        (-0.5, -0.5, width, y + 0.5),
        (-0.5, y + h, width, height - 0.5 - y - h),
        (-0.5, y, x + 0.5, h),
        (x + w, y, width - 0.5 - x - w, h),
    ):
        if bw > 0 and bh > 0:
            axis.add_patch(Rectangle((bx, by), bw, bh, **shade))


def _show_padding(axis: Any, full: tuple[float, float, float, float], height: int, width: int) -> None:
    """Grow the axes to the whole field ``full`` (x, y, w, h), dashed, over a hatched band: the padding."""
    from matplotlib.patches import Rectangle

    x, y, w, h = full
    axis.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="#ff9500", linewidth=1.5, linestyle="--"))
    margin = 0.02 * max(w, h, width, height)
    axis.set_xlim(min(x, -0.5) - margin, max(x + w, width - 0.5) + margin)
    axis.set_ylim(max(y + h, height - 0.5) + margin, min(y, -0.5) - margin)
    axis.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor="gray", linewidth=1))
    axis.set_facecolor("#eeeeee")
    axis.patch.set_hatch("//")
    axis.patch.set_edgecolor("#bbbbbb")


def _wrapped(text: str, chars: int) -> list[str]:
    import textwrap

    return [part for line in text.splitlines() for part in (textwrap.wrap(line, chars) or [""])]


def plot_receptive_field(image: np.ndarray, box: FieldBox, *, title: str, caption: str = "") -> Picture:
    """Draw ``box`` on ``image`` (``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8 or 0..1 floats), ``title`` above it
    (none if empty) and ``caption`` beside it, on the right.

    The part of the field inside the image is framed in a solid line and the rest of the image dimmed;
    where the field reaches past the image (into the zero padding the network adds), the axes grow to
    show the whole field as a dashed frame over a hatched band. A dot marks the field's centre.
    """
    from matplotlib.patches import Rectangle

    notes = _wrapped(caption, _NOTES)
    heading = _wrapped(title, int((SLIDE_CANVAS[0] - 2 * _PAD) / _CHAR)) if title else []
    top = _PAD + len(heading) * _LINE + (_PAD if heading else 0)
    side = SLIDE_CANVAS[1] - top - _AXIS_BOTTOM
    notes_width = round(max(map(len, notes), default=0) * _CHAR)
    width = _AXIS_LEFT + side + (2 * _PAD + notes_width if notes else 0) + _PAD
    width = max(width, round(max(map(len, heading), default=0) * _CHAR) + 2 * _PAD)
    size = (width, SLIDE_CANVAS[1])
    figure = new_picture(*size)
    axis = figure.add_axes((_AXIS_LEFT / width, _AXIS_BOTTOM / size[1], side / width, side / size[1]))
    height, width_px = image.shape[:2]
    extent = (-0.5, width_px - 0.5, height - 0.5, -0.5)  # pixel j covers j - 0.5 .. j + 0.5
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, extent=extent, interpolation="nearest")
    top_px, left, bottom, right = box.clipped
    inside = (left - 0.5, top_px - 0.5, right - left + 1, bottom - top_px + 1)
    _dim_outside(axis, inside, height, width_px)
    if box.extends_past_input:
        full = (box.left - 0.5, box.top - 0.5, box.right - box.left + 1, box.bottom - box.top + 1)
        _show_padding(axis, full, height, width_px)
    # the part inside the image last, so that it shows where it runs along the dashed whole
    axis.add_patch(Rectangle(inside[:2], inside[2], inside[3], fill=False, edgecolor="#ff3b30", linewidth=2.5))
    axis.plot([box.centre[1]], [box.centre[0]], "o", color="#ff3b30", markersize=6)
    axis.set_xlabel("input column (pixels)", fontsize=SLIDE_FONT)
    axis.set_ylabel("input row (pixels)", fontsize=SLIDE_FONT)
    axis.tick_params(labelsize=SLIDE_FONT)
    axis.locator_params(nbins=5)
    if heading:
        figure.text(0.5, 1 - _PAD / size[1], "\n".join(heading), ha="center", va="top", fontsize=SLIDE_FONT)
    if notes:
        x = (_AXIS_LEFT + side + 2 * _PAD) / width
        figure.text(x, 1 - top / size[1], "\n".join(notes), ha="left", va="top", fontsize=SLIDE_FONT, linespacing=1.4)
    return figure
