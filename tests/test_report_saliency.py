"""The report's worst test images, each beside its occlusion map of the class the network chose; and the figure
that draws them (:func:`cnnlab.viz.mistakes.plot_mistake_maps`)."""

import base64
import html
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.inspection.saliency import Occlusion, occlusion_map
from cnnlab.run import Run, train
from cnnlab.viz import mistakes
from cnnlab.viz.mistakes import plot_mistake_maps

WORST_ALT = "worst-classified test images with occlusion maps"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """LeNet-5 after one epoch (about 3 s): it still gets test digits wrong, which the section needs."""
    return train("lenet5", epochs=1, output=str(tmp_path_factory.mktemp("runs") / "lenet5"), progress=False)


def worst_section(page: str) -> str:
    match = re.search(r'<section id="worst"[^>]*>(.*?)</section>', page, re.S)
    assert match, "no worst section"
    return html.unescape(match.group(1))


def section_picture(section: str) -> np.ndarray:
    uri = re.search(rf'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="{WORST_ALT}"', section)
    assert uri, section[:400]
    with Image.open(io.BytesIO(base64.b64decode(uri.group(1)))) as picture:
        return np.asarray(picture.convert("RGB"), dtype=np.int32)


@pytest.mark.slow
def test_the_worst_section_draws_each_image_beside_a_map_and_says_which(trained_run, tmp_path, monkeypatch):
    drawn = {}

    def keep(images, maps, captions, **options):
        drawn.update(images=images, maps=maps, captions=captions, **options)
        return plot_mistake_maps(images, maps, captions, **options)

    monkeypatch.setattr(mistakes, "plot_mistake_maps", keep)
    section = worst_section(trained_run.report(tmp_path / "report.html", worst=6).read_text(encoding="utf-8"))
    assert "occlusion map (Zeiler and Fergus 2014) of the class the network chose" in section
    assert "Occlusion rather than Grad-CAM: lenet5's Grad-CAM reads c3's 10x10 maps" in section
    assert 'method="occlusion"' in section
    assert len(drawn["maps"]) == len(drawn["images"]) == 6 and drawn["signed"] is True
    assert all(m.shape == (32, 32) and m.dtype == np.float32 for m in drawn["maps"])
    assert "drop in p(predicted class) when a square of 8x8 pixels hides the pixel" in drawn["scale_label"]
    pixels = section_picture(section)
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 110) & (pixels[..., 2] < 110)
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 110)
    assert red.sum() > 200 and blue.sum() > 20  # the diverging scale's two ends: the maps and their colour bar


@pytest.mark.slow
def test_the_maps_are_of_the_predicted_class_not_the_true_one(trained_run):
    from cnnlab.inspection.mistakes import examine
    from cnnlab.report import _worst_maps
    from cnnlab.training.evaluation import evaluation_data

    trained = Run(trained_run.path).trained()
    data = evaluation_data(trained)
    result = examine(trained.model, data.loader, trained.num_classes, 4, trained.logit_temperature)
    maps = _worst_maps(trained, result.worst)
    assert any(m.predicted != m.label for m in result.worst)
    for mistake, found in zip(result.worst, maps, strict=True):
        x = mistake.image[None]

        def of(target, x=x):
            return occlusion_map(trained.model, x, target, Occlusion(8, 2), temperature=trained.logit_temperature)

        np.testing.assert_allclose(found, of(mistake.predicted).numpy(), atol=1e-6)
        if mistake.predicted != mistake.label:
            assert not np.allclose(found, of(mistake.label).numpy(), atol=1e-4)


@pytest.mark.slow
def test_no_worst_images_asked_for_says_so(trained_run, tmp_path):
    section = worst_section(trained_run.report(tmp_path / "none.html", worst=0).read_text(encoding="utf-8"))
    assert "No images were asked for" in section and "<img" not in section


def test_one_scale_for_every_map_so_a_faint_map_stays_faint():
    image = np.zeros((16, 16), np.float32)
    strong, faint = np.zeros((16, 16), np.float32), np.zeros((16, 16), np.float32)
    strong[4:8, 4:8], faint[4:8, 4:8] = 0.8, 0.08
    picture = plot_mistake_maps([image, image], [strong, faint], ["a", "b"], title="t", scale_label="s", signed=True)
    from cnnlab.viz.figure import png_bytes

    with Image.open(io.BytesIO(png_bytes(picture))) as png:
        pixels = np.asarray(png.convert("RGB"), dtype=np.int32)[:-100]  # the tiles, not the colour bar under them
    half = pixels.shape[1] // 2
    redness = [int((pixels[:, side, 0] - pixels[:, side, 2]).max()) for side in (slice(0, half), slice(half, None))]
    assert redness[0] > 3 * redness[1] > 0  # the faint map is pale, not stretched to the strong one's red
    assert picture.grids[0].tiles == 2


def test_unsigned_maps_use_the_sequential_scale():
    image = np.full((8, 8, 3), 0.5, np.float32)
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    picture = plot_mistake_maps([image], [values], ["c"], title="t", scale_label="s", signed=False)
    overlay = picture.axes[1].images[1]
    assert overlay.get_cmap().name == "inferno" and overlay.get_clim() == (0.0, 1.0)


@pytest.mark.parametrize(
    ("maps", "captions", "words"),
    [
        ([np.zeros((8, 8))], ["a", "b"], "one map and one caption per image"),
        ([], ["a"], "one map and one caption per image"),
        ([np.zeros((4, 4))], ["a"], "a map of (4, 4) for an image of (8, 8)"),
    ],
)
def test_mismatched_maps_and_captions_are_refused(maps, captions, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        plot_mistake_maps([np.zeros((8, 8))], maps, captions, title="t", scale_label="s", signed=True)


def test_no_images_are_refused():
    with pytest.raises(ValueError, match="got 0 images"):
        plot_mistake_maps([], [], [], title="t", scale_label="s", signed=True)


def test_occlusion_of_a_constant_model_is_zero_and_drawn_without_failing():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 10)

    found = occlusion_map(Constant(), torch.zeros(1, 1, 32, 32), 3, Occlusion(8, 2)).numpy()
    assert not found.any()
    plot_mistake_maps([np.zeros((32, 32))], [found], ["c"], title="t", scale_label="s", signed=True)
