"""The lab's saliency view in a real browser: headless Chromium (Debian's package) driven by Playwright.

A 7 is drawn with the mouse, the card is switched to its saliency view, and each method is drawn: the map over the
input and alone (canvases with colour), the class explained and its probability, then the random-weights twin
and the rank correlation. The screenshots are kept in ``$CNNLAB_ARTIFACTS`` when that is set (pytest's temporary
directory otherwise), as ``lab-saliency-*.png``.
"""

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image

import cnnlab
from scripts.lab_screenshot import ARGS, draw_digit, wait_settled
from tests._browser import CHROMIUM

pytestmark = [
    pytest.mark.slow,  # a headless Chromium, and the LeNet-5 that lab_run trains
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed: `.ci/run` installs Debian's chromium (apt-get install chromium)",
    ),
]

METHODS = ("gradient", "gradcam", "occlusion")


@pytest.fixture(scope="module")
def page(lab):
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(lab)
        page.wait_for_selector("body[data-ready=true]")
        yield page
        browser.close()


@pytest.fixture(scope="module")
def card(page, lab_run):
    """The LeNet-5's card, a 7 drawn with the mouse and the saliency view on."""
    draw_digit(page)
    wait_settled(page)
    card = page.locator(f'.card[data-model="{lab_run.path.name}"]')
    card.locator('.views .view[data-view="saliency"]').click()
    wait_settled(page)
    return card


@pytest.fixture(scope="module")
def seven(page, card):
    """The drawing, as the page sends it."""
    drawn = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    return Image.open(io.BytesIO(base64.b64decode(drawn.split(",", 1)[1])))


def _shot(page, tmp_path, name):
    folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"lab-saliency-{name}.png"), full_page=True)


def _show(page, card, method, compare=False):
    card.locator("select.method").select_option(method)
    card.locator("input.compare").set_checked(compare)
    wait_settled(page)
    page.wait_for_function(
        "([method, compare]) => { const s = document.querySelector('.card .saliency');"
        " return s.dataset.method === method && (s.dataset.correlation !== '') === compare; }",
        arg=[method, compare],
        timeout=30_000,
    )


def _colours(canvas):
    """How many different colours the canvas holds, and how many of its pixels are not black."""
    return canvas.evaluate(
        """(canvas) => {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            const seen = new Set();
            let lit = 0;
            for (let i = 0; i < data.length; i += 4) {
                seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
                if (data[i] + data[i + 1] + data[i + 2] > 30) lit++;
            }
            return [seen.size, lit];
        }"""
    )


def test_the_maps_view_and_the_saliency_view_take_turns(card):
    assert card.locator(".saliency").is_visible() and not card.locator("div.maps").is_visible()
    assert card.locator('.view[data-view="saliency"]').get_attribute("aria-pressed") == "true"
    assert not card.locator(".cam-layer").is_visible()  # the layer picker is Grad-CAM's


@pytest.mark.parametrize("method", METHODS)
def test_each_method_draws_its_map_over_the_input_with_the_class_and_p(page, card, lab_run, seven, method, tmp_path):
    _show(page, card, method)
    expected = cnnlab.saliency(lab_run, seven, method)
    view = card.locator(".saliency")
    assert view.get_attribute("data-target") == expected.target_label == "7"
    assert float(view.get_attribute("data-probability")) == pytest.approx(expected.probability, abs=1e-6)
    assert view.get_attribute("data-layer") == (expected.layer or "")
    text = card.locator(".explains").inner_text()
    assert f"explains class 7 (p = {100 * expected.probability:.1f}%)" in text and expected.method_name in text
    canvases = card.locator("canvas.saliency-map")
    assert [canvases.nth(i).get_attribute("data-kind") for i in range(canvases.count())] == ["overlay", "map"]
    for i in range(2):
        colours, lit = _colours(canvases.nth(i))
        assert colours > 20 and lit > 50, (method, i, colours, lit)  # drawn, not blank
        assert canvases.nth(i).bounding_box()["width"] >= 150
    legend = card.locator(".saliency-maps .legend")
    assert legend.count() == 1 and ("Symmetric around 0" in legend.inner_text()) == (method == "occlusion")
    _shot(page, tmp_path, method)


