"""Exercises of the lecture's "Downsampling via Pooling": max, mean, and a pooling that is learned."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from cnnlab.practice._exercise import Case, Exercise, WrongAnswer, randn
from cnnlab.practice._values import TENSOR

__all__ = ["EXERCISES"]

SECTION = "Downsampling via pooling"


def _pool_cases(rng: random.Random, extra: int = 0) -> list[Case]:
    """``(x, kernel, stride)`` cases (and ``extra`` more arguments drawn by the caller's exercise)."""

    def case(n: int, c: int, h: int, w: int, k: int, s: int, note: str = "") -> Case:
        return Case((randn(rng, n, c, h, w), k, s), note)

    cases = [
        case(1, 1, 1, 1, 1, 1, "1x1 input"),
        case(1, 2, 4, 4, 2, 2, "2x2 windows, stride 2: the usual halving"),
        case(2, 1, 5, 7, 2, 3, "stride larger than the kernel"),
        case(1, 2, 7, 5, 3, 2, "overlapping windows (AlexNet's 3x3, stride 2); a window does not fit at the end"),
        case(1, 1, 3, 8, 3, 1, "non-square input, kernel as tall as the input"),
    ]
    while len(cases) < 30:
        h, w = rng.randint(1, 10), rng.randint(1, 10)
        cases.append(case(rng.randint(1, 2), rng.randint(1, 3), h, w, rng.randint(1, min(h, w, 4)), rng.randint(1, 4)))
    return cases


def _stride_is_kernel(pool: object) -> object:
    return lambda x, k, s, *rest: pool(x, k, k, *rest)  # type: ignore[operator]


# --------------------------------------------------------------------------------------------------- max-pool


def max_pool(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """The reference: PyTorch's ``max_pool2d`` (no padding, floor mode)."""
    return F.max_pool2d(x, kernel, stride)


MAX_POOL = Exercise(
    name="max-pool",
    section=SECTION,
    title="max pooling: the largest value of each kernel x kernel window, every stride pixels",
    params=("x", "kernel", "stride"),
    returns="tensor N x C x H' x W'",
    statement="""
        x is an N x C x H x W batch. Slide a kernel x kernel window over each channel of each image, `stride` pixels
        at a time (no padding; a window that does not fit at the end is not taken), and return the largest value of
        every window: N x C x H' x W' with H' = floor((H - kernel) / stride) + 1, and W' likewise. Each channel is
        pooled on its own.

        Example: fn(torch.tensor([[[[1., 2.], [3., 4.]]]]), 2, 2) == tensor([[[[4.]]]]).

        The lecture: pooling is "used to reduce the size of deeper layers", gives "invariance to small
        translations"; "max pooling or mean pooling". AlexNet pools 3x3 windows with stride 2 (overlapping pooling,
        Krizhevsky et al. 2012, Sec. 3.4).
    """,
    reference=max_pool,
    make_cases=_pool_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("mean instead of max: max pooling keeps each window's largest value",
                    lambda x, k, s: F.avg_pool2d(x, k, s)),
        WrongAnswer("ceil instead of floor: a window that does not fit at the end is not taken",
                    lambda x, k, s: F.max_pool2d(x, k, s, ceil_mode=True)),
        WrongAnswer("the stride is ignored: the window moves `stride` pixels at a time",
                    lambda x, k, s: F.max_pool2d(x, k, 1)),
        WrongAnswer("the stride is taken equal to the kernel: it is its own argument (AlexNet's windows overlap)",
                    _stride_is_kernel(max_pool)),
        WrongAnswer("the channels are pooled together: each channel is pooled on its own",
                    lambda x, k, s: F.max_pool2d(x.amax(1, keepdim=True), k, s)),
        WrongAnswer("the largest magnitude is kept (abs): max pooling keeps the largest value, negative or not",
                    lambda x, k, s: F.max_pool2d(x.abs(), k, s)),
    ),
)  # fmt: skip

# -------------------------------------------------------------------------------------------------- mean-pool


def mean_pool(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """The reference: PyTorch's ``avg_pool2d`` (no padding, floor mode)."""
    return F.avg_pool2d(x, kernel, stride)


MEAN_POOL = Exercise(
    name="mean-pool",
    section=SECTION,
    title="mean pooling: the average of each kernel x kernel window, every stride pixels",
    params=("x", "kernel", "stride"),
    returns="tensor N x C x H' x W'",
    statement="""
        As max-pool, with the mean of each window instead of its largest value: x is N x C x H x W, windows of
        kernel x kernel every `stride` pixels, no padding, floor; each channel on its own.

        Example: fn(torch.tensor([[[[1., 2.], [3., 4.]]]]), 2, 2) == tensor([[[[2.5]]]]).

        The lecture: "max pooling or mean pooling"; LeNet-5's subsampling is an average ("Subsampling via average
        pooling"), though the paper's S2 adds the four inputs and multiplies by a trainable coefficient
        (LeCun et al. 1998, Sec. II-B).
    """,
    reference=mean_pool,
    make_cases=_pool_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("max instead of mean: mean pooling averages each window",
                    lambda x, k, s: F.max_pool2d(x, k, s)),
        WrongAnswer("the window is summed, not averaged: divide by its kernel x kernel values",
                    lambda x, k, s: F.avg_pool2d(x, k, s) * k * k),
        WrongAnswer("the sum is divided by kernel, not by the kernel x kernel values of the window",
                    lambda x, k, s: F.avg_pool2d(x, k, s) * k),
        WrongAnswer("ceil instead of floor: a window that does not fit at the end is not taken",
                    lambda x, k, s: F.avg_pool2d(x, k, s, ceil_mode=True)),
        WrongAnswer("the stride is ignored: the window moves `stride` pixels at a time",
                    lambda x, k, s: F.avg_pool2d(x, k, 1)),
        WrongAnswer("the stride is taken equal to the kernel: it is its own argument", _stride_is_kernel(mean_pool)),
    ),
)  # fmt: skip

# ------------------------------------------------------------------------------------------------- mixed-pool


def mixed_pool(x: torch.Tensor, kernel: int, stride: int, a: float) -> torch.Tensor:
    """The reference: ``a * max + (1 - a) * mean`` (cnnlab's :class:`~cnnlab.layers.MixedPool2d` with mix ``a``)."""
    return a * F.max_pool2d(x, kernel, stride) + (1 - a) * F.avg_pool2d(x, kernel, stride)


def _mixed_cases(rng: random.Random) -> list[Case]:
    mixes = [0.0, 1.0, 0.5, 0.25] + [round(rng.random(), 3) for _ in range(30)]
    return [Case((*case.args, a), case.note) for case, a in zip(_pool_cases(rng), mixes, strict=False)]


MIXED_POOL = Exercise(
    name="mixed-pool",
    section=SECTION,
    title="learned pooling: a mix a x max + (1 - a) x mean, where a is learned",
    params=("x", "kernel", "stride", "a"),
    returns="tensor N x C x H' x W'",
    statement="""
        Return a * max_pool(x) + (1 - a) * mean_pool(x), both over kernel x kernel windows every `stride` pixels
        (your answers to max-pool and mean-pool). a is a number in [0, 1]: 1 gives max pooling, 0 mean pooling.

        Example: fn(torch.tensor([[[[1., 2.], [3., 4.]]]]), 2, 2, 0.5) == tensor([[[[3.25]]]]).

        The lecture: "You can also learn a pooling type via back propagation". Mixed max-average pooling: Lee,
        Gallagher & Tu 2016, "Generalizing Pooling Functions in Convolutional Neural Networks: Mixed, Gated, and
        Tree", Sec. 2.1, where a is a parameter trained with the network (cnnlab.layers.MixedPool2d).
    """,
    reference=mixed_pool,
    make_cases=_mixed_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the weights are swapped: a weighs the max, 1 - a the mean (a = 1 is max pooling)",
                    lambda x, k, s, a: mixed_pool(x, k, s, 1 - a)),
        WrongAnswer("the mean is added whole: the two weights, a and 1 - a, add up to one",
                    lambda x, k, s, a: a * F.max_pool2d(x, k, s) + F.avg_pool2d(x, k, s)),
        WrongAnswer("a is ignored: max pooling only", lambda x, k, s, a: F.max_pool2d(x, k, s)),
        WrongAnswer("a is ignored: mean pooling only", lambda x, k, s, a: F.avg_pool2d(x, k, s)),
    ),
)  # fmt: skip

EXERCISES = (MAX_POOL, MEAN_POOL, MIXED_POOL)
