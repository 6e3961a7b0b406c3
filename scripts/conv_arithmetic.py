"""The whole conv_arithmetic set (Dumoulin and Visin, 2016) drawn by cnnlab, with a page that shows them all.

Fifteen animations: convolutions with no, arbitrary, half and full padding, with and without strides, an odd
size; the transposed counterpart of each (drawn as zero insertion, the flipped kernel sliding with stride
1); and dilation. Each is ``cnnlab.animate`` of the sizes in ``cnnlab.viz.animation.CONV_ARITHMETIC``, so
every frame's numbers are PyTorch's (tests check them). Writes ``OUT/NAME.gif`` (or .html, .mp4) and
``OUT/index.html``, a page with every animation, its caption and its formula. Run:

    .venv/bin/python scripts/conv_arithmetic.py [--out animations/conv_arithmetic] [--values] [--format gif]
"""

from __future__ import annotations

import argparse
import html
import time
from pathlib import Path

from cnnlab.files import write_text
from cnnlab.viz.animation import CONV_ARITHMETIC, FORMATS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("animations/conv_arithmetic"), help="where they go")
    parser.add_argument("--values", action="store_true", help="numbers in the cells (PyTorch's outputs)")
    parser.add_argument("--format", choices=FORMATS, default="gif", help="the animations' file format")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    figures = []
    start = time.perf_counter()
    for case in CONV_ARITHMETIC:
        animation = case.animate(values=args.values)
        path = animation.save(args.out / f"{case.name}.{args.format}")
        print(f"{path}  ({len(animation.positions)} frames)")
        shown = (
            f'<img src="{path.name}" alt="{html.escape(case.caption)}">'
            if args.format == "gif"
            else f'<a href="{path.name}">{html.escape(path.name)}</a>'
        )
        figures.append(
            f"<figure>{shown}<figcaption><b>{html.escape(case.caption)}</b>"
            f"<pre>{html.escape(animation.formula)}</pre></figcaption></figure>"
        )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Convolution arithmetic</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:1rem} figure{display:inline-block;vertical-align:top;"
        "margin:0 1rem 2rem 0;max-width:40rem} img{max-width:100%} pre{white-space:pre-wrap;font-size:.8rem}</style>"
        "</head><body><h1>Convolution arithmetic, drawn by cnnlab</h1>"
        "<p>Sizes of Dumoulin and Visin, <i>A guide to convolution arithmetic for deep learning</i> (2016).</p>"
        + "".join(figures)
        + "</body></html>\n"
    )
    index = write_text(args.out / "index.html", page)
    print(f"{index}  ({len(figures)} animations in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
