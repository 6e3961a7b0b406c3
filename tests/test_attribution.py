"""``cnnlab.saliency``: what it explains, what its maps weigh on a trained LeNet-5, the random-weights check, its
figure and files, and a one-line error for each bad argument."""

import math
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
import torch

import cnnlab
from cnnlab.attribution import FILL, TWIN_SEED
from cnnlab.data.datasets import load_dataset
from cnnlab.errors import SettingError
from cnnlab.inspection.saliency import rank_correlation
from cnnlab.run import train

DIGITS = 10  # test digits each property is measured on


@pytest.fixture(scope="module")
def trained_pair(tmp_path_factory):
    """Two LeNet-5s trained 3 epochs on the bundled digits from different seeds (about 97 % each)."""
    folder = tmp_path_factory.mktemp("saliency")
    first = train("lenet5", epochs=3, output=str(folder / "a"), progress=False)
    second = train("lenet5", epochs=3, output=str(folder / "b"), progress=False, seed=1)
    return first, second


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist5k").test.images[:DIGITS]


@pytest.mark.slow
def test_each_method_explains_the_predicted_class_at_the_input_size():
    for method in cnnlab.attribution.METHODS:
        found = cnnlab.saliency("lenet5", method=method)
        assert found.map.shape == (32, 32) and found.map.dtype == np.float32
        assert found.input.shape == (32, 32) and found.input.dtype == np.uint8
        assert found.target == found.predicted and found.probability == found.predicted_probability
        assert found.target_label == "7" or found.model.endswith("random weights (untrained)")
        assert found.method == method and found.seconds >= 0
        assert (found.layer is not None) == (method == "gradcam")
        assert (found.window, found.stride) == ((8, 2) if method == "occlusion" else (None, None))
    colour = cnnlab.saliency("resnet20", method="gradcam")
    assert colour.input.shape == (32, 32, 3) and colour.layer == "layer3.2"


def test_a_target_is_an_index_or_a_class_name():
    by_index = cnnlab.saliency("lenet5", method="gradient", target=3)
    by_name = cnnlab.saliency("lenet5", method="gradient", target="3")
    assert by_index.target == by_name.target == 3 and by_index.target_label == "3"
    assert np.array_equal(by_index.map, by_name.map)
    other = cnnlab.saliency("lenet5", method="gradient", target=5)
    assert not np.array_equal(other.map, by_index.map)


