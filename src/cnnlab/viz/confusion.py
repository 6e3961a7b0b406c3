"""Confusion matrices: counts in the cells, rows coloured by the share of their true class, per-class accuracy.

Drawn to the slide standard (:mod:`cnnlab.viz.slide`): a landscape canvas (4:3 by default, the matrix is square
and its colour bar sits beside it) whose every text, counts included, is 18 points or more once the picture
fills a 16:9 slide. A matrix too fine for that (CIFAR-100's 100 classes) names every few classes and leaves
its counts to the colours, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cnnlab.viz.figure import DPI, Picture, new_picture
from cnnlab.viz.slide import TitleMode, font_for_slide, title_mode, titled

__all__ = ["plot_confusion"]

_HEIGHT = 540  # pixels; the width is the aspect times this
_MARGIN_PT = 0.3  # points above the least a slide needs, so that rounding in the SVG never drops below it


def _fits(cell_px: float, font_px: float, digits: int) -> bool:
    """Whether a count of ``digits`` digits, at ``font_px``, fits a cell of ``cell_px`` with a little room."""
    return cell_px >= 0.62 * font_px * digits + 6 and cell_px >= 1.3 * font_px


def plot_confusion(
    confusion: Sequence[Sequence[int]],
    classes: Sequence[str],
    *,
    title: TitleMode = "short",
    short_title: str = "confusion matrix",
    full_title: str | None = None,
    aspect: float = 4 / 3,
) -> Picture:
    """Draw a confusion matrix (rows: true class, columns: predicted) with the counts in the cells.

    Each row label carries the class's accuracy (its diagonal share), so that the worst classes can be read
    off the left edge. Colours are the share of the row's true class on a sequential scale from 0 (white) to 1,
    so that a rare class's errors show as clearly as a common one's. The canvas is 540 pixels high and
    ``aspect`` times as wide; its text is 18 points on a 16:9 slide. ``title`` picks ``short_title``,
    ``full_title`` or none (:func:`cnnlab.viz.slide.titled`).

    ``picture.about`` says what the picture leaves out when the classes are too many for readable counts.
    """
    title_mode(title)
    counts = np.asarray(confusion, dtype=np.int64)
    n = len(classes)
    width, height = round(_HEIGHT * aspect), _HEIGHT
    font = max(10.0, round(font_for_slide(width, height) + _MARGIN_PT, 1))
    font_px = font * DPI / 72
    figure = new_picture(width, height)
    axis = figure.subplots()
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / np.maximum(totals, 1)
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    bar = figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, ticks=[0, 0.5, 1])
    bar.set_label("share of the true class", fontsize=font)
    bar.ax.tick_params(labelsize=font)
    # As many class names as fit one above the other at this size: every class up to about 20, then every few.
    step = max(1, math.ceil(n * 1.3 * font_px / (0.7 * height)))
    ticks = list(range(0, n, step))
    rows = [f"{classes[i]}  {shares[i, i]:.0%}" if totals[i, 0] else f"{classes[i]}  -" for i in ticks]
    long_names = max(map(len, classes), default=0) > 3
    axis.set_xticks(ticks, [classes[i] for i in ticks], rotation=90 if long_names else 0)
    axis.set_yticks(ticks, rows)
    axis.tick_params(labelsize=font)
    every = "" if step == 1 else f" (every {step}th named)"
    axis.set_xlabel(f"predicted class{every}", fontsize=font)
    axis.set_ylabel("true class (accuracy)", fontsize=font)
    heading = titled(title, short_title, full_title)
    if heading:
        axis.set_title(heading, fontsize=font * 1.1)
    figure.tight_layout()
    cell_px = axis.get_position().height * height / max(n, 1)
    if _fits(cell_px, font_px, len(str(int(counts.max(initial=0))))):
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    colour = "white" if shares[i, j] > 0.5 else "black"
                    axis.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour, fontsize=font)
        figure.about = f"{n} classes, the count in every cell"
    else:
        figure.about = f"{n} classes: too many for readable counts in the cells, which the colours stand for"
    return figure
