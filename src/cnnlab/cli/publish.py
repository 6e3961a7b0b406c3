"""``cnnlab publish``: the lab for one's own networks as one self-contained HTML file."""

from __future__ import annotations

import argparse

DESCRIPTION = """Write the lab as one HTML file that runs your networks in the browser, offline: draw a digit or
drop a photo, see the top-5 and every layer's feature maps to the output, click a unit for its receptive
field and arithmetic, several networks side by side. Everything is inside the file (scripts, weights, the
architecture drawing, sample digits): it opens with a double-click on any laptop or phone, or from any static
web host, makes no network request, and holds no path, user or host name of this machine.

RUN_OR_MODEL is a run directory, a checkpoint, or a model name from `cnnlab models` (random weights). A page
over 50 MB is refused: `cnnlab lab` serves networks of any size.

examples:
  cnnlab publish runs/lenet5-mnist5k-20261125-101500 --output lenet5.html
  cnnlab publish runs/lenet5-mnist5k-20261125-101500 runs/resnet20-cifar10-20261126-090000 \\
      --output week3.html --title "Week 3: LeNet-5 and ResNet-20" --note "Draw a digit, then click a unit." """

NAME = "publish"
HELP = "the lab as one self-contained HTML file that runs offline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "subjects", nargs="+", metavar="RUN_OR_MODEL", help="run directories, checkpoints or model names"
    )
    parser.add_argument("--output", "--out", metavar="FILE.html", required=True, help="the page to write (.html)")
    parser.add_argument("--title", metavar="TEXT", help="the page's heading (default: the networks' names)")
    parser.add_argument("--note", metavar="TEXT", help="a note shown under the heading, as plain text")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.publish.page import publish

    page = publish(args.subjects, args.output, title=args.title, note=args.note)
    print(page)
    return 0
