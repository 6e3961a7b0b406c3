"""``cnnlab summary``: a network layer by layer, computed on meta tensors."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cnnlab.cli._parser import chw_shape
from cnnlab.inspection.tables import TABLE_FORMATS, render_table

DESCRIPTION = """Per layer: output shape, parameters, window (kernel, stride, padding), MACs and FLOPs (kept apart:
FLOPs are PyTorch's flop counter, 2 per multiply-accumulate), and the receptive field of one unit with the
jump between neighbouring units, in input pixels. Branches and shortcuts are followed: an Inception concat
or a residual add sees the largest field of its inputs.

examples:
  cnnlab summary vgg16
  cnnlab summary resnet20 --format markdown
  cnnlab summary alexnet --input 3x227x227 --format json"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("summary", help="layer-by-layer shapes, parameters, MACs, receptive fields",
                                   description=DESCRIPTION)  # fmt: skip
    parser.add_argument("model", help="a model name (see `cnnlab models`)")
    parser.add_argument("--input", type=chw_shape, metavar="CxHxW", help="input shape (default: the paper's)")
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.inspection.summary import summarize

    summary = summarize(args.model, args.input)
    if args.format == "json":
        print(json.dumps(summary.to_json(), indent=2))
        return 0
    print(render_table(*summary.table(), args.format))
    if args.format != "csv":
        shape = "x".join(map(str, summary.input))
        fixed = f", plus {summary.fixed_values:,} fixed values" if summary.fixed_values else ""
        frozen = summary.total_params - summary.trainable_params
        frozen_text = f" ({frozen:,} frozen)" if frozen else ""
        print()
        print(f"{summary.model} at {shape}: {summary.trainable_params:,} trainable parameters{frozen_text}{fixed}; "
              f"{summary.total_macs:,} MACs = {summary.total_flops:,} FLOPs per image")  # fmt: skip
        for note in summary.notes:
            print(f"note: {note}")
    return 0
