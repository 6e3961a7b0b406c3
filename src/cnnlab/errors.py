"""Errors about settings, worded once and spelled the way each front end names its settings.

A library call is configured with keyword arguments (``data_dir="~/data"``, ``download=True``), the command
line with flags (``--data-dir ~/data``, ``--download``). An error that tells the user which setting to change
must use the user's words, so the library writes the setting as ``<name>`` or ``<name=value>`` in the message:
``str(error)`` spells it as Python does, and the command line spells it as its flags (``spelled``).

Whole numbers (a count, a depth, an epoch, a seed) are checked and worded here once, for the library, the
training settings, the command line and the lab: ``expected a positive whole number, got 0``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

__all__ = [
    "SettingError",
    "expected_whole_number",
    "python_spelling",
    "read_whole_number",
    "whole_number",
    "whole_number_problem",
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


def whole_number_problem(value: object, *, minimum: int = 1) -> str | None:
    """``expected a positive whole number, got 0`` if ``value`` is not a whole number >= ``minimum``, else ``None``.

    A bool is not a number here, although Python's ``True`` is an ``int``: ``k=True`` is always a slip.
    """
    expected = expected_whole_number(minimum)
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
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
    return cast(int, value)


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
    return cast(int, value)
