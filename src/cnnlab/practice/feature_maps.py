"""Exercises of the lecture's "Feature Maps": their size, several kernels at once, and the convolution layer."""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

from cnnlab.layers.shapes import conv_output_size
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer, randn
from cnnlab.practice._values import TENSOR, WHOLE

__all__ = ["EXERCISES"]

SECTION = "Feature maps"

# ------------------------------------------------------------------------------------------------ output-size


def output_size(i: int, k: int, p: int, s: int) -> int:
    """The reference: cnnlab's size arithmetic (note its order of arguments: i, k, s, p)."""
    return conv_output_size(i, k, s, p)


def _size_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case((32, 5, 0, 1), "LeNet-5's C1: 32 -> 28"),
        Case((227, 11, 0, 4), "AlexNet's first layer: 227 -> 55"),
        Case((1, 1, 0, 1), "1x1 input"),
        Case((7, 3, 0, 5), "stride larger than the kernel"),
        Case((5, 3, 3, 2), "padding larger than half the kernel"),
        Case((8, 3, 1, 2), "a window does not fit at the end: floor"),
        Case((4, 6, 1, 1), "kernel as large as the padded input"),
    ]
    while len(cases) < 300:
        i, p, s = rng.randint(1, 64), rng.randint(0, 6), rng.randint(1, 6)
        cases.append(Case((i, rng.randint(1, min(i + 2 * p, 11)), p, s)))
    return cases


