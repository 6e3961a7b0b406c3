"""Pooling the lecture's way: global average pooling, and pooling whose type is learned.

"You can also learn a pooling type via back propagation": each learned pooling here is a drop-in for
``nn.MaxPool2d`` (same ``kernel_size, stride=None, padding=0, ceil_mode=False``) with a parameter that
slides it between mean and max pooling:

* :class:`MixedPool2d` and :class:`GatedPool2d`: Lee, Gallagher & Tu, "Generalizing Pooling Functions
  in Convolutional Neural Networks: Mixed, Gated, and Tree", AISTATS 2016, Sec. 2.1 (mixed max-average
  pooling) and Sec. 2.2 (gated max-average pooling).
* :class:`LearnedLPPool2d`: Gulcehre, Cho, Pascanu & Bengio, "Learned-Norm Pooling for Deep
  Feedforward and Recurrent Neural Networks", ECML 2014: the Lp norm of each region with a learned p.

Padding follows ``nn.MaxPool2d`` for the max part (padded pixels never win) and
``count_include_pad=False`` for the mean part (padded pixels are not averaged in).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers._utils import IntPair, pair
from cnnlab.layers.shapes import check_pool_window, pool_output_size

__all__ = ["GatedPool2d", "GlobalAvgPool2d", "LearnedLPPool2d", "MixedPool2d"]


class GlobalAvgPool2d(nn.Module):
    """Average each feature map to one number: ``(N, C, H, W) -> (N, C)`` (or ``(N, C, 1, 1)``).

    Network in Network (Lin et al., ICLR 2014, Sec. 3.2) replaces the fully connected classifier with
    it, and GoogLeNet (Szegedy et al., CVPR 2015, Sec. 5) ends with it.
    """

    def __init__(self, keepdim: bool = False) -> None:
        super().__init__()
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"GlobalAvgPool2d expects input (N, C, H, W), got {tuple(x.shape)}")
        pooled = F.adaptive_avg_pool2d(x, 1)
        return pooled if self.keepdim else pooled.flatten(1)

    def extra_repr(self) -> str:
        return f"keepdim={self.keepdim}"


class _LearnedPool2d(nn.Module):
    """What the learned poolings share: the window, its checks, and one parameter per layer or channel.

    ``**start`` gives the learned parameters' starting values, by the names the subclass's
    :meth:`_create_parameters` takes (``initial_p`` for :class:`LearnedLPPool2d`); any other name is a TypeError.
    """

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        num_channels: int | None = None,
        **start: float,
    ) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        for axis in range(2):
            check_pool_window(self.kernel_size[axis], self.stride[axis], self.padding[axis])
        self.ceil_mode = ceil_mode
        if num_channels is not None and num_channels < 1:
            raise ValueError(f"num_channels must be positive or None (one parameter per layer), got {num_channels}")
        self.num_channels = num_channels
        self._create_parameters(**start)

    def _create_parameters(self) -> None:
        """Subclasses create their learned parameters here (one per layer, or one per channel)."""

    @property
    def _param_count(self) -> int:
        return 1 if self.num_channels is None else self.num_channels

    def _per_channel(self, value: torch.Tensor) -> torch.Tensor:
        return value.view(1, -1, 1, 1)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Output height and width for an input of ``height x width`` (raises ValueError if too small)."""
        return (
            pool_output_size(height, self.kernel_size[0], self.stride[0], self.padding[0], 1, self.ceil_mode),
            pool_output_size(width, self.kernel_size[1], self.stride[1], self.padding[1], 1, self.ceil_mode),
        )

    def _check_input(self, x: torch.Tensor) -> tuple[int, int]:
        name = type(self).__name__
        if x.dim() != 4:
            raise ValueError(f"{name} expects input (N, C, H, W), got {tuple(x.shape)}")
        if self.num_channels is not None and x.shape[1] != self.num_channels:
            raise ValueError(f"{name} has parameters for {self.num_channels} channels, got {x.shape[1]}")
        return self.output_size(x.shape[2], x.shape[3])

    def _ceil_extra(self, x: torch.Tensor, out_hw: tuple[int, int]) -> tuple[int, int]:
        """Zeros to add on the bottom/right so that a stride-``s`` sweep yields ``out_hw`` windows."""
        return tuple(  # type: ignore[return-value]
            max(
                0,
                (out_hw[a] - 1) * self.stride[a] + self.kernel_size[a] - (x.shape[2 + a] + 2 * self.padding[a]),
            )
            for a in range(2)
        )

    def _max_and_mean(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        args = (self.kernel_size, self.stride, self.padding)
        maximum = F.max_pool2d(x, *args, ceil_mode=self.ceil_mode)
        mean = F.avg_pool2d(x, *args, ceil_mode=self.ceil_mode, count_include_pad=False)
        return maximum, mean

    def extra_repr(self) -> str:
        per = "layer" if self.num_channels is None else f"channel ({self.num_channels})"
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"ceil_mode={self.ceil_mode}, one parameter per {per}"
        )


