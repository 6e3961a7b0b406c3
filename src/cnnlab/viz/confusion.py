"""Confusion matrices: counts in the cells, rows coloured by the share of their true class, per-class accuracy."""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.viz.figure import DPI, Picture, new_picture

__all__ = ["plot_confusion"]


def plot_confusion(confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> Picture:
    """Draw a confusion matrix (rows: true class, columns: predicted) with the counts in the cells.

    Each row label carries the class's accuracy (its diagonal share), so that the worst classes can be
    read off the left edge.
    """
    import numpy as np

    counts = np.asarray(confusion)
    n = len(classes)
    side = min(4 + 0.45 * n, 30)  # cells stay legible up to ~60 classes, then the picture stops growing
    figure = new_picture((side + 1) * DPI, side * 0.9 * DPI)
    axis = figure.subplots()
    totals = counts.sum(axis=1, keepdims=True)
    # Row-normalised colours: a rare class's errors show as clearly as a common one's.
    shares = counts / np.maximum(totals, 1)
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the true class")
    if n <= 40:
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    colour = "white" if shares[i, j] > 0.5 else "black"
                    axis.text(j, i, str(counts[i, j]), ha="center", va="center", color=colour, fontsize=8)
    rows = [f"{name}  {shares[i, i]:.1%}" if totals[i, 0] else f"{name}  -" for i, name in enumerate(classes)]
    axis.set_xticks(range(n), list(classes), rotation=90 if max(map(len, classes), default=0) > 3 else 0)
    axis.set_yticks(range(n), rows)
    axis.set(xlabel="predicted class", ylabel="true class (accuracy)", title=title)
    figure.tight_layout()
    return figure
