"""The input region one unit of a feature map sees, drawn on the image the network is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.viz.figure import Picture, new_picture, wrap

if TYPE_CHECKING:
    from cnnlab.inspection.feature_maps import FieldBox

__all__ = ["plot_receptive_field"]

SIZE = (640, 720)
"""Width and height of the picture in pixels."""


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


def plot_receptive_field(image: np.ndarray, box: FieldBox, *, title: str, caption: str = "") -> Picture:
    """Draw ``box`` on ``image`` (``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8 or 0..1 floats).

    The part of the field inside the image is framed in a solid line and the rest of the image dimmed;
    where the field reaches past the image (into the zero padding the network adds), the axes grow to
    show the whole field as a dashed frame over a hatched band. A dot marks the field's centre.
    """
    from matplotlib.patches import Rectangle

    height, width = image.shape[:2]
    figure = new_picture(*SIZE)
    axis = figure.add_axes((0.1, 0.07, 0.86, 0.75))
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # pixel j covers j - 0.5 .. j + 0.5
    axis.imshow(image, cmap="gray" if image.ndim == 2 else None, extent=extent, interpolation="nearest")
    top, left, bottom, right = box.clipped
    inside = (left - 0.5, top - 0.5, right - left + 1, bottom - top + 1)
    _dim_outside(axis, inside, height, width)
    if box.extends_past_input:
        full = (box.left - 0.5, box.top - 0.5, box.right - box.left + 1, box.bottom - box.top + 1)
        _show_padding(axis, full, height, width)
    # the part inside the image last, so that it shows where it runs along the dashed whole
    axis.add_patch(Rectangle(inside[:2], inside[2], inside[3], fill=False, edgecolor="#ff3b30", linewidth=2.5))
    axis.plot([box.centre[1]], [box.centre[0]], "o", color="#ff3b30", markersize=5)
    axis.set(xlabel="input column (pixels)", ylabel="input row (pixels)")
    text = wrap(f"{title}\n{caption}" if caption else title, SIZE[0] - 20)
    figure.text(0.5, 1 - 10 / SIZE[1], text, ha="center", va="top", fontsize=10)
    return figure
