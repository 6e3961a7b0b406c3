"""Render a table as aligned text, Markdown, CSV, JSON or HTML: one renderer for every command that prints one
and every page or notebook that shows one."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TABLE_FORMATS", "Table", "render_table"]

TABLE_FORMATS = ("text", "markdown", "csv", "json")
"""What the commands print (``--format``); :func:`render_table` also writes ``html``, for pages and Jupyter."""

Cell = str | int | float | None


def _shown(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], fmt: str = "text") -> str:
    """The rows under the headers, in ``fmt`` (one of :data:`TABLE_FORMATS`, or ``html``).

    Text, Markdown and HTML show numbers with thousands separators, right-aligned; CSV and JSON keep them
    as plain numbers for other programs.
    """
    if any(len(row) != len(headers) for row in rows):
        raise ValueError("every row needs one cell per header")
    if fmt == "json":
        return json.dumps([dict(zip(headers, row, strict=True)) for row in rows], indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    if fmt == "html":
        return _html(headers, rows)
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; expected one of {', '.join(TABLE_FORMATS)} or html")
    cells = [[_shown(v) for v in row] for row in rows]
    numeric = [bool(rows) and all(_is_number(row[j]) or row[j] is None for row in rows) for j in range(len(headers))]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]

    def line(values: Sequence[str]) -> list[str]:
        return [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]

    if fmt == "markdown":
        rule = [("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
        return "\n".join("| " + " | ".join(line_) + " |" for line_ in [line(headers), rule, *map(line, cells)])
    return "\n".join("  ".join(line_).rstrip() for line_ in [line(headers), *map(line, cells)])


def _html(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    def cell(value: Cell) -> str:
        css = ' class="number"' if _is_number(value) else ""
        return f"<td{css}>{html.escape(_shown(value))}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


@dataclass(frozen=True)
class Table:
    """Rows under headers that print as text in a terminal and as an HTML table in Jupyter."""

    headers: list[str]
    rows: list[list[Cell]]

    def render(self, fmt: str = "text") -> str:
        """The table in ``fmt``, one of :data:`TABLE_FORMATS`."""
        return render_table(self.headers, self.rows, fmt)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        return self.render("html")

    def to_dict(self) -> list[dict[str, Any]]:
        """One dictionary per row, keyed by header."""
        return [dict(zip(self.headers, row, strict=True)) for row in self.rows]
