"""How the blocks style draws one box: stacked sheets, a cuboid or a bar (sizes in points).

LeNet-5's Figure 2 draws each layer of feature maps as a stack of sheets, one per map, so 6 maps and 16 maps look
different at a glance; :func:`shape_of` does so up to :data:`MAX_SHEETS` maps and draws a cuboid (its depth
growing with the log of the channels) beyond, where sheets would be a grey smear. A layer of units is a bar
whose height grows with the log of their number. The input's front sheet shows an image (a digit for LeNet-5).
Every sheet carries a gid (``sheet:C1:3``) so a test counts them in the SVG.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_SHEETS", "Shape", "draw_shape", "shape_of", "text_width"]

MAX_SHEETS = 16
"""Feature maps up to this many are drawn one sheet each."""


@dataclass(frozen=True)
class Shape:
    """A box's drawing: front face ``width x height``, the stack going back by ``depth_x, depth_y``.

    ``sheets`` is the number of sheets (0: a cuboid or a bar).
    """

    width: float
    height: float
    depth_x: float
    depth_y: float
    sheets: int = 0

    @property
    def extent(self) -> tuple[float, float]:
        return self.width + self.depth_x, self.height + self.depth_y


@functools.cache
def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in points of one line of ``text`` in matplotlib's font at ``size`` points."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, font, ismath=False)
    return float(width)


def shape_of(shape: tuple[int, ...], largest_side: int, largest_units: int, scale: float = 1.0) -> Shape:
    """The drawing of a ``(C, H, W)`` map or ``(N,)`` layer, ``scale`` times the usual size."""
    if len(shape) == 3 and shape[1] * shape[2] > 1:
        channels, height, width = shape
        side = 96 * scale

        def length(n: int) -> float:
            return 14 * scale + side * math.sqrt(n / largest_side)

        if channels <= MAX_SHEETS:
            step = min(7.0, 56.0 / max(channels, 1)) * scale
            return Shape(length(width), length(height), step * (channels - 1), step * 0.75 * (channels - 1),
                         channels)  # fmt: skip
        depth = (3 + 5.5 * math.log2(channels)) * scale
        return Shape(length(width), length(height), depth * 0.75, depth * 0.45)
    units = math.prod(shape)
    height = (30 + 76 * math.log10(units + 1) / math.log10(largest_units + 1)) * scale
    return Shape(12 * scale, height, 5 * scale, 3 * scale)


def draw_shape(axes: Any, left: float, bottom: float, shape: Shape, colour: str, gid: str,
               image: Any | None = None) -> None:  # fmt: skip
    """Draw ``shape`` with its front face's bottom-left corner at ``(left, bottom)``; ``image`` (an ``H x W`` or
    ``H x W x 3`` array) on the front face."""
    from matplotlib.patches import Polygon, Rectangle

    if shape.sheets:
        steps = max(shape.sheets - 1, 1)
        for index in reversed(range(shape.sheets)):  # the back sheet first, the front one last
            x = left + shape.depth_x * index / steps
            y = bottom + shape.depth_y * index / steps
            sheet = Rectangle((x, y), shape.width, shape.height, facecolor=colour, edgecolor="#333", linewidth=0.8)
            sheet.set_gid(f"sheet:{gid}:{index + 1}")
            axes.add_patch(sheet)
    else:
        _cuboid(axes, Polygon, Rectangle, left, bottom, shape, colour, gid)
    if image is not None:
        extent = (left, left + shape.width, bottom, bottom + shape.height)
        picture = axes.imshow(image, extent=extent, cmap="gray_r" if image.ndim == 2 else None,
                              interpolation="nearest", zorder=3)  # fmt: skip
        picture.set_gid(f"image:{gid}")
        frame = Rectangle((left, bottom), shape.width, shape.height, fill=False, edgecolor="#333", linewidth=0.8,
                          zorder=4)  # fmt: skip
        axes.add_patch(frame)
    axes.set_aspect("auto")


def _cuboid(axes: Any, polygon: Any, rectangle: Any, left: float, bottom: float, g: Shape, colour: str,
            gid: str) -> None:  # fmt: skip
    """A box seen from the front, a little from above and the right: front, top and side faces."""
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)

    def shade(factor: float) -> tuple[float, float, float]:
        return (red * factor, green * factor, blue * factor)

    right, top = left + g.width, bottom + g.height
    edge = {"edgecolor": "#333", "linewidth": 0.8}
    dx, dy = g.depth_x, g.depth_y
    top_face = polygon([(left, top), (left + dx, top + dy), (right + dx, top + dy), (right, top)],
                       facecolor=shade(0.92), **edge)  # fmt: skip
    side_face = polygon([(right, bottom), (right + dx, bottom + dy), (right + dx, top + dy), (right, top)],
                        facecolor=shade(0.8), **edge)  # fmt: skip
    front = rectangle((left, bottom), g.width, g.height, facecolor=colour, **edge)
    for patch, face in ((top_face, "top"), (side_face, "side"), (front, "front")):
        patch.set_gid(f"box:{gid}:{face}")
        axes.add_patch(patch)
