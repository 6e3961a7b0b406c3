"""Errors about settings, worded once and spelled the way each front end names its settings.

A library call is configured with keyword arguments (``data_dir="~/data"``, ``download=True``), the command
line with flags (``--data-dir ~/data``, ``--download``). An error that tells the user which setting to change
must use the user's words, so the library writes the setting as ``<name>`` or ``<name=value>`` in the message:
``str(error)`` spells it as Python does, and the command line spells it as its flags (``spelled``).

Whole numbers (a count, a depth, an epoch, a seed) are checked and worded here once, for the library, the
training settings, the command line and the lab: ``expected a positive whole number, got 0``. So are the
other kinds of value the library's calls take at their doors (sizes such as ``(C, H, W)``, paths, names,
functions): a wrong one is one line that names the argument and what it expects, never an error from deep
inside (``'int' object is not iterable``).
"""

from __future__ import annotations

import numbers
import os
import re
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "SettingError",
    "callable_setting",
    "expected_whole_number",
    "is_whole_number",
    "names_setting",
    "path_setting",
    "python_spelling",
    "read_whole_number",
    "text_setting",
    "whole_number",
    "whole_number_problem",
    "whole_numbers",
]

_SETTING = re.compile(r"<([a-z_][a-z0-9_]*)(?:=([^<>\n]*))?>")


def python_spelling(name: str, value: str | None) -> str:
    """``data_dir``, ``download=True``, ``device="cpu"``: a setting as a keyword argument."""
    if value is None:
        return name
    verbatim = value in ("True", "False", "None") or value.isupper() or value.replace(".", "", 1).isdigit()
    return f"{name}={value}" if verbatim else f'{name}="{value}"'


class SettingError(ValueError):
    """A bad or missing setting. The message names settings as ``<name>`` or ``<name=value>``.

    Example:
        ``SettingError("mnist needs <data_dir> (or <download=True> to fetch it)")`` reads ``mnist needs
        data_dir (or download=True to fetch it)`` from Python and ``mnist needs --data-dir (or --download
        to fetch it)`` from the command line.
    """

    def __init__(self, message: str) -> None:
        self.template = message
        super().__init__(self.spelled(python_spelling))

    def spelled(self, spell: Callable[[str, str | None], str]) -> str:
        """The message with every ``<name>`` / ``<name=value>`` replaced by ``spell(name, value)``."""
        return _SETTING.sub(lambda match: spell(match.group(1), match.group(2)), self.template)

    @property
    def settings(self) -> list[str]:
        """The names of the settings the message mentions, in order."""
        return [match.group(1) for match in _SETTING.finditer(self.template)]


def expected_whole_number(minimum: int = 1) -> str:
    """What a message says is expected: ``a positive whole number`` (``minimum`` 1) or ``a whole number >= N``.

    Raises:
        ValueError: ``minimum`` is below 0 (whole numbers start at 0).
    """
    if minimum < 0:
        raise ValueError(f"whole numbers start at 0, not at {minimum}")
    return "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"


