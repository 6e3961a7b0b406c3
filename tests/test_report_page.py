"""The run report as a reader meets it: results first (the headline numbers, curves, confusion matrix, worst
images), the configuration last and folded; the curves' caption names only the curves drawn; two columns on a
wide screen and one on a narrow one, never wider than the window (in Debian's Chromium, through Playwright)."""

from __future__ import annotations

import html
import re

import pytest

from cnnlab.report import SECTIONS
from cnnlab.run import Run
from tests._browser import chromium
from tests._report_runs import train_lenet5

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.slow  # trains two networks and writes their reports


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[bool, str]:
    """The reports of LeNet-5 after one epoch, with a validation split (True) and without (False)."""
    folder = tmp_path_factory.mktemp("runs")
    found = {}
    for validation in (True, False):
        run = Run(train_lenet5(folder, validation=validation))
        found[validation] = run.report(folder / f"report-{validation}.html", worst=4).read_text(encoding="utf-8")
    return found


def section_text(page: str, section: str) -> str:
    body = re.search(rf'<section id="{section}"[^>]*>(.*?)</section>', page, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]*"', "", body)))


def test_results_come_before_the_configuration(pages):
    page = pages[False]
    starts = [page.index(f'<section id="{section}"') for section in SECTIONS]
    assert starts == sorted(starts)
    assert SECTIONS[:3] == ("curves", "confusion", "worst") and SECTIONS[-1] == "config"
    headline = page.index('<div class="headline">')
    assert headline < starts[0]  # the numbers before any section
    numbers = dict(re.findall(r'<div class="label">([^<]*)</div><div class="value">([^<]*)</div>', page))
    assert set(numbers) >= {"test top-1", "test loss", "wall time"}
    assert re.fullmatch(r"\d+\.\d\d%", numbers["test top-1"]) and float(numbers["test loss"]) > 0
    settings = page.index("<th>setting</th>")
    assert settings > page.index('<section id="worst"')  # the configuration's table after every result
    folded = re.search(r"<details><summary>configuration: \d+ settings</summary>(.*?)</details>", page, re.S)
    assert folded and "<th>setting</th>" in folded.group(1)


def test_the_curves_caption_names_validation_only_when_the_run_has_it(pages):
    without, with_validation = section_text(pages[False], "curves"), section_text(pages[True], "curves")
    assert "validation" not in without and "training dashed" in without
    assert "training dashed, validation solid" in with_validation


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


BOXES = """() => Object.fromEntries([...document.querySelectorAll("main > section")].map((s) => {
  const box = s.getBoundingClientRect();
  return [s.id, {left: box.left, top: box.top, right: box.right, bottom: box.bottom}];
}))"""


def layout(browser, page_path, width: int) -> tuple[dict, int, int]:
    """Each section's box, the document's scroll width and the window's width, at ``width`` pixels."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        boxes = page.evaluate(BOXES)
        return boxes, page.evaluate("document.documentElement.scrollWidth"), page.evaluate("window.innerWidth")
    finally:
        page.close()


@pytest.fixture(scope="module")
def page_file(pages, tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(pages[True], encoding="utf-8")
    return path


def test_two_columns_on_a_wide_screen(browser, page_file):
    boxes, scroll_width, window = layout(browser, page_file, 1400)
    assert scroll_width <= window
    curves, confusion = boxes["curves"], boxes["confusion"]
    assert abs(curves["top"] - confusion["top"]) < 2  # side by side
    assert confusion["left"] >= curves["right"]
    assert len({round(box["left"]) for box in boxes.values()}) == 2  # two columns, no more
    worst = boxes["worst"]  # the gallery spans both
    assert worst["left"] == pytest.approx(curves["left"], abs=1) and worst["right"] == pytest.approx(
        confusion["right"], abs=1
    )


def test_one_column_on_a_narrow_screen_and_no_sideways_scroll(browser, page_file):
    boxes, scroll_width, window = layout(browser, page_file, 400)
    assert window == 400 and scroll_width <= window, f"the page is {scroll_width} px wide in a {window} px window"
    assert len({round(box["left"]) for box in boxes.values()}) == 1
    order = [boxes[section]["top"] for section in SECTIONS]
    assert order == sorted(order)  # one above the other, in the page's order
    assert all(box["right"] <= window for box in boxes.values())
