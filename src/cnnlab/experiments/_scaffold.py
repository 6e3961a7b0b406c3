"""What experiments do with their runs' numbers: gather them over the seeds, put them in a table, count the seeds
a rule holds on, end the verdict, and draw them.

The figure of an experiment is ``NAME.png`` and ``NAME.svg`` in its folder (:func:`save_figure`; the SVG keeps its
text as text, for a slide to edit); most show each variant's test accuracy as bars from zero with a dot per seed
and, over two seeds or more, an error bar (:func:`accuracy_bars`), often beside a panel of the experiment's own
(:func:`bars_beside`).

Every figure is drawn for a slide (``docs/pictures.md``): a 16:9 canvas of :data:`CANVAS` pixels whose every text
is :data:`FONT` points, 18 points once the figure fills a 16:9 slide. An experiment's drawing function runs under
:func:`for_slides`, which sets that size for all the text it makes, and ends with :func:`finish` (the verdict's
line above the panels, the layout).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from cnnlab.experiments._verdict import Judgement, overall, spoken, t_interval
from cnnlab.viz.figure import Picture, new_picture, save
from cnnlab.viz.slide import font_for_slide

__all__ = [
    "CANVAS",
    "FONT",
    "accuracy_bars",
    "bars_beside",
    "caption",
    "compact",
    "count_seeds",
    "counted",
    "finish",
    "footnote",
    "for_slides",
    "interval_panel",
    "outcome",
    "over_seeds",
    "per_seed",
    "plain_log_ticks",
    "save_figure",
    "seed_bars",
    "seed_cells",
    "seed_errorbar",
    "seed_lines",
    "verdict_of",
]

K = TypeVar("K", bound=Hashable)
P = ParamSpec("P")
R = TypeVar("R")

CANVAS = (960, 540)
"""An experiment's figure in pixels: 16:9, the shape of the slide it is made for."""
FONT = math.ceil(10 * font_for_slide(*CANVAS)) / 10
"""Every text's size in points (13.0 on :data:`CANVAS`): 18 points once the figure fills a 16:9 slide."""
_SLIDE_STYLE = {
    **dict.fromkeys(("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
                     "legend.fontsize", "legend.title_fontsize", "figure.titlesize"), FONT),
    "legend.framealpha": 0.85, "legend.borderpad": 0.3, "legend.handlelength": 1.5, "legend.labelspacing": 0.3,
    "axes.titlepad": 4.0,
}  # fmt: skip


def for_slides(draw: Callable[P, R]) -> Callable[P, R]:
    """``draw`` with every text it makes at :data:`FONT` points (a decorator of an experiment's figure function).

    Text takes its size when it is made, so the sizes hold for the figure however it is saved later; a tick label
    made later, when the figure is drawn, takes its size from :func:`finish`.
    """

    @functools.wraps(draw)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context(_SLIDE_STYLE):
            return draw(*args, **kwargs)

    return drawn


def over_seeds(values: Sequence[float]) -> dict[str, Any]:
    """A variant's numbers over the seeds: each seed's (``runs``), their ``mean`` and ``spread`` (``pstdev``)."""
    return {"runs": list(values), "mean": statistics.fmean(values), "spread": statistics.pstdev(values)}


def counted(count: int, noun: str) -> str:
    """``1 seed``, ``8 seeds``: a count and its noun, in the number it takes."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def per_seed(values: Iterable[float | None], spec: str = ".1%") -> str:
    """Each seed's value, formatted with ``spec``, in one table cell (``-`` for a seed without one)."""
    return " ".join("-" if value is None else format(value, spec) for value in values)


def seed_cells(numbers: Mapping[str, Any]) -> list[str]:
    """The table cells of :func:`over_seeds`' numbers: the mean, the spread and each seed's value."""
    return [f"{numbers['mean']:.2%}", f"{numbers['spread']:.2%}", per_seed(numbers["runs"])]