def is_whole_number(value: object) -> bool:
    """An ``int`` or any other integer type (NumPy's ``int64``, ...), but not a bool.

    A bool is not a number here, although Python's ``True`` is an ``int``: ``k=True`` is always a slip.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def whole_number_problem(value: object, *, minimum: int = 1) -> str | None:
    """``expected a positive whole number, got 0`` if ``value`` is not a whole number >= ``minimum``, else ``None``.

    A bool is not a number here (:func:`is_whole_number`); NumPy's integers are.
    """
    expected = expected_whole_number(minimum)
    if is_whole_number(value) and int(value) >= minimum:  # type: ignore[call-overload]
        return None
    return f"expected {expected}, got {value!r}"


def whole_number(name: str, value: object, *, minimum: int = 1) -> int:
    """``value``, checked to be a whole number >= ``minimum`` (by default a positive one).

    Args:
        name: the setting, as a keyword argument names it (``k``, ``depth``).

    Raises:
        SettingError: ``<name>: expected a positive whole number, got 0`` (or ``a whole number >= N``).
    """
    problem = whole_number_problem(value, minimum=minimum)
    if problem is not None:
        raise SettingError(f"<{name}>: {problem}")
    return int(value)  # type: ignore[call-overload]


def read_whole_number(text: str, *, minimum: int = 1) -> int:
    """A whole number >= ``minimum`` written as text: a command-line value, a query parameter.

    Raises:
        ValueError: ``expected a positive whole number, got 'two'`` (or ``got 0``), which each front end hands
            on in its own way (argparse's error, the lab's 422).
    """
    try:
        value: object = int(text)
    except ValueError:
        value = text
    problem = whole_number_problem(value, minimum=minimum)
    if problem is not None:
        raise ValueError(problem)
    return int(value)  # type: ignore[call-overload]


def whole_numbers(
    name: str, value: object, what: str, example: tuple[int, ...], *, minimum: int = 1
) -> tuple[int, ...]:
    """``value``, checked to be ``len(example)`` whole numbers >= ``minimum``, as a tuple of ints.

    Args:
        name: the setting (``input_size``).
        what: the numbers' names, as the message says them (``(C, H, W)``).
        example: numbers to show in the message (``(1, 32, 32)``).

    Raises:
        SettingError: ``<input_size>: expected (C, H, W), 3 positive whole numbers such as (1, 32, 32), got
            '1x32x32'`` (a string of numbers such as the command line's ``1x32x32`` is shown as the tuple to write).
    """
    count = len(example)
    if isinstance(value, list | tuple) and len(value) == count and all(is_whole_number(v) for v in value):
        sizes = tuple(int(v) for v in value)  # type: ignore[call-overload]
        if min(sizes) >= minimum:
            return sizes
    kind = "positive whole numbers" if minimum == 1 else f"whole numbers >= {minimum}"
    hint = ""
    if isinstance(value, str):
        parts = re.split(r"[x,\s]+", value.strip(" ()[]"))
        if len(parts) == count and all(part.isdigit() for part in parts):
            hint = f" (write {tuple(int(part) for part in parts)})"
    raise SettingError(f"<{name}>: expected {what}, {count} {kind} such as {example}, got {value!r}{hint}")


def path_setting(name: str, value: object) -> Path:
    """``value``, checked to be a path (a ``str`` or an ``os.PathLike`` such as ``pathlib.Path``), as a ``Path``.

    Raises:
        SettingError: ``<out>: expected a path (a str or a pathlib.Path), got 123``; an empty string too.
    """
    path = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if isinstance(path, str) and path:
        return Path(path)
    raise SettingError(f"<{name}>: expected a path (a str or a pathlib.Path), got {value!r}")


def text_setting(name: str, value: object, what: str) -> str:
    """``value``, checked to be a non-empty ``str``.

    Raises:
        SettingError: ``<data>: expected a dataset name, got 5``.
    """
    if isinstance(value, str) and value:
        return value
    raise SettingError(f"<{name}>: expected {what}, got {value!r}")


def names_setting(name: str, value: object, what: str) -> tuple[str, ...]:
    """One name or a list of them, as a tuple: a ``str`` is one name (``layers="c1"``), never its letters.

    Args:
        what: the names' kind, plural (``layer names``).

    Raises:
        SettingError: ``<layers>: expected layer names (one, or a list of them), got 5``; an empty list too.
    """
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list | tuple) else None
    if names is None or not names or not all(isinstance(item, str) and item for item in names):
        got = "none" if names == () else repr(value)
        raise SettingError(f"<{name}>: expected {what} (one, or a list of them), got {got}")
    return names


def callable_setting(name: str, value: object, what: str) -> None:
    """Check that ``value`` is ``None`` or can be called (a function given to be called back later).

    Raises:
        SettingError: ``<log>: expected a function called with each message (or None), got 5``: said now,
            not when it is first called, after minutes of work.
    """
    if value is not None and not callable(value):
        raise SettingError(f"<{name}>: expected {what} (or None), got {value!r}")
