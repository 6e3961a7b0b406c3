"""The README's picture of the lab: a test digit drawn with real mouse events, a unit clicked, a screenshot.

Starts ``cnnlab lab`` with the runs or models given, drives Debian's Chromium with Playwright (no browser is
downloaded), and writes the PNG. Run:

    .venv/bin/python scripts/lab_screenshot.py runs/lenet5-mnist5k-... lenet5_modern --out docs/images/lab.png
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from typing import Any

from cnnlab.data.samples import digit_strokes

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
"""Chromium's flags for a headless run that reaches nothing but the lab (shared with tests/lab/test_browser.py)."""


def draw_digit(page: Any) -> None:
    """Draw mnist5k's sample 7 on the lab's pad with real mouse events, stroke by stroke."""
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 28
    for (x0, y0), (x1, y1) in digit_strokes():
        page.mouse.move(box["x"] + x0 * scale, box["y"] + y0 * scale)
        page.mouse.down()
        page.mouse.move(box["x"] + x1 * scale, box["y"] + y1 * scale, steps=3)
        page.mouse.up()


def wait_settled(page: Any) -> None:
    """Until every card of the page shows the newest input (the page sets ``body[data-settled=true]``)."""
    page.wait_for_selector("body[data-settled=true]", state="attached", timeout=30_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("subjects", nargs="+", metavar="RUN_OR_MODEL")
    parser.add_argument("--out", default="docs/images/lab.png")
    parser.add_argument("--size", default="1400x900", help="the browser window, WIDTHxHEIGHT")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    width, height = (int(v) for v in args.size.split("x"))
    lab = subprocess.Popen([sys.executable, "-m", "cnnlab", "lab", *args.subjects, "--port", "0", "--no-browser"],
                           stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = lab.stdout.readline().split(" at ")[1].split()[0]
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            draw_digit(page)
            wait_settled(page)
            page.locator("canvas.maps").nth(2).click(position={"x": 60, "y": 30})
            page.wait_for_timeout(500)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=args.out)
            browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    print(args.out)


if __name__ == "__main__":
    main()
