"""A gallery of images with a caption each: the test images a model gets most wrong, or a few samples.

Laid out in ems of its one font (13 points) so that a gallery of up to three rows fits a 16:9 slide with its
text at 18 points or more (:mod:`cnnlab.viz.slide`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from cnnlab.viz.figure import DPI, Grid, Picture, new_picture

__all__ = ["plot_examples"]

_FONT = 13.0  # points
_SLIDE_EMS = (960 / 18, 540 / 18)  # a 16:9 slide, in ems of 18-point text
_LINE = 1.3  # ems per line of caption
_TITLE = 2.2  # ems at the top for the title
_IMAGE = (4.0, 9.0)  # the smallest and largest side of an image, in ems


def _image_ems(rows: int, cols: int, lines: int, titled: bool) -> float:
    """The side of an image that fills a slide with ``rows`` x ``cols`` captioned images, within :data:`_IMAGE`."""
    tall = (_SLIDE_EMS[1] - (_TITLE if titled else 0.6)) / rows - lines * _LINE - 1.0
    wide = (_SLIDE_EMS[0] - 1.0) / cols - 1.0
    return min(max(_IMAGE[0], min(tall, wide)), _IMAGE[1])


def plot_examples(images: Sequence[np.ndarray], captions: Sequence[str], *, title: str, cols: int = 6) -> Picture:
    """Draw ``images`` (each ``(H, W)`` gray or ``(H, W, 3)`` RGB, values 0..1) in a grid, captions below;
    ``title`` above (none if empty).

    Raises:
        ValueError: no images, or not one caption per image.
    """
    if not images or len(images) != len(captions):
        raise ValueError(f"expected one caption per image, got {len(images)} images and {len(captions)} captions")
    count = len(images)
    cols = min(cols, count)
    rows = -(-count // cols)
    em = _FONT * DPI / 72
    chars = max(8, int(((_SLIDE_EMS[0] - 1.0) / cols - 0.6) / 0.6))
    captions = ["\n".join(textwrap.fill(line, chars) for line in caption.splitlines()) for caption in captions]
    lines = max(caption.count("\n") + 1 for caption in captions)
    side = _image_ems(rows, cols, lines, bool(title))
    caption_width = max(len(line) for caption in captions for line in caption.splitlines()) * 0.6 + 0.6
    tile_width, tile_height = max(side + 1.0, caption_width) * em, (side + lines * _LINE + 1.0) * em
    top = (_TITLE if title else 0.6) * em
    width, height = round(cols * tile_width + em), round(rows * tile_height + top)
    figure = new_picture(width, height)
    for index, (image, caption) in enumerate(zip(images, captions, strict=True)):
        row, col = divmod(index, cols)
        centre = 0.5 * em + (col + 0.5) * tile_width
        bottom = height - top - row * tile_height - side * em
        axis = figure.add_axes(
            ((centre - side * em / 2) / width, bottom / height, side * em / width, side * em / height)
        )
        pixels = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        axis.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        axis.set_axis_off()
        figure.text(centre / width, (bottom - 0.3 * em) / height, caption, ha="center", va="top", fontsize=_FONT,
                    linespacing=1.1)  # fmt: skip
    if title:
        figure.text(0.5, 1 - 0.4 * em / height, title, ha="center", va="top", fontsize=_FONT * 1.1)
    figure.grids = [Grid(title, rows, cols, count, (count,))]
    return figure
