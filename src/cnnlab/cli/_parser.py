"""The argument parser every cnnlab command uses: one-line errors, defaults in the help, typed values."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

__all__ = [
    "CommandParser",
    "HelpFormatter",
    "chw_shape",
    "non_negative_int",
    "positive_int",
]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (where it has one worth showing) and keeps descriptions as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = not (default is None or default is False or default == argparse.SUPPRESS) and "%(default)" not in text
        if shown and action.option_strings:
            text += " (default: %(default)s)"
        return text


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr and exit code 2.

    argparse's own error prints the whole usage first; a user who typed ``-k x`` needs the one line
    that says what was expected, and where to read more.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())  # argparse may wrap; keep it on one line
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _whole_number(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _whole_number(text, 1, "a positive whole number")


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole_number(text, 0, "a whole number >= 0")


def chw_shape(text: str) -> tuple[int, int, int]:
    """argparse type: ``CxHxW`` such as ``1x32x32`` (also ``HxW``, read as one channel)."""
    parts = re.split(r"[x×,]", text.strip().lower())
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 2:
        numbers = [1, *numbers]
    if len(numbers) != 3 or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"expected CxHxW with positive sizes such as 1x32x32, got {text!r}")
    return numbers[0], numbers[1], numbers[2]
