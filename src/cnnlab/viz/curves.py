"""Training curves: loss and top-1 accuracy per epoch, training against validation where there is one.

Drawn to the slide standard (:mod:`cnnlab.viz.slide`): a 16:9 canvas whose text is 18 points or more once the
picture fills a slide, the accuracy axis from 0 to 100 %, short titles by default, and a legend (and the
:func:`curves_caption` a page puts under the picture) that names only the lines drawn: a run without a
validation split has training curves only, and nothing says "validation".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from cnnlab.viz.figure import DPI, Picture, new_picture
from cnnlab.viz.slide import TitleMode, font_for_slide, title_mode, titled

if TYPE_CHECKING:
    from cnnlab.run_records import EpochMetrics

__all__ = ["Split", "curves_caption", "drawn_splits", "plot_curves", "plot_learning_rate"]

_HEIGHT = 450  # pixels: 800 x 450 is 16:9, and its text needs only 10.8 points to be 18 on a slide
_LEGEND_COLUMNS = 3  # at most; fewer when the runs' names are long
_LEGEND_ROW = 1.9  # ems a row of the shared legend takes: the text and the space between rows
_MARGIN_PT = 0.3  # points above the least a slide needs, so that rounding in the SVG never drops below it


@dataclass(frozen=True)
class Split:
    """A kind of curve: the metrics columns' prefix, its line style, its legend label and its words in a caption."""

    prefix: str
    style: str
    label: str
    words: str


# Training dashed, validation solid, the moving average of the weights on the validation split dotted.
SPLITS = (
    Split("train", "--", "training", "training dashed"),
    Split("val", "-", "validation", "validation solid"),
    Split("ema_val", ":", "validation, EMA", "the weights' moving average (EMA) on validation dotted"),
)


def _values(rows: Sequence[EpochMetrics], key: str, scale: float = 1.0) -> list[float]:
    """One column, with NaN where there is no value (no validation split)."""
    values = [getattr(row, key) for row in rows]
    return [float("nan") if value is None else scale * value for value in values]


def _empty(rows: Sequence[EpochMetrics], prefix: str) -> bool:
    return all(getattr(row, f"{prefix}_loss") is None for row in rows)