def count_seeds(rule: Callable[[dict[K, Any]], bool], values: Mapping[K, Sequence[Any]]) -> int:
    """On how many seeds ``rule`` holds: it is given each seed's values, as each variant's key -> its value."""
    return sum(bool(rule(dict(zip(values, seed, strict=True)))) for seed in zip(*values.values(), strict=True))


def outcome(held: bool | None) -> str:
    """How every verdict ends: held, did not hold, or inconclusive (the seeds' spread is larger than the effect)."""
    if held is None:
        return "inconclusive on this run: the seeds' 95% interval straddles the threshold."
    return f"the claim {'held' if held else 'did not hold'} on this run."


def verdict_of(summary: str, judgements: Sequence[Judgement], condition: str = "") -> tuple[bool | None, str]:
    """The claim's verdict and its words: ``summary`` (what was found), each part's line (its measure, interval
    and threshold), then the outcome; ``condition`` (how it was tested: data, epochs, seeds) after the outcome.

    Returns:
        ``held`` (:func:`overall` of the parts) and the verdict's text.
    """
    held = overall(judgements)
    lines = [summary] if summary else []
    lines += [f"- {judgement.sentence()}" for judgement in judgements]
    ending = outcome(held)
    lines.append(f"Verdict: {ending[:-1]} ({condition})." if condition else f"Verdict: {ending}")
    return held, "\n".join(lines)


def seed_errorbar(
    axis: Any, x: float, values: Sequence[float], *, colour: str = "k", scale: float = 1.0, named: bool = False
) -> None:
    """Each seed's value as a dot at ``x``, and, over two seeds or more, their mean's 95 % interval as an error bar
    (Student's t, as the verdict judges), all times ``scale``. ``named``: the dots and the bar get a legend entry."""
    points = [scale * value for value in values]
    finite = [value for value in points if math.isfinite(value)]
    seeds = "a seed" if len(finite) >= 2 else "the one seed (no spread)"
    axis.scatter([x] * len(points), points, color=colour, s=18, zorder=3, label=seeds if named else None)
    if len(finite) >= 2:
        interval = t_interval(finite)
        axis.errorbar(x, interval.mean, yerr=[[interval.mean - interval.low], [interval.high - interval.mean]],
                      fmt="none", ecolor=colour, elinewidth=1.5, capsize=6, zorder=4,
                      label="95% interval" if named else None)  # fmt: skip


def seed_bars(
    axis: Any,
    values: Mapping[str, Sequence[float]],
    *,
    title: str,
    ylabel: str,
    notes: Mapping[str, str] | None = None,
    colours: Sequence[str] | None = None,
    spec: str = ".1f",
) -> None:
    """Each variant's mean as a bar, each seed's value as a dot and, over two seeds, the mean's 95 % interval
    (fractions, drawn as percent or points; the first bar's dots and interval named for a legend); the mean is
    written on its bar.

    ``notes`` puts a second line under a bar's name (its parameters, say).
    """
    labels = list(values)
    means = {label: statistics.fmean(100 * value for value in values[label]) for label in labels}
    tallest = max((abs(mean) for mean in means.values()), default=0.0) or 1.0
    for index, label in enumerate(labels):
        points, mean = [100 * value for value in values[label]], means[label]
        colour = colours[index] if colours is not None else f"C{index}"
        axis.bar(index, mean, color=colour, alpha=0.8)
        seed_errorbar(axis, index, points, named=index == 0)
        if abs(mean) >= 0.25 * tallest:  # the mean in the bar's middle, clear of the dots and interval at its top
            axis.annotate(
                format(mean, spec),
                (index, mean / 2),
                ha="center",
                va="center",
                color="white",
                fontweight="bold",
                zorder=5,
                bbox={"facecolor": colour, "edgecolor": "none", "pad": 1},
            )  # over the interval's line
        else:  # a bar too short to hold it: above (or below) it
            axis.annotate(format(mean, spec), (index, mean), xytext=(0, 4 if mean >= 0 else -4),
                          textcoords="offset points", ha="center", va="bottom" if mean >= 0 else "top")  # fmt: skip
    axis.set(ylabel=ylabel, title=title)
    names = [f"{label}\n{notes[label]}" if notes is not None and label in notes else label for label in labels]
    axis.set_xticks(range(len(labels)), names)
    axis.grid(alpha=0.3, axis="y")


