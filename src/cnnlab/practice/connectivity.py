"""Exercises of the lecture's "Types of Network": fully connected, locally connected, shared weights."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from cnnlab.inspection.layer_comparison import compare_layers
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer, randn
from cnnlab.practice._values import TENSOR, Wholes

__all__ = ["EXERCISES"]

SECTION = "Types of network"

# ---------------------------------------------------------------------------------------------- layer-weights

Shape = tuple[int, int, int]


def layer_parameters(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    """The reference: cnnlab's own comparison of the three layers (weights and biases)."""
    fully, local, conv = compare_layers(input_shape, out_channels, kernel).layers
    return fully.params, local.params, conv.params


def _counts(input_shape: Shape, out_channels: int, kernel: int, *, window: int | None = None,
            positions: int | None = None) -> tuple[int, int, int, int, int]:  # fmt: skip
    """``(inputs, outputs, window, positions, out_channels)`` of the three layers, with one of them changed."""
    c, h, w = input_shape
    window = c * kernel * kernel if window is None else window
    positions = (h - kernel + 1) * (w - kernel + 1) if positions is None else positions
    return c * h * w, out_channels * positions, window, positions, out_channels


def _no_biases(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    inputs, outputs, window, _, maps = _counts(input_shape, out_channels, kernel)
    return inputs * outputs, outputs * window, maps * window


def _no_channels(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    _, h, w = input_shape
    _, outputs, window, _, maps = _counts(input_shape, out_channels, kernel, window=kernel * kernel)
    return h * w * outputs + outputs, outputs * window + outputs, maps * window + maps


def _local_shared(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    fully, _, conv = layer_parameters(input_shape, out_channels, kernel)
    return fully, conv, conv


def _conv_bias_per_position(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    fully, local, _ = layer_parameters(input_shape, out_channels, kernel)
    _, outputs, window, _, maps = _counts(input_shape, out_channels, kernel)
    return fully, local, maps * window + outputs


def _fully_to_maps(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    _, local, conv = layer_parameters(input_shape, out_channels, kernel)
    inputs, *_ = _counts(input_shape, out_channels, kernel)
    return inputs * out_channels + out_channels, local, conv


def _no_shrink(input_shape: Shape, out_channels: int, kernel: int) -> tuple[int, int, int]:
    _, h, w = input_shape
    inputs, outputs, window, _, maps = _counts(input_shape, out_channels, kernel, positions=h * w)
    return inputs * outputs + outputs, outputs * window + outputs, maps * window + maps


def _layer_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case(((1, 32, 32), 6, 5), "LeNet-5's C1: a 32x32 digit, 6 maps of 5x5"),
        Case(((3, 1, 1), 4, 1), "1x1 input"),
        Case(((2, 5, 9), 3, 5), "non-square input, kernel as tall as the input"),
    ]
    while len(cases) < 60:
        c, h, w = rng.randint(1, 4), rng.randint(1, 40), rng.randint(1, 40)
        cases.append(Case(((c, h, w), rng.randint(1, 16), rng.randint(1, min(h, w, 9)))))
    return cases


LAYER_WEIGHTS = Exercise(
    name="layer-weights",
    section=SECTION,
    title="parameters of a fully connected, a locally connected and a convolutional layer on the same input",
    params=("input_shape", "out_channels", "kernel"),
    returns="(fully_connected, locally_connected, convolution)",
    statement="""
        The input is one image of input_shape = (C, H, W). Each layer outputs out_channels maps of
        (H - kernel + 1) x (W - kernel + 1) units (stride 1, no padding). Return how many parameters
        (weights and biases) each layer has:

        * fully connected: every output unit has a weight for every input value, and a bias;
        * locally connected: every output unit has its own C x kernel x kernel window of weights, and a bias;
        * convolution: the units of one map share their kernel (C x kernel x kernel) and their bias.

        Example: fn((1, 32, 32), 6, 5) == (4_821_600, 122_304, 156): LeNet-5's C1 as a convolution has 156.

        The lecture: "Too many weights for each neuron" (fully connected); "Much more efficient, as each neuron only
        has a small number of pixels it relies on" (locally connected); shared weights: "They all extract the same
        feature at different positions in the image".
    """,
    reference=layer_parameters,
    make_cases=_layer_cases,
    kind=Wholes(("fully connected", "locally connected", "convolution")),
    wrong_answers=(
        WrongAnswer("the biases are forgotten: every output unit (FC, LC) or every map (convolution) has one",
                    _no_biases),
        WrongAnswer("the input channels are forgotten: a window holds C x kernel x kernel values, not kernel x kernel",
                    _no_channels),
        WrongAnswer("the locally connected layer is counted as a convolution: its weights are not shared, each "
                    "output position has its own", _local_shared),
        WrongAnswer("the convolution's bias is counted per position: the units of a map share their bias, as they "
                    "share their kernel", _conv_bias_per_position),
        WrongAnswer("the fully connected layer is counted to out_channels outputs: it has one per output unit, "
                    "out_channels x H' x W'", _fully_to_maps),
        WrongAnswer("the output is taken as H x W: without padding it shrinks to (H - kernel + 1) x (W - kernel + 1)",
                    _no_shrink),
    ),
)  # fmt: skip

# --------------------------------------------------------------------------------------------- shared-weights


def weighted_sums(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """The reference: PyTorch's convolution (a cross-correlation) of one map with one kernel."""
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def _flipped(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return weighted_sums(image, kernel.flip(0, 1))


def _transposed(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return weighted_sums(image, kernel.T)


def _same_size(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    # PyTorch's padding="same": k - 1 zeros in all, the odd one at the bottom and right
    (k_h, k_w), left = kernel.shape, [(k - 1) // 2 for k in kernel.shape]
    return weighted_sums(F.pad(image[None], (left[1], k_w - 1 - left[1], left[0], k_h - 1 - left[0]))[0], kernel)


def _one_short(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return weighted_sums(image, kernel)[:-1, :-1]


def _window_means(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return weighted_sums(image, kernel) / kernel.numel()


def _map_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case((randn(rng, 1, 1), randn(rng, 1, 1)), "1x1 input and kernel"),
        Case((randn(rng, 4, 7), randn(rng, 2, 3)), "non-square input and kernel"),
        Case((randn(rng, 3, 5), randn(rng, 3, 5)), "kernel as large as the input: one output"),
    ]
    while len(cases) < 30:
        h, w = rng.randint(1, 9), rng.randint(1, 9)
        cases.append(Case((randn(rng, h, w), randn(rng, rng.randint(1, h), rng.randint(1, w)))))
    return cases


SHARED_WEIGHTS = Exercise(
    name="shared-weights",
    section=SECTION,
    title="one kernel slid over one map: the weighted sum of every window (deep learning's convolution)",
    params=("image", "kernel"),
    returns="tensor (H - kH + 1) x (W - kW + 1)",
    statement="""
        image is an H x W tensor, kernel a kH x kW tensor. Return the (H - kH + 1) x (W - kW + 1) map whose unit
        (r, c) is the weighted sum of the window image[r : r + kH, c : c + kW] with the kernel's weights
        (multiply element by element and add up). No padding, stride 1; loops are fine.

        Example: fn(torch.tensor([[1., 2., 3.], [4., 5., 6.]]), torch.tensor([[1., 0.], [0., -1.]]))
        == tensor([[-4., -4.]]).

        The lecture: with shared weights "all connections in the first layer have the same weights" and
        "neurons compute the weighted sum of the inputs, which is the convolution". Deep learning's convolution
        does not flip the kernel: it is what mathematicians call a cross-correlation (torch.nn.functional.conv2d).
    """,
    reference=weighted_sums,
    make_cases=_map_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the kernel is flipped: that is convolution as mathematicians define it; deep learning's "
                    "convolution is a cross-correlation, the kernel as it is", _flipped),
        WrongAnswer("the kernel's rows and columns are swapped (kernel.T): kernel[u, v] weighs image[r + u, c + v]",
                    _transposed),
        WrongAnswer("the image is padded to keep its size: without padding the map shrinks to "
                    "(H - kH + 1) x (W - kW + 1)", _same_size),
        WrongAnswer("the last row and column of windows are missing: there are H - kH + 1 window rows "
                    "(range(H - kH + 1)), the +1 forgotten", _one_short),
        WrongAnswer("each window's weighted sum is divided by the kernel's size: it is a sum, not a mean",
                    _window_means),
    ),
)  # fmt: skip

EXERCISES = (LAYER_WEIGHTS, SHARED_WEIGHTS)
