"""Entry point of the ``cnnlab`` command.

Each subcommand is a module of this package with ``add_parser(subparsers)``, which registers its
options and sets ``handler``; modules import torch only inside their handlers, so that building the
parser (and commands such as ``cnnlab shape``) stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from cnnlab import __version__
from cnnlab.cli._parser import CommandParser

__all__ = ["build_parser", "main"]

# Order of appearance in `cnnlab --help`.
SUBCOMMANDS = (
    "train",
    "evaluate",
    "predict",
    "export",
    "show",
    "report",
    "experiment",
    "models",
    "summary",
    "shape",
    "compare_layers",
)

EPILOG = """examples:
  cnnlab shape conv -i 32 -k 5            feature-map size, with the formula filled in
  cnnlab shape chain -i 32 conv:5 pool:2 conv:5 pool:2 conv:5
                                          sizes and receptive fields of a chain of layers
  cnnlab compare-layers --input 1x32x32 --out-channels 6 --kernel 5
                                          fully connected vs locally connected vs convolution

set CNNLAB_DEBUG=1 to see the traceback behind an error message."""


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="cnnlab",
        description="Build, size, train, inspect and compare convolutional neural networks.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"cnnlab.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnlab`` with ``argv`` (default: the process arguments); returns the exit code.

    Bad input of any kind ends in one line on stderr and exit code 2, never a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and argument errors
        return stop.code if isinstance(stop.code, int) else 0
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    prog = getattr(args, "prog", "cnnlab")
    try:
        return handler(args)
    except (ValueError, OSError) as error:
        if os.environ.get("CNNLAB_DEBUG"):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
