"""The published page's saliency view in a real browser: a trained LeNet-5's page opened from disk in Chromium.

A 7 is drawn with the mouse; the card's "which pixels made it a 7" view must draw the occlusion map over the
input, name the class the network chose and its probability, and give ``occlusion_map``'s numbers (through the
page's ``window.cnnlab.occlusion``, on the input the page prepared); another class can be picked, and the
random-weights twin compared, with the rank correlation ``cnnlab.saliency`` gives. Screenshots are kept in
``$CNNLAB_ARTIFACTS`` when that is set (pytest's temporary directory otherwise).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cnnlab.attribution import random_twin
from cnnlab.inspection.saliency import default_occlusion, occlusion_map, rank_correlation
from cnnlab.publish.page import publish
from cnnlab.run import train
from cnnlab.subjects import trained_model
from scripts.lab_screenshot import ARGS, draw_digit, wait_settled
from tests._browser import CHROMIUM
from tests.publish.test_page_browser import Opened

pytestmark = [
    pytest.mark.slow,  # trains a LeNet-5 and opens a headless Chromium
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

CARD = '.card[data-model="lenet5-run"]'
VIEW = f"{CARD} details.saliency"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = train("lenet5", epochs=2, output=str(tmp_path_factory.mktemp("saliency") / "lenet5-run"), progress=False)
    return trained_model(run)


@pytest.fixture(scope="module")
def opened(trained, tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package")
    page_file = publish(trained.checkpoint.parent, tmp_path_factory.mktemp("page") / "lenet5.html").path
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        opened = Opened(browser, page_file)
        yield opened
        opened.close()
        browser.close()


def _done(page: Any) -> None:
    """Until the view shows the newest input's map (the networks ran, then every occlusion pass)."""
    wait_settled(page)
    page.wait_for_selector(f"{VIEW}[data-state=done]", state="attached", timeout=60_000)


def _pad_input(page: Any) -> torch.Tensor:
    """The normalised input the page prepared from the pad, (1, 1, 32, 32)."""
    seen = page.evaluate(
        """() => {
            const pad = document.getElementById('pad');
            return window.cnnlab.inspect(pad.getContext('2d').getImageData(0, 0, pad.width, pad.height));
        }"""
    )
    return torch.tensor(seen["input"]["data"], dtype=torch.float32).reshape(1, *seen["input"]["shape"])


def _page_occlusion(page: Any, options: dict[str, Any]) -> dict[str, Any]:
    return page.evaluate(
        """(options) => {
            const pad = document.getElementById('pad');
            return window.cnnlab.occlusion(pad.getContext('2d').getImageData(0, 0, pad.width, pad.height), options);
        }""",
        options,
    )


def _canvas_colours(page: Any, index: int = 0) -> int:
    """How many different colours the view's index-th canvas holds (a blank canvas: 1)."""
    return page.evaluate(
        """([selector, index]) => {
            const canvas = document.querySelectorAll(selector)[index];
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            const seen = new Set();
            for (let i = 0; i < data.length; i += 4) seen.add(data.slice(i, i + 4).join(","));
            return seen.size;
        }""",
        [f"{VIEW} canvas.occlusion-map", index],
    )


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_drawn_digit_gets_its_occlusion_map_drawn_over_it(opened, trained, tmp_path):
    page = opened.page
    assert page.locator(VIEW).evaluate("node => node.open")  # LeNet-5's passes are cheap: open from the start
    draw_digit(page)
    _done(page)
    top = json.loads(page.locator(CARD).get_attribute("data-top"))
    predicted = trained.classes.index(top[0]["class"])
    view = page.locator(VIEW)
    assert int(view.get_attribute("data-target")) == predicted
    assert page.locator(f"{VIEW} summary").inner_text() == f"Which pixels made it a {top[0]['class']}"
    text = page.locator(f"{VIEW} .saliency-text").inner_text()
    assert f"Explains {top[0]['class']}: p({top[0]['class']}) = {100 * top[0]['probability']:.1f}%" in text
    assert "Window 8x8, stride 2: 170 forward passes" in text
    assert _canvas_colours(page) > 20  # the input in gray under a map of many values
    legend = page.locator(f"{VIEW} .legend .drop-scale").first.inner_text()
    assert legend.startswith(f"The drop of p({top[0]['class']}), symmetric around 0")
    # the page's numbers are occlusion_map's, on the input the page prepared
    x = _pad_input(page)
    found = _page_occlusion(page, {})
    expected = occlusion_map(trained.model.eval(), x, predicted, default_occlusion(32, 32),
                             temperature=trained.logit_temperature).numpy()  # fmt: skip
    assert found["target"] == predicted and found["class"] == top[0]["class"]
    assert np.abs(np.array(found["map"]).reshape(32, 32) - expected).max() <= 1e-5
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(_shots(tmp_path) / "page-occlusion-1400.png"), full_page=True)


def test_another_class_and_the_random_weights_twin(opened, trained, tmp_path):
    page = opened.page
    if page.locator(CARD).get_attribute("data-top") in (None, ""):
        draw_digit(page)
    _done(page)
    top = json.loads(page.locator(CARD).get_attribute("data-top"))
    other = trained.classes.index(top[1]["class"])  # the runner-up
    page.locator(f"{VIEW} select.saliency-target").select_option(str(other))
    page.wait_for_selector(f'{VIEW}[data-state=done][data-target="{other}"]', state="attached", timeout=60_000)
    assert page.locator(f"{VIEW} summary").inner_text() == f"Which pixels made it a {top[1]['class']}"
    assert f"it chose {top[0]['class']}" in page.locator(f"{VIEW} .saliency-text").inner_text()

    page.locator(f"{VIEW} input.saliency-random").check()
    page.wait_for_selector(f"{VIEW}[data-state=done][data-correlation]", state="attached", timeout=60_000)
    assert page.locator(f"{VIEW} figure.occlusion").nth(1).is_visible()
    assert _canvas_colours(page, 1) > 20
    words = page.locator(f"{VIEW} .saliency-twin-text").inner_text()
    assert "random weights (same architecture, seed 1)" in words.lower() and "Spearman rank correlation" in words
    # the twin is cnnlab.saliency's (the same architecture under seed 1), and so is the correlation
    x = _pad_input(page)
    square = default_occlusion(32, 32)
    mine = occlusion_map(trained.model.eval(), x, other, square, temperature=trained.logit_temperature).numpy()
    twin = occlusion_map(random_twin(trained), x, other, square, temperature=trained.logit_temperature).numpy()
    found = _page_occlusion(page, {"random": True, "target": top[1]["class"]})
    assert np.abs(np.array(found["map"]).reshape(32, 32) - twin).max() <= 1e-5
    shown = float(page.locator(VIEW).get_attribute("data-correlation"))
    assert shown == pytest.approx(rank_correlation(mine, twin), abs=5e-3)
    page.locator(f"{VIEW}").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots(tmp_path) / "page-occlusion-twin-1400.png"), full_page=True)


def test_a_new_stroke_restarts_the_view_and_bad_options_are_one_line(opened):
    page = opened.page
    draw_digit(page)  # a second 7 over the first: new input while the old map may still be computing
    _done(page)
    assert page.locator(VIEW).get_attribute("data-state") == "done"
    error = page.evaluate(
        """() => {
            const pad = document.getElementById('pad');
            const image = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height);
            return window.cnnlab.occlusion(image, {window: 40}).then(() => null, (e) => e.message);
        }"""
    )
    assert error == "an occlusion window of 40 does not fit the 32x32 input"
