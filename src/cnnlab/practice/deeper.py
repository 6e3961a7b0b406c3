"""Exercises of the lecture's "Deeper Networks": NiN's 1x1 convolutions and global average pooling, GoogLeNet's
inception module, ResNet's residual block."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from cnnlab.layers.pooling import GlobalAvgPool2d
from cnnlab.models.googlenet import INCEPTION_TABLE, InceptionRow
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer, randn
from cnnlab.practice._values import TENSOR, Wholes

__all__ = ["EXERCISES"]

SECTION_NIN = "Network in a network"
SECTION_GOOGLENET = "GoogLeNet"
SECTION_RESNET = "ResNet"

# --------------------------------------------------------------------------------------------- pointwise-conv


def pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The reference: PyTorch's convolution with 1x1 kernels."""
    return F.conv2d(x, weight[:, :, None, None], bias)


def _pixels_mixed(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Reshaped to (N, H*W, C) without moving the channels last: each "pixel" holds values of several pixels."""
    n, c, h, w = x.shape
    return (x.reshape(n, h * w, c) @ weight.T + bias).permute(0, 2, 1).reshape(n, -1, h, w)


def _not_moved_back(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    n, _, h, w = x.shape
    return (x.permute(0, 2, 3, 1) @ weight.T + bias).reshape(n, -1, h, w)


def _pointwise_cases(rng: random.Random) -> list[Case]:
    def case(n: int, c: int, o: int, h: int, w: int, note: str = "") -> Case:
        return Case((randn(rng, n, c, h, w), randn(rng, o, c), randn(rng, o)), note)

    cases = [case(1, 1, 1, 1, 1, "1x1 input, one channel"), case(2, 3, 3, 2, 4, "as many outputs as inputs"),
             case(1, 4, 2, 3, 1, "fewer outputs than inputs: a reduction, as GoogLeNet's")]  # fmt: skip
    while len(cases) < 30:
        n, c, o = rng.randint(1, 2), rng.randint(1, 5), rng.randint(1, 5)
        cases.append(case(n, c, o, rng.randint(1, 6), rng.randint(1, 6)))
    return cases


POINTWISE_CONV = Exercise(
    name="pointwise-conv",
    section=SECTION_NIN,
    title="a 1x1 convolution as the same small fully connected layer applied to every pixel",
    params=("x", "weight", "bias"),
    returns="tensor N x O x H x W",
    statement="""
        x is N x C x H x W, weight an O x C matrix, bias a vector of O. At every pixel (n, :, r, c), the C channel
        values form a vector v: return the N x O x H x W tensor holding weight @ v + bias there. This is a 1x1
        convolution (weight as O x C x 1 x 1), written as a fully connected layer shared by all the pixels. No
        ReLU. A hint: move the channels last (permute), use @, and move them back.

        Example: x of 1 x 192 x 28 x 28 and a weight of 64 x 192: GoogLeNet's 1x1 reduction, 1 x 64 x 28 x 28.

        The lecture: the "'network in a network' approach was taken, putting fully connected layers in between
        convolutional layers". Lin, Chen & Yan 2014, Sec. 3.1-3.2: the mlpconv layer "is equivalent to a
        convolution layer with 1x1 convolution kernel".
    """,
    reference=pointwise,
    make_cases=_pointwise_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the bias is forgotten", lambda x, w, b: pointwise(x, w, torch.zeros_like(b))),
        WrongAnswer("the weight is not transposed: a pixel's output is weight @ v, the rows of weight are the "
                    "outputs", lambda x, w, b: pointwise(x, w.T, b) if w.shape[0] == w.shape[1] else None),
        WrongAnswer("reshaped to N x (H*W) x C without moving the channels last: the values of different pixels "
                    "are mixed (permute(0, 2, 3, 1) first)", _pixels_mixed),
        WrongAnswer("the result is reshaped to N x O x H x W without moving the channels back: permute(0, 3, 1, 2)",
                    _not_moved_back),
        WrongAnswer("a ReLU is applied: this exercise asks for the linear layer only",
                    lambda x, w, b: pointwise(x, w, b).relu()),
    ),
)  # fmt: skip

# -------------------------------------------------------------------------------------------- global-avg-pool


def global_average(x: torch.Tensor) -> torch.Tensor:
    """The reference: cnnlab's :class:`~cnnlab.layers.GlobalAvgPool2d`, flattened to N x C."""
    return GlobalAvgPool2d()(x).flatten(1)


def _gap_cases(rng: random.Random) -> list[Case]:
    cases = [Case((randn(rng, 1, 1, 1, 1),), "1x1 map, one channel"),
             Case((randn(rng, 2, 3, 1, 1),), "1x1 maps: nothing to average"),
             Case((randn(rng, 2, 4, 3, 5),), "non-square maps")]  # fmt: skip
    while len(cases) < 30:
        cases.append(Case((randn(rng, rng.randint(1, 3), rng.randint(1, 6), rng.randint(1, 7), rng.randint(1, 7)),)))
    return cases


GLOBAL_AVG_POOL = Exercise(
    name="global-avg-pool",
    section=SECTION_GOOGLENET,
    title="global average pooling: one number per feature map, its mean",
    params=("x",),
    returns="tensor N x C",
    statement="""
        x is N x C x H x W. Return the N x C tensor of each map's mean over its H x W positions.

        Example: GoogLeNet's last maps, 1 x 1024 x 7 x 7, become 1 x 1024, the classifier's input.

        The lecture: GoogLeNet has "22 layers & global average pooling as final layer". Lin, Chen & Yan 2014,
        Sec. 3.2: "take the average of each feature map, and the resulting vector is fed directly into the softmax
        layer"; it has no parameter to learn, so it does not overfit. (cnnlab.layers.GlobalAvgPool2d.)
    """,
    reference=global_average,
    make_cases=_gap_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("averaged over the channels: the mean is over each map's positions, dims 2 and 3",
                    lambda x: x.mean(1)),
        WrongAnswer("max instead of mean: global average pooling averages", lambda x: x.amax((2, 3))),
        WrongAnswer("the sum instead of the mean: divide by H x W", lambda x: x.sum((2, 3))),
        WrongAnswer("the 1x1 axes are kept: return N x C (flatten, or mean without keepdim)",
                    lambda x: x.mean((2, 3), keepdim=True)),
        WrongAnswer("averaged over the batch too: each image keeps its own numbers", lambda x: x.mean((0, 2, 3))),
        WrongAnswer("averaged over one axis only: over both H and W", lambda x: x.mean(3)),
    ),
)  # fmt: skip

