"""LeNet-5's own parts, as LeCun, Bottou, Bengio & Haffner describe them.

"Gradient-Based Learning Applied to Document Recognition", Proc. IEEE 86(11), 1998:
Sec. II-B (the layers, Table I, the RBF output) and Appendix A (the scaled tanh).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers._utils import IntPair, pair

__all__ = [
    "LENET5_C3_TABLE",
    "LENET5_RBF_BITMAPS",
    "CoveringConv2d",
    "EuclideanRBF",
    "ScaledTanh",
    "SparseConv2d",
    "TrainableSubsampling",
    "connections_from_table",
]

# Table I: which S2 maps (rows) each C3 map (columns) reads, as printed in the paper.
LENET5_C3_TABLE: tuple[str, ...] = (
    # C3:   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
    "X . . . X X X . . X X X X . X X",  # S2 map 0
    "X X . . . X X X . . X X X X . X",  # S2 map 1
    "X X X . . . X X X . . X . X X X",  # S2 map 2
    ". X X X . . X X X X . . X . X X",  # S2 map 3
    ". . X X X . . X X X X . X X . X",  # S2 map 4
    ". . . X X X . . X X X X . X X X",  # S2 map 5
)

# The output layer's fixed prototypes: a stylised 7x12 bitmap of each digit, "#" = +1 and "." = -1
# (Sec. II-B: "chosen by hand", components +1/-1, "a stylized image of the corresponding character
# class drawn on a 7x12 bitmap (hence the number 84)"). The paper prints its set only as a figure
# (Fig. 3); these are our drawings of the ten digits in that style, 0 to 9 from left to right.
_RBF_DRAWING = """
    ..###..  ...#...  ..###..  .#####.  .....#.  #######  ..####.  #######  ..###..  ..###..
    .#...#.  ..##...  .#...#.  #.....#  ....##.  #......  .#.....  ......#  .#...#.  .#...#.
    #.....#  .#.#...  #.....#  ......#  ...#.#.  #......  #......  .....#.  #.....#  #.....#
    #.....#  ...#...  ......#  ......#  ..#..#.  #......  #......  .....#.  #.....#  #.....#
    #.....#  ...#...  .....#.  .....#.  .#...#.  ######.  ######.  ....#..  .#...#.  #.....#
    #.....#  ...#...  ....#..  ..###..  #....#.  ......#  #.....#  ....#..  ..###..  .######
    #.....#  ...#...  ...#...  .....#.  #######  ......#  #.....#  ...#...  .#...#.  ......#
    #.....#  ...#...  ..#....  ......#  .....#.  ......#  #.....#  ...#...  #.....#  ......#
    #.....#  ...#...  .#.....  ......#  .....#.  ......#  #.....#  ..#....  #.....#  ......#
    #.....#  ...#...  #......  ......#  .....#.  ......#  #.....#  ..#....  #.....#  ......#
    .#...#.  ...#...  #......  #.....#  .....#.  #.....#  .#...#.  ..#....  .#...#.  .....#.
    ..###..  .#####.  #######  .#####.  .....#.  .#####.  ..###..  ..#....  ..###..  .####..
