"""Training curves: loss and top-1 accuracy per epoch, training against validation."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from cnnlab.viz._figure import pyplot, save

__all__ = ["plot_curves", "read_metrics"]


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """The rows of a run's ``metrics.csv`` as numbers (empty cells become NaN)."""
    with open(path, newline="") as file:
        return [
            {k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
            for row in csv.DictReader(file)
        ]


def plot_curves(runs: Sequence[tuple[str, Sequence[dict[str, float]]]], out: str | Path) -> Path:
    """Draw loss and top-1 accuracy against epoch for one or more runs (label, rows) into a PNG or SVG.

    Training is dashed, validation solid; each run has its own colour. The picture is 1000x400 pixels.
    """
    plt = pyplot()
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for index, (label, rows) in enumerate(runs):
        colour = f"C{index}"
        epochs = [row["epoch"] for row in rows]
        prefix = f"{label} " if len(runs) > 1 else ""
        marker = "o" if len(epochs) <= 20 else None  # a run of one epoch is one point, not a line
        for split, style in (("train", "--"), ("val", "-")):
            loss = [row.get(f"{split}_loss", float("nan")) for row in rows]
            top1 = [100 * row.get(f"{split}_top1", float("nan")) for row in rows]
            if all(v != v for v in loss):  # no validation split
                continue
            loss_axis.plot(epochs, loss, style, color=colour, marker=marker, markersize=4, label=f"{prefix}{split}")
            accuracy_axis.plot(epochs, top1, style, color=colour, marker=marker, markersize=4, label=f"{prefix}{split}")
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="top-1 accuracy (%)", title="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return save(figure, out)
