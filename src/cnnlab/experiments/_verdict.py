"""How an experiment decides: a claim's measurable form, its threshold, and a verdict that counts the seeds' spread.

Each claim is stated as a number measured on every seed (a paired difference of two arms trained on the same
seed, a ratio, ...) and a threshold it must clear. The verdict comes from the 95 % Student's t interval of the
per-seed numbers:

- *held*: the whole interval is on the claim's side of the threshold;
- *did not hold*: the whole interval is on the other side;
- *inconclusive*: the interval straddles the threshold (the seeds' spread is larger than the effect), or
  there is one seed, whose interval is unbounded.

A number that does not depend on a seed (an exact equality, a parameter count) is judged as it is: held or not.
An experiment with several measurable parts holds when every part holds, does not hold when any part does not,
and is inconclusive otherwise (:func:`overall`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CONFIDENCE", "Interval", "Judgement", "judge", "judge_exact", "overall", "spoken", "t_interval"]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided Student's t confidence interval (``low``, ``high``) over ``n`` values."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "confidence": self.confidence}


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of ``values`` and its ``confidence`` interval by Student's t with ``n - 1`` degrees of freedom.

    One value has no spread to measure: its interval is unbounded (``-inf``, ``inf``); so is the interval of values
    one of which is not finite (a run that never reached what was measured), whose mean is ``nan``.

    Raises:
        ValueError: no values, or a confidence outside (0, 1).
    """
    if not values:
        raise ValueError("an interval needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if len(values) < 2 or not all(math.isfinite(v) for v in values):  # no spread to measure, or a run that never
        mean = statistics.fmean(values) if all(math.isfinite(v) for v in values) else math.nan  # got there
        return Interval(mean, -math.inf, math.inf, len(values), confidence)
    from scipy.stats import t

    mean = statistics.fmean(values)
    half = float(t.ppf((1 + confidence) / 2, len(values) - 1)) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, len(values), confidence)


@dataclass(frozen=True)
class Judgement:
    """One measurable part of a claim and what the seeds said about it.

    Attributes:
        measure: what is measured on each seed, in words ("sparse minus dense C3's test top-1, points").
        threshold: what the measure must clear for the claim to hold.
        above: the claim holds when the measure is above the threshold (else below it).
        per_seed: the measure on each seed (one value for an exact measure).
        interval: their 95 % interval (``None`` for an exact measure).
        held: ``True``, ``False`` or ``None`` (inconclusive).
        spec: how the numbers are written (a format spec: ``.2f``, ``.1%``).
    """

    measure: str
    threshold: float
    above: bool
    per_seed: tuple[float, ...]
    interval: Interval | None
    held: bool | None
    spec: str = ".3g"

    def sentence(self) -> str:
        """The part in one line: the measure, its interval, the threshold and what they say."""
        side = ">" if self.above else "<"
        wanted = f"{side} {format(self.threshold, self.spec)}"
        if self.interval is None:
            value = format(self.per_seed[0], self.spec)
            return f"{self.measure}: {value} (exact; the claim needs {wanted}): {spoken(self.held)}"
        i = self.interval
        if i.n < 2:
            found = f"{format(i.mean, self.spec)} on one seed, no interval"
        elif not math.isfinite(i.low):
            found = f"not reached on every seed ({', '.join(format(v, self.spec) for v in self.per_seed)})"
        else:
            found = (f"{format(i.mean, self.spec)}, 95% interval {format(i.low, self.spec)} to "
                     f"{format(i.high, self.spec)} over {i.n} seeds")  # fmt: skip
        return f"{self.measure}: {found} (the claim needs {wanted}): {spoken(self.held)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "threshold": self.threshold,
            "holds_when": "above" if self.above else "below",
            "per_seed": list(self.per_seed),
            "interval": None if self.interval is None else self.interval.to_dict(),
            "held": self.held,
        }


def judge(
    measure: str, per_seed: Sequence[float], threshold: float, *, above: bool = True, spec: str = ".3g"
) -> Judgement:
    """Judge a measure taken on each seed against ``threshold`` by its 95 % t interval.

    Held when the interval lies wholly on the claim's side (above ``threshold`` when ``above``), not held when
    it lies wholly on the other side, inconclusive (``None``) when it straddles it or there is one seed.
    A value that is not finite (a run that never got there) makes the part inconclusive.
    """
    values = tuple(float(v) for v in per_seed)
    interval = t_interval(values)
    if not all(math.isfinite(v) for v in (interval.low, interval.high)):
        held = None
    elif above:
        held = True if interval.low > threshold else False if interval.high < threshold else None
    else:
        held = True if interval.high < threshold else False if interval.low > threshold else None
    return Judgement(measure, threshold, above, values, interval, held, spec)


def judge_exact(measure: str, value: float, threshold: float, *, above: bool = True, spec: str = ".3g") -> Judgement:
    """Judge a measure that no seed changes (a count, an equality to rounding): it clears ``threshold`` or not."""
    held = value > threshold if above else value < threshold
    return Judgement(measure, threshold, above, (float(value),), None, bool(held), spec)


def overall(judgements: Sequence[Judgement]) -> bool | None:
    """A claim of several parts: held when all hold, not held when any does not, else inconclusive (``None``)."""
    verdicts = [j.held for j in judgements]
    if any(v is False for v in verdicts):
        return False
    if verdicts and all(v is True for v in verdicts):
        return True
    return None


def spoken(held: bool | None) -> str:
    """A verdict in words: ``held``, ``did not hold`` or ``inconclusive``."""
    return {True: "held", False: "did not hold", None: "inconclusive"}[held]