"""
LENET5_RBF_BITMAPS: tuple[tuple[str, ...], ...] = tuple(
    zip(*(line.split() for line in _RBF_DRAWING.strip().splitlines()), strict=True)
)


def connections_from_table(rows: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """Read a connection table printed as rows of ``X`` / ``.`` (input maps x output maps).

    Returns:
        For each output map, the input maps it reads, e.g. ``((0, 1, 2), (1, 2, 3), ...)`` for Table I.
    """
    grid = [row.split() for row in rows]
    widths = {len(cells) for cells in grid}
    if len(widths) != 1 or any(c not in ("X", ".") for cells in grid for c in cells):
        raise ValueError("a connection table is rows of equal length made of 'X' and '.' separated by spaces")
    return tuple(tuple(i for i, cells in enumerate(grid) if cells[j] == "X") for j in range(widths.pop()))


class ScaledTanh(nn.Module):
    """LeNet-5's squashing function ``A tanh(S a)`` with ``A = 1.7159``, ``S = 2/3`` (Appendix A).

    With these constants ``f(1) = 1`` and ``f(-1) = -1``, the gain is close to 1 around the origin,
    and the second derivative is largest at ``a = +-1``.
    """

    def __init__(self, amplitude: float = 1.7159, slope: float = 2 / 3) -> None:
        super().__init__()
        for name, value in (("amplitude", amplitude), ("slope", slope)):
            # a string would only fail at the first forward pass, far from where it was given
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        self.amplitude = float(amplitude)
        self.slope = float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.6g}"


@functools.lru_cache(maxsize=64)
def _summing_matrix(size: int, k: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(size, size // k)`` of 0 and 1: ``x @ it`` sums each run of ``k`` columns (a remainder is dropped).

    ``rows.T @ x @ cols`` is sum pooling as two small matrix products: on one CPU core the forward and
    backward of LeNet-5's S2 take 0.7 ms a batch of 64 this way and 1.5 ms with ``avg_pool2d`` (whose
    backward is the slow part; the forward passes take the same time). Made once per size, not every step.
    """
    kept = (size // k) * k
    matrix = torch.zeros(size, size // k, dtype=dtype, device=device)
    index = torch.arange(kept, device=device)
    matrix[index, index // k] = 1
    return matrix


class TrainableSubsampling(nn.Module):
    """LeNet's sub-sampling layer (S2, S4): the sum of each ``k x k`` region, times a trainable
    coefficient, plus a trainable bias, one coefficient and one bias per map (Sec. II-B).

    The paper passes the result through the sigmoid; in a model, follow this layer with
    :class:`ScaledTanh`. The coefficient starts at ``1 / k^2`` (average pooling) and the bias at 0.
    """

    def __init__(self, num_maps: int, kernel_size: int = 2) -> None:
        super().__init__()
        if num_maps < 1 or kernel_size < 1:
            raise ValueError(f"num_maps and kernel_size must be positive, got {num_maps} and {kernel_size}")
        self.num_maps = num_maps
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.full((num_maps,), 1.0 / kernel_size**2))
        self.bias = nn.Parameter(torch.zeros(num_maps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.num_maps:
            raise ValueError(f"TrainableSubsampling expects (N, {self.num_maps}, H, W), got {tuple(x.shape)}")
        k = self.kernel_size
        if x.shape[2] < k or x.shape[3] < k:
            raise ValueError(f"TrainableSubsampling needs an input of at least {k}x{k}, got {tuple(x.shape[2:])}")
        if self.training and torch.is_grad_enabled():  # the backward pass is where the matrix products win
            rows = _summing_matrix(x.shape[2], k, x.dtype, x.device)
            cols = _summing_matrix(x.shape[3], k, x.dtype, x.device)
            region_sums = rows.T @ x @ cols
        else:  # the same sums by strided slices: faster forward than avg_pool2d, and no matrix products to count
            kept_h, kept_w = (x.shape[2] // k) * k, (x.shape[3] // k) * k
            region_sums = sum(x[:, :, i:kept_h:k, j:kept_w:k] for i in range(k) for j in range(k))
        return region_sums * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.num_maps}, kernel_size={self.kernel_size}"


class CoveringConv2d(nn.Conv2d):
    """LeNet-5's C5: a convolution whose kernel covers its whole input, so each output map is 1x1.

    The paper calls C5 a convolutional layer, not a fully-connected one, because a larger input would give
    larger maps (Sec. II-B). On an input exactly the kernel's size the convolution *is* a matrix product,
    and computed as one (``F.linear`` on the flattened input): same parameters, same result, and on one CPU
    core the forward and backward of C5 take 0.23 ms a batch of 64 instead of 1.0 ms. Any other input size
    (or stride, padding, dilation, groups) is an ordinary convolution.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plain = self.stride == (1, 1) and self.padding == (0, 0) and self.dilation == (1, 1) and self.groups == 1
        if plain and x.dim() == 4 and tuple(x.shape[1:]) == (self.in_channels, *self.kernel_size):
            out = F.linear(x.flatten(1), self.weight.flatten(1), self.bias)
            return out.view(x.shape[0], self.out_channels, 1, 1)
        return super().forward(x)


class SparseConv2d(nn.Module):
    """A convolution in which each output map reads only some input maps (LeNet-5's C3, Table I).

    Only the kernels of connected pairs are parameters: with Table I that is 60 kernels of 5x5 and 16
    biases, 1,516 parameters, against 2,416 for a dense C3. The full weight is assembled in each
    forward by scattering those kernels into zeros, so one ``conv2d`` does the work.

    Args:
        connections: for each output map, the input maps it reads (see :func:`connections_from_table`).
        in_channels: number of input maps.
        kernel_size, stride, padding: as for ``nn.Conv2d``.
        bias: one bias per output map.
    """

    def __init__(
        self,
        connections: Sequence[Sequence[int]],
        in_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if not connections or any(not inputs for inputs in connections):
            raise ValueError("every output map needs at least one input map")
        for out_map, inputs in enumerate(connections):
            if len(set(inputs)) != len(inputs) or not all(0 <= i < in_channels for i in inputs):
                raise ValueError(
                    f"output map {out_map} reads {list(inputs)}: input maps must be distinct and in "
                    f"0..{in_channels - 1}"
                )
        self.connections = tuple(tuple(sorted(inputs)) for inputs in connections)
        self.in_channels = in_channels
        self.out_channels = len(connections)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        flat_index = [o * in_channels + i for o, inputs in enumerate(self.connections) for i in inputs]
        self.register_buffer("flat_index", torch.tensor(flat_index), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(flat_index), *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        self.reset_parameters()

    def kernels_of(self, out_map: int) -> slice:
        """Where the kernels of one output map are in ``weight`` (they are stored map by map)."""
        start = sum(len(inputs) for inputs in self.connections[:out_map])
        return slice(start, start + len(self.connections[out_map]))

    def fan_in(self, out_map: int) -> int:
        return len(self.connections[out_map]) * self.kernel_size[0] * self.kernel_size[1]

    def reset_parameters(self) -> None:
        # Like Conv2d: uniform(+-1/sqrt(fan_in)), where the fan-in is what each map actually reads.
        with torch.no_grad():
            for o in range(self.out_channels):
                bound = self.fan_in(o) ** -0.5
                nn.init.uniform_(self.weight[self.kernels_of(o)], -bound, bound)
                if self.bias is not None:
                    nn.init.uniform_(self.bias[o : o + 1], -bound, bound)

    @property
    def mask(self) -> torch.Tensor:
        """Boolean ``(in_channels, out_channels)`` table: True where an output map reads an input map."""
        table = torch.zeros(self.out_channels * self.in_channels, dtype=torch.bool)
        table[self.flat_index.cpu()] = True
        return table.view(self.out_channels, self.in_channels).T

    def dense_weight(self) -> torch.Tensor:
        """The ``(C_out, C_in, kH, kW)`` weight with zeros for the pairs the table leaves out."""
        full = self.weight.new_zeros(self.out_channels * self.in_channels, *self.kernel_size)
        full = full.index_copy(0, self.flat_index, self.weight)
        return full.view(self.out_channels, self.in_channels, *self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SparseConv2d expects (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        return F.conv2d(x, self.dense_weight(), self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, connections={len(self.flat_index)} of "
            f"{self.in_channels * self.out_channels}"
        )


def bitmaps_to_prototypes(bitmaps: Sequence[Sequence[str]]) -> torch.Tensor:
    """``#``/``.`` drawings to a ``(classes, pixels)`` tensor of +1/-1."""
    rows = [[1.0 if ch == "#" else -1.0 for line in bitmap for ch in line] for bitmap in bitmaps]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("all prototype bitmaps must have the same number of pixels")
    return torch.tensor(rows)


class EuclideanRBF(nn.Module):
    """LeNet-5's output layer: one Euclidean RBF unit per class, ``y_i = sum_j (x_j - w_ij)^2``.

    The output is a squared distance to each class prototype, so *smaller* means more likely; use
    ``-y`` as logits. The prototypes are fixed (a buffer, not a parameter), as in the paper ("chosen by
    hand and kept fixed"), unless ``trainable=True``.

    Args:
        prototypes: ``(num_classes, in_features)``.
        trainable: learn the prototypes instead of keeping them fixed.
    """

    def __init__(self, prototypes: torch.Tensor, trainable: bool = False) -> None:
        super().__init__()
        if prototypes.dim() != 2:
            raise ValueError(f"prototypes must be (num_classes, in_features), got {tuple(prototypes.shape)}")
        self.num_classes, self.in_features = prototypes.shape
        self.trainable = trainable
        if trainable:
            self.prototypes = nn.Parameter(prototypes.clone())
        else:
            self.register_buffer("prototypes", prototypes.clone())

    @classmethod
    def lenet5(cls, trainable: bool = False) -> EuclideanRBF:
        """The ten 7x12 digit prototypes of :data:`LENET5_RBF_BITMAPS` (840 values)."""
        return cls(bitmaps_to_prototypes(LENET5_RBF_BITMAPS), trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"EuclideanRBF expects (N, {self.in_features}), got {tuple(x.shape)}")
        return (x.unsqueeze(1) - self.prototypes).pow(2).sum(-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}, trainable={self.trainable}"
