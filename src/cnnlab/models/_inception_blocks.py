"""The building blocks of Szegedy et al., "Rethinking the Inception Architecture for Computer Vision"
(CVPR 2016, arXiv:1512.00567), for :mod:`cnnlab.models.inception_v2`.

Two sets, with every filter count an argument (the family file holds the numbers as tables):

* torchvision's Inception-v3 blocks (``InceptionA`` ... ``InceptionE``, ``InceptionAux``) with torchvision's
  attribute names, so ``torchvision.models.inception_v3`` weights load unchanged;
* the paper's own modules for Inception-v2: Fig. 5 (each 5x5 replaced by two 3x3), Fig. 6 (n x n factorised
  into 1 x n then n x 1), Fig. 10 (grid reduction by parallel stride-2 convolution and pooling) and the Fig. 8
  auxiliary classifier. Fig. 7 (expanded filter bank) is ``InceptionE``, which follows it exactly.

Every convolution is :class:`BasicConv2d`: conv without bias -> batch norm -> ReLU. Each block records its
``out_channels`` and, if it halves the grid, ``size_step``: the module whose output has the block's output
size, for :attr:`cnnlab.models.ImageClassifier.size_steps`. Pools are modules (they hold no state, so the
state_dict keys stay torchvision's) so that summaries and size checks see them.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers import shapes

__all__ = [
    "BasicConv2d",
    "Branches",
    "Figure5Module",
    "Figure6Module",
    "Figure8Aux",
    "GridReduction",
    "InceptionA",
    "InceptionAux",
    "InceptionB",
    "InceptionC",
    "InceptionD",
    "InceptionE",
]

Kernel = int | tuple[int, int]


class BasicConv2d(nn.Module):
    """Convolution (no bias: the batch norm's shift replaces it) -> BatchNorm(eps=0.001) -> ReLU.

    The unit of TF-slim's Inception networks and of torchvision's port (``eps=0.001`` is TF-slim's
    ``batch_norm_epsilon``). BN before the non-linearity is Ioffe & Szegedy's placement (Sec. 3.2), which
    also says the conv bias can be dropped.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Kernel, stride: int = 1, padding: Kernel = 0
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def same_conv(in_channels: int, out_channels: int, kernel_size: Kernel) -> BasicConv2d:
    """A stride-1 :class:`BasicConv2d` padded to keep the grid (1x7 gets ``padding=(0, 3)``)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return BasicConv2d(in_channels, out_channels, (kh, kw), padding=(shapes.same_padding(kh), shapes.same_padding(kw)))


def _avg_pool_3x3() -> nn.AvgPool2d:
    # The modules' pooling branch: 3x3/1 average, padded, counting the padding (torchvision's F.avg_pool2d).
    return nn.AvgPool2d(3, stride=1, padding=1)


class _Mixed(nn.Module):
    """Parallel branches whose outputs are concatenated along the channels."""

    out_channels: int
    size_step: str | None = None  # the module giving the block's output size, when the block halves the grid


class Branches(NamedTuple):
    """The filters of a module with four branches that keep the grid, each branch's convolutions in order.

    The 1x1 branch; the single branch (a 1x1 reduction, then one spatial filter, factorised or split);
    the double branch (a 1x1 reduction, then two spatial filters' worth); the pool branch's 1x1 projection.
    """

    branch1x1: int
    single: tuple[int, ...]
    double: tuple[int, ...]
    pool_proj: int


# ---------------------------------------------------------------------------------------------------------
# torchvision's Inception-v3 (TF-slim's release); names as in torchvision/models/inception.py


class _Module35(_Mixed):
    """The 35x35 module of both networks: 1x1 | 1x1 -> k x k | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1.

    ``kernel`` is k; the k x k branch's modules are named after it (``branch5x5_1``, ``branch5x5_2`` for k = 5,
    torchvision's names). ``widths.single``: the 1x1 reduction's filters, then the k x k's.
    """

    kernel: ClassVar[int]

    def __init__(self, in_channels: int, widths: Branches) -> None:
        super().__init__()
        k, (reduce, spatial), double = self.kernel, widths.single, widths.double
        self.branch1x1 = BasicConv2d(in_channels, widths.branch1x1, 1)
        self.add_module(f"branch{k}x{k}_1", BasicConv2d(in_channels, reduce, 1))
        self.add_module(f"branch{k}x{k}_2", same_conv(reduce, spatial, k))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, double[0], 1)
        self.branch3x3dbl_2 = same_conv(double[0], double[1], 3)
        self.branch3x3dbl_3 = same_conv(double[1], double[2], 3)
        self.pool = _avg_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, widths.pool_proj, 1)
        self.out_channels = widths.branch1x1 + spatial + double[2] + widths.pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel
        first = self.branch1x1(x)  # the branches run in the papers' order: a summary lists their layers so
        single = getattr(self, f"branch{k}x{k}_2")(getattr(self, f"branch{k}x{k}_1")(x))
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([first, single, double, self.branch_pool(self.pool(x))], 1)


class InceptionA(_Module35):
    """35x35 module of the released v3: 1x1 | 1x1 -> **5x5** | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1.

    The release keeps a 5x5 branch where the paper's Fig. 5 has two 3x3 (see :class:`Figure5Module`).
    """

    kernel = 5


class InceptionB(_Mixed):
    """35 -> 17 grid reduction of the released v3: 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool 3x3/2.

    Fig. 10 draws a 1x1 before the single 3x3/2 too; the release has none (see :class:`GridReduction`).
    """

    size_step = "branch3x3.conv"

    def __init__(self, in_channels: int, *, branch3x3: int, branch3x3dbl: tuple[int, int, int]) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, branch3x3, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, branch3x3dbl[0], 1)
        self.branch3x3dbl_2 = same_conv(branch3x3dbl[0], branch3x3dbl[1], 3)
        self.branch3x3dbl_3 = BasicConv2d(branch3x3dbl[1], branch3x3dbl[2], 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = branch3x3 + branch3x3dbl[2] + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), double, self.pool(x)], 1)


class _Module17(_Mixed):
    """The 17x17 module of both networks, n x n factorised into 1 x n and n x 1 with n = 7:
    1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> four of 7x1 and 1x7, alternating | avg pool -> 1x1.

    Kernels are (height, width): "1x7" is ``kernel_size=(1, 7)``. ``double_first`` is the kernel that the
    double branch starts with; the two networks differ only there.
    """

    double_first: ClassVar[tuple[int, int]]

    def __init__(self, in_channels: int, widths: Branches) -> None:
        super().__init__()
        s, d = widths.single, widths.double
        first = self.double_first
        second = (first[1], first[0])
        self.branch1x1 = BasicConv2d(in_channels, widths.branch1x1, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, s[0], 1)
        self.branch7x7_2 = same_conv(s[0], s[1], (1, 7))
        self.branch7x7_3 = same_conv(s[1], s[2], (7, 1))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, d[0], 1)
        self.branch7x7dbl_2 = same_conv(d[0], d[1], first)
        self.branch7x7dbl_3 = same_conv(d[1], d[2], second)
        self.branch7x7dbl_4 = same_conv(d[2], d[3], first)
        self.branch7x7dbl_5 = same_conv(d[3], d[4], second)
        self.pool = _avg_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, widths.pool_proj, 1)
        self.out_channels = widths.branch1x1 + s[2] + d[4] + widths.pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = conv(double)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(self.pool(x))], 1)


class InceptionC(_Module17):
    """17x17 module of the released v3: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | pool -> 1x1.

    The double branch starts with 7x1 here; the paper's Fig. 6 starts both branches with 1 x n (see
    :class:`Figure6Module`).
    """

    double_first = (7, 1)


class InceptionD(_Mixed):
    """17 -> 8 grid reduction of the released v3: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max pool 3x3/2."""

    size_step = "branch3x3_2.conv"

    def __init__(self, in_channels: int, *, branch3x3: tuple[int, int], branch7x7x3: tuple[int, int, int, int]) -> None:
        super().__init__()
        b = branch7x7x3
        self.branch3x3_1 = BasicConv2d(in_channels, branch3x3[0], 1)
        self.branch3x3_2 = BasicConv2d(branch3x3[0], branch3x3[1], 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, b[0], 1)
        self.branch7x7x3_2 = same_conv(b[0], b[1], (1, 7))
        self.branch7x7x3_3 = same_conv(b[1], b[2], (7, 1))
        self.branch7x7x3_4 = BasicConv2d(b[2], b[3], 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = branch3x3[1] + b[3] + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_2(self.branch3x3_1(x))
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([single, seven, self.pool(x)], 1)


class InceptionE(_Mixed):
    """8x8 module with expanded filter banks (Fig. 7, the same in the paper and the release):
    1x1 | 1x1 -> (1x3 ‖ 3x1) | 1x1 -> 3x3 -> (1x3 ‖ 3x1) | avg pool -> 1x1."""

    def __init__(self, in_channels: int, widths: Branches) -> None:
        super().__init__()
        s, d = widths.single, widths.double
        self.branch1x1 = BasicConv2d(in_channels, widths.branch1x1, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, s[0], 1)
        self.branch3x3_2a = same_conv(s[0], s[1], (1, 3))
        self.branch3x3_2b = same_conv(s[0], s[1], (3, 1))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, d[0], 1)
        self.branch3x3dbl_2 = same_conv(d[0], d[1], 3)
        self.branch3x3dbl_3a = same_conv(d[1], d[2], (1, 3))
        self.branch3x3dbl_3b = same_conv(d[1], d[2], (3, 1))
        self.pool = _avg_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, widths.pool_proj, 1)
        self.out_channels = widths.branch1x1 + 2 * s[1] + 2 * d[2] + widths.pool_proj  # the split halves both count

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(single),
                self.branch3x3_2b(single),
                self.branch3x3dbl_3a(double),
                self.branch3x3dbl_3b(double),
                self.branch_pool(self.pool(x)),
            ],
            1,
        )


class InceptionAux(nn.Module):
    """torchvision's auxiliary head on the last 17x17 map: avg pool 5x5/3 -> 1x1 conv 128 -> 5x5 conv 768
    -> global average -> linear. The 5x5 conv needs the pooled map to be at least 5x5; with adaptive
    pooling after it, larger maps work too (``final_size`` is None)."""

    size_steps = ("pool", "conv0.conv", "conv1.conv")
    final_size: tuple[int, int] | None = None
    # torchvision's initialisation: these layers start smaller than the rest (std 0.1).
    init_stds: ClassVar[tuple[tuple[str, float], ...]] = (("conv1.conv", 0.01), ("fc", 0.001))

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv0 = BasicConv2d(in_channels, 128, 1)
        self.conv1 = BasicConv2d(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv0(self.pool(x))  # N x 128 x 5 x 5 (from 17 x 17)
        x = self.conv1(x)  # N x 768 x 1 x 1
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------------------------------------------------
# the paper's modules for Inception-v2 (Sec. 5-6)


class Figure5Module(_Module35):
    """Fig. 5: the GoogLeNet module with its 5x5 replaced by two 3x3 (principle 3, Sec. 3.1):
    1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1. No 5x5 anywhere."""

    kernel = 3


class Figure6Module(_Module17):
    """Fig. 6 with n = 7 (Sec. 6: "we chose n = 7 for the 17 x 17 grid"), as drawn: 1x1 | 1x1 -> 1x7 -> 7x1 |
    1x1 -> 1x7 -> 7x1 -> 1x7 -> 7x1 | avg pool -> 1x1. Kernels are (height, width)."""

    double_first = (1, 7)


class GridReduction(_Mixed):
    """Fig. 10 (left), as drawn: 1x1 -> 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool 3x3/2, concatenated, so the
    grid halves while the filters grow, without a representational bottleneck (Sec. 5)."""

    size_step = "branch3x3_2.conv"

    def __init__(self, in_channels: int, *, branch3x3: tuple[int, int], branch3x3dbl: tuple[int, int, int]) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, branch3x3[0], 1)
        self.branch3x3_2 = BasicConv2d(branch3x3[0], branch3x3[1], 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, branch3x3dbl[0], 1)
        self.branch3x3dbl_2 = same_conv(branch3x3dbl[0], branch3x3dbl[1], 3)
        self.branch3x3dbl_3 = BasicConv2d(branch3x3dbl[1], branch3x3dbl[2], 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)
        self.out_channels = branch3x3[1] + branch3x3dbl[2] + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_2(self.branch3x3_1(x))
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([single, double, self.pool(x)], 1)


class Figure8Aux(nn.Module):
    """Fig. 8's auxiliary classifier on the last 17x17 layer: avg pool 5x5/3 (-> 5x5x768) -> 1x1 conv 128
    (BN + ReLU) -> fully connected 1024 + ReLU -> fully connected to the classes.

    Inception-v2 batch-normalises the head's convolution only; "BN-auxiliary" (the FC normalised too) is one
    of the v3 additions of Table 3. The first FC reads the flattened 5x5x128 map, so the pooled map must be
    exactly 5x5 (``final_size``), which bounds the input sizes a model with this head accepts.

    The layer sizes are those of the Fig. 8 diagram (arXiv v3); the text only places the head "on top of the
    last 17x17 layer". The figure shows no non-linearities: the ReLU after FC 1024 is GoogLeNet's (Sec. 5);
    there is no dropout, which GoogLeNet's heads had.
    """

    size_steps = ("pool", "conv0.conv")
    final_size: tuple[int, int] | None = (5, 5)
    init_stds: ClassVar[tuple[tuple[str, float], ...]] = (("fc", 0.001),)

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv0 = BasicConv2d(in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 5 * 5, 1024)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv0(self.pool(x))  # N x 128 x 5 x 5 (from 17 x 17)
        x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)  # N x 1024
        return self.fc(x)
