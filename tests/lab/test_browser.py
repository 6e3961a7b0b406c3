"""The lab in a real browser: headless Chromium (Debian's package) driven by Playwright, with real mouse events.

Nothing here downloads a browser: Playwright is pointed at /usr/bin/chromium, which `.ci/run` installs. Where
Chromium or Playwright cannot be had, the test is skipped and says why. The screenshot it takes is kept in
``$CNNLAB_ARTIFACTS`` when that is set (and in pytest's temporary directory otherwise).
"""

import base64
import io
import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.subjects import trained_model
from scripts.lab_screenshot import ARGS, draw_digit, wait_settled
from tests._browser import CHROMIUM

pytestmark = [
    pytest.mark.slow,  # a headless Chromium, and the LeNet-5 that lab_run trains
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed: `.ci/run` installs Debian's chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def page(lab):
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package: pip install playwright"
    )
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(lab)
        page.wait_for_selector("body[data-ready=true]")
        yield page
        browser.close()


def _top(page, model):
    card = page.locator(f'.card[data-model="{model}"]')
    page.wait_for_function(f"document.querySelector('.card[data-model=\"{model}\"]').dataset.top", timeout=30_000)
    return card


def test_drawing_a_digit_with_the_mouse_predicts_what_run_predict_predicts(page, lab_run):
    draw_digit(page)
    wait_settled(page)  # every card answers the finished drawing, not a stroke of it
    card = _top(page, lab_run.path.name)
    drawn = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    image = Image.open(io.BytesIO(base64.b64decode(drawn.split(",", 1)[1])))
    (expected,) = lab_run.predict(image, k=5)
    shown = json.loads(card.get_attribute("data-top"))
    assert [guess["class"] for guess in shown] == [g.label for g in expected.top]
    assert [guess["probability"] for guess in shown] == pytest.approx([g.probability for g in expected.top], abs=1e-5)
    assert expected.label == "7"  # the strokes of a 7, read as a 7 by a LeNet-5 of three epochs
    assert card.locator(".top li").first.inner_text().startswith("7")


def test_feature_maps_appear_and_clicking_a_unit_draws_its_field(page, lab_run):
    card = page.locator(f'.card[data-model="{lab_run.path.name}"]')
    maps = card.locator("canvas.maps")
    assert [maps.nth(i).get_attribute("data-layer") for i in range(maps.count())] == [
        "c1", "s2", "c3", "s4", "c5", "f6", "output"]  # fmt: skip
    assert int(card.get_attribute("data-tiles")) == 6 + 6 + 16 + 16 + 120 + 84 + 10
    maps.nth(2).click(position={"x": 20, "y": 20})  # c3: a unit of the first tile
    page.wait_for_function(
        f"document.querySelector('.card[data-model=\"{lab_run.path.name}\"] .seen-box').dataset.box", timeout=30_000
    )
    box = card.locator(".seen-box").get_attribute("data-box")
    assert len(box.strip("[]").split(",")) == 4 and "field" in card.locator(".unit").inner_text()


def test_clicking_a_c3_unit_shows_its_arithmetic_equal_to_the_maps_value(page, lab_run):
    name = lab_run.path.name
    card = page.locator(f'.card[data-model="{name}"]')
    card.locator('canvas.maps[data-layer="c3"]').click(position={"x": 40, "y": 30})
    page.wait_for_function(
        f"document.querySelector('.card[data-model=\"{name}\"] .explain').dataset.unit", timeout=30_000
    )
    panel = card.locator(".explain")
    assert panel.is_visible() and panel.get_attribute("data-tensor") == "c3"
    assert panel.get_attribute("data-op") == "sparse_conv2d"
    text = panel.inner_text()
    assert "reads only maps" in text and "the input patch" in text and "the kernel" in text and "bias" in text
    value, computed = float(panel.get_attribute("data-value")), float(panel.get_attribute("data-computed"))
    half = float(panel.get_attribute("data-half"))  # the maps come as bytes: the value the lab sent, to ±half
    assert abs(computed - value) <= half * 1.01 + 1e-6
    shown = re.search(r"The map's value: (\S+) .*the arithmetic above gives (\S+)\)", text)
    assert shown and abs(float(shown.group(2)) - float(shown.group(1))) <= half * 1.01 + 1e-3
    # and the arithmetic is PyTorch's value of that unit, for the input the lab answered
    channel, y, x = json.loads(panel.get_attribute("data-unit"))
    png = page.evaluate(f"state.cards.get({json.dumps(name)}).answer.input.png")
    pixels = torch.from_numpy(np.array(Image.open(io.BytesIO(base64.b64decode(png)))))[None]
    trained, kept = trained_model(lab_run.path), {}
    hook = trained.model.c3.register_forward_hook(lambda module, inputs, output: kept.update(c3=output))
    with torch.no_grad():
        trained.model(trained.normalization.apply(pixels[None]))
    hook.remove()
    assert computed == pytest.approx(float(kept["c3"][0, channel, y, x]), rel=1e-4, abs=1e-5)


