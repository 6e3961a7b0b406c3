"""Entry point of the ``cnnlab`` command.

Each subcommand is a module of this package with ``NAME``, ``HELP``, ``DESCRIPTION`` and
``add_arguments(parser)``, which adds its options and sets ``handler``. Only the command being run gets its
options built (the others need only their name and help line), and modules import torch only inside
their handlers, so that commands such as ``cnnlab shape`` answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from types import FrameType

from cnnlab import __version__
from cnnlab.cli._parser import INTERRUPTED, CommandParser, flag_spelling, os_error_text, typed_flags
from cnnlab.errors import SettingError

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
    "exercises",
    "lab",
    "publish",
    "models",
    "summary",
    "shape",
    "animate",
    "draw",
    "compare_layers",
)

EPILOG = """examples:
  cnnlab shape conv -i 32 -k 5            feature-map size, with the formula filled in
  cnnlab shape chain -i 32 conv:5 pool:2 conv:5 pool:2 conv:5
                                          sizes and receptive fields of a chain of layers
  cnnlab animate conv -i 5 -k 3 -s 2 -p 1 --values
                                          the sliding window as a GIF, PyTorch's numbers in the cells
  cnnlab draw googlenet                   the architecture: Inception modules expanded, shapes on the edges
  cnnlab compare-layers --input 1x32x32 --out-channels 6 --kernel 5
                                          fully connected vs locally connected vs convolution