def test_gradcam_reads_the_layer_picked(page, card, lab_run, seven):
    _show(page, card, "gradcam")
    picker = card.locator("select.cam")
    assert picker.is_visible() and picker.input_value() == "c3"  # the default: C5's maps are 1x1
    assert [o.get_attribute("value") for o in picker.locator("option").all()] == ["c1", "s2", "c3", "s4"]
    picker.select_option("c1")
    wait_settled(page)
    page.wait_for_function("document.querySelector('.card .saliency').dataset.layer === 'c1'", timeout=30_000)
    assert "Grad-CAM at c1" in card.locator(".explains").inner_text()
    picker.select_option("c3")
    wait_settled(page)


@pytest.mark.parametrize("method", METHODS)
def test_random_weights_show_the_twins_map_and_the_rank_correlation(page, card, lab_run, seven, method, tmp_path):
    _show(page, card, method, compare=True)
    expected = cnnlab.saliency(lab_run, seven, method, compare_random=True)
    canvases = card.locator("canvas.saliency-map")
    assert canvases.count() == 4
    for i in (2, 3):
        colours, lit = _colours(canvases.nth(i))
        assert colours > 20 and lit > 50, (method, i, colours, lit)
    shown = float(card.locator(".saliency").get_attribute("data-correlation"))
    assert shown == pytest.approx(expected.correlation, abs=1e-6)
    text = card.locator(".correlation").inner_text()
    assert "Rank correlation of the two maps" in text and expected.correlation_words() in text
    assert "random weights" in card.locator(".saliency-maps").inner_text()
    _shot(page, tmp_path, f"random-{method}")
    _show(page, card, method, compare=False)
    assert card.locator("canvas.saliency-map").count() == 2 and not card.locator(".correlation").is_visible()


def test_the_map_follows_the_drawing_one_request_at_a_time(page, card, tmp_path):
    _show(page, card, "occlusion")
    flight = {"now": 0, "most": 0, "asked": 0}

    def sent(request):
        if "/api/saliency" in request.url:
            flight["now"] += 1
            flight["asked"] += 1
            flight["most"] = max(flight["most"], flight["now"])

    def done(request):
        if "/api/saliency" in request.url:
            flight["now"] -= 1

    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)
    try:
        page.locator("#clear").click()
        wait_settled(page)
        assert card.locator("canvas.saliency-map").count() == 0 and card.locator(".explains").inner_text() == ""
        draw_digit(page)  # stroke by stroke: the view is asked again as the drawing changes
        wait_settled(page)
        page.wait_for_function("document.querySelector('.card .saliency').dataset.method === 'occlusion'")
    finally:
        page.remove_listener("request", sent)
        page.remove_listener("requestfinished", done)
        page.remove_listener("requestfailed", done)
    assert card.locator("canvas.saliency-map").count() == 2
    assert "explains class" in card.locator(".explains").inner_text()
    assert flight["asked"] >= 1 and flight["most"] == 1, flight
    _shot(page, tmp_path, "redrawn")


def test_a_400px_viewport_shows_the_saliency_view_without_scrolling_sideways(page, lab, tmp_path):
    narrow = page.context.browser.new_page(viewport={"width": 400, "height": 800})
    try:
        narrow.goto(lab)
        narrow.wait_for_selector("body[data-ready=true]")
        draw_digit(narrow)
        for card in narrow.locator(".card").all():  # ResNet-20's layer titles are the longer
            card.locator('.views .view[data-view="saliency"]').click()
            card.locator("select.method").select_option("gradcam")
            card.locator("input.compare").check()
        wait_settled(narrow)
        narrow.wait_for_function(
            "[...document.querySelectorAll('.card .saliency')].every((s) => s.dataset.correlation)", timeout=30_000
        )
        assert narrow.locator("canvas.saliency-map").count() == 8
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 400
        folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        narrow.screenshot(path=str(folder / "lab-saliency-400.png"), full_page=True)
    finally:
        narrow.close()
