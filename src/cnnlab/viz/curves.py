"""Training curves: loss and top-1 accuracy per epoch, training against validation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from cnnlab.viz.figure import Picture, new_picture

if TYPE_CHECKING:
    from cnnlab.run import EpochMetrics

__all__ = ["plot_curves", "plot_learning_rate"]

_WIDTH, _HEIGHT = 1000, 400  # pixels; several runs add rows of legend below
_LEGEND_ROW = 22  # pixels per row of the shared legend
_LEGEND_COLUMNS = 3
_SPLITS = (("train", "--"), ("val", "-"))  # training dashed, validation solid


def _values(rows: Sequence[EpochMetrics], key: str, scale: float = 1.0) -> list[float]:
    """One column, with NaN where there is no value (no validation split)."""
    values = [getattr(row, key) for row in rows]
    return [float("nan") if value is None else scale * value for value in values]


def plot_curves(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> Picture:
    """Loss and top-1 accuracy against epoch for one or more runs, given as (label, metrics per epoch).

    Training is dashed, validation solid; each run has its own colour. One run is 1000x400 pixels with a
    legend in each plot. Several runs share one legend under the plots, a colour per run and the two line
    styles, so that no legend covers a curve; each row of that legend adds 22 pixels to the height.
    """
    several = len(runs) > 1
    legend_rows = math.ceil((len(runs) + len(_SPLITS)) / _LEGEND_COLUMNS) if several else 0
    height = _HEIGHT + _LEGEND_ROW * legend_rows
    figure = new_picture(_WIDTH, height)
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for index, (_label, rows) in enumerate(runs):
        colour = f"C{index}"
        epochs = [row.epoch for row in rows]
        marker = "o" if len(epochs) <= 20 else None  # a run of one epoch is one point, not a line
        for split, style in _SPLITS:
            loss = _values(rows, f"{split}_loss")
            top1 = _values(rows, f"{split}_top1", 100)
            if all(v != v for v in loss):  # no validation split
                continue
            for axis, values in ((loss_axis, loss), (accuracy_axis, top1)):
                axis.plot(epochs, values, style, color=colour, marker=marker, markersize=4, label=split)
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="top-1 accuracy (%)", title="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        if not several:
            axis.legend()
    if several:
        key = [Line2D([], [], color=f"C{index}", lw=2, label=label) for index, (label, _) in enumerate(runs)]
        key += [Line2D([], [], color="0.3", linestyle=style, label=split) for split, style in _SPLITS]
        figure.legend(handles=key, loc="lower center", ncols=_LEGEND_COLUMNS, frameon=False, fontsize=9)
        figure.tight_layout(rect=(0, (_LEGEND_ROW * legend_rows + 8) / height, 1, 1))
    else:
        figure.tight_layout()
    return figure


def plot_learning_rate(rows: Sequence[EpochMetrics]) -> Picture:
    """The learning rate at the end of each epoch, as the run recorded it; 1000x260 pixels.

    The axis is logarithmic when the rate spans more than a factor of 10 (step and exponential schedules).
    """
    figure = new_picture(_WIDTH, 260)
    axis = figure.subplots()
    epochs, rates = [row.epoch for row in rows], [row.lr for row in rows]
    axis.plot(epochs, rates, "o-" if len(rows) <= 50 else "-", color="C2", markersize=4)
    finite = [rate for rate in rates if rate == rate and rate > 0]
    if finite and max(finite) > 10 * min(finite):
        axis.set_yscale("log")
    axis.set(xlabel="epoch", ylabel="learning rate", title="learning rate")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure
