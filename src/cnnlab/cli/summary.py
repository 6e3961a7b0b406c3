"""``cnnlab summary``: a network layer by layer, computed on meta tensors."""

from __future__ import annotations

import argparse

from cnnlab.cli._parser import chw_shape, positive_int
from cnnlab.inspection.tables import TABLE_FORMATS

DESCRIPTION = """Per layer: output shape, parameters, window (kernel, stride, padding), MACs and FLOPs (kept apart:
FLOPs are PyTorch's flop counter, 2 per multiply-accumulate), and the receptive field of one unit with the
jump between neighbouring units, in input pixels. Branches and shortcuts are followed: an Inception concat
or a residual add sees the largest field of its inputs.

A run directory (or checkpoint) is summarized at the input size it was trained on. --depth 1 groups the
rows by the model's top-level modules (Inception modules, ResNet stages), --depth 2 one level further
(residual blocks), each row summing its parameters and MACs.

examples:
  cnnlab summary vgg16
  cnnlab summary inception_v3 --depth 1
  cnnlab summary runs/lenet5-mnist5k-20261125-045010
  cnnlab summary resnet20 --format markdown
  cnnlab summary alexnet --input 3x227x227 --format json"""


NAME = "summary"
HELP = "layer-by-layer shapes, parameters, MACs, receptive fields"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL_OR_RUN", help="a model name (see `cnnlab models`), a run or a checkpoint"
    )
    parser.add_argument("--input", dest="input_size", type=chw_shape, metavar="CxHxW",
                        help="input shape (default: the paper's)")  # fmt: skip
    parser.add_argument("--depth", type=positive_int, metavar="N",
                        help="a row per module N levels down (whole blocks) instead of per layer")  # fmt: skip
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.api import summary

    print(summary(args.model, args.input_size, depth=args.depth).render(args.format))
    return 0
