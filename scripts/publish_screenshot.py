"""The README's picture of a published page: `make demo`'s LeNet-5 run, published, opened from disk,
a 7 drawn with real mouse events, a unit of C1 clicked (its receptive field and its arithmetic), a screenshot.

Without a run it trains one as `make demo` does (`cnnlab train lenet5`, the default recipe: about 15 s on 2
idle cores; `--epochs` shortens it, for a check that the script works). Then `cnnlab publish RUN --output
lab.html --title ... --note ...`, and Debian's Chromium (through Playwright, no browser is downloaded) opens
the file with every request that is not file:, data: or blob: aborted. Writes the 1400 px picture, cropped to
the input, the network's card and C1 with the clicked unit's arithmetic, and the same page at 400 px. Run:

    .venv/bin/python scripts/publish_screenshot.py [RUN] [--epochs N] [--out docs/images/publish.png]
                                                   [--small docs/images/publish-400.png]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # scripts.lab_screenshot, when run as a script

from scripts.lab_screenshot import ARGS, wait_settled  # noqa: E402

TITLE = "Week 3: LeNet-5 reads your digit"
NOTE = "Draw a digit, then click a unit of C1 to see what it looks at and how its value is computed."
HEIGHT = 1500  # the 1400 px picture's height: the input, the top-5, the saliency view, C1 and a unit's arithmetic
SMALL_HEIGHT = 1640  # the 400 px picture, one column: the heading, the pad, the card, the top-5 and C1


def cnnlab(*args: str, cwd: Path) -> str:
    print("$ cnnlab", " ".join(args))
    result = subprocess.run([sys.executable, "-m", "cnnlab", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"cnnlab {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# The position (CSS pixels in C1's canvas) of C1's unit with the largest magnitude for the pad's drawing: a unit
# on the stroke, whose patch and kernel are worth reading (C1's canvas: a grid of tiles with gaps between them).
STRONGEST_C1_UNIT = """async () => {
    const pad = document.getElementById('pad');
    const seen = await window.cnnlab.inspect(pad.getContext('2d').getImageData(0, 0, pad.width, pad.height));
    const { shape: [channels, height, width], data } = seen.layers.c1;
    let best = 0;
    for (let i = 1; i < data.length; i++) if (Math.abs(data[i]) > Math.abs(data[best])) best = i;
    const channel = Math.floor(best / (height * width)), y = Math.floor(best / width) % height, x = best % width;
    const canvas = document.querySelector('canvas.maps[data-tensor="c1"]');
    const rows = Math.round(canvas.height / height), cols = Math.ceil(channels / rows);
    const gap = cols > 1 ? (canvas.width - cols * width) / (cols - 1) : 0;
    const scale = canvas.getBoundingClientRect().width / canvas.width;
    const left = (channel % cols) * (width + gap) + x + 0.5;
    const top = Math.floor(channel / cols) * (height + gap) + y + 0.5;
    return { x: left * scale, y: top * scale };
}"""


SEVEN = [(0.27, 0.25), (0.45, 0.23), (0.70, 0.22), (0.64, 0.36), (0.56, 0.52), (0.49, 0.68), (0.44, 0.84)]
"""A 7 as one stroke on the pad (points in 0..1 of its width and height), as a hand draws it."""


def draw_seven(page: Any) -> None:
    """Draw :data:`SEVEN` on the pad with real mouse events: press, move in small steps, release."""
    box = page.locator("#pad").bounding_box()
    points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in SEVEN]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=8)
    page.mouse.up()


def open_page(browser: Any, path: Path, width: int, height: int) -> tuple[Any, list[str]]:
    """The page from disk with every request that is not file:, data: or blob: aborted; what was aborted."""
    blocked: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": height})

    def route(request_route: Any) -> None:
        if request_route.request.url.split(":", 1)[0] in ("file", "data", "blob"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]", state="attached")
    return page, blocked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", type=Path, help="a LeNet-5 run directory (default: train one)")
    parser.add_argument("--epochs", type=int, help="when training: epochs (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=Path("docs/images/publish.png"))
    parser.add_argument("--small", type=Path, default=Path("docs/images/publish-400.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.run is None:  # `make demo`'s command, in a scratch directory: runs/lenet5-mnist5k-DATE
            cnnlab(
                "train", "lenet5", "--no-progress", *(["--epochs", str(args.epochs)] if args.epochs else []), cwd=work
            )
            (run,) = (work / "runs").iterdir()
        else:
            run = args.run.resolve()
        print(cnnlab("publish", str(run), "--output", "lab.html", "--title", TITLE, "--note", NOTE, cwd=work), end="")
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=ARGS)
            page, blocked = open_page(browser, work / "lab.html", 1400, HEIGHT)
            draw_seven(page)
            wait_settled(page)
            c1 = page.locator('canvas.maps[data-tensor="c1"]')
            c1.scroll_into_view_if_needed()
            c1.click(position=page.evaluate(STRONGEST_C1_UNIT))
            page.wait_for_selector('.explain[data-tensor="c1"]:not([hidden])', state="visible")
            page.evaluate("window.scrollTo(0, 0)")
            top = page.locator(".card").first.get_attribute("data-top")
            print(f"the page's top-5: {top}")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True, clip={"x": 0, "y": 0, "width": 1400, "height": HEIGHT})
            small, also_blocked = open_page(browser, work / "lab.html", 400, 800)
            draw_seven(small)
            wait_settled(small)
            small.screenshot(path=str(args.small), full_page=True, clip={"x": 0, "y": 0, "width": 400,
                                                                         "height": SMALL_HEIGHT})  # fmt: skip
            browser.close()
        if blocked or also_blocked:
            raise SystemExit(f"the page tried to reach {blocked + also_blocked}")
    print(args.out)
    print(args.small)


if __name__ == "__main__":
    main()
