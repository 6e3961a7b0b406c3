"""Exercises of the lecture's "LeNet" and its successors: LeNet-5's C3, receptive fields, VGG's 3x3 stacks."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from cnnlab.layers.lenet import LENET5_C3_TABLE, SparseConv2d, connections_from_table
from cnnlab.layers.shapes import Window, receptive_fields
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer
from cnnlab.practice._values import WHOLE, Wholes

__all__ = ["EXERCISES"]

SECTION_LENET = "LeNet"
SECTION_VGG = "AlexNet and VGGNet"

# ------------------------------------------------------------------------------------------------- lenet-c3

Table = Sequence[str]


def c3_parameters(table: Table, kernel: int) -> int:
    """The reference: the trainable parameters of cnnlab's :class:`~cnnlab.layers.SparseConv2d` on the table."""
    layer = SparseConv2d(connections_from_table(table), len(table), kernel)
    return sum(parameter.numel() for parameter in layer.parameters())


def _marks(table: Table) -> tuple[int, int, int, int]:
    """``(rows, columns, X's, dots)`` of a connection table."""
    cells = [row.split() for row in table]
    crosses = sum(cells_row.count("X") for cells_row in cells)
    return len(cells), len(cells[0]), crosses, len(cells) * len(cells[0]) - crosses


def _c3_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case((LENET5_C3_TABLE, 5), "LeNet-5's Table I: 60 connections of 5x5"),
        Case((("X",), 1), "one map to one map, 1x1"),
        Case((("X X X", "X X X"), 3), "a dense table: every map reads every map"),
    ]
    while len(cases) < 60:
        rows, columns = rng.randint(1, 8), rng.randint(1, 16)
        grid = [[rng.random() < 0.5 for _ in range(columns)] for _ in range(rows)]
        for column in range(columns):  # every output map reads at least one input map
            grid[rng.randrange(rows)][column] = True
        table = tuple(" ".join("X" if mark else "." for mark in row) for row in grid)
        cases.append(Case((table, rng.randint(1, 7))))
    return cases


def _dense(table: Table, kernel: int) -> int:
    rows, columns, _, _ = _marks(table)
    return rows * columns * kernel * kernel + columns


def _wrong_count(per_connection: int, biases: str) -> object:
    def count(table: Table, kernel: int) -> int:
        rows, columns, crosses, _ = _marks(table)
        per = {1: kernel, 2: kernel * kernel}[per_connection]
        return crosses * per + {"none": 0, "per connection": crosses, "per row": rows, "per map": columns}[biases]

    return count


LENET_C3 = Exercise(
    name="lenet-c3",
    section=SECTION_LENET,
    title="the parameters of LeNet-5's C3 from its connection table (Table I)",
    params=("table", "kernel"),
    returns="int",
    statement="""
        table is a connection table as LeNet-5's paper prints it (cnnlab.layers.LENET5_C3_TABLE): one string per
        input map (S2's maps, the rows), one mark per output map (C3's maps, the columns), "X" where the output
        map reads the input map and "." where it does not, separated by spaces. Each connection is a kernel x kernel
        kernel; each output map has one bias. Return the number of trainable parameters.

        Example: fn(cnnlab.layers.LENET5_C3_TABLE, 5) == 1516 (60 connections x 25 + 16 biases), against 2416 for
        a C3 in which every map reads all six.

        The lecture: LeNet has "sparse connectivity between S2 and C3". LeCun et al. 1998, Sec. II-B: "a
        non-complete connection scheme keeps the number of connections within reasonable bounds" and "forces a
        break of symmetry"; "layer C3 has 1,516 trainable parameters".
    """,
    reference=c3_parameters,
    make_cases=_c3_cases,
    kind=WHOLE,
    wrong_answers=(
        WrongAnswer("the table is taken as dense: only the X's are connections (Table I has 60 of 96)", _dense),
        WrongAnswer("the biases are forgotten: each C3 map has one", _wrong_count(2, "none")),
        WrongAnswer("a bias per connection: each output map has one bias, however many maps it reads",
                    _wrong_count(2, "per connection")),
        WrongAnswer("a bias per input map (row): the biases belong to the output maps, the columns",
                    _wrong_count(2, "per row")),
        WrongAnswer("a kernel is counted as kernel weights: it has kernel x kernel", _wrong_count(1, "per map")),
        WrongAnswer("the dots are counted: a connection is an X",
                    lambda table, kernel: _marks(table)[3] * kernel * kernel + _marks(table)[1]),
    ),
)  # fmt: skip

# ------------------------------------------------------------------------------------------- receptive-field

Layers = Sequence[tuple[int, int]]


def field_size(layers: Layers) -> int:
    """The reference: cnnlab's receptive-field arithmetic (:func:`cnnlab.layers.shapes.receptive_fields`)."""
    return receptive_fields([Window(kernel, stride) for kernel, stride in layers])[-1].size


def _strides_ignored(layers: Layers) -> int:
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def _own_stride(layers: Layers) -> int:
    size, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        size += (kernel - 1) * jump
    return size


def _no_minus_one(layers: Layers) -> int:
    size, jump = 1, 1
    for kernel, stride in layers:
        size += kernel * jump
        jump *= stride
    return size


def _field_cases(rng: random.Random) -> list[Case]:
    cases = [
        Case((((3, 1),),), "one layer: its kernel"),
        Case((((3, 1), (3, 1)),), "two 3x3 layers see 5x5 (VGG)"),
        Case((((5, 1), (2, 2), (5, 1), (2, 2), (5, 1)),), "LeNet-5: C1, S2, C3, S4, C5 see the whole 32x32"),
        Case((((2, 2), (3, 1)),), "a pooling then a convolution: the stride below spreads the kernel"),
        Case((((1, 1),),), "a 1x1 convolution sees one pixel"),
    ]
    while len(cases) < 200:
        layers = tuple((rng.randint(1, 7), rng.randint(1, 3)) for _ in range(rng.randint(1, 6)))
        cases.append(Case((layers,)))
    return cases


