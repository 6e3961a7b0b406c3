"""One self-contained HTML page: text, tables and PNG pictures inlined as data URIs.

The page makes no request of any kind: no scripts, no style sheets, fonts or images from elsewhere, no
links out. It opens the same from a laptop, an e-mail attachment or a machine without a network.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Headline",
    "Section",
    "details",
    "facts_html",
    "headline_html",
    "image_tag",
    "paragraph",
    "render_report",
    "scrolling",
]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1800px; padding: 1rem 1.5rem 3rem;
       color: #222; }
h1 { font-size: 1.6rem; margin-bottom: 0.6rem; overflow-wrap: anywhere; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
nav { margin: 1rem 0 0; line-height: 1.8; }
nav a { margin-right: 1rem; white-space: nowrap; }
main { display: grid; grid-template-columns: minmax(0, 1fr); column-gap: 3rem; align-items: start; }
@media (min-width: 1100px) {
  main { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  main > section.wide { grid-column: 1 / -1; }
}
.headline { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.5rem 0; }
.headline > div { border: 1px solid #ddd; border-radius: 6px; padding: 0.4rem 0.8rem; flex: 1 1 8rem;
                  max-width: 20rem; }
.headline .label { color: #555; font-size: 0.9rem; }
.headline .value { font-size: 2rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.headline .detail { color: #555; font-size: 0.85rem; }
@media (max-width: 600px) { .headline .value { font-size: 1.5rem; } }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
figure { margin: 1rem 0; }
figcaption, .note { color: #555; font-size: 0.9rem; }
details summary { cursor: pointer; margin: 0.5rem 0; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.1rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
"""
"""Results first: the headline, then the sections in a grid of two columns on a wide screen (1100 px or more;
a ``wide`` section spans both), one column on a narrow one. Tables scroll inside their own box, long words
break, so that the page itself never scrolls sideways (checked at 400 px in tests/test_report_page.py)."""


@dataclass(frozen=True)
class Headline:
    """One of the numbers the page opens with: a label, the value in large type, and a line under it."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Section:
    """A part of the page: an anchor ``id``, a heading, and its body (HTML built with the helpers here)."""

    id: str
    title: str
    body: str
    wide: bool = False  # spans both columns of a wide screen


def image_tag(png: Figure | bytes | str | Path, alt: str, caption: str = "") -> str:
    """A ``<figure>`` with the picture (a Figure, PNG bytes or a PNG file) inlined as a ``data:`` URI."""
    if isinstance(png, bytes):
        data = png
    elif isinstance(png, str | Path):
        data = Path(png).read_bytes()
    else:
        from cnnlab.viz.figure import png_bytes

        data = png_bytes(png)
    if not data.startswith(b"\x89PNG"):
        raise ValueError(f"only PNG pictures are inlined; {alt!r} is not one")
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{html.escape(alt)}">{text}</figure>'


def facts_html(facts: Sequence[tuple[str, object]]) -> str:
    """A short list of labelled values."""
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def paragraph(text: str, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def headline_html(numbers: Sequence[Headline]) -> str:
    """The page's first numbers, each in a box of its own: they wrap onto more lines on a narrow screen."""
    boxes = "".join(
        f'<div><div class="label">{html.escape(n.label)}</div><div class="value">{html.escape(n.value)}</div>'
        + (f'<div class="detail">{html.escape(n.detail)}</div>' if n.detail else "")
        + "</div>"
        for n in numbers
    )
    return f'<div class="headline">{boxes}</div>'


def scrolling(table_html: str) -> str:
    """A table in a box that scrolls sideways on its own, so that a wide table never widens the page."""
    return f'<div class="scroll">{table_html}</div>'


def details(summary: str, body: str) -> str:
    """``body`` folded under a line that opens it (closed until clicked)."""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


def render_report(
    title: str,
    facts: Sequence[tuple[str, object]],
    sections: Sequence[Section],
    headline: Sequence[Headline] = (),
) -> str:
    """The whole page: a title, the headline numbers, a table of contents, the sections in a grid, in order.

    ``facts`` (a short list of labelled values) follow the headline, if any are given: a page that opens with
    its results passes none and puts them in a section of its own at the end (:func:`facts_html`).
    """
    nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
        headline_html(headline) if headline else "",
        facts_html(facts) if facts else "",
        f"<nav>{nav}</nav>",
        "<main>",
    ]
    for section in sections:
        wide = ' class="wide"' if section.wide else ""
        parts.append(f'<section id="{section.id}"{wide}>\n<h2>{html.escape(section.title)}</h2>\n{section.body}\n'
                     "</section>")  # fmt: skip
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)