def test_every_layer_to_the_output_has_its_title_sentence_and_legend(page, lab_run):
    card = page.locator(f'.card[data-model="{lab_run.path.name}"]')
    layers = card.locator("section.layer")
    titles = [layers.nth(i).locator("h3").inner_text() for i in range(layers.count())]
    assert titles[0] == "C1 · convolution 5x5, 6 maps" and titles[-2:] == [
        "F6 · full connection, 84 units", "output · RBF output, 10 units"]  # fmt: skip
    for i in range(layers.count()):
        layer = layers.nth(i)
        assert len(layer.locator(".sentence").inner_text()) > 40, titles[i]
        numbers = [float(layer.locator(f".legend .{end}").inner_text()) for end in ("low", "mid", "high")]
        assert numbers[0] <= numbers[1] < numbers[2], (titles[i], numbers)
        assert "Values" in layer.locator(".legend .scale").inner_text()
    output = layers.nth(layers.count() - 1).locator("canvas.maps")
    assert "bars" in output.get_attribute("class")  # a vector, drawn as bars
    assert card.locator(".class-labels span").all_inner_texts() == [str(d) for d in range(10)]
    output.click(position={"x": 5, "y": 30})  # the first class's unit: it sees the whole input
    page.wait_for_function(
        f"document.querySelector('.card[data-model=\"{lab_run.path.name}\"] .unit').textContent.includes('whole')"
    )


def _seen(page, model):
    return page.evaluate(f"document.querySelector('.card[data-model=\"{model}\"] .seen-image').toDataURL()")


def test_centre_the_digit_off_shows_the_drawing_where_it_was_drawn(page, lab_run):
    centred = _seen(page, lab_run.path.name)
    page.locator("#centre").uncheck()
    wait_settled(page)
    page.wait_for_function("document.body.dataset.settled === 'true'")
    as_drawn = _seen(page, lab_run.path.name)
    assert as_drawn != centred
    page.locator("#centre").check()
    wait_settled(page)
    page.wait_for_timeout(300)  # the card's picture is drawn when its image loads
    assert _seen(page, lab_run.path.name) == centred


def test_a_sample_photo_dropped_on_the_page_goes_to_the_colour_model(page):
    page.evaluate(
        """async () => {
            const blob = await (await fetch('/api/samples/china')).blob();
            const transfer = new DataTransfer();
            transfer.items.add(new File([blob], 'china.jpg', { type: 'image/jpeg' }));
            const drop = new DragEvent('drop', { dataTransfer: transfer, bubbles: true });
            document.getElementById('drop').dispatchEvent(drop);
        }"""
    )
    page.wait_for_function("document.querySelector('.card[data-model=\"resnet20\"]').dataset.source === 'china.jpg'",
                           timeout=30_000)  # fmt: skip
    wait_settled(page)
    card = page.locator('.card[data-model="resnet20"]')
    assert card.locator(".top li").count() == 5 and card.locator("canvas.maps").count() >= 3
    seen = card.locator(".seen-image")
    assert seen.evaluate("canvas => canvas.width") >= 32
    blank = page.evaluate(
        """() => {
            const pad = document.getElementById('pad');
            const pixels = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
            return pixels.every((value) => value === 255);
        }"""
    )
    assert blank  # the photo replaced the drawing: the pad is cleared


def test_download_this_page_gives_the_published_page_of_the_labs_networks(page, lab_run, tmp_path):
    link = page.locator("#download")
    assert link.is_visible() and link.inner_text() == "Download this page"
    with page.expect_download(timeout=120_000) as caught:
        link.click()
    download = caught.value
    assert download.suggested_filename == f"cnnlab-{lab_run.path.name}-resnet20.html"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    (block,) = re.findall(r'<script type="application/json" id="cnnlab-data">(.*?)</script>', html, re.DOTALL)
    data = json.loads(block)
    assert data["format"] == "cnnlab-page/1" and [m["name"] for m in data["models"]] == [lab_run.path.name, "resnet20"]


def test_a_400px_viewport_stacks_instead_of_scrolling_sideways(page, lab, tmp_path):
    narrow = page.context.browser.new_page(viewport={"width": 400, "height": 800})
    try:
        narrow.goto(lab)
        narrow.wait_for_selector("body[data-ready=true]")
        draw_digit(narrow)
        wait_settled(narrow)
        narrow.wait_for_selector("section.layer canvas.maps")
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 400
        pad, models = narrow.locator("#input").bounding_box(), narrow.locator("#models").bounding_box()
        assert models["y"] >= pad["y"] + pad["height"] - 1  # the networks below the pad, not beside it
        folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        narrow.screenshot(path=str(folder / "lab-400.png"), full_page=True)
    finally:
        narrow.close()


def test_no_request_left_the_machine_and_a_screenshot_is_kept(page, tmp_path):
    hosts = {urlparse(url).hostname for url in page.requests if urlparse(url).scheme in ("http", "https", "ws")}
    assert hosts == {"127.0.0.1"}, hosts
    assert all(urlparse(url).scheme in ("http", "data", "blob") for url in page.requests)
    folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "lab.png"
    page.screenshot(path=str(shot), full_page=True)
    with Image.open(shot) as picture:
        assert picture.size[0] >= 1000 and np.asarray(picture.convert("L")).std() > 10
