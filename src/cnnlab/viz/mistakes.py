"""The images a model gets most wrong, each beside a saliency map of the class it chose: why a 4 was read as a 9.

Every tile is a pair: the image as the network saw it, and the same image in gray under the map. All the maps
share one colour scale (:func:`cnnlab.viz.saliency.colour_scale`: diverging and centred on zero for a signed map
such as occlusion's, sequential from zero otherwise), so a faint map is a weak one, not one stretched to look
strong; the colour bar under the tiles says what the values are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from cnnlab.viz.figure import Grid, Picture, new_picture
from cnnlab.viz.saliency import colour_scale

__all__ = ["plot_mistake_maps"]

_PANEL = 120  # pixels a side of the image and of its map
_INNER = 8  # pixels between the image and its map
_PAIR = 2 * _PANEL + _INNER + 36  # one tile's width, margins included
_CAPTION = 62  # pixels under each pair: three lines of caption
_ROW = _PANEL + _CAPTION + 14
_TITLE = 48
_BAR = 86  # pixels at the bottom for the colour bar, its ticks and its label
_OVERLAY_ALPHA = 0.6


def _gray(image: np.ndarray) -> np.ndarray:
    pixels = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    return pixels if pixels.ndim == 2 else pixels[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)


def plot_mistake_maps(
    images: Sequence[np.ndarray],
    maps: Sequence[np.ndarray],
    captions: Sequence[str],
    *,
    title: str,
    scale_label: str,
    signed: bool,
    cols: int = 4,
) -> Picture:
    """Each image (``(H, W)`` gray or ``(H, W, 3)`` RGB, values 0..1) beside its map (``(H, W)``) drawn over it
    in gray, a caption under each pair, one colour scale for all the maps with ``scale_label`` under it.

    Raises:
        ValueError: no images, or not one map and one caption per image, or a map not the image's size.
    """
    count = len(images)
    if not count or len(maps) != count or len(captions) != count:
        raise ValueError(f"expected one map and one caption per image, got {count} images, {len(maps)} maps and "
                         f"{len(captions)} captions")  # fmt: skip
    for image, values in zip(images, maps, strict=True):
        if np.shape(values) != np.shape(image)[:2]:
            raise ValueError(f"a map of {np.shape(values)} for an image of {np.shape(image)[:2]}")
    cols = min(cols, count)
    rows = -(-count // cols)
    width, height = cols * _PAIR + 20, rows * _ROW + _TITLE + _BAR
    figure = new_picture(width, height)
    cmap, low, high = colour_scale(np.stack([np.asarray(m, dtype=np.float32) for m in maps]), signed)
    for index, (image, values, caption) in enumerate(zip(images, maps, captions, strict=True)):
        row, col = divmod(index, cols)
        left = 10 + col * _PAIR + 18
        bottom = height - _TITLE - row * _ROW - _PANEL - 4
        pixels = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        axis = figure.add_axes((left / width, bottom / height, _PANEL / width, _PANEL / height))
        axis.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        axis.set_axis_off()
        axis = figure.add_axes(((left + _PANEL + _INNER) / width, bottom / height, _PANEL / width, _PANEL / height))
        axis.imshow(_gray(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.imshow(values, cmap=cmap, vmin=low, vmax=high, alpha=_OVERLAY_ALPHA, interpolation="bilinear")
        axis.set_axis_off()
        figure.text((left + _PANEL + _INNER / 2) / width, (bottom - 6) / height, caption, ha="center", va="top",
                    fontsize=8.5)  # fmt: skip
    # The bar gets colours of its own, without the overlay's transparency (which would pale them).
    scale = ScalarMappable(Normalize(low, high), cmap)
    bar = figure.add_axes((0.25, 54 / height, 0.5, 12 / height))
    figure.colorbar(scale, cax=bar, orientation="horizontal").ax.tick_params(labelsize=8)
    figure.text(0.5, 8 / height, scale_label, ha="center", va="bottom", fontsize=9, color="#333")
    figure.text(0.5, 1 - 10 / height, title, ha="center", va="top", fontsize=10)
    figure.grids = [Grid(title, rows, cols, count, (count,))]
    return figure
