"""The published page in a real browser: one HTML file opened from disk in Debian's Chromium (Playwright).

Every request that is not ``file:``, ``data:`` or ``blob:`` is aborted and recorded, and a test fails if one
was attempted; so does any console error (a Content-Security-Policy violation is one). The page is checked
against PyTorch: the input it prepares from the pad's drawing, its top-5, ``window.cnnlab.predict`` for
held-out digits, and a clicked unit's field and arithmetic. Screenshots at 1400 px and 400 px are kept in
``$CNNLAB_ARTIFACTS`` when that is set (pytest's temporary directory otherwise).

The pages are written by ``cnnlab.publish`` (``docs/publish-page-api.md`` describes the page and its API).
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.samples import digit_per_class, sample_digit
from cnnlab.inspection.feature_maps import field_box, map_layers
from cnnlab.publish import to_program
from cnnlab.publish.page import publish
from cnnlab.training.trained import TrainedModel, untrained_model
from scripts.lab_screenshot import draw_digit, wait_settled
from tests._browser import NEEDS_CHROMIUM, OpenedPage, chromium

STATIC = Path(__file__).resolve().parents[2] / "src" / "cnnlab" / "publish" / "static"

pytestmark = NEEDS_CHROMIUM

# ---------------------------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="module")
def networks() -> dict[str, TrainedModel]:
    return {name: untrained_model(name, seed=0) for name in ("lenet5", "lenet5_modern")}


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Pages written by `cnnlab.publish` for registry models (seeded random weights, as `untrained_model`)."""
    folder = tmp_path_factory.mktemp("published")
    one = publish("lenet5", folder / "lenet5.html", title="LeNet-5, untrained", note="Draw a 7.").path
    two = publish(["lenet5", "lenet5_modern"], folder / "two.html", title="Two networks <side by side>").path
    return {"one": one, "two": two}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


Opened = OpenedPage  # a page opened from disk (tests/_browser.py)


@pytest.fixture(scope="module")
def one(browser, pages):
    opened = Opened(browser, pages["one"])
    yield opened
    opened.close()


def _pixels(image: Image.Image, trained: TrainedModel) -> torch.Tensor:
    return trained.preprocessing.image(image)


def _pad_png(page: Any) -> Image.Image:
    drawn = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    return Image.open(io.BytesIO(base64.b64decode(drawn.split(",", 1)[1])))


def _inspect_pad(page: Any, model: str | None = None) -> dict[str, Any]:
    return page.evaluate(
        """(model) => {
            const pad = document.getElementById('pad');
            const image = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height);
            return window.cnnlab.inspect(image, model ?? undefined);
        }""",
        model,
    )


def test_a_digit_drawn_with_the_mouse_gives_pytorchs_input_and_top5(one, networks):
    page, trained = one.page, networks["lenet5"]
    draw_digit(page)
    wait_settled(page)
    pixels = _pixels(_pad_png(page), trained)
    seen = _inspect_pad(page)
    assert seen["input"]["shape"] == list(pixels.shape)
    difference = np.abs(np.array(seen["input"]["pixels"]) - pixels.flatten().numpy().astype(int))
    assert difference.max() <= 1, difference.max()  # 1/255
    probabilities = trained.probabilities(pixels[None])[0]
    expected = torch.topk(probabilities, 5)
    shown = json.loads(page.locator('.card[data-model="lenet5"]').get_attribute("data-top"))
    assert [g["class"] for g in shown] == [trained.classes[i] for i in expected.indices]
    assert [g["probability"] for g in shown] == pytest.approx(expected.values.tolist(), abs=1e-4)
    # every layer to the output is shown, a tile per map or a bar per unit, each with its legend's numbers
    layers = page.locator('.card[data-model="lenet5"] section.layer')
    program_layers = to_program(trained.model, trained.input_size).layers
    assert layers.count() == len(program_layers)
    assert [layers.nth(i).get_attribute("data-tensor") for i in range(layers.count())] == program_layers
    assert page.locator('.card[data-model="lenet5"] .legend .scale').first.inner_text().startswith("Colours scaled")
    assert set(seen["layers"]) == set(program_layers)