@pytest.mark.slow
def test_on_a_trained_lenet5_the_maps_weigh_the_digit_more_than_the_background(trained_pair, digits):
    run, _ = trained_pair
    for pixels in digits:
        occlusion = cnnlab.saliency(run, pixels, method="occlusion")
        ink = occlusion.input > 127
        assert occlusion.map[ink].mean() > 1.5 * occlusion.map[~ink].mean()
        gradient = cnnlab.saliency(run, pixels, method="gradient")
        rows, cols = np.nonzero(ink)
        digit = np.zeros_like(ink)
        digit[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True  # the digit: its strokes and gaps
        assert gradient.map[digit].mean() > gradient.map[~digit].mean()


@pytest.mark.slow
@pytest.mark.parametrize(("method", "gap"), [("gradient", 0.05), ("occlusion", 0.2)])
def test_a_trained_map_agrees_with_another_trained_network_more_than_with_random_weights(
    trained_pair, digits, method, gap
):
    first, second = trained_pair
    with_random, with_trained = [], []
    for pixels in digits:
        found = cnnlab.saliency(first, pixels, method=method, compare_random=True)
        other = cnnlab.saliency(second, pixels, method=method, target=found.target)
        assert found.correlation == pytest.approx(rank_correlation(found.map, found.random.map))
        with_random.append(found.correlation)
        with_trained.append(rank_correlation(found.map, other.map))
    assert np.mean(with_random) < 0.65
    assert np.mean(with_trained) > np.mean(with_random) + gap


def test_the_random_twin_is_the_same_architecture_with_other_weights():
    found = cnnlab.saliency("lenet5", method="occlusion", compare_random=True)
    twin = found.random
    assert twin.model == f"lenet5, random weights (seed {TWIN_SEED})"
    assert twin.target == found.target and (twin.window, twin.stride) == (found.window, found.stride)
    assert not np.array_equal(twin.map, found.map)
    assert -1 <= found.correlation <= 1
    assert "Spearman rank correlation" in str(found) and found.correlation_words()
    assert found.to_dict()["random"]["correlation"] == found.correlation
    assert found.random_weights and str(found).splitlines()[-2].endswith("this compares two random networks)")


def test_words_for_the_rank_correlation():
    found = cnnlab.saliency("lenet5", method="gradient")
    assert found.correlation_words() == ""
    for rho, start in [
        (0.1, "low"),
        (-0.29, "low"),
        (-0.45, "negative"),
        (0.45, "moderate"),
        (0.8, "high"),
        (math.nan, "undefined"),
    ]:
        assert cnnlab.attribution.Saliency(**{**vars(found), "correlation": rho}).correlation_words().startswith(start)


def test_the_figure_shows_the_input_the_map_and_the_twin_with_text_kept_as_text(tmp_path):
    found = cnnlab.saliency("lenet5", method="occlusion", compare_random=True)
    picture = found.figure()
    assert [grid.name for grid in picture.grids] == ["trained", "random"]
    path = found.save(tmp_path / "seven.svg")
    texts = [node.text or "" for node in ElementTree.parse(path).iter() if node.tag.endswith("text")]
    joined = " ".join(texts)
    assert f"read as {found.predicted_label} (p = {found.predicted_probability:.2f})" in joined
    assert f"rank correlation {found.correlation:.2f}" in joined
    assert "occlusion 8x8 by 2" in joined and "random weights" in joined
    alone = cnnlab.saliency("lenet5", method="gradient").figure()
    assert [grid.name for grid in alone.grids] == ["trained"] and alone.size[1] < picture.size[1]


def test_the_map_is_saved_as_numbers_and_shown_in_jupyter(tmp_path):
    found = cnnlab.saliency("lenet5", method="gradcam")
    saved = np.load(found.save(tmp_path / "map.npy"))
    assert saved.dtype == np.float32 and np.array_equal(saved, found.map)
    assert found.layer_map.shape == (10, 10)
    html = found._repr_html_()
    assert html.startswith('<div><img src="data:image/png;base64,') and "Grad-CAM at c3" in html
    text = str(found)
    assert text.splitlines()[0] == f"Grad-CAM at c3 saliency of {found.model}"
    assert re.search(r"^time: \d+\.\d\d s$", text, re.M)
    assert found.to_dict()["shape"] == [32, 32] and found.to_dict()["layer"] == "c3"
    occlusion = cnnlab.saliency("lenet5", method="occlusion", window=4, stride=4)
    assert f"window 4x4, stride 4, filled with {FILL}" in str(occlusion)


def test_an_image_of_ones_own_is_explained(tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(55, 45), (150, 45), (90, 165)], fill=0, width=14)
    image.save(tmp_path / "seven.png")
    found = cnnlab.saliency("lenet5", tmp_path / "seven.png", method="gradient")
    assert found.image == f"image {tmp_path / 'seven.png'}" or "seven.png" in found.image
    assert found.input.max() > 200 and found.input[0, 0] == 0  # prepared as predict prepares it: light on black
    assert torch.isfinite(torch.from_numpy(found.map)).all()


BAD = [
    ({"method": "smoothgrad"}, SettingError, r"^method must be one of gradient, gradcam, occlusion, got 'smoothgrad'$"),
    ({"target": 12}, SettingError, r"^target: lenet5 has 10 classes, 0-9 or a name \(0, 1, 2, .*\); got 12$"),
    ({"target": "cat"}, SettingError, r"^target: lenet5 has 10 classes"),
    ({"target": -1}, SettingError, r"^target: lenet5 has 10 classes"),
    ({"method": "gradcam", "layer": "c9"}, ValueError, r"^lenet5 has no layer 'c9'; Grad-CAM can read c1, s2, c3, s4$"),
    ({"method": "gradcam", "layer": "c5"}, ValueError, r"^c5's maps are 1x1: a class activation map of one position"),
    ({"method": "gradient", "layer": "c3"}, SettingError, r"^layer says which layer Grad-CAM reads; gradient reads"),
    ({"method": "gradcam", "layer": 3}, SettingError, r"^layer: expected a layer name"),
    ({"method": "occlusion", "window": 33}, SettingError, r"^window: the occlusion square of 33 does not fit lenet5's "
                                                           r"32x32 input \(at most 32\)$"),
    ({"method": "occlusion", "window": 0}, SettingError, r"^window: expected a positive whole number, got 0"),
    ({"method": "occlusion", "window": 4, "stride": 6}, SettingError, r"^stride: a step of 6 past a square of 4"),
    ({"method": "gradient", "window": 4}, SettingError, r"^window and stride set the occlusion square; gradient has"),
    ({"compare_random": "yes"}, SettingError, r"^compare_random: expected True or False, got 'yes'$"),
]  # fmt: skip