# ------------------------------------------------------------------------------------------- inception-module

Row = Sequence[int]


def _conv(c_in: int, c_out: int, k: int, *, bias: bool = True) -> int:
    return c_out * c_in * k * k + (c_out if bias else 0)


def inception(in_channels: int, row: Row, *, bias: bool = True, k5: int = 5, reductions: bool = True,
              projection: bool = True) -> tuple[int, int]:  # fmt: skip
    """``(output channels, parameters)`` of a module of :data:`~cnnlab.models.googlenet.INCEPTION_TABLE`'s kind, each
    keyword one of its parts (``False``: left out); the reference with every keyword at its default. The tests
    hold it to the parameters of cnnlab's own :class:`~cnnlab.models.googlenet.Inception`."""
    r = InceptionRow(*row)
    params = _conv(in_channels, r.ch1x1, 1, bias=bias)
    params += _conv(r.ch3x3red, r.ch3x3, 3, bias=bias) + _conv(r.ch5x5red, r.ch5x5, k5, bias=bias)
    if reductions:
        params += _conv(in_channels, r.ch3x3red, 1, bias=bias) + _conv(in_channels, r.ch5x5red, 1, bias=bias)
    if projection:
        params += _conv(in_channels, r.pool_proj, 1, bias=bias)
    pool_channels = r.pool_proj if projection else in_channels
    return r.ch1x1 + r.ch3x3 + r.ch5x5 + pool_channels, params


def inception_reference(in_channels: int, row: Row) -> tuple[int, int]:
    return inception(in_channels, row)


def _inception_cases(rng: random.Random) -> list[Case]:
    table_inputs = {"3a": 192, "3b": 256, "4a": 480, "4b": 512, "4c": 512, "4d": 512, "4e": 528, "5a": 832, "5b": 832}
    cases = [Case((table_inputs[name], tuple(row)), f"GoogLeNet's inception ({name}), Table 1")
             for name, row in INCEPTION_TABLE.items()]  # fmt: skip
    cases.append(Case((1, (1, 1, 1, 1, 1, 1)), "one channel everywhere"))
    while len(cases) < 60:
        cases.append(Case((rng.randint(1, 64), tuple(rng.randint(1, 64) for _ in range(6)))))
    return cases