OUTPUT_SIZE = Exercise(
    name="output-size",
    section=SECTION,
    title="the size of a feature map from input size i, kernel k, zero padding p and stride s",
    params=("i", "k", "p", "s"),
    returns="int",
    statement="""
        Return the size of the output along one axis of a convolution with input size i, kernel size k, zero padding
        p on each side and stride s: how many positions the window takes. Every input has i + 2p >= k.

        Example: fn(32, 5, 0, 1) == 28 (LeNet-5's C1); fn(227, 11, 0, 4) == 55 (AlexNet's first layer).

        The lecture: o = floor((i - k + 2p) / s) + 1 (Dumoulin & Visin 2016, "A guide to convolution arithmetic
        for deep learning", Relationship 6).
    """,
    reference=output_size,
    make_cases=_size_cases,
    kind=WHOLE,
    wrong_answers=(
        WrongAnswer("ceil instead of floor: a window that does not fit at the end is not taken",
                    lambda i, k, p, s: math.ceil((i - k + 2 * p) / s) + 1),
        WrongAnswer("the +1 is forgotten: the first position of the window counts too",
                    lambda i, k, p, s: (i - k + 2 * p) // s),
        WrongAnswer("the padding is forgotten: it adds p on each side, 2p in all",
                    lambda i, k, p, s: (i - k) // s + 1),
        WrongAnswer("the padding is counted on one side only: it is added on both, 2p",
                    lambda i, k, p, s: (i - k + p) // s + 1),
        WrongAnswer("the stride is applied to the input size: it divides the positions the window moves through, "
                    "(i - k + 2p) / s", lambda i, k, p, s: i // s - k + 2 * p + 1),
        WrongAnswer("the stride is ignored", lambda i, k, p, s: i - k + 2 * p + 1),
        WrongAnswer("the +1 is added before dividing: it comes after the floor",
                    lambda i, k, p, s: (i - k + 2 * p + 1) // s),
        WrongAnswer("/ without a floor gives a fraction: a size is a whole number, floor((i - k + 2p) / s) + 1",
                    lambda i, k, p, s: (i - k + 2 * p) / s + 1),
    ),
)  # fmt: skip

# ----------------------------------------------------------------------------------------------- feature-maps


def stacked_maps(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """The reference: one convolution with every kernel at once (PyTorch's conv2d on a batch of one)."""
    return F.conv2d(image[None], kernels)[0]


def _maps_summed(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    return stacked_maps(image, kernels).sum(0, keepdim=True)


def _maps_side_by_side(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    return torch.cat(list(stacked_maps(image, kernels)), dim=1)


def _first_channel_only(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    return stacked_maps(image[:1], kernels[:, :1])


def _channels_reversed(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    return stacked_maps(image, kernels.flip(1))


def _channels_apart(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    pairs = [(m, c) for m in range(kernels.shape[0]) for c in range(image.shape[0])]
    return torch.cat([F.conv2d(image[c][None, None], kernels[m, c][None, None])[0] for m, c in pairs])


def _flipped_kernels(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    return stacked_maps(image, kernels.flip(-2, -1))


def _maps_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case((randn(rng, 1, 1, 1), randn(rng, 3, 1, 1, 1)), "1x1 input, three 1x1 kernels"),
        Case((randn(rng, 3, 4, 6), randn(rng, 2, 3, 2, 3)), "non-square input and kernels"),
    ]
    while len(cases) < 25:
        c, h, w = rng.randint(1, 3), rng.randint(1, 8), rng.randint(1, 8)
        kernels = randn(rng, rng.randint(1, 4), c, rng.randint(1, h), rng.randint(1, w))
        cases.append(Case((randn(rng, c, h, w), kernels)))
    return cases


FEATURE_MAPS = Exercise(
    name="feature-maps",
    section=SECTION,
    title="several kernels at once: one feature map per kernel, stacked as channels",
    params=("image", "kernels"),
    returns="tensor O x H' x W'",
    statement="""
        image is a C x H x W tensor (a multi-channel image), kernels an O x C x kH x kW tensor: O kernels, each
        covering all C channels. Kernel m gives map m: at (r, c) the sum over the channels and the window of
        kernels[m] * image[:, r : r + kH, c : c + kW]. Return the O maps stacked as an O x H' x W' tensor
        (H' = H - kH + 1, W' = W - kW + 1; no padding, stride 1, no flip).

        Example: an RGB image 3 x 32 x 32 and 6 kernels 6 x 3 x 5 x 5 give 6 maps: a 6 x 28 x 28 tensor.

        The lecture: "We've seen we can learn multiple kernels at once by stacking output feature maps"; "a layer is
        perceived as a multi-channel image" and "deeper layers process the channels of the previous layers".
    """,
    reference=stacked_maps,
    make_cases=_maps_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the maps are added into one: each kernel gives its own map, stacked as a channel (dim 0)",
                    _maps_summed),
        WrongAnswer("the maps are put side by side along the width: they are stacked as channels, "
                    "torch.stack(maps) (O x H' x W')", _maps_side_by_side),
        WrongAnswer("only the first input channel is used: each kernel covers every channel and sums over them",
                    _first_channel_only),
        WrongAnswer("the channels are summed in the wrong order: kernel slice c weighs input channel c",
                    _channels_reversed),
        WrongAnswer("the channels are kept apart, a map per kernel and channel: a kernel sums over the channels "
                    "into one map", _channels_apart),
        WrongAnswer("the kernels are flipped: deep learning's convolution is a cross-correlation, no flip",
                    _flipped_kernels),
    ),
)  # fmt: skip

# ----------------------------------------------------------------------------------------------------- conv2d


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """The reference: PyTorch's ``conv2d``."""
    return F.conv2d(x, weight, bias, stride, padding)


def _ceil_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """A last, partial window at the bottom and right, filled with zeros: ceil instead of floor."""
    extra = []
    for size, k in zip(reversed(x.shape[2:]), reversed(weight.shape[2:]), strict=True):  # W first, as F.pad wants
        out = math.ceil((size + 2 * padding - k) / stride) + 1
        extra += [padding, padding + max(0, (out - 1) * stride + k - size - 2 * padding)]
    return F.conv2d(F.pad(x, extra), weight, bias, stride)


def _one_sided(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    return F.conv2d(F.pad(x, (padding, 0, padding, 0)), weight, bias, stride)


def _conv_cases(rng: random.Random) -> list[Case]:
    def case(n: int, c: int, o: int, hw: tuple[int, int], k: tuple[int, int], s: int, p: int, note: str = "") -> Case:
        return Case((randn(rng, n, c, *hw), randn(rng, o, c, *k), randn(rng, o), s, p), note)

    cases = [
        case(1, 1, 1, (1, 1), (1, 1), 1, 0, "1x1 input and kernel"),
        case(2, 2, 3, (5, 7), (2, 3), 1, 0, "non-square input and kernel"),
        case(1, 2, 2, (7, 7), (2, 2), 3, 0, "stride larger than the kernel"),
        case(1, 1, 2, (3, 4), (3, 3), 1, 2, "padding larger than half the kernel"),
        case(2, 3, 2, (8, 6), (3, 3), 2, 1, "stride and padding; a window does not fit at the end"),
        case(1, 2, 1, (1, 1), (3, 3), 1, 1, "1x1 input, padded"),
    ]
    while len(cases) < 30:
        h, w, p = rng.randint(1, 9), rng.randint(1, 9), rng.randint(0, 3)
        k = (rng.randint(1, min(h + 2 * p, 4)), rng.randint(1, min(w + 2 * p, 4)))
        cases.append(case(rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 3), (h, w), k, rng.randint(1, 4), p))
    return cases


CONV2D = Exercise(
    name="conv2d",
    section=SECTION,
    title="a convolutional layer: a batch of images, several kernels, a bias each, stride and zero padding",
    params=("x", "weight", "bias", "stride", "padding"),
    returns="tensor N x O x H' x W'",
    statement="""
        x is an N x C x H x W batch, weight an O x C x kH x kW tensor of O kernels, bias a tensor of O biases;
        stride and padding are whole numbers, the same for height and width. Pad x with `padding` zeros on every
        side, slide each kernel over it `stride` pixels at a time, and return the N x O x H' x W' tensor whose
        unit [n, m, r, c] is bias[m] plus the sum of weight[m] times the window of x[n] at (r * stride, c * stride).
        H' and W' follow the size formula (exercise output-size). Loops are fine; no flip (cross-correlation).

        Example: x of 1 x 1 x 32 x 32 and weight of 6 x 1 x 5 x 5, stride 1, padding 0: 1 x 6 x 28 x 28, LeNet-5's C1.
        torch.nn.functional.conv2d(x, weight, bias, stride, padding) is the answer; write your own.

        The lecture: "Multiple feature maps generated, so multiple features detected per layer"; the feature map's
        size o = floor((i - k + 2p) / s) + 1.
    """,
    reference=conv2d,
    make_cases=_conv_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the kernel is flipped: that is true convolution; deep learning's convolution is the "
                    "cross-correlation, the kernel as it is",
                    lambda x, w, b, s, p: F.conv2d(x, w.flip(-2, -1), b, s, p)),
        WrongAnswer("the padding is forgotten: pad x with `padding` zeros on every side first",
                    lambda x, w, b, s, p: F.conv2d(x, w, b, s, 0)),
        WrongAnswer("the bias is forgotten: add bias[m] to every unit of map m",
                    lambda x, w, b, s, p: F.conv2d(x, w, None, s, p)),
        WrongAnswer("the stride is ignored: the window moves `stride` pixels at a time",
                    lambda x, w, b, s, p: F.conv2d(x, w, b, 1, p)),
        WrongAnswer("ceil instead of floor: a window that does not fit at the end is not taken", _ceil_conv),
        WrongAnswer("the padding is on one side only (top and left): it goes on every side", _one_sided),
        WrongAnswer("the channels are summed in the wrong order: weight[m, c] weighs input channel c",
                    lambda x, w, b, s, p: F.conv2d(x, w.flip(1), b, s, p)),
        WrongAnswer("the bias is added once per input channel (inside the channel loop): once per unit",
                    lambda x, w, b, s, p: F.conv2d(x, w, b * x.shape[1], s, p)),
    ),
)  # fmt: skip

EXERCISES = (OUTPUT_SIZE, FEATURE_MAPS, CONV2D)
