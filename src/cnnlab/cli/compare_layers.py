"""``cnnlab compare-layers``: fully connected vs locally connected vs convolution, in numbers."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cnnlab.cli._parser import chw_shape, non_negative_int, positive_int
from cnnlab.inspection.layer_comparison import LayerComparison, compare_layers
from cnnlab.inspection.tables import TABLE_FORMATS, render_table

DESCRIPTION = """The lecture's first argument: for one input and one output shape, what a fully connected,
a locally connected (unshared weights) and a convolutional layer cost.

example (LeNet-5's C1): cnnlab compare-layers --input 1x32x32 --out-channels 6 --kernel 5"""

HEADERS = ["layer", "weights", "biases", "params", "MACs", "receptive field"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare-layers",
        help="FC vs locally connected vs convolution: weights, MACs, fields",
        description=DESCRIPTION,
    )
    parser.add_argument("--input", type=chw_shape, required=True, metavar="CxHxW", help="input shape, e.g. 1x32x32")
    parser.add_argument("--out-channels", type=positive_int, required=True, help="output feature maps")
    parser.add_argument("--kernel", type=positive_int, required=True, help="kernel size")
    parser.add_argument("--stride", type=positive_int, default=1, help="stride")
    parser.add_argument("--padding", type=non_negative_int, default=0, help="zero padding on each side")
    parser.add_argument("--dilation", type=positive_int, default=1, help="dilation")
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def _ratio(a: int, b: int) -> str:
    return f"{a / b:,.0f}x" if a >= 10 * b else f"{a / b:,.1f}x"


def render(comparison: LayerComparison, fmt: str = "text") -> str:
    """The comparison as a table in ``fmt``, with a heading and a conclusion in text and Markdown."""
    if fmt == "json":
        return json.dumps(comparison.as_dict(), indent=2)
    rows = [
        [c.name, c.weights, c.biases, c.params, c.macs, "x".join(map(str, c.receptive_field))]
        for c in comparison.layers
    ]
    table = render_table(HEADERS, rows, fmt)
    if fmt == "csv":
        return table
    fully, local, conv = comparison.layers
    shape_in = "x".join(map(str, comparison.input_shape))
    shape_out = "x".join(map(str, comparison.output_shape))
    window = f"kernel {comparison.kernel}, stride {comparison.stride}, padding {comparison.padding}"
    if comparison.dilation != 1:
        window += f", dilation {comparison.dilation}"
    heading = f"input {shape_in} -> output {shape_out} ({window})"
    conclusion = (
        f"Locally connected needs {_ratio(fully.weights, local.weights)} fewer weights than fully connected; "
        f"sharing them (convolution) needs {_ratio(local.weights, conv.weights)} fewer again, "
        f"for the same {conv.macs:,} MACs as locally connected."
    )
    return f"{heading}\n\n{table}\n\n{conclusion}"


def run(args: argparse.Namespace) -> int:
    comparison = compare_layers(args.input, args.out_channels, args.kernel, args.stride, args.padding, args.dilation)
    print(render(comparison, args.format))
    return 0