def seed_lines(
    axis: Any,
    lines: Mapping[str, Sequence[tuple[Sequence[float], Sequence[float]]]],
    *,
    styles: Mapping[str, str] | None = None,
    **options: Any,
) -> None:
    """Each variant's curves, a line per seed (its x and y values) in the variant's colour, named once in the
    legend, on a grid.

    ``styles``: a variant's line style (``"--"``; solid unless named); ``options`` go to every line (``alpha``).
    """
    for index, (label, runs) in enumerate(lines.items()):
        style = styles.get(label, "-") if styles is not None else "-"
        for seed, (x, y) in enumerate(runs):
            axis.plot(x, y, style, color=f"C{index}", label=label if seed == 0 else None, **options)
    axis.grid(alpha=0.3)
    axis.legend()


def accuracy_bars(
    axis: Any,
    runs: Mapping[str, Sequence[float]],
    *,
    title: str,
    notes: Mapping[str, str] | None = None,
    colours: Sequence[str] | None = None,
) -> None:
    """Each variant's mean test top-1 as a bar with its value written on it, each seed's as a dot and, over two
    seeds, the mean's 95 % interval, on a matplotlib ``axis`` from 0 to 100 %.

    ``runs`` maps a variant's label to its accuracies (fractions, a seed each); ``notes`` puts a second line under
    a bar's name (its parameters, say). The axis starts at zero, so that a point's difference looks like one; the
    numbers on the bars tell the differences apart.
    """
    seed_bars(axis, runs, title=title, ylabel="test top-1 (%)", notes=notes, colours=colours)
    axis.set(ylim=(0, 100))


def bars_beside(
    size: tuple[int, int],
    runs: Mapping[str, Sequence[float]],
    *,
    title: str,
    notes: Mapping[str, str] | None = None,
    colours: Sequence[str] | None = None,
    bars_first: bool = False,
    width_ratios: Sequence[float] | None = None,
) -> tuple[Picture, Any]:
    """A picture of ``size`` pixels in two panels: each variant's accuracy (:func:`accuracy_bars`) in one,
    and the other, returned with the picture, for the experiment to draw in.

    ``bars_first``: the bars on the left (else on the right); ``width_ratios``: the panels' widths.
    """
    figure = new_picture(*size)
    first, second = figure.subplots(1, 2, gridspec_kw={"width_ratios": width_ratios} if width_ratios else None)
    bars, other = (first, second) if bars_first else (second, first)
    accuracy_bars(bars, runs, title=title, notes=notes, colours=colours)
    return figure, other


def interval_panel(axis: Any, judgement: Judgement, *, title: str = "", label: str = "") -> None:
    """One part of the verdict as a picture: each seed's value as a dot, their mean and 95 % interval as a bar,
    and the threshold the claim must clear as a dashed line, coloured by what they say (green held, red did not
    hold, grey inconclusive)."""
    colour = {True: "C2", False: "C3", None: "0.5"}[judgement.held]
    values = judgement.per_seed
    axis.scatter(range(len(values)), values, color="k", s=14, zorder=3, label="a seed")
    if judgement.interval is not None and judgement.interval.n >= 2 and math.isfinite(judgement.interval.low):
        i = judgement.interval
        axis.axhspan(i.low, i.high, color=colour, alpha=0.25, label="95% interval")
        axis.axhline(i.mean, color=colour, lw=2, label=f"mean ({spoken(judgement.held)})")
    axis.axhline(judgement.threshold, color="k", ls="--", lw=1, label=f"threshold {judgement.threshold:g}")
    axis.set(xlabel="seed", ylabel=label or judgement.measure, title=title or spoken(judgement.held))
    axis.set_xticks(range(len(values)))
    axis.grid(alpha=0.3, axis="y")
    axis.legend()


