"""The numbers of an animation with values: drawn from a seed, computed by PyTorch, written out per frame.

The input (0..3; 0..9 for pooling), the kernel (-1..2) and the bias (-2..2, never 0, so that it shows) are
small integers; every output is what ``F.conv2d``, ``F.conv_transpose2d``, ``F.max_pool2d`` or ``F.avg_pool2d``
gives, with the bias; each frame's :class:`~cnnlab.viz.animation_sums.RunningSum` is computed from the grid
the picture draws, so that the tests can hold one against the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.viz.animation_frames import INPUT, OUTSIDE, ZERO
from cnnlab.viz.animation_sums import RunningSum


class Animation(Protocol):
    """What :func:`fill_values` reads and fills of a :class:`cnnlab.viz.animation.Animation` (a protocol, so that
    this module, which the animation imports, does not import it back)."""

    kind: str
    mode: str
    cells: np.ndarray
    windows: list[list[tuple[int, int]]]
    grid_values: np.ndarray | None
    kernel: np.ndarray | None
    original_kernel: np.ndarray | None
    bias: float | None
    outputs: np.ndarray | None
    sums: list[RunningSum] | None


__all__ = ["fill_values"]

Pair = tuple[int, int]


def fill_values(animation: Animation, row_source: Sequence[int], col_source: Sequence[int], i: Pair, k: Pair,
                s: Pair, p: Pair, d: Pair, op: Pair, ceil_mode: bool, seed: int) -> None:  # fmt: skip
    """Give ``animation`` a small integer input, kernel and bias, the grid as the window sees them, PyTorch's
    outputs and each output's running sum. ``row_source`` / ``col_source``: the input index each grid row /
    column shows (-1: none)."""
    generator = np.random.default_rng(seed)
    high = 10 if animation.kind == "pool" else 4
    x = torch.tensor(generator.integers(0, high, size=i), dtype=torch.float64)
    weight = torch.tensor(generator.integers(-1, 3, size=k), dtype=torch.float64)
    # Drawn after the input and kernel, so that a seed gives the grids it gave before the bias was drawn.
    bias = torch.tensor([float(generator.choice([-2, -1, 1, 2]))], dtype=torch.float64)
    batch = x[None, None]
    if animation.kind == "conv":
        out = F.conv2d(batch, weight[None, None], bias, stride=s, padding=p, dilation=d)
        applied = weight
    elif animation.kind == "transposed":
        out = F.conv_transpose2d(batch, weight[None, None], bias, stride=s, padding=p, output_padding=op, dilation=d)
        applied = weight.flip(0, 1)  # the transpose is the convolution with the flipped kernel
        animation.original_kernel = weight.numpy()
    elif animation.mode == "max":
        out = F.max_pool2d(batch, k, s, p, dilation=d, ceil_mode=ceil_mode)
        applied = None
    else:
        out = F.avg_pool2d(batch, k, s, p, ceil_mode=ceil_mode)
        applied = None
    fill = float("-inf") if animation.kind == "pool" and animation.mode == "max" else 0.0
    grid = np.full(animation.cells.shape, fill, dtype=np.float64)
    for gy, source_y in enumerate(row_source):
        for gx, source_x in enumerate(col_source):
            if animation.cells[gy, gx] == INPUT:
                grid[gy, gx] = float(x[source_y, source_x])
            elif animation.cells[gy, gx] == ZERO:
                grid[gy, gx] = 0.0
    animation.grid_values = grid
    animation.kernel = None if applied is None else applied.numpy()
    animation.bias = None if applied is None else float(bias[0])
    animation.outputs = out[0, 0].numpy()
    animation.sums = [_running_sum(animation, window) for window in animation.windows]


def _running_sum(animation: Animation, window: list[tuple[int, int]]) -> RunningSum:
    """One output written out from the grid cells its window covers (in the kernel's row order)."""
    assert animation.grid_values is not None
    values = [float(animation.grid_values[cell]) for cell in window]
    if animation.kernel is not None:
        return RunningSum.of("sum", values, animation.kernel.reshape(-1).tolist(), animation.bias or 0.0)
    kinds = [animation.cells[cell] for cell in window]
    if animation.mode == "max":  # the padding's -inf never wins: the input cells say it (there is always one)
        inside = [v for v, kind in zip(values, kinds, strict=True) if kind == INPUT]
        return RunningSum.of("max", inside or values)
    # PyTorch's mean divides by the cells inside the padded input (padding included, ceil mode's overhang not)
    return RunningSum.of("mean", [v for v, kind in zip(values, kinds, strict=True) if kind != OUTSIDE])
