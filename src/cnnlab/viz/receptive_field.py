"""The input region one unit of a feature map sees, drawn on the image the network is given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cnnlab.viz._figure import DPI, pyplot, save, wrap

if TYPE_CHECKING:
    from cnnlab.inspection.feature_maps import FieldBox

__all__ = ["plot_receptive_field"]

SIZE = (640, 720)
"""Width and height of the picture in pixels."""


def plot_receptive_field(image: np.ndarray, box: FieldBox, out: str | Path, *, title: str, caption: str = "") -> Path:
    """Draw ``box`` on ``image`` (``(H, W)`` gray or ``(H, W, 3)`` RGB, uint8 or 0..1 floats).

    The part of the field inside the image is framed in a solid line and the rest of the image dimmed;
    where the field reaches past the image (into the zero padding the network adds), the axes grow to
    show the whole field as a dashed frame over a hatched band. A dot marks the field's centre.
    """
    from matplotlib.patches import Rectangle

    plt = pyplot()
    height, width = image.shape[:2]
    figure = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    axis = figure.add_axes((0.1, 0.07, 0.86, 0.75))
    gray = image.ndim == 2
    axis.imshow(
        image, cmap="gray" if gray else None, extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest"
    )
    full = (box.left - 0.5, box.top - 0.5, box.right - box.left + 1, box.bottom - box.top + 1)
    top, left, bottom, right = box.clipped
    inside = (left - 0.5, top - 0.5, right - left + 1, bottom - top + 1)
    # Dim everything outside the field with four bands around it.
    shade = {"color": "#1c2a4a", "alpha": 0.6, "linewidth": 0}  # dims a photo, tints a black background
    for x, y, w, h in (
        (-0.5, -0.5, width, inside[1] + 0.5),
        (-0.5, inside[1] + inside[3], width, height - 0.5 - inside[1] - inside[3]),
        (-0.5, inside[1], inside[0] + 0.5, inside[3]),
        (inside[0] + inside[2], inside[1], width - 0.5 - inside[0] - inside[2], inside[3]),
    ):
        if w > 0 and h > 0:
            axis.add_patch(Rectangle((x, y), w, h, **shade))
    axis.add_patch(Rectangle(inside[:2], inside[2], inside[3], fill=False, edgecolor="#ff3b30", linewidth=2.5))
    if box.extends_past_input:
        axis.add_patch(
            Rectangle(full[:2], full[2], full[3], fill=False, edgecolor="#ff9500", linewidth=1.5, linestyle="--")
        )
        margin = 0.02 * max(full[2], full[3], width, height)
        axis.set_xlim(min(full[0], -0.5) - margin, max(full[0] + full[2], width - 0.5) + margin)
        axis.set_ylim(max(full[1] + full[3], height - 0.5) + margin, min(full[1], -0.5) - margin)
        axis.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor="gray", linewidth=1))
        axis.set_facecolor("#eeeeee")
        axis.patch.set_hatch("//")
        axis.patch.set_edgecolor("#bbbbbb")
    axis.plot([box.centre[1]], [box.centre[0]], "o", color="#ff3b30", markersize=5)
    axis.set(xlabel="input column (pixels)", ylabel="input row (pixels)")
    text = wrap(f"{title}\n{caption}" if caption else title, SIZE[0] - 20)
    figure.text(0.5, 1 - 10 / SIZE[1], text, ha="center", va="top", fontsize=10)
    return save(figure, out)