class MixedPool2d(_LearnedPool2d):
    """Mixed max-average pooling: ``a * max + (1 - a) * mean`` with a learned ``a`` in [0, 1].

    Lee et al. 2016, Sec. 2.1, with ``a`` per layer (``num_channels=None``) or per channel. ``a`` is
    kept in [0, 1] as the sigmoid of the parameter ``mix_logit`` (0 at start: an even mix), so the
    layer is exactly max pooling at ``mix_logit = +inf`` and mean pooling at ``-inf``.
    """

    def _create_parameters(self) -> None:
        self.mix_logit = nn.Parameter(torch.zeros(self._param_count))

    @property
    def mix(self) -> torch.Tensor:
        """The weight of max pooling, in [0, 1] (one value, or one per channel)."""
        return torch.sigmoid(self.mix_logit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        maximum, mean = self._max_and_mean(x)
        a = self._per_channel(self.mix)
        return a * maximum + (1 - a) * mean


class GatedPool2d(_LearnedPool2d):
    """Gated max-average pooling: the mix comes from a learned gate looking at each region.

    Lee et al. 2016, Sec. 2.2: ``a = sigmoid(w . region + b)`` for each pooling region, then
    ``a * max + (1 - a) * mean``. ``w`` is a ``kH x kW`` mask shared by all channels
    (``num_channels=None``, as in the paper) or one per channel. Starting from ``w = 0, b = 0`` the
    layer is an even mix; it is exactly max pooling at ``b = +inf`` and mean pooling at ``b = -inf``.
    """

    def _create_parameters(self) -> None:
        self.gate_weight = nn.Parameter(torch.zeros(self._param_count, 1, *self.kernel_size))
        self.gate_bias = nn.Parameter(torch.zeros(self._param_count))

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The mixing weight of every region, ``(N, C, H_out, W_out)``, in [0, 1]."""
        out_hw = self._check_input(x)
        channels = x.shape[1]
        # A depthwise convolution computes w . region for every region at once; the extra zeros on the
        # bottom/right give ceil mode's last, partial windows (padding adds nothing to w . region).
        extra_h, extra_w = self._ceil_extra(x, out_hw)
        x = F.pad(x, (0, extra_w, 0, extra_h))
        weight = self.gate_weight.expand(channels, 1, *self.kernel_size)
        bias = self.gate_bias.expand(channels)
        return torch.sigmoid(F.conv2d(x, weight, bias, self.stride, self.padding, groups=channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.gate(x)
        maximum, mean = self._max_and_mean(x)
        return a * maximum + (1 - a) * mean


def _softplus_inverse(value: float) -> float:
    if value == math.inf:
        return math.inf
    if value <= 0:
        return -math.inf
    return math.log(math.expm1(value))


class LearnedLPPool2d(_LearnedPool2d):
    """Lp pooling with a learned p: ``(mean over the region of |x|^p)^(1/p)``, ``p >= 1``.

    Gulcehre et al. 2014. ``p = 1`` is the mean of magnitudes (mean pooling for non-negative inputs,
    such as ReLU outputs) and ``p -> inf`` is max pooling of magnitudes; ``p = 2`` (the default start)
    is the root-mean-square. ``p = 1 + softplus(p_raw)``, so p cannot leave its domain.

    Unlike ``nn.LPPool2d`` this averages instead of summing, so that ``p = 1`` is mean pooling, and
    it divides by each region's own maximum before raising to the power: ``|x|^p`` would overflow
    float32 for large p, and with the region's maximum in every region the limit ``p = inf`` is exact.
    The keyword ``initial_p`` (default 2, at least 1) sets where p starts.
    """

    def _create_parameters(self, initial_p: float = 2.0) -> None:
        """``initial_p``: the exponent at the start, at least 1."""
        if not initial_p >= 1:
            raise ValueError(f"initial_p must be at least 1, got {initial_p}")
        self.p_raw = nn.Parameter(torch.full((self._param_count,), _softplus_inverse(initial_p - 1)))

    @property
    def p(self) -> torch.Tensor:
        """The norm's exponent, at least 1 (one value, or one per channel)."""
        return 1 + F.softplus(self.p_raw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_h, out_w = self._check_input(x)
        n, c = x.shape[:2]
        extra_h, extra_w = self._ceil_extra(x, (out_h, out_w))
        pad = (self.padding[1], self.padding[1] + extra_w, self.padding[0], self.padding[0] + extra_h)

        def windows(t: torch.Tensor) -> torch.Tensor:  # (N, C, kH*kW, H_out*W_out)
            return F.unfold(F.pad(t, pad), self.kernel_size, stride=self.stride).view(
                t.shape[0], t.shape[1], -1, out_h * out_w
            )

        regions = windows(x.abs())
        count = windows(torch.ones_like(x[:1, :1])).sum(2, keepdim=True)  # real pixels per region
        peak = regions.amax(2, keepdim=True)
        ratio = regions / torch.where(peak > 0, peak, 1)
        # 0 ** p is 0 but its derivative in p is 0 * log 0 = nan: keep zeros out of the power.
        p = self.p.view(1, -1, 1, 1)
        powered = torch.where(ratio > 0, torch.where(ratio > 0, ratio, 1) ** p, 0)
        mean = powered.sum(2, keepdim=True) / count
        root = torch.where(mean > 0, torch.where(mean > 0, mean, 1) ** (1 / p), 0)
        return (peak * root).view(n, c, out_h, out_w)
