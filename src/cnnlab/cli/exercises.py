"""``cnnlab exercises``: the lecture's exercises, in its order, and each one's task in full."""

from __future__ import annotations

import argparse

from cnnlab.inspection.tables import TABLE_FORMATS

DESCRIPTION = """The lecture as exercises: each is a function you write (the size of a feature map, a convolution
with loops, max pooling, LeNet-5's C3, a residual block, ...), which cnnlab checks against PyTorch on random and
edge cases, naming the mistake when your answer matches a known one. Check one from Python or Jupyter:

    import cnnlab
    cnnlab.check("conv2d", my_conv2d)

examples:
  cnnlab exercises                  the exercises in the lecture's order, a line each
  cnnlab exercises list --format markdown
  cnnlab exercises conv2d           what to write for one of them: the signature, an example, the paper"""

NAME = "exercises"
HELP = "the lecture's exercises: list them, or show one's task"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", default="list", metavar="list|EXERCISE",
                        help="list (the default), or an exercise's name to show its task")  # fmt: skip
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="format of the list")
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.practice import exercises, find

    if args.what == "list":
        print(exercises().render(args.format))
        return 0
    try:
        exercise = find(args.what)
    except ValueError as error:  # the library points at its own call; here the command lists them
        raise ValueError(str(error).replace("exercises() lists them", "`cnnlab exercises` lists them")) from None
    print(exercise)
    return 0