def test_the_api_predicts_held_out_digits_as_pytorch(one, networks):
    trained = networks["lenet5"]
    assert one.page.evaluate("window.cnnlab.models") == ["lenet5"]
    for index in digit_per_class():
        image, _ = sample_digit(index)
        rgba = np.repeat(image[0].numpy()[:, :, None], 4, axis=2)
        rgba[:, :, 3] = 255
        height, width = image.shape[1:]
        shown = one.page.evaluate(
            "([data, width, height]) => window.cnnlab.predict({data: new Uint8ClampedArray(data), width, height}, 10)",
            [rgba.flatten().tolist(), width, height],
        )
        probabilities = trained.probabilities(trained.preprocessing.image(image[0].numpy())[None])[0]
        by_class = {g["class"]: g["probability"] for g in shown}
        assert len(shown) == 10
        for label, p in zip(trained.classes, probabilities.tolist(), strict=True):
            assert by_class[label] == pytest.approx(p, abs=1e-4)


def test_clicking_a_unit_draws_its_field_and_its_arithmetic_gives_the_maps_value(one, networks):
    page, trained = one.page, networks["lenet5"]
    layers = {layer.name: layer for layer in map_layers(trained.model, trained.input_size)}
    card = page.locator('.card[data-model="lenet5"]')
    checked = []
    for tensor in to_program(trained.model, trained.input_size).layers:
        canvas = card.locator(f'canvas.maps[data-tensor="{tensor}"]')
        box = canvas.bounding_box()
        canvas.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
        panel = card.locator(".explain")
        unit = json.loads(panel.get_attribute("data-unit"))
        value, computed = float(panel.get_attribute("data-value")), panel.get_attribute("data-computed")
        assert computed, f"{tensor}: no arithmetic ({panel.get_attribute('data-op')})"
        assert float(computed) == pytest.approx(value, rel=1e-4, abs=1e-5), tensor
        checked.append(panel.get_attribute("data-op"))
        if tensor in layers and len(layers[tensor].output_shape) == 3:  # a module's maps: its field on the input
            expected = field_box(layers[tensor], (unit[1], unit[2]), trained.input_size[1:])
            shown = json.loads(card.locator(".seen-box").get_attribute("data-box"))
            assert shown == [expected.top, expected.left, expected.bottom, expected.right], tensor
    assert {"conv2d", "sparse_conv2d", "subsampling", "scaled_tanh", "linear", "rbf"} <= set(checked)
    # the convolution's arithmetic is shown as CNN Explainer shows it: patch, kernel, sum, bias
    card.locator('canvas.maps[data-tensor="c1"]').click(position={"x": 30, "y": 30})
    text = card.locator(".explain").inner_text()
    assert "the input patch" in text and "the kernel" in text and "bias" in text


def test_centre_the_digit_off_keeps_the_digit_where_it_was_drawn(one):
    page = one.page
    centred = _inspect_pad(page)["input"]["pixels"]
    page.locator("#centre").uncheck()
    wait_settled(page)
    seen = page.evaluate(
        "() => { const c = document.querySelector('.seen-image'); "
        "const rgba = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; "
        "return Array.from(rgba).filter((v, i) => i % 4 === 0); }"
    )
    page.locator("#centre").check()
    wait_settled(page)
    assert seen != centred and max(seen) > 100  # the drawing, scaled as drawn: a different picture, still inked


