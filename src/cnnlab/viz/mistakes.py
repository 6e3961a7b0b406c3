"""The images a model gets most wrong, each beside a saliency map of the class it chose: why a 4 was read as a 9.

Every tile is a pair: the image as the network saw it, and the same image in gray under the map. All the maps
share one colour scale (:func:`cnnlab.viz.saliency.colour_scale`: diverging and centred on zero for a signed map
such as occlusion's, sequential from zero otherwise), so a faint map is a weak one, not one stretched to look
strong; the colour bar under the tiles says what the values are.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from cnnlab.viz.figure import DPI, Grid, Picture, new_picture
from cnnlab.viz.saliency import colour_scale

__all__ = ["plot_mistake_maps"]

# Laid out in ems of the one font, so that the whole fits a 16:9 slide with its text at 18 points: a slide is
# 30 lines of 18-point text high and 53 wide, so up to 3 rows of pairs (12 images in 4 columns) fit it.
_FONT = 13.0  # points; with the canvas at most 30 x 53 ems, 18 points or more on a slide
_SLIDE_EMS = (960 / 18, 540 / 18)  # a 16:9 slide, in ems of 18-point text
_INNER = 0.4  # ems between the image and its map
_GAP = 2.4  # ems between pairs, so that their captions stay apart
_LINE = 1.3  # ems per line of caption
_TITLE = 2.2  # ems at the top for the title
_PANEL = (3.5, 8.0)  # the smallest and largest side of an image, in ems
_OVERLAY_ALPHA = 0.6


def _wrapped(caption: str, chars: int) -> str:
    """Each line of ``caption`` broken to at most ``chars`` characters (a DejaVu character is about 0.6 em)."""
    return "\n".join(textwrap.fill(line, max(chars, 8)) for line in caption.splitlines())


def _panel_ems(rows: int, cols: int, lines: int, titled: bool) -> float:
    """The side of an image that fills a slide's height with ``rows`` rows and its width with ``cols`` pairs."""
    text = lines * _LINE + 1.1
    tall = (_SLIDE_EMS[1] - (_TITLE if titled else 0.6) - 5.0) / rows - text  # 5 ems: the colour bar's band
    wide = (_SLIDE_EMS[0] - 1.0) / cols - _GAP
    return min(max(_PANEL[0], min(tall, (wide - _INNER) / 2)), _PANEL[1])


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

    Laid out for a slide: the text is 13 points and the images as large as lets up to three rows of ``cols``
    pairs fit a 16:9 slide with that text at 18 points or more (more rows make a taller picture, whose text is
    smaller on a slide). Captions and the label are wrapped to their column.

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
    em = _FONT * DPI / 72
    chars = int(((_SLIDE_EMS[0] - 1.0) / cols - 0.4) / 0.6)
    captions = [_wrapped(caption, chars) for caption in captions]
    lines = max(caption.count("\n") + 1 for caption in captions)
    panel = _panel_ems(rows, cols, lines, bool(title)) * em
    inner, pair = _INNER * em, (2 * _panel_ems(rows, cols, lines, bool(title)) + _INNER + _GAP) * em
    row_height = panel + (lines * _LINE + 1.1) * em
    # The label may be wider than the pairs, up to the slide's width; longer, it wraps.
    label = _wrapped(scale_label, int((_SLIDE_EMS[0] - 2) / 0.6))
    label_width = max(len(line) for line in label.splitlines()) * 0.6 * em + 2 * em
    bar_at = 0.4 + (label.count("\n") + 1) * _LINE + 1.6  # ems: the label's lines, then the ticks, then the bar
    top, bottom_band = (_TITLE if title else 0.6) * em, (bar_at + 1.2) * em
    width, height = round(max(cols * pair + em, label_width)), round(rows * row_height + top + bottom_band)
    margin = (width - cols * pair) / 2  # the pairs centred under a label wider than they are
    figure = new_picture(width, height)
    cmap, low, high = colour_scale(np.stack([np.asarray(m, dtype=np.float32) for m in maps]), signed)
    for index, (image, values, caption) in enumerate(zip(images, maps, captions, strict=True)):
        row, col = divmod(index, cols)
        left = margin + col * pair + _GAP * em / 2
        bottom = height - top - row * row_height - panel
        pixels = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        axis = figure.add_axes((left / width, bottom / height, panel / width, panel / height))
        axis.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        axis.set_axis_off()
        axis = figure.add_axes(((left + panel + inner) / width, bottom / height, panel / width, panel / height))
        axis.imshow(_gray(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axis.imshow(values, cmap=cmap, vmin=low, vmax=high, alpha=_OVERLAY_ALPHA, interpolation="bilinear")
        axis.set_axis_off()
        figure.text((left + panel + inner / 2) / width, (bottom - 0.3 * em) / height, caption, ha="center",
                    va="top", fontsize=_FONT, linespacing=1.1)  # fmt: skip
    # The bar gets colours of its own, without the overlay's transparency (which would pale them).
    scale = ScalarMappable(Normalize(low, high), cmap)
    bar = figure.add_axes((0.25, bar_at * em / height, 0.5, 0.6 * em / height))
    figure.colorbar(scale, cax=bar, orientation="horizontal", ticks=MaxNLocator(5)).ax.tick_params(labelsize=_FONT)
    figure.text(0.5, 0.4 * em / height, label, ha="center", va="bottom", fontsize=_FONT, color="#333", linespacing=1.1)
    if title:
        figure.text(0.5, 1 - 0.4 * em / height, title, ha="center", va="top", fontsize=_FONT * 1.1)
    figure.grids = [Grid(title, rows, cols, count, (count,))]
    return figure
