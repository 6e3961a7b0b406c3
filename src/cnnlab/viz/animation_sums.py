"""What one output cell of an animation is, written out, and how its text breaks into lines.

A convolution's output is a running sum, ``3·1 + 2·2 + 0·(-1) + ... + 1 = 8``: each value under the window
times the kernel weight over it, plus the bias. A pooling's is ``max(3, 1, 2, 0) = 3`` or
``mean(3, 1, 2, 0) = 1.5``. :class:`RunningSum` holds the numbers (what the tests check against PyTorch) and
its text as *pieces* that a line may break between but never inside (``+ 2·2`` is one piece).

:func:`formula_pieces` cuts the formulas of ``cnnlab shape`` the same way: a line may break after a clause
(``, ``, ``: ``, ``; `` outside brackets) or before a second ``=`` of a chain, never inside a formula, and
:func:`wrap_pieces` fills lines with whole pieces.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["RunningSum", "formula_pieces", "number_text", "wrap_pieces"]

DOT = "\u00b7"  # the middle dot of a product; Pillow's bundled font has it (it lacks the minus sign U+2212)


def number_text(value: float) -> str:
    """A cell's number as the frames print it: ``3``, ``-1``, ``1.5``, ``2.33``, ``-inf``."""
    if value == -math.inf:
        return "-inf"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0")


def _factor(value: float) -> str:
    """A factor of a product, bracketed when negative: ``(-1)``, so that ``0·(-1)`` does not read as a minus."""
    text = number_text(value)
    return f"({text})" if text.startswith("-") else text


@dataclass(frozen=True)
class RunningSum:
    """One output cell, written out from the window it comes from.

    Attributes:
        operation: ``sum`` (a convolution: values times weights plus the bias), ``max`` or ``mean`` (pooling).
        values: the grid values under the window, in the kernel's row order (max: the input cells only, the
            padding's -inf never wins; mean: every cell inside the padded input, PyTorch's divisor).
        weights: the kernel weight over each value (``sum`` only; a transposed convolution's flipped kernel).
        bias: added to the sum (0 for pooling).
        total: the output, computed from ``values``, ``weights`` and ``bias`` (not read from PyTorch: the tests
            compare it with PyTorch's).
    """

    operation: str
    values: tuple[float, ...]
    weights: tuple[float, ...] | None
    bias: float
    total: float

    @classmethod
    def of(cls, operation: str, values: Sequence[float], weights: Sequence[float] | None = None,
           bias: float = 0.0) -> RunningSum:  # fmt: skip
        """The running sum of ``values`` (times ``weights``, plus ``bias``), its total computed here."""
        values = tuple(float(value) for value in values)
        if operation == "sum":
            if weights is None or len(weights) != len(values):
                raise ValueError("a sum needs one weight per value")
            weights = tuple(float(weight) for weight in weights)
            total = math.fsum(value * weight for value, weight in zip(values, weights, strict=True)) + float(bias)
        elif operation == "max":
            total, weights, bias = max(values), None, 0.0
        elif operation == "mean":
            total, weights, bias = math.fsum(values) / len(values), None, 0.0
        else:
            raise ValueError(f"operation is sum, max or mean, not {operation!r}")
        return cls(operation, values, weights, float(bias), total)

    @property
    def terms(self) -> list[tuple[float, float]]:
        """``(value, weight)`` per cell of the window (a sum only; empty for pooling)."""
        return list(zip(self.values, self.weights or (), strict=False))

    def pieces(self, nonzero_only: bool = False) -> list[str]:
        """The text as pieces a line may break between: ``["3·1", "+ 2·2", ..., "+ 1", "= 8"]``.

        ``nonzero_only`` leaves out the products with a zero factor (a padded or zero-inserted grid has many),
        so that a long sum stays readable; the total is the same.
        """
        if self.operation in ("max", "mean"):
            numbers = [number_text(value) for value in self.values]
            listed = [f"{number}," for number in numbers[:-1]] + [f"{numbers[-1]})"]
            return [f"{self.operation}({listed[0]}", *listed[1:], f"= {number_text(self.total)}"]
        kept = [(v, w) for v, w in self.terms if not nonzero_only or (v != 0 and w != 0)]
        products = [f"{_factor(value)}{DOT}{_factor(weight)}" for value, weight in kept] or ["0"]
        pieces = [products[0], *(f"+ {product}" for product in products[1:])]
        return [*pieces, f"+ {_factor(self.bias)}", f"= {number_text(self.total)}"]

    def text(self, nonzero_only: bool = False) -> str:
        """The whole running sum on one line: ``3·1 + 2·2 + 0·(-1) + ... + 1 = 8`` (the last term the bias)."""
        return " ".join(self.pieces(nonzero_only))


def formula_pieces(line: str) -> list[str]:
    """A line of formulas and words cut where a line may break: after a clause (``, `` / ``: `` / ``; ``
    outside brackets) or before each ``=`` of a chain after its first; never inside a formula.

    ``"o = floor((5 - 3 + 2*1) / 2) + 1 = 3"`` gives ``["o = floor((5 - 3 + 2*1) / 2) + 1", "= 3"]``.
    """
    pieces, current, depth, equals = [], "", 0, 0
    index = 0
    while index < len(line):
        char = line[index]
        depth += (char in "([{") - (char in ")]}")
        if depth == 0 and line.startswith(" = ", index):
            equals += 1
            if equals > 1 and current.strip():
                pieces.append(current.strip())
                current = ""
        current += char
        if depth == 0 and char in ",:;" and line.startswith(" ", index + 1):
            pieces.append(current.strip())
            current, equals = "", 0
        index += 1
    if current.strip():
        pieces.append(current.strip())
    return pieces


def wrap_pieces(pieces: Sequence[str], width: float, measure: Callable[[str], float], indent: str = "") -> list[str]:
    """Lines of whole pieces joined by spaces, each at most ``width`` wide by ``measure`` (a piece wider than
    ``width`` gets a line of its own: it is never cut); lines after the first start with ``indent``."""
    lines: list[str] = []
    space, used = measure(" "), 0.0  # a line's width, piece by piece: measuring it whole each time is quadratic
    for piece in pieces:
        wide = measure(piece)
        if lines and used + space + wide <= width:
            lines[-1] = f"{lines[-1]} {piece}"
            used += space + wide
        else:
            lines.append(piece if not lines else f"{indent}{piece}")
            used = wide if len(lines) == 1 else measure(indent) + wide
    return lines