RECEPTIVE_FIELD = Exercise(
    name="receptive-field",
    section=SECTION_VGG,
    title="the receptive field of a unit at the top of a stack of convolutions and poolings",
    params=("layers",),
    returns="int",
    statement="""
        layers is a list of (kernel, stride) pairs, from the input up: convolutions and poolings, square. Return
        the size (along one axis) of the input region that one unit of the last layer sees. Each layer widens it by
        (kernel - 1) times the distance, in input pixels, between neighbouring units of the layer below it (the
        product of the strides below).

        Example: fn([(3, 1), (3, 1)]) == 5; fn([(5, 1), (2, 2), (5, 1), (2, 2), (5, 1)]) == 32 (LeNet-5's C5).

        The lecture: VGGNet uses "smaller 3x3 filters on all convolutional layers with stride of 1"; "a stack of two
        3x3 conv. layers has an effective receptive field of 5x5; three such layers have a 7x7 effective receptive
        field" (Simonyan & Zisserman 2015, Sec. 2.3).
    """,
    reference=field_size,
    make_cases=_field_cases,
    kind=WHOLE,
    wrong_answers=(
        WrongAnswer("the strides are ignored: a stride below spreads a layer's kernel over more input pixels",
                    _strides_ignored),
        WrongAnswer("the kernels are added: neighbouring windows overlap, each layer adds kernel - 1 (times the "
                    "strides below)", lambda layers: sum(kernel for kernel, _ in layers)),
        WrongAnswer("a layer's own stride is counted for it: only the strides of the layers below it spread its "
                    "kernel", _own_stride),
        WrongAnswer("the kernels are multiplied: each layer adds kernel - 1 (times the strides below)",
                    lambda layers: math.prod(kernel for kernel, _ in layers)),
        WrongAnswer("each layer adds kernel, not kernel - 1 (times the strides below): a window of k pixels reaches "
                    "k - 1 further than one pixel", _no_minus_one),
    ),
)  # fmt: skip

# ---------------------------------------------------------------------------------------------- stacked-3x3


def stacked_3x3(channels: int, layers: int) -> tuple[int, int, int]:
    """The reference: weights (no biases, as the paper counts) and the field of cnnlab's arithmetic."""
    field = receptive_fields([Window(3)] * layers)[-1].size
    return layers * 9 * channels**2, field * field * channels**2, field


def _field_from(field: int) -> object:
    return lambda channels, layers: (layers * 9 * channels**2, field(layers) ** 2 * channels**2, field(layers))


def _stack_cases(rng: random.Random) -> list[Case]:
    cases = [Case((64, 2), "VGG's two 3x3 layers for one 5x5"), Case((256, 3), "VGG's three for one 7x7"),
             Case((1, 1), "one layer, one channel: a single 3x3 kernel")]  # fmt: skip
    cases += [Case((rng.randint(1, 512), rng.randint(1, 6))) for _ in range(97)]
    return cases


STACKED_3X3 = Exercise(
    name="stacked-3x3",
    section=SECTION_VGG,
    title="a stack of 3x3 layers against one large layer with the same field: weights and field",
    params=("channels", "layers"),
    returns="(stack_weights, single_weights, field)",
    statement="""
        A stack of `layers` 3x3 convolutions, stride 1, each from `channels` maps to `channels` maps, has the same
        receptive field as one convolution with a larger kernel. Return a tuple: the weights of the stack, the
        weights of the one layer with that field (field x field kernels, channels to channels), and the field. Count
        the weights only, no biases, as the paper does.

        Example: fn(64, 3) == (110_592, 200_704, 7): "27C^2" against "49C^2" for C = 64.

        The lecture: VGGNet has "smaller 3x3 filters on all convolutional layers"; Inception V2 replaced "7x7 and
        5x5 filters with multiple 3x3 convolutions". Simonyan & Zisserman 2015, Sec. 2.3: "a three-layer 3x3 conv.
        stack ... is parametrised by 3(3^2 C^2) = 27C^2 weights; at the same time, a single 7x7 conv. layer would
        require 7^2 C^2 = 49C^2 parameters".
    """,
    reference=stacked_3x3,
    make_cases=_stack_cases,
    kind=Wholes(("the stack's weights", "the single layer's weights", "the field")),
    wrong_answers=(
        WrongAnswer("the biases are counted: the paper counts weights only",
                    lambda c, n: (n * (9 * c * c + c), (2 * n + 1) ** 2 * c * c + c, 2 * n + 1)),
        WrongAnswer("the field is taken as 3 x layers: each 3x3 layer widens the field by 2, not 3",
                    _field_from(lambda n: 3 * n)),
        WrongAnswer("the field is taken as 3 ** layers: each stride-1 3x3 layer widens the field by 2",
                    _field_from(lambda n: 3**n)),
        WrongAnswer("channels are counted once: each of the C output maps has a kernel for each of the C input "
                    "maps, C x C", lambda c, n: (n * 9 * c, (2 * n + 1) ** 2 * c, 2 * n + 1)),
        WrongAnswer("the stack is counted as one 3x3 layer: each of its layers has its own weights",
                    lambda c, n: (9 * c * c, (2 * n + 1) ** 2 * c * c, 2 * n + 1)),
    ),
)  # fmt: skip

EXERCISES = (LENET_C3, RECEPTIVE_FIELD, STACKED_3X3)
