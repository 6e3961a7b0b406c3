"""``cnnlab export``: a trained model to ONNX, with its preprocessing in a JSON file beside it."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """Export a trained model to ONNX, for ONNX Runtime and other runtimes. RUN_OR_CKPT is a run
directory (its best.pt, else its last.pt) or a checkpoint file. The graph takes "input", the normalised
images (N, C, H, W) with any batch size N, and returns "logits" (N, classes). A JSON file beside it (and
the model's metadata, key "cnnlab") holds what a runtime needs to feed it: the class names, the input
size, the normalisation (pixel / 255 - mean) / std and the logit temperature T of
softmax(logits / T). When onnxruntime is installed, its output is compared with PyTorch's.

Needs the onnx and onnxscript packages (pip install onnx onnxscript onnxruntime).

examples:
  cnnlab export runs/lenet5-mnist5k-20261125-101500 --format onnx
  cnnlab export runs/resnet20-cifar10-20261126-090000/best.pt --format onnx --output resnet20.onnx"""


NAME = "export"
HELP = "export a trained model to ONNX"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory or a .pt checkpoint")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="the export format")
    parser.add_argument(
        "--output", "--out", metavar="FILE", help="the .onnx file (default: MODEL.onnx next to the checkpoint)"
    )
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with onnxruntime")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.run import Run
    from cnnlab.training.export import onnxruntime_available

    result = Run(args.run).export(args.output, check=not args.no_check, progress=sys.stderr.isatty())
    print(result)
    if result.max_difference is None and not args.no_check and not onnxruntime_available():
        print("not checked: onnxruntime is not installed (pip install onnxruntime)")
    return 0