def test_a_dropped_photo_clears_the_pad_and_is_prepared_as_cnnlab_predict_prepares_it(one, networks):
    from PIL import ImageDraw

    page, trained = one.page, networks["lenet5"]
    draw_digit(page)
    wait_settled(page)
    photo = Image.new("RGB", (300, 220), (250, 246, 235))  # a 4 in blue ink on cream paper, off-centre
    ImageDraw.Draw(photo).line([(60, 30), (40, 130), (130, 130), (125, 40), (118, 200)], fill=(20, 40, 160), width=12)
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    page.evaluate(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], 'four.png', { type: 'image/png' }));
            const drop = new DragEvent('drop', { dataTransfer: transfer, bubbles: true });
            document.getElementById('drop').dispatchEvent(drop);
        }""",
        base64.b64encode(buffer.getvalue()).decode("ascii"),
    )
    page.wait_for_function("() => document.querySelector('.card').dataset.source === 'four.png'")
    wait_settled(page)
    assert page.evaluate("document.getElementById('pad').getContext('2d').getImageData(0, 0, 280, 280)"
                         ".data.every(v => v === 255)")  # fmt: skip
    probabilities = trained.probabilities(trained.preprocessing.image(photo)[None])[0]
    shown = json.loads(page.locator('.card[data-model="lenet5"]').get_attribute("data-top"))
    assert [g["probability"] for g in shown] == pytest.approx(sorted(probabilities.tolist())[::-1][:5], abs=1e-4)
    assert "300x220" in page.locator("#source").inner_text()  # its natural size


def test_a_sample_replaces_the_drawing_and_screenshots_are_kept(one, tmp_path):
    page = one.page
    page.locator("#samples img").nth(3).click()
    page.wait_for_function("() => document.querySelector('.card').dataset.source.startsWith('sample')")
    wait_settled(page)
    assert page.evaluate("document.getElementById('pad').getContext('2d').getImageData(0, 0, 280, 280)"
                         ".data.every(v => v === 255)")  # fmt: skip
    draw_digit(page)
    wait_settled(page)
    page.locator('canvas.maps[data-tensor="c3"]').click(position={"x": 40, "y": 25})
    folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the input panel is sticky: at the top, as a reader first sees it
    page.screenshot(path=str(folder / "publish-1400.png"), full_page=True)
    with Image.open(folder / "publish-1400.png") as picture:
        assert picture.size[0] == 1400 and np.asarray(picture.convert("L")).std() > 10
    one.check_clean()


def test_two_networks_side_by_side_and_a_400px_viewport(browser, pages, networks, tmp_path):
    opened = Opened(browser, pages["two"])
    page = opened.page
    assert page.evaluate("window.cnnlab.models") == ["lenet5", "lenet5_modern"]
    assert page.title() == "Two networks <side by side>"
    error = page.evaluate("window.cnnlab.predict(new ImageData(28, 28)).then(() => '', e => e.message)")
    assert "name one of lenet5, lenet5_modern" in error
    draw_digit(page)
    wait_settled(page)
    cards = page.locator(".card")
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert abs(first["y"] - second["y"]) < 2 and second["x"] > first["x"] + first["width"]  # side by side
    pixels = _pixels(_pad_png(page), networks["lenet5_modern"])
    for name in ("lenet5", "lenet5_modern"):
        shown = json.loads(page.locator(f'.card[data-model="{name}"]').get_attribute("data-top"))
        expected = networks[name].probabilities(pixels[None])[0]
        assert [g["probability"] for g in shown] == pytest.approx(sorted(expected.tolist())[::-1][:5], abs=1e-4)
    page.set_viewport_size({"width": 400, "height": 900})
    wait_settled(page)
    page.locator('canvas.maps[data-tensor="c1"]').first.click(position={"x": 20, "y": 20})
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert second["y"] >= first["y"] + first["height"]  # stacked
    folder = Path(os.environ.get("CNNLAB_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "publish-400.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / "publish-two-1400.png"), full_page=True)
    opened.close()


def test_every_resnet20_layers_arithmetic_gives_its_maps_value(browser, tmp_path):
    """Batch norms folded into convolutions, residual sums, option-A shortcuts, global pooling, the classifier."""
    opened = Opened(browser, publish("resnet20", tmp_path / "resnet20.html").path)
    page = opened.page
    draw_digit(page)
    wait_settled(page)
    sections = page.locator("section.layer")
    ops = set()
    for i in range(sections.count()):
        canvas = sections.nth(i).locator("canvas.maps")
        box = canvas.bounding_box()
        canvas.click(position={"x": box["width"] * 0.37, "y": box["height"] * 0.41})
        panel = page.locator(".explain")
        value, computed = float(panel.get_attribute("data-value")), panel.get_attribute("data-computed")
        assert computed, f"{panel.get_attribute('data-tensor')}: no arithmetic for {panel.get_attribute('data-op')}"
        assert float(computed) == pytest.approx(value, rel=1e-4, abs=1e-5), panel.get_attribute("data-tensor")
        ops.add(panel.get_attribute("data-op"))
    assert {"conv2d", "relu", "shortcut_pad", "adaptive_avg_pool2d", "linear"} <= ops
    opened.close()


def test_the_template_asks_for_nothing_from_outside():
    text = (STATIC / "page.html").read_text(encoding="utf-8")
    for placeholder in ("/*CNNLAB:CSS*/", "/*CNNLAB:EXPLAIN_CSS*/", "/*CNNLAB:FORWARD*/", "/*CNNLAB:PREPARE*/",
                        "/*CNNLAB:DRAW*/", "/*CNNLAB:PAD*/", "/*CNNLAB:EXPLAIN*/", "/*CNNLAB:PAGE*/",
                        "<!--CNNLAB:NOTE-->", "<!--CNNLAB:DATA-->"):  # fmt: skip
        assert text.count(placeholder) == 1, placeholder
    assert text.count("<!--CNNLAB:TITLE-->") == 2
    assert "default-src 'none'; script-src 'unsafe-inline'" in text
    names = ("page.js", "draw.js", "pad.js", "explain_unit.js")
    script = "".join((STATIC / name).read_text(encoding="utf-8") for name in names)
    for word in ("fetch(", "XMLHttpRequest", "eval(", "new Function", "http://", "https://", "import("):
        assert word not in script, word
