"""What an exercise's answer is (a whole number, a few of them, a tensor): how a student's value is read, compared
with the expected one, and shown.

Each kind says *why* two values differ in one line ("a tensor of shape 1x3x2x2 where 1x3x3x3 was expected"),
which is what a student reads first; the hint that names the mistake comes from the exercise's wrong answers.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["TENSOR", "WHOLE", "Kind", "Tensor", "Whole", "Wholes", "describe", "plain"]

# Values a student's float32 arithmetic or loop order can move: inputs are float64, answers are compared with
# PyTorch's to these tolerances (far below any mistake's effect on values of order 1).
RTOL = 1e-4
ATOL = 1e-5
# A tensor this small is shown value by value; a larger one by its shape.
SHOWN_VALUES = 16


def _shape(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape)) if len(shape) else "a scalar"


def _round(value: object) -> object:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def plain(value: object) -> object:
    """``value`` as JSON can hold it: tensors as their values (small) or their shape (large)."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= SHOWN_VALUES:
            return {"shape": list(value.shape), "values": _round(value.tolist())}
        return {"shape": list(value.shape)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def describe(value: object) -> str:
    """One line for a value: ``7``, ``(1, 2)``, ``tensor 1x1x2x2 [[[[0.5, -1.0], [2.0, 0.25]]]]``."""
    if isinstance(value, torch.Tensor):
        shown = f"tensor {_shape(tuple(value.shape))}"
        return f"{shown} {_round(value.tolist())}" if value.numel() <= SHOWN_VALUES else shown
    if isinstance(value, tuple | list) and value and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(repr(v) for v in value) + "]"  # a table of rows, such as LeNet-5's Table I
    return repr(value)


def _type_words(value: object) -> str:
    if value is None:
        return "None (did you forget to return the result?)"
    return f"{describe(value)}, a {type(value).__name__}"


class Kind(ABC):
    """How one exercise's answers are read and compared (a number, a tuple of counts, a tensor)."""

    expected_words = "a value"

    @abstractmethod
    def read(self, value: object) -> tuple[Any, str | None]:
        """``(the value as compared, None)``, or ``(None, why it cannot be compared)``."""

    @abstractmethod
    def differ(self, expected: Any, received: Any) -> str | None:
        """Why ``received`` is not ``expected`` (one line), or ``None`` when it is."""

    def same(self, one: Any, other: Any) -> bool:
        """Whether two answers are the same answer (a wrong one and a student's): equal, and of one type."""
        return type(one) is type(other) and self.differ(one, other) is None


def _whole(value: object) -> int | float | None:
    """A number as an ``int`` (NumPy's and a one-element integer tensor's too), a float as a float; else None."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return None


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number: a size, a count of parameters."""

    expected_words = "a whole number (an int)"

    def read(self, value: object) -> tuple[Any, str | None]:
        number = _whole(value)
        if number is None:
            return None, f"returned {_type_words(value)}; expected {self.expected_words}"
        return number, None

    def differ(self, expected: Any, received: Any) -> str | None:
        if isinstance(received, float):  # a float is a mistake even when its value is right: 3.0 is no size
            floored = " (floor it: // or math.floor)" if not received.is_integer() else " (use // or int())"
            return f"returned {received!r}, a float, where the whole number {expected} was expected{floored}"
        return None if received == expected else f"returned {received} where {expected} was expected"

    def same(self, one: Any, other: Any) -> bool:
        return type(one) is type(other) and one == other


@dataclass(frozen=True)
class Wholes(Kind):
    """A fixed number of whole numbers, each with a name: ``(fully connected, locally connected, convolution)``."""

    names: tuple[str, ...]

    @property
    def expected_words(self) -> str:  # type: ignore[override]
        return f"a tuple of {len(self.names)} whole numbers ({', '.join(self.names)})"

    def read(self, value: object) -> tuple[Any, str | None]:
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            value = value.tolist()
        if not isinstance(value, tuple | list) or len(value) != len(self.names):
            return None, f"returned {_type_words(value)}; expected {self.expected_words}"
        numbers_ = tuple(_whole(v) for v in value)
        if any(n is None for n in numbers_):
            return None, f"returned {describe(value)}; expected {self.expected_words}"
        return numbers_, None

    def differ(self, expected: Any, received: Any) -> str | None:
        wrong = [
            f"{name} {got!r} where {want} was expected"
            for name, want, got in zip(self.names, expected, received, strict=True)
            if got != want or isinstance(got, float)
        ]
        return "returned " + "; ".join(wrong) if wrong else None

    def same(self, one: Any, other: Any) -> bool:
        return [type(v) for v in one] == [type(v) for v in other] and one == other


@dataclass(frozen=True)
class Tensor(Kind):
    """A tensor (a NumPy array is taken too), compared with PyTorch's to float tolerances."""

    expected_words = "a tensor (torch.Tensor)"

    def read(self, value: object) -> tuple[Any, str | None]:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu(), None
        if type(value).__module__ == "numpy" and hasattr(value, "shape"):
            return torch.as_tensor(value), None
        return None, f"returned {_type_words(value)}; expected {self.expected_words}"

    def differ(self, expected: Any, received: Any) -> str | None:
        if tuple(received.shape) != tuple(expected.shape):
            return (
                f"returned a tensor of shape {_shape(tuple(received.shape))} where "
                f"{_shape(tuple(expected.shape))} was expected"
            )
        if received.is_complex() or not (received.is_floating_point() or received.dtype in _INTEGERS):
            return f"returned a tensor of {received.dtype}; expected real numbers"
        got, want = received.double(), expected.double()
        if torch.isnan(got).any():
            return "returned a tensor holding NaN"
        if torch.allclose(got, want, rtol=RTOL, atol=ATOL):
            return None
        gap = (got - want).abs()
        where = tuple(int(i) for i in torch.unravel_index(gap.argmax(), gap.shape))
        return (
            f"returned the right shape with other values: {float(gap.max()):.3g} off at index "
            f"{list(where)} ({float(got[where]):.4g} where {float(want[where]):.4g} was expected)"
        )


_INTEGERS = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)

WHOLE = Whole()
TENSOR = Tensor()
