"""``cnnlab compare-layers``: fully connected vs locally connected vs convolution, in numbers."""

from __future__ import annotations

import argparse

from cnnlab.cli._parser import chw_shape, non_negative_int, positive_int
from cnnlab.inspection.layer_comparison import compare_layers
from cnnlab.inspection.tables import TABLE_FORMATS

DESCRIPTION = """The lecture's first argument: for one input and one output shape, what a fully connected,
a locally connected (unshared weights) and a convolutional layer cost.

example (LeNet-5's C1): cnnlab compare-layers --input 1x32x32 --out-channels 6 --kernel 5"""

NAME = "compare-layers"
HELP = "FC vs locally connected vs convolution: weights, MACs, fields"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=chw_shape, required=True, metavar="CxHxW", help="input shape, e.g. 1x32x32")
    parser.add_argument("--out-channels", type=positive_int, required=True, help="output feature maps")
    parser.add_argument("--kernel", type=positive_int, required=True, help="kernel size")
    parser.add_argument("--stride", type=positive_int, default=1, help="stride")
    parser.add_argument("--padding", type=non_negative_int, default=0, help="zero padding on each side")
    parser.add_argument("--dilation", type=positive_int, default=1, help="dilation")
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    comparison = compare_layers(args.input, args.out_channels, args.kernel, args.stride, args.padding, args.dilation)
    print(comparison.render(args.format))
    return 0
