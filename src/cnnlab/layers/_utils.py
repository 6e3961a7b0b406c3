"""Small helpers shared by the layer modules."""

from __future__ import annotations

from torch import nn

IntPair = int | tuple[int, int]


def pair(value: IntPair, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair is checked to be two integers."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer or a pair of integers, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1])
    raise ValueError(f"{name} must be an integer or a pair of integers, got {value!r}")


class ConvShaped(nn.Module):
    """What the convolution-shaped layers here share with ``nn.Conv2d``: channel counts, checked to be positive,
    and the window's kernel, stride, padding and dilation, each stored as a pair (``3 -> (3, 3)``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair,
        padding: IntPair,
        dilation: IntPair,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"channels must be positive, got in={in_channels}, out={out_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