def drawn_splits(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> list[Split]:
    """The kinds of curve some run has values for, in drawing order: what the legend names."""
    return [split for split in SPLITS if any(not _empty(rows, split.prefix) for _, rows in runs)]


def curves_caption(runs: Sequence[tuple[str, Sequence[EpochMetrics]]]) -> str:
    """What the curves show, in a line, naming only the lines drawn (a run without a validation split is never
    said to have one).

    ``"2 epochs; training dashed: on the training images, as they were trained on."``
    """
    splits = drawn_splits(runs)
    epochs = max((len(rows) for _, rows in runs), default=0)
    text = f"{epochs} epoch{'s' if epochs != 1 else ''}; " + ", ".join(split.words for split in splits)
    text += ": on the training images, as they were trained on." if len(splits) == 1 else "."
    if len(runs) > 1:
        text += " A colour per run."
    return text


def _canvas(labels: Sequence[str], aspect: float) -> tuple[int, int, int]:
    """``(width, height, legend_columns)``: several runs add rows of a shared legend below the plots,
    as many columns as the longest entry lets fit across (a DejaVu character is about 0.6 em wide)."""
    width = round(_HEIGHT * aspect)
    if len(labels) <= 1:
        return width, _HEIGHT, 1
    for columns in range(_LEGEND_COLUMNS, 0, -1):  # the most columns whose entries fit across at the final size
        rows, height = math.ceil(len(labels) / columns), _HEIGHT
        for _ in range(4):  # the legend's rows make the canvas taller, which makes the text larger: settle it
            height = round(_HEIGHT + rows * _LEGEND_ROW * _font(width, height) * DPI / 72)
        em = _font(width, height) * DPI / 72
        if columns * (0.6 * max(map(len, labels)) + 4) * em <= width:  # the text, its line, the space after
            break
    return width, height, columns


def _font(width: float, height: float) -> float:
    """The figure's one font size: 18 points on a 16:9 slide, and never below matplotlib's usual 10."""
    return max(10.0, round(font_for_slide(width, height) + _MARGIN_PT, 1))


def _loss_axis(axis: Axes, losses: Sequence[float]) -> None:
    """Linear from zero when the losses span less than a factor of 10 (a short run); logarithmic, labelled in plain
    numbers (0.5, 1, 2) rather than powers of ten in small superscripts, when they span more."""
    finite = [value for value in losses if value == value and value > 0]
    if not finite or max(finite) <= 10 * min(finite):
        axis.set_ylim(bottom=0)
        return
    axis.set_yscale("log")
    axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.yaxis.set_minor_formatter(NullFormatter())


def plot_curves(
    runs: Sequence[tuple[str, Sequence[EpochMetrics]]], *, title: TitleMode = "short", aspect: float = 16 / 9
) -> Picture:
    """Loss and top-1 accuracy against epoch for one or more runs, given as (label, metrics per epoch).

    Training is dashed, validation solid, the moving average of the weights (``model_ema``) on the validation
    split dotted; a run without validation has training curves only, and the legend names only what is drawn.
    Each run has its own colour. The accuracy axis runs from 0 to 100 %; the loss axis from 0, or logarithmic
    when the losses span more than a factor of 10. One run has a legend in the accuracy plot (lower right, where
    rising accuracies leave room) and the epochs that trained on the validation images (``fold_val_epochs``)
    shaded; several runs share one legend under the plots, in rows of up to three entries. The canvas is
    450 pixels high and ``aspect`` times as wide (16:9: 800), its text sized to be 18 points when the picture
    fills a 16:9 slide.

    ``title``: ``short`` names each plot ("loss", "top-1 accuracy (%)"); ``full`` adds the runs' names above;
    ``none`` leaves the axis labels to say it.
    """
    title_mode(title)
    several = len(runs) > 1
    drawn = drawn_splits(runs)
    entries = [label for label, _ in runs] + [split.label for split in drawn]
    width, height, legend_columns = _canvas(entries if several else [], aspect)
    font = _font(width, height)
    figure = new_picture(width, height)
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for index, (_label, rows) in enumerate(runs):
        colour = f"C{index}"
        epochs = [row.epoch for row in rows]
        marker = "o" if len(epochs) <= 20 else None  # a run of one epoch is one point, not a line
        for split in drawn:
            if _empty(rows, split.prefix):  # no validation split, or no moving average
                continue
            loss, top1 = _values(rows, f"{split.prefix}_loss"), _values(rows, f"{split.prefix}_top1", 100)
            for axis, values in ((loss_axis, loss), (accuracy_axis, top1)):
                axis.plot(epochs, values, split.style, color=colour, marker=marker, markersize=5, label=split.label)
        if not several:
            _shade_folded(rows, (loss_axis, accuracy_axis))
    _loss_axis(loss_axis, [value for line in loss_axis.get_lines() for value in line.get_ydata()])
    accuracy_axis.set_ylim(0, 100)  # the standard: accuracies from zero, so that a few points look a few points
    for axis, name in ((loss_axis, "loss"), (accuracy_axis, "top-1 accuracy (%)")):
        axis.set_xlabel("epoch", fontsize=font)
        if title == "none":
            axis.set_ylabel(name, fontsize=font)
        else:
            axis.set_title(name, fontsize=font * 1.1)
        axis.tick_params(labelsize=font)
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))  # epochs are whole
    if not several:
        accuracy_axis.legend(fontsize=font, loc="lower right")  # accuracies rise: the lower right stays clear
    heading = titled(title, "", ", ".join(label for label, _ in runs))
    if heading:
        figure.suptitle(heading, fontsize=font * 1.1)
    if several:
        key = [Line2D([], [], color=f"C{index}", lw=2, label=label) for index, (label, _) in enumerate(runs)]
        key += [Line2D([], [], color="0.3", linestyle=split.style, label=split.label) for split in drawn]
        figure.legend(handles=key, loc="lower center", ncols=legend_columns, frameon=False, fontsize=font)
        figure.tight_layout(rect=(0, (height - _HEIGHT + 8) / height, 1, 1))
    else:
        figure.tight_layout()
    figure.about = curves_caption(runs)
    return figure


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
    """The learning rate at the end of each epoch, as the run recorded it; 800x300 pixels.

    The axis is logarithmic when the rate spans more than a factor of 10 (step and exponential schedules).
    """
    width, height = 800, 300
    font = _font(width, height)
    figure = new_picture(width, height)
    axis = figure.subplots()
    epochs, rates = [row.epoch for row in rows], [row.lr for row in rows]
    axis.plot(epochs, rates, "o-" if len(rows) <= 50 else "-", color="C2", markersize=5)
    finite = [rate for rate in rates if rate == rate and rate > 0]
    if finite and max(finite) > 10 * min(finite):
        axis.set_yscale("log")
        axis.yaxis.set_minor_formatter(NullFormatter())
    # Plain numbers (0.006), not an offset or a power of ten in small type beside the axis.
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_xlabel("epoch", fontsize=font)
    axis.set_title("learning rate", fontsize=font * 1.1)
    axis.tick_params(labelsize=font)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure
