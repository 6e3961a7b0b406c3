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

__all__ = ["Section", "facts_html", "image_tag", "paragraph", "render_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
figure { margin: 1rem 0; }
figcaption, .note { color: #555; font-size: 0.9rem; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.1rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
"""


@dataclass(frozen=True)
class Section:
    """A part of the page: an anchor ``id``, a heading, and its body (HTML built with the helpers here)."""

    id: str
    title: str
    body: str


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


def render_report(title: str, facts: Sequence[tuple[str, object]], sections: Sequence[Section]) -> str:
    """The whole page: a title, a few facts, a table of contents and the sections in order."""
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
        facts_html(facts),
        f"<nav>{nav}</nav>",
    ]
    for section in sections:
        parts.append(f'<section id="{section.id}">\n<h2>{html.escape(section.title)}</h2>\n{section.body}\n</section>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
