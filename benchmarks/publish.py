"""The published page's speed in the browser: a drawing's update, timed in the page, beside the served lab's
round trip for the same picture.

For each model, ``cnnlab publish MODEL`` writes a page (seeded random weights: the time does not depend on the
weights' values) and headless Chromium (Debian's, through Playwright; nothing is downloaded) opens it from disk
with every request that is not ``file:``, ``data:`` or ``blob:`` aborted. A test digit is drawn on the pad with
real mouse events; then, timed in the page with ``performance.now()``, after a warm-up:

- ``inspect``: what a drawing update computes: ``getImageData`` of the pad and
  ``await window.cnnlab.inspect(image)``: the picture prepared as ``cnnlab predict`` prepares it, the forward
  pass, every layer's maps to the output and the probabilities (docs/publish-page-api.md);
- ``update``: the page's own update, everything but the paint: a ``pointerup`` on the pad (the end of a stroke)
  until ``body[data-settled=true]``, that is prepare, forward, the top-5 and every layer's maps drawn into their
  canvases; the page waits 100 ms between updates, so each one starts 120 ms after the last. The page's own
  figure (its status line, "ran in N ms", whole milliseconds) is printed beside it.

Beside them, ``cnnlab lab MODEL`` runs as its own process on 127.0.0.1 and is asked ``POST /api/inspect`` with
the pad's PNG as benchmarks/lab.py asks it (the prediction and the maps of the lab's default layers, which stop
before the classifier). The numbers depend on the machine and on what else runs on it: the load average is
printed before and after. Run:

    .venv/bin/python benchmarks/publish.py [--models lenet5 resnet20] [--repeats 200] [--quick]

Targets (the issue's): the page's p95 for a drawing, prediction and maps, at most 10 ms for LeNet-5 and 80 ms
for ResNet-20.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks.lab and scripts.lab_screenshot, when run as a script

from benchmarks.lab import ask, connect, start_lab  # noqa: E402
from cnnlab.publish.page import publish  # noqa: E402
from scripts.lab_screenshot import ARGS, draw_digit, wait_settled  # noqa: E402

TARGETS_MS = {"lenet5": 10.0, "resnet20": 80.0}
WARM_UP = 10
MEASURES = ("inspect", "update", "said")
WHAT = (
    "page: getImageData + window.cnnlab.inspect",
    "page: update, pointerup to data-settled (maps drawn, no paint)",
    "page: its own status line, 'ran in N ms' (whole ms)",
    "lab: POST /api/inspect round trip, same PNG",
)
GAP_MS = 120  # between the page's updates: it runs at most one every 100 ms (page.js's UPDATE_EVERY_MS)

INSPECT = """async ({repeats, warmUp}) => {
    const pad = document.getElementById('pad');
    const context = pad.getContext('2d');
    const times = [];
    for (let i = 0; i < warmUp + repeats; i++) {
        const started = performance.now();
        const image = context.getImageData(0, 0, pad.width, pad.height);
        await window.cnnlab.inspect(image);
        if (i >= warmUp) times.push(performance.now() - started);
    }
    return times;
}"""

UPDATE = """async ({repeats, warmUp, gap}) => {
    const pad = document.getElementById('pad');
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    // a new task, as a user's pointerup is: after nested timers Chromium would clamp the page's setTimeout(0)
    // to 4 ms, which no real stroke pays
    const freshTask = () => new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = resolve;
        channel.port2.postMessage(0);
    });
    const settled = () => new Promise((resolve) => {
        const observer = new MutationObserver(() => {
            if (document.body.dataset.settled === 'true') {
                observer.disconnect();
                resolve(performance.now());
            }
        });
        observer.observe(document.body, { attributes: true, attributeFilter: ['data-settled'] });
    });
    const times = [], said = [];
    for (let i = 0; i < warmUp + repeats; i++) {
        await sleep(gap);
        await freshTask();
        const done = settled();
        const started = performance.now();
        pad.dispatchEvent(new PointerEvent('pointerup', { bubbles: true }));
        const ended = await done;
        if (i >= warmUp) {
            times.push(ended - started);
            said.push(document.getElementById('status').textContent);
        }
    }
    return { times, said };
}"""


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def chromium_path() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    return chromium


def open_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """The page from disk, with every request that is not file:, data: or blob: aborted (and recorded)."""
    blocked: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def route(request_route: Any) -> None:
        if request_route.request.url.split(":", 1)[0] in ("file", "data", "blob"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/*", route)
    page.goto(path.as_uri())
    try:
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=60_000)
    except Exception as error:
        raise SystemExit(f"{path.name} did not start: {errors or error}") from None
    return page, blocked


def in_the_page(browser: Any, path: Path, repeats: int) -> dict[str, Any]:
    """The drawn digit's PNG, and inspect's and the page update's times (ms) with the page's own figures."""
    page, blocked = open_page(browser, path)
    draw_digit(page)
    wait_settled(page)
    drawn = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    inspect = page.evaluate(INSPECT, {"repeats": repeats, "warmUp": WARM_UP})
    update = page.evaluate(UPDATE, {"repeats": repeats, "warmUp": WARM_UP, "gap": GAP_MS})
    said = [int(match.group(1)) for text in update["said"] if (match := re.search(r"ran in (\d+) ms", text))]
    if len(said) != len(update["said"]):
        raise SystemExit(f"the page did not say how long it took: {update['said'][0]!r}")
    page.close()
    if blocked:
        raise SystemExit(f"the page tried to reach {blocked}")
    return {"png": base64.b64decode(drawn.split(",", 1)[1]), "inspect": inspect, "update": update["times"],
            "said": said}  # fmt: skip


def served(name: str, body: bytes, repeats: int) -> list[float]:
    """``POST /api/inspect`` round trips (ms) to ``cnnlab lab NAME``, after a warm-up."""
    process, url = start_lab(name)
    try:
        address = urlparse(url)
        connection = connect(address.hostname, address.port)
        for _ in range(WARM_UP):
            ask(connection, body)
        times = [ask(connection, body) * 1e3 for _ in range(repeats)]
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["lenet5", "resnet20"])
    parser.add_argument("--repeats", type=int, default=200, help="timed runs of each kind per model")
    parser.add_argument("--quick", action="store_true", help="lenet5 only, 20 runs of each kind")
    args = parser.parse_args()
    if args.quick:
        args.models, args.repeats = ["lenet5"], 20
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=ARGS)
        version = browser.version
        for name in args.models:
            page = publish(name, Path(tmp) / f"{name}.html")
            measured = in_the_page(browser, page.path, args.repeats)
            lab = served(name, measured["png"], args.repeats)
            rows.append((name, page.size, measured, lab))
        browser.close()
    load_after = os.getloadavg()

    print(f"machine: {os.cpu_count()} cores, {platform.machine()} {platform.system()}, Python "
          f"{platform.python_version()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
          f"headless Chromium {version}")  # fmt: skip
    print(f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}; "
          f"after: {' '.join(f'{v:.2f}' for v in load_after)}")  # fmt: skip
    print(f"a test digit drawn with the mouse; {args.repeats} timed runs of each after {WARM_UP} warm-up")
    print(f"{'model':<10} {'what':<62} {'p50 ms':>7} {'p95 ms':>7}")
    for name, size, measured, lab in rows:
        inspect, update, said, trip = (percentiles(values) for values in (*map(measured.get, MEASURES), lab))
        for what, (p50, p95) in zip(WHAT, (inspect, update, said, trip), strict=True):
            print(f"{name:<10} {what:<62} {p50:7.1f} {p95:7.1f}")
        print(f"{name}: page {size:,} bytes; lab round trip p95 / page inspect p95 = {trip[1] / inspect[1]:.2f}x, "
              f"/ page update p95 = {trip[1] / update[1]:.2f}x")  # fmt: skip
    for name, _, measured, _ in rows:
        if name in TARGETS_MS:
            p95 = percentiles(measured["update"])[1]
            verdict = "met" if p95 <= TARGETS_MS[name] else "NOT met"
            print(f"target: {name} drawing to prediction and maps p95 <= {TARGETS_MS[name]:g} ms: {verdict} "
                  f"(page update p95 {p95:.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
