"""Training curves: loss and top-1 accuracy per epoch, training against validation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from cnnlab.viz.figure import Picture, new_picture

if TYPE_CHECKING:
    from cnnlab.run_records import EpochMetrics

__all__ = ["plot_curves", "plot_learning_rate"]

_WIDTH, _HEIGHT = 1000, 400  # pixels; several runs add rows of legend below
_LEGEND_ROW = 22  # pixels per row of the shared legend
_LEGEND_COLUMNS = 3
# (metrics column prefix, line style, label): training dashed, validation solid, the moving average dotted
_SPLITS = (("train", "--", "train"), ("val", "-", "val"), ("ema_val", ":", "val, moving average"))


def _values(rows: Sequence[EpochMetrics], key: str, scale: float = 1.0) -> list[float]:
    """One column, with NaN where there is no value (no validation split)."""
    values = [getattr(row, key) for row in rows]
    return [float("nan") if value is None else scale * value for value in values]


def plot_curves(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> Picture:
    """Loss and top-1 accuracy against epoch for one or more runs, given as (label, metrics per epoch).

    Training is dashed, validation solid, the moving average of the weights (``model_ema``) on the validation
    split dotted; each run has its own colour. One run is 1000x400 pixels with a legend in each plot, and the
    epochs that trained on the validation images (``fold_val_epochs``) shaded. Several runs share one legend
    under the plots, a colour per run and the line styles drawn, so that no legend covers a curve; each row of
    that legend adds 22 pixels to the height.
    """
    several = len(runs) > 1
    drawn = [split for split in _SPLITS if any(not _empty(rows, split[0]) for _, rows in runs)]
    legend_rows = math.ceil((len(runs) + len(drawn)) / _LEGEND_COLUMNS) if several else 0
    height = _HEIGHT + _LEGEND_ROW * legend_rows
    figure = new_picture(_WIDTH, height)
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for index, (_label, rows) in enumerate(runs):
        colour = f"C{index}"
        epochs = [row.epoch for row in rows]
        marker = "o" if len(epochs) <= 20 else None  # a run of one epoch is one point, not a line
        for split, style, label in drawn:
            if _empty(rows, split):  # no validation split, or no moving average
                continue
            loss, top1 = _values(rows, f"{split}_loss"), _values(rows, f"{split}_top1", 100)
            for axis, values in ((loss_axis, loss), (accuracy_axis, top1)):
                axis.plot(epochs, values, style, color=colour, marker=marker, markersize=4, label=label)
        if not several:
            _shade_folded(rows, (loss_axis, accuracy_axis))
    loss_axis.set(xlabel="epoch", ylabel="loss", title="loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="top-1 accuracy (%)", title="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        if not several:
            axis.legend()
    if several:
        key = [Line2D([], [], color=f"C{index}", lw=2, label=label) for index, (label, _) in enumerate(runs)]
        key += [Line2D([], [], color="0.3", linestyle=style, label=label) for _, style, label in drawn]
        figure.legend(handles=key, loc="lower center", ncols=_LEGEND_COLUMNS, frameon=False, fontsize=9)
        figure.tight_layout(rect=(0, (_LEGEND_ROW * legend_rows + 8) / height, 1, 1))
    else:
        figure.tight_layout()
    return figure


def _empty(rows: Sequence[EpochMetrics], split: str) -> bool:
    return all(getattr(row, f"{split}_loss") is None for row in rows)


def _shade_folded(rows: Sequence[EpochMetrics], axes: Sequence[Axes]) -> None:
    """Shade the final epochs without validation after validated ones: they trained on the validation images."""
    validated = [row.epoch for row in rows if row.val_loss is not None]
    folded = [row.epoch for row in rows if validated and row.val_loss is None and row.epoch > validated[-1]]
    if not folded:
        return
    for axis in axes:
        axis.axvspan(folded[0] - 0.5, folded[-1] + 0.5, color="0.85", alpha=0.6, lw=0,
                     label="trained on val too")  # fmt: skip


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
