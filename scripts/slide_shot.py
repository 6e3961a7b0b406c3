"""Put pictures on a 16:9 slide and screenshot it: how a picture looks from the back of a lecture hall.

Each picture (PNG, SVG or GIF; a GIF shows its last frame) is placed, whole and as large as it fits, on a
white 1280 x 720 page in Debian's Chromium (no browser is downloaded), which is screenshot to
``OUT/NAME.slide.png``. For an SVG the script also prints what :func:`cnnlab.viz.slide.read_svg` reads back: the
smallest text in points on the slide, against the standard's 18 (``docs/pictures.md``). Run:

    .venv/bin/python scripts/slide_shot.py PICTURE... [--out DIR] [--width 1280]
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from cnnlab.viz.slide import read_svg

PAGE = """<!doctype html><meta charset="utf-8"><style>
html, body {{ margin: 0; width: 100vw; height: 100vh; background: #fff; }}
img {{ width: 100vw; height: 100vh; object-fit: contain; display: block; }}
</style><img src="{source}" alt="">"""


def _shown(picture: Path, folder: Path) -> Path:
    """The file the page shows: the picture, or a GIF's last frame as a PNG (a screenshot of a GIF catches
    whichever frame is playing)."""
    if picture.suffix.lower() != ".gif":
        return picture.resolve()
    with Image.open(picture) as animation:
        animation.seek(animation.n_frames - 1)
        still = folder / f"{picture.stem}.last.png"
        animation.convert("RGB").save(still)
    return still


def screenshot(picture: Path, out: Path, width: int = 1280) -> Path:
    """Screenshot ``picture`` fitted to a ``width`` x ``width * 9 / 16`` page; returns the screenshot's path."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    height = round(width * 9 / 16)
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "slide.html"
        page.write_text(PAGE.format(source=html.escape(_shown(picture, Path(folder)).as_uri())), encoding="utf-8")
        target = out / f"{picture.stem}.slide.png"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--allow-file-access-from-files", f"--window-size={width},{height}", f"--screenshot={target}",
             page.as_uri()],
            check=True, capture_output=True, timeout=120)  # fmt: skip
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pictures", nargs="+", type=Path, metavar="PICTURE")
    parser.add_argument("--out", type=Path, default=Path("slides"), help="where the screenshots go (default: slides)")
    parser.add_argument("--width", type=int, default=1280, help="the page's width in pixels (default: 1280)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for picture in args.pictures:
        if not picture.is_file():
            raise SystemExit(f"{picture} does not exist")
        line = f"{picture}: {screenshot(picture, args.out, args.width)}"
        if picture.suffix.lower() == ".svg":
            line += f"\n  {read_svg(picture)}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
