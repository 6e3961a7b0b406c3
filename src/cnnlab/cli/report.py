"""``cnnlab report``: one self-contained HTML page about a training run, to open in any browser."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnlab.cli._parser import positive_int
from cnnlab.errors import SettingError

DESCRIPTION = """Write one HTML file about a training run, results first: the test top-1, loss and time, the
training curves, the confusion matrix on the test split and the test images the model gets most wrong
(highest loss), with their true and predicted classes; then the first layer's filters, the feature maps of a
test image, the network's summary table, and last the run and its configuration. Two columns on a wide
screen, one on a narrow one. The pictures are inlined (data URIs): the file needs nothing else, loads nothing
from anywhere, and can be mailed or archived on its own.

examples:
  cnnlab report runs/lenet5-mnist5k-20261125-045010
  cnnlab report runs/resnet20-cifar10-20261125-101500 --output resnet20.html --worst 24"""

NAME = "report"
HELP = "a run's report as one self-contained HTML page"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run directory or a .pt checkpoint")
    parser.add_argument("--output", "--out", metavar="FILE", help="the HTML file (default: RUN/report.html)")
    parser.add_argument(
        "--worst", type=positive_int, default=12, help="how many of the worst-classified images to show"
    )
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.run import Run

    out = Path(args.output).expanduser() if args.output else None
    if out is not None and out.is_dir():
        raise SettingError(f"<output> {out} is a directory; it names the HTML file to write")
    path = Run(args.run).report(out, worst=args.worst, progress=sys.stderr.isatty())
    print(f"{path}  ({path.stat().st_size / 1e6:.1f} MB; open it in a browser)")
    return 0
