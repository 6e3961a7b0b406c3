"""Training curves: loss and top-1 accuracy per epoch, training against validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cnnlab.viz.figure import Picture, new_picture

if TYPE_CHECKING:
    from cnnlab.run import EpochMetrics

__all__ = ["plot_curves"]


def _values(rows: Sequence[EpochMetrics], key: str, scale: float = 1.0) -> list[float]:
    """One column, with NaN where there is no value (no validation split)."""
    values = [getattr(row, key) for row in rows]
    return [float("nan") if value is None else scale * value for value in values]


def plot_curves(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> Picture:
    """Loss and top-1 accuracy against epoch for one or more runs, given as (label, metrics per epoch).

    Training is dashed, validation solid; each run has its own colour. The picture is 1000x400 pixels.
    """
    figure = new_picture(1000, 400)
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for index, (label, rows) in enumerate(runs):
        colour = f"C{index}"
        epochs = [row.epoch for row in rows]
        prefix = f"{label} " if len(runs) > 1 else ""
        marker = "o" if len(epochs) <= 20 else None  # a run of one epoch is one point, not a line
        for split, style in (("train", "--"), ("val", "-")):
            loss = _values(rows, f"{split}_loss")
            top1 = _values(rows, f"{split}_top1", 100)
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
    return figure
