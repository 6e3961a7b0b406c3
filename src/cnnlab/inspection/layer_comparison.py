"""Fully connected vs locally connected vs convolution, for the same input and output shape.

The lecture's first argument in numbers: a fully connected layer pays for every (input, output) pair;
a locally connected one only for the pixels in each unit's window; a convolution shares one kernel
across all positions. Pure arithmetic (no torch), checked against real modules in the tests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cnnlab.errors import is_whole_number, whole_number, whole_numbers
from cnnlab.inspection.tables import render_table
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

    HEADERS = ("layer", "weights", "biases", "params", "MACs", "receptive field")

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for layer, cost in zip(data["layers"], self.layers, strict=True):
            layer["params"] = cost.params
        return data

    def _rows(self) -> list[list[object]]:
        return [
            [c.name, c.weights, c.biases, c.params, c.macs, "x".join(map(str, c.receptive_field))] for c in self.layers
        ]

    @property
    def heading(self) -> str:
        """``input 1x32x32 -> output 6x28x28 (kernel 5, stride 1, padding 0)``."""
        window = f"kernel {self.kernel}, stride {self.stride}, padding {self.padding}"
        if self.dilation != 1:
            window += f", dilation {self.dilation}"
        shape_in, shape_out = ("x".join(map(str, shape)) for shape in (self.input_shape, self.output_shape))
        return f"input {shape_in} -> output {shape_out} ({window})"

    @property
    def conclusion(self) -> str:
        """How many times fewer weights each step of the lecture's argument needs."""
        fully, local, conv = self.layers
        return (
            f"Locally connected needs {_ratio(fully.weights, local.weights)} fewer weights than fully connected; "
            f"sharing them (convolution) needs {_ratio(local.weights, conv.weights)} fewer again, "
            f"for the same {conv.macs:,} MACs as locally connected."
        )

    def render(self, fmt: str = "text") -> str:
        """The comparison in ``fmt``: text and Markdown with a heading and the conclusion, CSV, or JSON."""
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2)
        table = render_table(list(self.HEADERS), self._rows(), fmt)  # type: ignore[arg-type]
        return table if fmt == "csv" else f"{self.heading}\n\n{table}\n\n{self.conclusion}"

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        import html

        return (
            f"<div><p>{html.escape(self.heading)}</p>{render_table(list(self.HEADERS), self._rows(), 'html')}"
            f"<p>{html.escape(self.conclusion)}</p></div>"
        )


def _ratio(a: int, b: int) -> str:
    return f"{a / b:,.0f}x" if a >= 10 * b else f"{a / b:,.1f}x"


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
        SettingError: ``input_shape`` is not three positive whole numbers, ``out_channels`` not one.
        ValueError: ``kernel``, ``stride``, ``padding`` or ``dilation`` is not a whole number in range, or the kernel
            does not fit the padded input.
    """
    channels, height, width = whole_numbers("input_shape", input_shape, "(C, H, W)", (1, 32, 32))
    out_channels = whole_number("out_channels", out_channels)
    # NumPy's integers as Python's; anything else is for shapes.py to refuse, in its words
    kernel, stride, padding, dilation = (
        int(v) if is_whole_number(v) else v for v in (kernel, stride, padding, dilation)
    )
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
