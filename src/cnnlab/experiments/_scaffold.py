"""What experiments do with their runs' numbers: gather them over the seeds, put them in a table, count the seeds
a rule holds on, end the verdict, and draw them.

The figure of an experiment is ``NAME.png`` in its folder (:func:`save_figure`); most show each variant's test
accuracy as bars with a dot per seed (:func:`accuracy_bars`), often beside a panel of the experiment's own
(:func:`bars_beside`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cnnlab.experiments._verdict import Judgement, overall, spoken
from cnnlab.viz.figure import Picture, new_picture, save

__all__ = [
    "accuracy_bars",
    "bars_beside",
    "caption",
    "count_seeds",
    "counted",
    "interval_panel",
    "outcome",
    "over_seeds",
    "per_seed",
    "save_figure",
    "seed_bars",
    "seed_cells",
    "seed_lines",
    "verdict_of",
]

K = TypeVar("K", bound=Hashable)


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


def seed_bars(
    axis: Any,
    values: Mapping[str, Sequence[float]],
    *,
    title: str,
    ylabel: str,
    notes: Mapping[str, str] | None = None,
    colours: Sequence[str] | None = None,
) -> None:
    """Each variant's mean as a bar and each seed's value as a dot (fractions, drawn as percent or points).

    ``notes`` puts a line above a bar (its parameters, say).
    """
    labels = list(values)
    for index, label in enumerate(labels):
        points = [100 * value for value in values[label]]
        mean = sum(points) / len(points)
        colour = colours[index] if colours is not None else f"C{index}"
        axis.bar(index, mean, color=colour, alpha=0.8)
        axis.scatter([index] * len(points), points, color="k", s=14, zorder=3)
        if notes is not None and label in notes:
            axis.annotate(notes[label], (index, mean), ha="center", va="bottom", fontsize=8)
    axis.set(ylabel=ylabel, title=title)
    axis.set_xticks(range(len(labels)), labels)
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
    margin: float = 2.0,
) -> None:
    """Each variant's mean test top-1 as a bar and each seed's as a dot, on a matplotlib ``axis``.

    ``runs`` maps a variant's label to its accuracies (fractions, a seed each); ``notes`` puts a line above a
    bar (its parameters, say); the axis starts ``margin`` points below the lowest seed, so differences show.
    """
    seed_bars(axis, runs, title=title, ylabel="test top-1 (%)", notes=notes, colours=colours)
    low = min(100 * value for accuracies in runs.values() for value in accuracies)
    axis.set(ylim=(max(0.0, low - margin), 100))


def bars_beside(
    size: tuple[int, int],
    runs: Mapping[str, Sequence[float]],
    *,
    title: str,
    notes: Mapping[str, str] | None = None,
    colours: Sequence[str] | None = None,
    margin: float = 2.0,
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
    accuracy_bars(bars, runs, title=title, notes=notes, colours=colours, margin=margin)
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
    axis.legend(fontsize=8)


def save_figure(figure: Picture, out: Path, name: str, held: bool | None = None, condition: str = "") -> Path:
    """Lay ``figure`` out and write it to ``out / name.png`` (an experiment's figure is named after it).

    Given how the claim was tested (``condition``: data, epochs, seeds) and its verdict (``held``), the figure's
    top line says both (:func:`caption`), so the figure alone, on a slide, does not overstate what was found.
    """
    if condition:
        caption(figure, held, condition)
    figure.tight_layout()
    return save(figure, out / f"{name}.png")


def caption(figure: Picture, held: bool | None, condition: str, fontsize: float = 9) -> None:
    """Write the verdict and the condition the claim was tested under above ``figure``, wrapped to its width.

    A claim that did not hold (or was inconclusive) then says in the picture, as in the verdict, on what data,
    epochs and seeds it was tested, and what the paper's setting was (issue 21, item 6).
    """
    from cnnlab.experiments._verdict import spoken
    from cnnlab.viz.figure import wrap

    width = int(figure.get_figwidth() * figure.dpi)
    figure.suptitle(wrap(f"{spoken(held)}: {condition}", width, fontsize), fontsize=fontsize)