def finish(figure: Picture, held: bool | None = None, condition: str = "") -> Picture:
    """Give ``figure`` the verdict's line (:func:`caption`) and lay it out; returns it.

    Every axis's tick labels, those made only when the figure is drawn too, get :data:`FONT` points.
    """
    for axis in figure.axes:
        axis.tick_params(which="both", labelsize=FONT)
    if condition:
        caption(figure, held, condition)
    figure.tight_layout(pad=0.3)
    _clear_of_the_caption(figure)
    return figure


def _clear_of_the_caption(figure: Picture, gap_px: float = 8) -> None:
    """Lay the panels out again below the verdict's line where ``tight_layout`` left their titles touching it
    (it counts the line's height but no gap under it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    title = figure._suptitle
    if title is None or not title.get_text():
        return
    renderer = FigureCanvasAgg(figure).get_renderer()
    bottom = title.get_window_extent(renderer).y0
    tops = [axis.get_tightbbox(renderer).y1 for axis in figure.axes if axis.get_visible()]
    if tops and max(tops) > bottom - gap_px:
        # tight_layout keeps the line's own height free above the rect: the rect only needs to leave the gap.
        figure.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - (max(tops) - bottom + gap_px) / figure.bbox.height))


def compact(value: float) -> str:
    """``120``, ``12k``, ``1.2M``: a count short enough for a tick label."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def plain_log_ticks(axis: Any, which: str = "y") -> None:
    """Label a log axis as plain numbers (``1k``, ``1M``) at 1, 2, 3 and 5 times each power of ten, without minor
    labels: matplotlib's ``10^3`` writes its exponent at 70 % of the text's size, below the slide's floor, and
    labels nothing on an axis that spans less than a decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = axis.yaxis if which == "y" else axis.xaxis
    low, high = axis.get_ylim() if which == "y" else axis.get_xlim()
    decades = math.log10(high / low) if 0 < low < high else 1.0
    # 1, 2, 3 and 5 times each power over a decade or two; over more (the weights' 156 to 1e10), matplotlib's
    # locator given those subs and too few ticks draws none at all: one label per power of ten, thinned to fit.
    subs = (1.0, 2.0, 3.0, 5.0) if decades <= 2 else (1.0,)
    target.set_major_locator(LogLocator(base=10, subs=subs, numticks=10))
    target.set_major_formatter(FuncFormatter(lambda value, _: compact(value)))
    target.set_minor_formatter(NullFormatter())


def footnote(figure: Picture, text: str) -> None:
    """Write ``text`` under ``figure``'s panels, wrapped to its width (what the panels need said: why a number is
    larger than it looks, what a curve and a bar each measure)."""
    from cnnlab.viz.figure import wrap

    figure.supxlabel(wrap(text, int(figure.get_figwidth() * figure.dpi), FONT), fontsize=FONT, linespacing=1.1)


def save_figure(figure: Picture, out: Path, name: str) -> Path:
    """Write ``figure`` to ``out / name.png`` and, its text kept as text, ``out / name.svg``; returns the PNG's
    path (an experiment's figure is named after it)."""
    save(figure, out / f"{name}.svg")
    return save(figure, out / f"{name}.png")


def caption(figure: Picture, held: bool | None, condition: str, fontsize: float = FONT) -> None:
    """Write the verdict and the condition the claim was tested under above ``figure``, wrapped to its width.

    A claim that did not hold (or was inconclusive) then says in the picture, as in the verdict, on what data,
    epochs and seeds it was tested, and what the paper's setting was (issue 21, item 6). The line breaks after
    the condition's first ``;`` where it has one (what was run; what the paper ran), and otherwise only where the
    width asks.
    """
    from cnnlab.viz.figure import wrap

    width = int(figure.get_figwidth() * figure.dpi)
    text = f"{spoken(held)}: {condition}".replace("; ", ";\n", 1)
    figure.suptitle(wrap(text, width, fontsize), fontsize=fontsize)