INCEPTION_MODULE = Exercise(
    name="inception-module",
    section=SECTION_GOOGLENET,
    title="an inception module's output channels and parameters from its row of GoogLeNet's Table 1",
    params=("in_channels", "row"),
    returns="(out_channels, parameters)",
    statement="""
        row = (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), as GoogLeNet's Table 1 prints each inception
        module. Its four branches read the same in_channels maps and keep their size (padding), and their outputs
        are concatenated:

        1. a 1x1 convolution to #1x1 maps;
        2. a 1x1 convolution to #3x3 reduce maps, then a 3x3 convolution to #3x3 maps;
        3. a 1x1 convolution to #5x5 reduce maps, then a 5x5 convolution to #5x5 maps;
        4. a 3x3 max pooling (stride 1), then a 1x1 convolution to pool proj maps.

        Every convolution has a bias. Return (output channels, parameters).

        Example: fn(192, (64, 96, 128, 16, 32, 32)) == (256, 163_696): inception (3a).

        The lecture: GoogLeNet (Inception V1) is built of "inception modules", and "network in a network" 1x1
        convolutions keep "the number of parameters" from "exploding". Szegedy et al. 2015, Sec. 4 and Fig. 2(b):
        "1x1 convolutions are used to compute reductions before the expensive 3x3 and 5x5 convolutions".
    """,
    reference=inception_reference,
    make_cases=_inception_cases,
    kind=Wholes(("output channels", "parameters")),
    wrong_answers=(
        WrongAnswer("the reductions are counted as outputs: only each branch's last layer is concatenated",
                    lambda c, row: (sum(row), inception(c, row)[1])),
        WrongAnswer("the pooling branch has no projection: its 3x3 max pooling is followed by a 1x1 convolution to "
                    "pool proj maps", lambda c, row: inception(c, row, projection=False)),
        WrongAnswer("the pooling branch is forgotten: four branches are concatenated",
                    lambda c, row: (sum(row[i] for i in (0, 2, 4)),
                                    inception(c, row)[1] - _conv(c, row[5], 1))),
        WrongAnswer("the biases are forgotten: every convolution has one per output map",
                    lambda c, row: inception(c, row, bias=False)),
        WrongAnswer("the 5x5 branch is counted as 3x3: the paper's is 5x5 (torchvision's GoogLeNet has 3x3 there, "
                    "a known bug)", lambda c, row: inception(c, row, k5=3)),
        WrongAnswer("the 1x1 reductions' parameters are forgotten: they are convolutions too",
                    lambda c, row: inception(c, row, reductions=False)),
    ),
)  # fmt: skip

# --------------------------------------------------------------------------------------------- residual-block


def residual(x: torch.Tensor, weight1: torch.Tensor, weight2: torch.Tensor) -> torch.Tensor:
    """The reference: He et al.'s basic block without batch norm, relu(F(x) + x), in PyTorch's operations."""
    branch = F.conv2d(F.relu(F.conv2d(x, weight1, padding=1)), weight2, padding=1)
    return F.relu(branch + x)


def _branch(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, *, first_relu: bool = True) -> torch.Tensor:
    hidden = F.conv2d(x, w1, padding=1)
    return F.conv2d(F.relu(hidden) if first_relu else hidden, w2, padding=1)


def _residual_cases(rng: random.Random) -> list[Case]:
    def case(n: int, c: int, h: int, w: int, note: str = "") -> Case:
        return Case((randn(rng, n, c, h, w), randn(rng, c, c, 3, 3), randn(rng, c, c, 3, 3)), note)

    cases = [case(1, 1, 1, 1, "1x1 input, one channel"), case(2, 2, 3, 5, "non-square maps")]
    while len(cases) < 25:
        cases.append(case(rng.randint(1, 2), rng.randint(1, 4), rng.randint(1, 6), rng.randint(1, 6)))
    return cases


RESIDUAL_BLOCK = Exercise(
    name="residual-block",
    section=SECTION_RESNET,
    title="a residual block: two 3x3 convolutions and the identity shortcut, relu(F(x) + x)",
    params=("x", "weight1", "weight2"),
    returns="tensor N x C x H x W",
    statement="""
        x is N x C x H x W; weight1 and weight2 are C x C x 3 x 3 kernels (no biases). The branch is
        F(x) = conv(relu(conv(x, weight1)), weight2), both convolutions with stride 1 and padding 1 so that F(x) has
        x's shape. Return relu(F(x) + x). No batch normalisation here. torch.nn.functional.conv2d and relu are
        fine (or your own conv2d).

        Example: with weight2 all zeros, F(x) = 0 and the block returns relu(x): the identity is easy to learn.

        The lecture: ResNet "had residual connections jumping over weighted layers, passing x as an identity to the
        output". He, Zhang, Ren & Sun 2016, Sec. 3.2, Eq. (1) and Fig. 2: y = F(x, {W_i}) + x, "and the second
        nonlinearity after the addition".
    """,
    reference=residual,
    make_cases=_residual_cases,
    kind=TENSOR,
    wrong_answers=(
        WrongAnswer("the shortcut is forgotten: that is a plain block; add x before the last ReLU",
                    lambda x, w1, w2: F.relu(_branch(x, w1, w2))),
        WrongAnswer("the ReLU comes before the addition: the paper adds x first, then the second nonlinearity",
                    lambda x, w1, w2: F.relu(_branch(x, w1, w2)) + x),
        WrongAnswer("the last ReLU is forgotten: relu(F(x) + x)", lambda x, w1, w2: _branch(x, w1, w2) + x),
        WrongAnswer("the ReLU between the two convolutions is forgotten",
                    lambda x, w1, w2: F.relu(_branch(x, w1, w2, first_relu=False) + x)),
        WrongAnswer("the shortcut jumps over one convolution only: it goes around both",
                    lambda x, w1, w2: F.relu(F.conv2d(F.relu(F.conv2d(x, w1, padding=1) + x), w2, padding=1))),
    ),
)  # fmt: skip

EXERCISES = (POINTWISE_CONV, GLOBAL_AVG_POOL, INCEPTION_MODULE, RESIDUAL_BLOCK)
