"""Locally connected layer: a convolution's sparse connections without its weight sharing.

The lecture's middle step between a fully connected layer and a convolution: every output unit sees
only a ``k x k`` window, but each output position has its own kernel and bias. Taigman et al.
(DeepFace, CVPR 2014, Sec. 3) used such layers; Keras had ``LocallyConnected2D`` until Keras 3.
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers._utils import ConvShaped, IntPair, pair
from cnnlab.layers.shapes import conv_output_size

__all__ = ["LocallyConnected2d", "locally_connected2d", "locally_connected2d_reference"]


def _output_hw(
    input_size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    return (
        conv_output_size(input_size[0], kernel[0], stride[0], padding[0], dilation[0]),
        conv_output_size(input_size[1], kernel[1], stride[1], padding[1], dilation[1]),
    )


class _DenseGradient(torch.autograd.Function):
    """Identity whose backward makes the incoming gradient contiguous."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous()


def locally_connected2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    *,
    method: Literal["unfold", "loop"] = "unfold",
) -> torch.Tensor:
    """Apply a locally connected layer.

    Args:
        x: input, ``(N, C_in, H, W)``.
        weight: one kernel per output position, ``(H_out, W_out, C_out, C_in, kH, kW)``:
            ``weight[y, x]`` is the kernel of output position ``(y, x)``, laid out like a conv kernel.
        bias: one bias per output unit, ``(C_out, H_out, W_out)``, or ``None``.
        stride, padding, dilation: as for ``conv2d``.
        method: ``"unfold"``, every window gathered at once and one batched matrix product; or ``"loop"``, the
            definition, one output position at a time: slow, obvious, and the oracle for the tests.

    Returns:
        ``(N, C_out, H_out, W_out)``.
    """
    if method == "unfold":
        out = _unfolded(x, weight, stride, padding, dilation)
    elif method == "loop":
        out = _position_by_position(
            x, weight, pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
        )
    else:
        raise ValueError(f"method must be 'unfold' or 'loop', got {method!r}")
    return out if bias is None else out + bias


# The definition, one output position at a time: slow, obvious, and the oracle for the tests and benchmarks.
locally_connected2d_reference = functools.partial(locally_connected2d, method="loop")


def _unfolded(
    x: torch.Tensor, weight: torch.Tensor, stride: IntPair, padding: IntPair, dilation: IntPair
) -> torch.Tensor:
    out_h, out_w, out_c, in_c, k_h, k_w = weight.shape
    # (N, C_in*kH*kW, L): the window each output position sees, one column per position.
    columns = F.unfold(x, (k_h, k_w), dilation=dilation, padding=padding, stride=stride)
    if columns.shape[-1] != out_h * out_w:
        raise ValueError(
            f"the weight holds kernels for {out_h}x{out_w} output positions, but the input gives "
            f"{columns.shape[-1]} positions"
        )
    # One small matrix product per position, batched over positions: (L, N, CkK) @ (L, CkK, C_out).
    # bmm on CPU falls back to one slow copy per position unless each position's matrix is dense, on
    # the way in (hence .contiguous()) and on the way back (hence _dense_gradient).
    kernels = weight.reshape(out_h * out_w, out_c, in_c * k_h * k_w)
    out = torch.bmm(columns.permute(2, 0, 1).contiguous(), kernels.transpose(1, 2))  # (L, N, C_out)
    return _DenseGradient.apply(out).permute(1, 2, 0).reshape(x.shape[0], out_c, out_h, out_w)


def _position_by_position(
    x: torch.Tensor, weight: torch.Tensor, stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]
) -> torch.Tensor:
    (s_h, s_w), (p_h, p_w), (d_h, d_w) = stride, padding, dilation
    out_h, out_w, out_c, _, k_h, k_w = weight.shape
    padded = F.pad(x, (p_w, p_w, p_h, p_h))
    out = x.new_zeros(x.shape[0], out_c, out_h, out_w)
    for y in range(out_h):
        for x_pos in range(out_w):
            top, left = y * s_h, x_pos * s_w
            window = padded[:, :, top : top + d_h * (k_h - 1) + 1 : d_h, left : left + d_w * (k_w - 1) + 1 : d_w]
            out[:, :, y, x_pos] = torch.einsum("nchw,ochw->no", window, weight[y, x_pos])
    return out


class LocallyConnected2d(ConvShaped):
    """A convolution-shaped layer with unshared weights: one kernel and one bias per output position.

    It has ``H_out * W_out * C_out * (C_in * kH * kW + 1)`` parameters, ``H_out * W_out`` times those
    of the ``Conv2d`` with the same shape, and because the weights belong to positions, the input size
    is fixed at construction.

    Args:
        in_channels: input channels.
        out_channels: output channels (kernels per position).
        input_size: input height and width, ``int`` or ``(H, W)``.
        kernel_size, stride, padding, dilation: as for ``nn.Conv2d``.
        bias: learn one bias per output unit.

    Raises:
        ValueError: the kernel does not fit the padded input (see ``cnnlab.layers.shapes``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        input_size: IntPair,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation)
        self.input_size = pair(input_size, "input_size")
        self.output_size = _output_hw(self.input_size, self.kernel_size, self.stride, self.padding, self.dilation)
        self.weight = nn.Parameter(torch.empty(*self.output_size, out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.output_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Conv2d's default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for kernels and biases alike.
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, input_size: IntPair) -> LocallyConnected2d:
        """The locally connected layer whose every position holds ``conv``'s kernel: equal to ``conv``."""
        if conv.groups != 1 or isinstance(conv.padding, str):
            raise ValueError("from_conv needs a Conv2d with groups=1 and numeric padding")
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            input_size,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            bias=conv.bias is not None,
        ).to(dtype=conv.weight.dtype, device=conv.weight.device)
        with torch.no_grad():
            layer.weight.copy_(conv.weight.expand_as(layer.weight))
            if layer.bias is not None and conv.bias is not None:
                layer.bias.copy_(conv.bias[:, None, None].expand_as(layer.bias))
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, *self.input_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"LocallyConnected2d expects input (N, {expected[0]}, {expected[1]}, {expected[2]}) "
                f"since its weights belong to positions; got {tuple(x.shape)}"
            )
        return locally_connected2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, output_size={self.output_size}, bias={self.bias is not None}"
        )
