"""``cnnlab models``: the registry, with each model's paper, size and cost."""

from __future__ import annotations

import argparse

from cnnlab.inspection.tables import TABLE_FORMATS

DESCRIPTION = """Every network cnnlab builds: its paper, parameters, MACs at the default input, and the input
sizes it accepts (the smallest computed from its layers).

examples:
  cnnlab models
  cnnlab models 'resnet*'
  cnnlab models vgg16 --format json"""

NAME = "models"
HELP = "list the networks with their papers, sizes and costs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style name pattern, e.g. 'resnet*'")
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="output format")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.inspection.zoo import model_table

    print(model_table(args.pattern).render(args.format))
    return 0
