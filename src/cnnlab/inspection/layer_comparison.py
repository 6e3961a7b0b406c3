"""Fully connected vs locally connected vs convolution, for the same input and output shape.

The lecture's first argument in numbers: a fully connected layer pays for every (input, output) pair;
a locally connected one only for the pixels in each unit's window; a convolution shares one kernel
across all positions. Pure arithmetic (no torch), checked against real modules in the tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cnnlab.layers.shapes import conv_output_size, effective_kernel_size

__all__ = ["LayerComparison", "LayerCost", "compare_layers"]


@dataclass(frozen=True)
class LayerCost:
    """What one kind of layer costs to map the input to the output.

    Attributes:
        name: ``"fully connected"``, ``"locally connected"`` or ``"convolution"``.
        weights: multiplicative weights (biases not included).
        biases: additive parameters.
        macs: multiply-accumulates for one image.
        receptive_field: ``(height, width)`` of the input region one output unit sees.
    """

    name: str
    weights: int
    biases: int
    macs: int
    receptive_field: tuple[int, int]

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class LayerComparison:
    """The three layers side by side, for an input ``(C, H, W)`` and an output ``(C', H', W')``."""

    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    kernel: int
    stride: int
    padding: int
    dilation: int
    layers: tuple[LayerCost, LayerCost, LayerCost]

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        for layer, cost in zip(data["layers"], self.layers, strict=True):
            layer["params"] = cost.params
        return data


def compare_layers(
    input_shape: tuple[int, int, int],
    out_channels: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> LayerComparison:
    """Weights, biases, MACs and receptive field of FC, LC and conv layers with the same output shape.

    Args:
        input_shape: ``(C, H, W)`` of one input image.
        out_channels: feature maps (kernels per position) of the output.
        kernel, stride, padding, dilation: of the convolution; the locally connected layer uses the
            same window, and the fully connected layer produces the same number of outputs.

    Raises:
        ValueError: a size is not positive, or the kernel does not fit the padded input.
    """
    channels, height, width = input_shape
    if min(channels, height, width) < 1 or out_channels < 1:
        raise ValueError(f"input shape and out_channels must be positive, got {input_shape} and {out_channels}")
    out_h = conv_output_size(height, kernel, stride, padding, dilation)
    out_w = conv_output_size(width, kernel, stride, padding, dilation)
    positions = out_h * out_w
    outputs = out_channels * positions
    window = channels * kernel * kernel
    field = effective_kernel_size(kernel, dilation)
    # Every weight of FC and LC is used once per image, so MACs = weights; a conv kernel is reused at
    # every position (the padded zeros are multiplied too, as the implementation does).
    fully = LayerCost("fully connected", channels * height * width * outputs, outputs,
                      channels * height * width * outputs, (height, width))  # fmt: skip
    local = LayerCost("locally connected", positions * out_channels * window, outputs,
                      positions * out_channels * window, (field, field))  # fmt: skip
    conv = LayerCost("convolution", out_channels * window, out_channels,
                     positions * out_channels * window, (field, field))  # fmt: skip
    return LayerComparison(
        (channels, height, width), (out_channels, out_h, out_w), kernel, stride, padding, dilation,
        (fully, local, conv),
    )  # fmt: skip
