"""The exercises in the lecture's order, and the two public calls over them: :func:`exercises` and :func:`check`."""

from __future__ import annotations

import difflib
import html
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from cnnlab.inspection.tables import render_table
from cnnlab.practice import classics, connectivity, deeper, feature_maps, pooling, upsampling
from cnnlab.practice._check import CheckResult, run_check
from cnnlab.practice._exercise import Exercise

__all__ = ["DEFAULT_TIME_LIMIT", "EXERCISES", "ExerciseList", "check", "exercises", "find"]

# The lecture's sections in its order (seed/: types of network, feature maps, pooling, upsampling, LeNet and
# its successors, deeper networks); each module lists its exercises in the order the section reaches them.
EXERCISES: tuple[Exercise, ...] = (
    *connectivity.EXERCISES,
    *feature_maps.EXERCISES,
    *pooling.EXERCISES,
    *upsampling.EXERCISES,
    *classics.EXERCISES,
    *deeper.EXERCISES,
)
_BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
if len(_BY_NAME) != len(EXERCISES):
    raise RuntimeError("two exercises share a name")  # a mistake in this package, caught on import

DEFAULT_TIME_LIMIT = 10.0
"""Seconds per case: a loop over every pixel of the largest case takes well under one on a slow machine."""


def find(name: object) -> Exercise:
    """The exercise called ``name``.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: no exercise has that name (the message names the closest ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected an exercise's name such as 'conv2d' (exercises() lists them), got {name!r}")
    if name in _BY_NAME:
        return _BY_NAME[name]
    close = difflib.get_close_matches(name, _BY_NAME, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; exercises() lists them"
    raise ValueError(f"no exercise called {name!r}{hint}")


@dataclass(frozen=True)
class ExerciseList(Sequence[Exercise]):
    """The exercises in the lecture's order: a line each in a terminal, a table in Jupyter.

    Index it by position or by name (``cnnlab.exercises()["conv2d"]`` prints the task in full).
    """

    items: tuple[Exercise, ...]

    HEADERS = ("#", "exercise", "section", "write")

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self.items)

    def __getitem__(self, key: object) -> Exercise | ExerciseList:  # type: ignore[override]
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return self.items[int(key)]
        if isinstance(key, slice):
            return ExerciseList(self.items[key])
        return find(key)

    def __contains__(self, item: object) -> bool:
        return item in self.items or item in self.names

    @property
    def names(self) -> list[str]:
        return [exercise.name for exercise in self.items]

    def _rows(self) -> list[list[str | int]]:
        return [[n, e.name, e.section, e.title] for n, e in enumerate(self.items, start=1)]

    def render(self, fmt: str = "text") -> str:
        """The list as a table: ``text``, ``markdown``, ``csv``, ``json`` or ``html``."""
        return render_table(list(self.HEADERS), self._rows(), fmt)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        return f"<div><p>{html.escape(self._about())}</p>{self.render('html')}</div>"

    def _about(self) -> str:
        return f"{len(self.items)} exercises in the lecture's order; check one with cnnlab.check(name, fn)"

    def to_dict(self) -> list[dict[str, object]]:
        return [{"name": e.name, "section": e.section, "title": e.title, "signature": e.signature}
                for e in self.items]  # fmt: skip


def exercises() -> ExerciseList:
    """The exercises, in the lecture's order: ``cnnlab.exercises()`` prints a line each.

    ``cnnlab.exercises()["conv2d"]`` is one of them; it prints its task in full (what to write, the signature,
    an example), and ``cnnlab.check("conv2d", my_conv2d)`` checks an answer.
    """
    return ExerciseList(EXERCISES)


def check(name: str, fn: Callable[..., object], *, time_limit: float = DEFAULT_TIME_LIMIT) -> CheckResult:
    """Check the function ``fn`` a student wrote for the exercise ``name``: ``cnnlab.check("conv2d", conv2d)``.

    ``fn`` is called on every case of the exercise (random and edge cases, seeded: the same on every run) and
    its answer compared with PyTorch's or cnnlab's own; the check stops at the first case it fails. When the
    answer matches a known mistake (a kernel flipped, the padding forgotten, ceil instead of floor, ...) the
    result names it. Nothing the function does makes this raise: an exception, a wrong type or shape, ``None``
    or a hang (``time_limit`` seconds per case) is the result's ``status`` and ``failure``. A function that
    raises ``NotImplementedError`` is "not done yet".

    The time limit stops the function from the main thread on POSIX systems; elsewhere (another thread, or
    Windows) a function past its limit is reported and left running in the background.

    Args:
        name: the exercise (``cnnlab.exercises()`` lists them).
        fn: the student's function, with the exercise's signature.
        time_limit: seconds allowed per case.

    Raises:
        TypeError: ``name`` is not a string or ``fn`` not a function.
        ValueError: no exercise has that name, or ``time_limit`` is not a positive number.
    """
    exercise = find(name)
    if not callable(fn):
        raise TypeError(f"fn: expected the function you wrote for {name} ({exercise.signature}), got {fn!r}")
    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or not 0 < time_limit < math.inf:
        raise ValueError(f"time_limit: expected a positive number of seconds, got {time_limit!r}")
    return run_check(exercise, fn, float(time_limit))
