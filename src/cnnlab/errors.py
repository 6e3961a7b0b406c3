"""Errors about settings, worded once and spelled the way each front end names its settings.

A library call is configured with keyword arguments (``data_dir="~/data"``, ``download=True``), the command
line with flags (``--data-dir ~/data``, ``--download``). An error that tells the user which setting to change
must use the user's words, so the library writes the setting as ``<name>`` or ``<name=value>`` in the message:
``str(error)`` spells it as Python does, and the command line spells it as its flags (``spelled``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["SettingError", "python_spelling"]

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
