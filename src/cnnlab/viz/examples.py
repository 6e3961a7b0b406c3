"""A gallery of images with a caption each: the test images a model gets most wrong, or a few samples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnlab.viz.figure import Grid, Picture, new_picture

__all__ = ["plot_examples"]

_TILE = (150, 196)  # width and height of one image with its caption, in pixels
_CAPTION = 62  # pixels under each image: three lines of caption
_TITLE = 48


def plot_examples(images: Sequence[np.ndarray], captions: Sequence[str], *, title: str, cols: int = 6) -> Picture:
    """Draw ``images`` (each ``(H, W)`` gray or ``(H, W, 3)`` RGB, values 0..1) in a grid, captions below.

    Raises:
        ValueError: no images, or not one caption per image.
    """
    if not images or len(images) != len(captions):
        raise ValueError(f"expected one caption per image, got {len(images)} images and {len(captions)} captions")
    count = len(images)
    cols = min(cols, count)
    rows = -(-count // cols)
    width, height = cols * _TILE[0] + 20, rows * _TILE[1] + _TITLE
    figure = new_picture(width, height)
    for index, (image, caption) in enumerate(zip(images, captions, strict=True)):
        row, col = divmod(index, cols)
        left = (10 + col * _TILE[0] + 10) / width
        bottom = (height - _TITLE - (row + 1) * _TILE[1] + _CAPTION) / height
        axis = figure.add_axes((left, bottom, (_TILE[0] - 20) / width, (_TILE[1] - _CAPTION - 6) / height))
        pixels = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        axis.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        axis.set_axis_off()
        axis.text(0.5, -0.04, caption, transform=axis.transAxes, ha="center", va="top", fontsize=8)
    figure.text(0.5, 1 - 10 / height, title, ha="center", va="top", fontsize=10)
    figure.grids = [Grid(title, rows, cols, count, (count,))]
    return figure
