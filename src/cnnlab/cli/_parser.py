"""The argument parser every cnnlab command uses: one-line errors, defaults in the help, typed values."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Collection, Sequence
from typing import NoReturn

from cnnlab.errors import SettingError, read_whole_number
from cnnlab.viz.slide import TITLES, aspect_ratio

__all__ = [
    "INTERRUPTED",
    "CommandParser",
    "HelpFormatter",
    "add_aspect_argument",
    "add_title_argument",
    "chw_shape",
    "flag_spelling",
    "non_negative_int",
    "os_error_text",
    "positive_int",
    "typed_flags",
]


INTERRUPTED = 130
"""What a command stopped by Ctrl-C returns: 128 + SIGINT, the status a shell shows for a process SIGINT ended."""

# A negative number, or a list of numbers that starts with one (--unit -1,0): argparse would take either for a flag.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?(,-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?)*$", re.IGNORECASE)


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
        # argparse takes "-1e-3" for a flag (its pattern knows -1 and -.5, not exponents): a value such as
        # `--lr -1e-3` must reach the value's own check, which says what is wrong with it.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())  # argparse may wrap; keep it on one line
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _whole_number(text: str, minimum: int) -> int:
    """``text`` as a whole number >= ``minimum``, refused in the library's words (:mod:`cnnlab.errors`)."""
    try:
        return read_whole_number(text, minimum=minimum)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole_number(text, 0)


def _size(text: str, minimum: int, expected: str) -> int | tuple[int, int]:
    parts = re.split(r"[x×,]", text.strip().lower())
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2) or min(numbers) < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected} (N, or HxW such as 5x7), got {text!r}")
    return numbers[0] if len(numbers) == 1 else (numbers[0], numbers[1])


def positive_size(text: str) -> int | tuple[int, int]:
    """argparse type: ``N`` or ``HxW`` of whole numbers >= 1 (a square or a rectangular size)."""
    return _size(text, 1, "a positive size")


def non_negative_size(text: str) -> int | tuple[int, int]:
    """argparse type: ``N`` or ``HxW`` of whole numbers >= 0."""
    return _size(text, 0, "a size >= 0")


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


def add_title_argument(parser: argparse.ArgumentParser) -> None:
    """``--title full|short|none`` (the slide standard, ``docs/pictures.md``): ``short`` by default."""
    parser.add_argument(
        "--title", choices=TITLES, default="short",
        help="short: a few words a slide can carry; full: with where the picture comes from (run, checkpoint, "
             "weights); none: no title, for a slide that has its own")  # fmt: skip


def _aspect(text: str) -> float:
    try:
        return aspect_ratio(text)
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_aspect_argument(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--aspect W:H`` (``16:9`` fills a slide): the picture's width over its height, as a float."""
    parser.add_argument(
        "--aspect", type=_aspect, default=default, metavar="W:H",
        help="the picture's shape, such as 16:9 (a slide) or 4:3 (default: the picture's own)")  # fmt: skip


def os_error_text(error: OSError) -> str:
    """An operating-system error in one line, without Python's ``[Errno 30]`` in front."""
    if not error.strerror:
        return str(error)
    named = error.filename is not None and str(error.filename) not in error.strerror
    return f"{error.strerror}: {error.filename}" if named else error.strerror


def _long_flag(action: argparse.Action, typed: Collection[str] = ()) -> str:
    """The flag as the user typed it (``--out`` of ``--output, --out``, ``-k`` of ``-k, --top-k``), else its own
    name: the first long spelling."""
    return next(
        (flag for flag in action.option_strings if flag in typed),
        next((flag for flag in action.option_strings if flag.startswith("--")), action.option_strings[0]),
    )


def typed_flags(argv: Sequence[str], parser: argparse.ArgumentParser) -> set[str]:
    """The option strings of ``parser`` that ``argv`` uses: ``--out`` for ``--out x`` and ``--out=x``, ``-k`` for
    ``-k 3`` and ``-k3``."""
    flags = {flag for action in parser._actions for flag in action.option_strings}
    typed = set()
    for word in argv:
        if word == "--":
            break
        name = word.split("=", 1)[0]
        if name in flags:
            typed.add(name)
        elif len(word) > 2 and word[0] == "-" and word[1] != "-" and word[:2] in flags:
            typed.add(word[:2])
    return typed


def flag_spelling(parser: argparse.ArgumentParser, typed: Collection[str] = ()) -> Callable[[str, str | None], str]:
    """How a command spells a library setting ``name`` (``=value``) in an error: as its flag, as it was typed.

    A setting is found by the flag's destination: ``data_dir`` is ``--data-dir``, ``<download=True>`` is
    ``--download``, ``<preset=quick>`` is ``--quick`` (a flag that stores that value), ``<epochs=N>`` is
    ``--epochs N``; or by a spelling of the flag (the library's ``out`` is ``--output, --out``). Of a flag with
    several spellings, the one in ``typed`` (:func:`typed_flags`) is used: the user reads back what they wrote. A
    setting the command has no flag for is spelled as a flag would be.
    """
    actions = [action for action in parser._actions if action.option_strings]
    positionals = {action.dest: action for action in parser._actions if not action.option_strings}

    def spell(name: str, value: str | None) -> str:
        if name in positionals:  # an argument, not a flag: named as the usage line names it (RUN_OR_MODEL)
            argument = positionals[name]
            shown = argument.metavar if isinstance(argument.metavar, str) else name.upper()
            return shown if value is None else f"{shown} {value}"
        matching = [action for action in actions if action.dest == name]
        if not matching:
            flag = "--" + name.replace("_", "-")
            matching = [action for action in actions if flag in action.option_strings]
        constants = [a for a in matching if a.nargs == 0]  # store_true, store_const: the flag is the value
        for action in constants:
            if value is None and len(constants) == 1:
                return _long_flag(action, typed)
            if value is not None and str(action.const) == value:
                return _long_flag(action, typed)
        if value is None and constants:
            return "/".join(_long_flag(a, typed) for a in constants)
        flag = _long_flag(matching[0], typed) if matching else "--" + name.replace("_", "-")
        return flag if value is None or value == "True" else f"{flag} {value}"

    return spell
