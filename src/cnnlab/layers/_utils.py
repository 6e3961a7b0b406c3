"""Small helpers shared by the layer modules."""

from __future__ import annotations

IntPair = int | tuple[int, int]


def pair(value: IntPair, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair is checked to be two integers."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer or a pair of integers, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1])
    raise ValueError(f"{name} must be an integer or a pair of integers, got {value!r}")
