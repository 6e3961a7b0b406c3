"""``cnnlab summary``: a network layer by layer, computed on meta tensors."""

from __future__ import annotations

import argparse

from cnnlab.cli._parser import chw_shape
from cnnlab.inspection.tables import TABLE_FORMATS

DESCRIPTION = """Per layer: output shape, parameters, window (kernel, stride, padding), MACs and FLOPs (kept apart:
FLOPs are PyTorch's flop counter, 2 per multiply-accumulate), and the receptive field of one unit with the
jump between neighbouring units, in input pixels. Branches and shortcuts are followed: an Inception concat
or a residual add sees the largest field of its inputs.

examples:
  cnnlab summary vgg16
  cnnlab summary resnet20 --format markdown
  cnnlab summary alexnet --input 3x227x227 --format json"""


NAME = "summary"
HELP = "layer-by-layer shapes, parameters, MACs, receptive fields"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model name (see `cnnlab models`)")
    parser.add_argument("--input", dest="input_size", type=chw_shape, metavar="CxHxW",
                        help="input shape (default: the paper's)")  # fmt: skip
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.inspection.summary import summarize

    print(summarize(args.model, args.input_size).render(args.format))
    return 0
