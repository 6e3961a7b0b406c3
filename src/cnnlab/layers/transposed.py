"""Transposed convolution as the lecture explains it: insert zeros, then blur with a learned kernel.

Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (arXiv:1603.07285), Sec. 4.5
(Relationship 14): a transposed convolution with kernel ``k``, stride ``s``, padding ``p`` is a
stride-1 convolution of the input stretched by ``s - 1`` zeros between its pixels, padded with
``d(k-1) - p`` zeros on each side (plus ``output_padding`` at the bottom/right), with the kernel
flipped in space and its in/out channel axes swapped. This module does exactly that, at the cost of
the many multiplications by zero that ``F.conv_transpose2d`` avoids; the tests prove both equal.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers._utils import ConvShaped, IntPair, pair
from cnnlab.layers.shapes import transposed_output_size

__all__ = [
    "ZeroInsertionConvTranspose2d",
    "conv_transpose2d_by_zero_insertion",
    "insert_zeros",
    "zero_inserted_input",
]


def insert_zeros(x: torch.Tensor, stride: IntPair) -> torch.Tensor:
    """Put ``s - 1`` zeros between neighbouring pixels: ``(N, C, H, W) -> (N, C, (H-1)s_h+1, (W-1)s_w+1)``."""
    s_h, s_w = pair(stride, "stride")
    if s_h < 1 or s_w < 1:
        raise ValueError(f"stride must be positive, got {(s_h, s_w)}")
    n, c, h, w = x.shape
    stretched = x.new_zeros(n, c, (h - 1) * s_h + 1, (w - 1) * s_w + 1)
    stretched[:, :, ::s_h, ::s_w] = x
    return stretched


def zero_inserted_input(
    x: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """The map that the stride-1 convolution sees: zeros inserted, then the border of ``d(k-1) - p``.

    A negative border (padding larger than ``d(k-1)``) crops instead of padding.
    """
    k_h, k_w = pair(kernel_size, "kernel_size")
    p_h, p_w = pair(padding, "padding")
    o_h, o_w = pair(output_padding, "output_padding")
    d_h, d_w = pair(dilation, "dilation")
    # Validates every argument the way PyTorch would, with a message that names the bad value.
    transposed_output_size(x.shape[2], k_h, pair(stride, "stride")[0], p_h, d_h, o_h)
    transposed_output_size(x.shape[3], k_w, pair(stride, "stride")[1], p_w, d_w, o_w)
    border_h, border_w = d_h * (k_h - 1) - p_h, d_w * (k_w - 1) - p_w
    return F.pad(insert_zeros(x, stride), (border_w, border_w + o_w, border_h, border_h + o_h))


def conv_transpose2d_by_zero_insertion(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """``F.conv_transpose2d`` computed as zero insertion + padding + an ordinary convolution.

    Args:
        x: input, ``(N, C_in, H, W)``.
        weight: ``(C_in, C_out, kH, kW)``, the layout of ``nn.ConvTranspose2d``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, output_padding, dilation: as for ``F.conv_transpose2d``.
    """
    if x.dim() != 4 or weight.dim() != 4 or x.shape[1] != weight.shape[0]:
        raise ValueError(
            f"expected x (N, C_in, H, W) and weight (C_in, C_out, kH, kW) with the same C_in, "
            f"got {tuple(x.shape)} and {tuple(weight.shape)}"
        )
    stretched = zero_inserted_input(x, weight.shape[2:], stride, padding, output_padding, dilation)
    # The transpose of "kernel position (u, v) sends input pixel to output pixel + (u, v)" is
    # "... from output pixel - (u, v)": the same kernel, flipped, with in and out swapped.
    flipped = weight.flip(-2, -1).transpose(0, 1)
    return F.conv2d(stretched, flipped, bias, stride=1, dilation=dilation)


class ZeroInsertionConvTranspose2d(ConvShaped):
    """``nn.ConvTranspose2d`` computed the lecture's way; same arguments, parameters and state_dict.

    Use ``nn.ConvTranspose2d`` to train: it skips the multiplications by zero. This module exists to
    show, and to test, what a transposed convolution is.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        dilation: IntPair = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation)
        self.output_padding = pair(output_padding, "output_padding")
        for a in range(2):  # fail at construction, not at the first forward
            transposed_output_size(1, self.kernel_size[a], self.stride[a], 0, self.dilation[a], self.output_padding[a])
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.ConvTranspose2d's default initialisation (its fan-in is computed from weight.size(1)).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def zero_inserted(self, x: torch.Tensor) -> torch.Tensor:
        """The stretched, padded map that the stride-1 convolution blurs (for pictures)."""
        return zero_inserted_input(x, self.kernel_size, self.stride, self.padding, self.output_padding, self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv_transpose2d_by_zero_insertion(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.dilation
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, output_padding={self.output_padding}, dilation={self.dilation}, "
            f"bias={self.bias is not None}"
        )