set CNNLAB_DEBUG=1 to see the traceback behind an error message."""


def _wanted(argv: list[str] | None) -> str | None:
    """The command ``argv`` asks for: its first word that is not a flag (the top level's flags take no value)."""
    words = sys.argv[1:] if argv is None else argv
    return next((word for word in words if not word.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> CommandParser:
    """The parser; with ``argv``, only the command it names gets its options (all of them without ``argv``)."""
    parser = CommandParser(
        prog="cnnlab",
        description="Build, size, train, inspect and compare convolutional neural networks.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    wanted = _wanted(argv) if argv is not None else None
    for module_name in SUBCOMMANDS:
        module = importlib.import_module(f"cnnlab.cli.{module_name}")
        command = subparsers.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION)
        if wanted is None or wanted == module.NAME:
            module.add_arguments(command)
    return parser


def _command_parser(parser: argparse.ArgumentParser, prog: str) -> argparse.ArgumentParser:
    """The parser of the (sub)command called ``prog``, whose flags spell the settings in its errors."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found = child if child.prog == prog else _command_parser(child, prog)
                if found.prog == prog:
                    return found
    return parser


def _unrecognized(command: argparse.ArgumentParser, extras: list[str]) -> str:
    """``unrecognized arguments: --lrr (did you mean --lr?)``, from the command's own flags."""
    flags = [flag for action in command._actions for flag in action.option_strings]
    hints = []
    for extra in extras:
        if extra.startswith("-"):
            close = difflib.get_close_matches(extra.split("=", 1)[0], flags, n=1, cutoff=0.6)
            hints += [f"{extra.split('=', 1)[0]} -> {close[0]}"] if close else []
    hint = f" (did you mean {', '.join(h.split(' -> ')[1] for h in hints)}?)" if hints else ""
    return f"unrecognized arguments: {' '.join(extras)}{hint}"


def _quiet_stdout() -> None:
    """The reader of our output went away: send the rest of it (and Python's last flush) nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (a test's capture)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run ``cnnlab`` with ``argv`` (default: the process arguments); returns the exit code.

    Bad input of any kind ends in one line on stderr and exit code 2, never a traceback. A reader that closes
    the pipe early (``cnnlab models | head``) ends the command quietly, as ``git log | head`` does. Ctrl-C, at any
    moment, ends in one line (``cnnlab train: interrupted ...``) and exit code 130; called as the process itself
    (without ``argv``), cnnlab then ends by SIGINT, as a shell expects of an interrupted command, so that a shell
    loop or a Makefile that runs it stops too instead of going on with its next command.
    """
    try:
        with _ctrl_c_outside_imports():
            code = _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:  # before the command began (its own interruptions are caught in _main)
        print("cnnlab: interrupted", file=sys.stderr)
        code = INTERRUPTED
    if code == INTERRUPTED and argv is None:
        _end_by_sigint()
    return code


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs inside an import (Python's import machinery is among its callers)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib._bootstrap"):
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def _ctrl_c_outside_imports() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt at once, as usual, except in the middle of an import: there it waits (a
    check every 50 ms) until the import is over. A second Ctrl-C does not wait.

    Interrupted mid-import, a module is left half-made, and what imports it next fails on it (torch's clean-up:
    ``module 'sympy' has no attribute 'logic'``); and some imports swallow the KeyboardInterrupt (torch imports
    numpy from C++, and goes on without it): the command then ran on as if Ctrl-C had not been pressed (the lab
    served on). Importing torch takes seconds, so Ctrl-C right after a command starts lands in one.
    """
    usable = os.name == "posix" and threading.current_thread() is threading.main_thread()
    if (
        not usable
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        or signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None)
    ):  # someone else's handlers (an embedding program, a test timeout): theirs
        yield
        return
    pending = [False]

    def on_ctrl_c(_signum: int, frame: FrameType | None) -> None:
        if pending[0] or not _importing(frame):  # a second Ctrl-C, or one outside an import: now
            pending[0] = False
            raise KeyboardInterrupt
        pending[0] = True
        signal.setitimer(signal.ITIMER_REAL, 0.05)

    def on_check(_signum: int, frame: FrameType | None) -> None:
        if not pending[0]:
            return
        if _importing(frame):
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            return
        pending[0] = False
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_ctrl_c), signal.signal(signal.SIGALRM, on_check)
    try:
        yield
    finally:
        pending[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous[1])
        signal.signal(signal.SIGINT, previous[0])


def _end_by_sigint() -> None:
    """End the process as SIGINT's default action does, after the one line that said so.

    A shell waiting for a command that Ctrl-C interrupted stops its own loop only if the command died of SIGINT;
    a plain ``exit(130)`` tells it the command dealt with the signal, and ``for s in 0 1 2; do cnnlab train ...``
    would go on with the next seed. (Python ends so after a KeyboardInterrupt no one caught.)
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say there
            stream.flush()
    if os.name == "posix":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)


def _debug() -> bool:
    """Whether ``CNNLAB_DEBUG`` asks for the traceback behind an error: 1, yes, true, on; not when unset, empty, 0,
    no, false or off (``CNNLAB_DEBUG=0`` is a user turning it off)."""
    return os.environ.get("CNNLAB_DEBUG", "").strip().lower() not in ("", "0", "no", "false", "off")


def _no_standard_output(args: argparse.Namespace) -> None:
    """Refuse ``--output -``: it reads as standard output, where cnnlab writes no file; it would make one named -."""
    for setting in ("output", "save_input"):
        if getattr(args, setting, None) == "-":
            raise SettingError(f"<{setting}> - would be a file named '-': cnnlab writes files, not to standard output")


def _unwritable(error: OSError, text: str) -> bool:
    """Whether cnnlab could not write a file where it chose to (a read-only or full place), by files.py's words."""
    place = text.startswith(("cannot write ", "cannot make directory "))
    return place and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT)


def _main(argv: list[str]) -> int:
    parser = build_parser(argv)
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            command = _command_parser(parser, getattr(args, "prog", parser.prog))
            command.error(_unrecognized(command, extras))
    except SystemExit as stop:  # --help, --version and argument errors
        return stop.code if isinstance(stop.code, int) else 0
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    prog = getattr(args, "prog", "cnnlab")
    try:
        _no_standard_output(args)
        with warnings.catch_warnings():
            # PIL's two lines on an image over 89 megapixels ("could be decompression bomb DOS attack") or with
            # corrupt EXIF data: cnnlab reads what it was given, and says in one line what it cannot read (PIL
            # refuses twice that size), so PIL's warnings only add noise.
            warnings.filterwarnings("ignore", module=r"PIL\.")
            return handler(args)
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        return _interrupted(prog)
    except Exception as error:
        if _during_ctrl_c(error):  # a clean-up that Ctrl-C broke (a half-imported module), not a fault of its own
            return _interrupted(prog)
        if not isinstance(error, ValueError | OSError) or _debug():
            raise
        text = str(error)
        command = _command_parser(parser, prog)
        spell = flag_spelling(command, typed_flags(argv, command))
        if isinstance(error, SettingError):  # settings named as this command's flags, as the user typed them
            text = error.spelled(spell)
        elif isinstance(error, OSError):
            text = os_error_text(error)
            if _unwritable(error, text) and getattr(args, "output", "") is None:  # the default place: a read-only run
                text += f" (choose another place with {spell('output', None)})"
        # the library points at its own call; a user of the command line has the command that does the same
        text = text.replace("list_models() lists the models", "`cnnlab models` lists them")
        message = " ".join(text.split()) or type(error).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2


def _interrupted(prog: str) -> int:
    """Ctrl-C: one line (with ``CNNLAB_DEBUG``, the traceback of where it stopped, what a hang needs)."""
    if _debug():
        raise  # called only from an except clause: the exception being handled
    print(f"{prog}: interrupted", file=sys.stderr)
    return INTERRUPTED


def _during_ctrl_c(error: BaseException) -> bool:
    """Whether ``error`` was raised while a KeyboardInterrupt was being handled (its context or cause, at any depth):
    Ctrl-C during an import leaves a half-imported module, and the clean-up that imports it again fails on it
    (``module 'sympy' has no attribute 'logic'``), hiding the Ctrl-C behind a traceback."""
    seen = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
