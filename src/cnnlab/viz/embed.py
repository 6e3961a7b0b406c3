"""Text that a self-contained page holds inside its own elements: JSON in a ``<script>``, a script or a style sheet
read from a file. What the published page and the animation player both assemble their one file from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["element_text", "script_json"]

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """``data`` as JSON that a ``<script>`` element holds as written: ``<``, ``>`` and ``&`` as ``\\u`` escapes (no
    ``</script>`` or ``<!--`` can end or bend the element, as Django's ``json_script`` does it), and U+2028/U+2029
    escaped too (line ends to older JavaScript)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for character, escape in _JSON_ESCAPES.items():
        text = text.replace(character, escape)
    return text


def element_text(path: Path, element: str) -> str:
    """A script's or a style sheet's text for a ``<script>`` or ``<style>`` element (``</script`` inside a string
    or a regex stays the same text to JavaScript, and no longer ends the element)."""
    return path.read_text(encoding="utf-8").replace(f"</{element}", f"<\\/{element}")
