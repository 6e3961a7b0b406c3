"""``cnnlab evaluate``: top-1, top-5, per-class accuracy and a confusion matrix of a trained model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnlab.cli._parser import os_error_text
from cnnlab.data.facts import SPLITS
from cnnlab.errors import SettingError

DESCRIPTION = """Evaluate a trained model: top-1 and top-5 accuracy, the accuracy of every class, and a confusion
matrix drawn to a PNG next to the run (or in --out). RUN_OR_CKPT is a run directory (its best.pt, else its
last.pt) or a checkpoint file.

By default the model is evaluated on the test split of the dataset it was trained on, fitted and
normalised exactly as in training; --split val and --split train are the parts the run carved with its
own seed and validation fraction. --data evaluates on another dataset with the same number of classes,
fitted to the model the way training fits data (channels converted, small sizes padded, others resized).

Where the confusion matrix cannot be written (a read-only run, a full disk), the numbers are printed all
the same, a line on stderr says so, and the exit code is 1; --output puts the picture elsewhere.

examples:
  cnnlab evaluate runs/lenet5-mnist5k-20261125-101500
  cnnlab evaluate runs/lenet5-mnist5k-20261125-101500/last.pt --split val --format json
  cnnlab evaluate runs/lenet5-mnist5k-20261125-101500 --data digits --output /tmp/eval"""


NAME = "evaluate"
HELP = "accuracy, per-class accuracy and confusion matrix of a run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory or a .pt checkpoint")
    data = parser.add_argument_group("data (default: the run's own)")
    data.add_argument("--data", help="another dataset with the same number of classes (mnist5k, digits, mnist, ...)")
    data.add_argument("--data-dir", help="where torchvision's datasets are (default: the run's)")
    data.add_argument("--download", action="store_true", help="let torchvision download --data into --data-dir")
    data.add_argument("--split", choices=SPLITS, default="test", help="which part of the dataset")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output", "--out", metavar="DIR", help="where the confusion matrix goes (default: next to the checkpoint)"
    )
    output.add_argument("--format", choices=("text", "json"), default="text", help="how results are printed")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.run import Run
    from cnnlab.show import confusion

    folder = Path(args.output).expanduser() if args.output else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise SettingError(f"<output> {folder} is a file; it names the directory the confusion matrix goes to")
    run = Run(args.run)
    evaluation = run.evaluate(split=args.split, data=args.data, data_dir=args.data_dir, download=args.download,
                              progress=sys.stderr.isatty())  # fmt: skip
    png: Path | None = run.confusion_path(evaluation.dataset, evaluation.split)
    unwritten = None
    try:
        png = confusion(evaluation).save(folder / png.name if folder is not None else png)
    except OSError as error:  # a read-only run, a full disk: the numbers are the result, the picture its side
        png, unwritten = None, error
    if args.format == "json":
        print(json.dumps({**evaluation.to_dict(), "confusion_png": None if png is None else str(png)}, indent=2))
    else:
        print(evaluation)
        if png is not None:
            print()
            print(f"confusion matrix: {png}")
    if unwritten is not None:
        return _picture_not_written(args, unwritten)
    return 0


def _picture_not_written(args: argparse.Namespace, error: OSError) -> int:
    """Say (after the numbers, which are complete) that the picture is missing; exit code 1: not all was done.

    Not 0: a script that goes on to use the picture must learn it is not there. Not 2 either: that says bad
    input, nothing done; here the numbers were printed and only a file could not be written (a read-only run, a
    full disk), which --output can put elsewhere.
    """
    where = "" if args.output else " (--output DIR writes it elsewhere)"
    print(f"{args.prog}: error: the confusion matrix was not written: {os_error_text(error)}{where}", file=sys.stderr)
    return 1