@pytest.mark.parametrize(("arguments", "error", "message"), BAD, ids=[str(a) for a, _, _ in BAD])
def test_bad_arguments_are_refused_in_one_line(arguments, error, message):
    with pytest.raises(error, match=message) as refused:
        cnnlab.saliency("lenet5", **arguments)
    assert "\n" not in str(refused.value)


def test_a_network_without_maps_has_no_grad_cam_and_a_missing_image_is_said():
    with pytest.raises(ValueError, match=r"^mlp has no layer with maps of 2x2 or more: Grad-CAM needs one"):
        cnnlab.saliency("mlp", method="gradcam")
    assert cnnlab.saliency("mlp", method="gradient").map.shape == (32, 32)
    with pytest.raises(ValueError, match="nothing.png"):
        cnnlab.saliency("lenet5", "nothing.png")
    with pytest.raises(TypeError, match="^what: expected a model name"):
        cnnlab.saliency(42)


def test_a_module_of_ones_own_takes_a_normalised_tensor():
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(4, 4, 3, padding=1),
                           nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))  # fmt: skip
    x = torch.randn(3, 12, 16)
    weights = module[0].weight.detach().clone()
    found = cnnlab.saliency(module, x, method="gradcam", compare_random=True)
    assert found.layer == "2" and found.map.shape == (12, 16) and found.input.shape == (12, 16, 3)
    assert found.target_label == str(found.target) and 0 <= found.target < 5
    assert found.model == "a Sequential, its weights as given" and "reset_parameters" in found.random.model
    assert not np.array_equal(found.map, found.random.map)
    assert torch.equal(module[0].weight, weights)  # the twin is a copy: the module keeps its weights
    occluded = cnnlab.saliency(module, x[None], method="occlusion", target=4)
    assert (occluded.window, occluded.stride) == (3, 1) and occluded.target == 4
    for image, message in [(None, "got NoneType"), (x.to(torch.uint8), r"got \(3, 12, 16\)"),
                           (x.repeat(2, 1, 1, 1), "got a batch of 2")]:  # fmt: skip
        with pytest.raises(SettingError, match=message):
            cnnlab.saliency(module, image)


@pytest.mark.slow
def test_a_run_explains_with_its_own_trained_model(trained_pair, digits):
    run, _ = trained_pair
    by_run = run.saliency(digits[0], method="occlusion")
    by_call = cnnlab.saliency(run, digits[0], method="occlusion")
    assert np.array_equal(by_run.map, by_call.map) and by_run.model == run.trained().label
    assert by_run.probability > 0.5  # trained: the digit is read with confidence
    assert not by_run.random_weights and "two random networks" not in str(run.saliency(digits[0], compare_random=True))


def test_a_twin_built_once_is_used_as_given():
    from cnnlab.attribution import random_twin

    twin = random_twin("lenet5")
    first = cnnlab.saliency("lenet5", method="gradient", compare_random=True, twin=twin)
    built = cnnlab.saliency("lenet5", method="gradient", compare_random=True)
    assert np.array_equal(first.random.map, built.random.map)  # the same seed, the same random network
    torch.nn.init.zeros_(twin.c1.weight)
    changed = cnnlab.saliency("lenet5", method="gradient", compare_random=True, twin=twin)
    assert not np.array_equal(changed.random.map, built.random.map)
    with pytest.raises(SettingError, match="^twin: a network .* given with compare_random=True; got LeNet5 without"):
        cnnlab.saliency("lenet5", twin=twin)
    with pytest.raises(SettingError, match="^twin: .* got str$"):
        cnnlab.saliency("lenet5", compare_random=True, twin="lenet5")
