"""``POST /api/saliency`` through an in-process client: each method's map is ``cnnlab.saliency``'s of the input
``inspect`` shows, to the step of its quantisation; the random-weights twin and its correlation; bad requests."""

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image
from starlette.testclient import TestClient

import cnnlab
from cnnlab.lab.app import create_app
from cnnlab.lab.session import load_models
from tests.lab.conftest import png_bytes

# Slow: every test serves the LeNet-5 that lab_run trains (3 epochs, once per session).
pytestmark = pytest.mark.slow

METHODS = ("gradient", "gradcam", "occlusion")


@pytest.fixture(scope="module")
def models(lab_run):
    return load_models([lab_run.path, "mlp", "resnet20"])


@pytest.fixture(scope="module")
def client(models):
    return TestClient(create_app(models))


@pytest.fixture(scope="module")
def lenet(lab_run):
    return lab_run.path.name


def _ask(client, data, **query):
    return client.post("/api/saliency", params=query, content=data)


def _values(answer):
    """A quantised map as numbers, and the half step of its quantisation."""
    raw = np.frombuffer(base64.b64decode(answer["data"]), dtype=np.uint8).reshape(answer["shape"])
    low, high = answer["low"], answer["high"]
    return low + raw.astype(np.float64) / 255 * (high - low), (high - low) / 510


def _pixels(answer):
    """The input an answer shows, uint8 (C, H, W)."""
    array = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["input"]["png"]))))
    return torch.from_numpy((array[None] if array.ndim == 2 else array.transpose(2, 0, 1)).copy())


@pytest.mark.parametrize("method", METHODS)
def test_each_methods_map_is_cnnlab_saliencys_of_the_input_inspect_shows(client, lab_run, lenet, seven, method):
    response = _ask(client, seven, model=lenet, method=method)
    assert response.status_code == 200, response.text
    answer = response.json()
    shown = client.post("/api/inspect", params={"model": lenet, "layers": "c1"}, content=seven).json()
    assert answer["input"] == shown["input"]  # the map is of exactly the input inspect shows
    pixels = _pixels(answer)
    expected = cnnlab.saliency(lab_run, pixels, method)
    assert answer["map"]["shape"] == [32, 32]
    values, half = _values(answer["map"])
    assert np.abs(values - expected.map).max() <= half * 1.001 + 1e-6
    assert answer["map"]["low"] == pytest.approx(float(expected.map.min())) and half > 0
    assert (answer["method"], answer["target"], answer["target_label"]) == (method, expected.target, "7")
    assert answer["probability"] == pytest.approx(expected.probability, abs=1e-6)
    assert answer["predicted_label"] == "7" and answer["predicted_probability"] == answer["probability"]
    assert answer["probability"] == pytest.approx(shown["top"][0]["probability"], abs=1e-6)
    assert answer["signed"] is (method == "occlusion") and answer["method_name"] == expected.method_name
    assert (answer["layer"], answer["window"], answer["stride"]) == {
        "gradient": (None, None, None), "gradcam": ("c3", None, None), "occlusion": (None, 8, 2)}[method]  # fmt: skip
    assert answer["cam_layers"] == ["c1", "s2", "c3", "s4"] and answer["random"] is None
    assert (answer["fill"] is not None) is (method == "occlusion")


def test_centre_off_explains_the_digit_where_it_was_drawn(client, lab_run, lenet, seven):
    answer = _ask(client, seven, model=lenet, method="gradient", centre="0").json()
    shown = client.post("/api/inspect", params={"model": lenet, "layers": "c1", "centre": "0"}, content=seven).json()
    centred = client.post("/api/inspect", params={"model": lenet, "layers": "c1"}, content=seven).json()
    assert answer["input"] == shown["input"] != centred["input"]
    values, half = _values(answer["map"])
    assert np.abs(values - cnnlab.saliency(lab_run, _pixels(answer)).map).max() <= half * 1.001 + 1e-6


def test_a_target_by_index_or_name_and_a_layer_picked(client, lab_run, lenet, seven):
    for target in ("3", 3):
        answer = _ask(client, seven, model=lenet, method="gradcam", target=target, layer="c1").json()
        expected = cnnlab.saliency(lab_run, _pixels(answer), "gradcam", target=3, layer="c1")
        assert (answer["target"], answer["target_label"], answer["layer"]) == (3, "3", "c1")
        assert answer["predicted_label"] == "7"
        assert answer["probability"] == pytest.approx(expected.probability, abs=1e-6) and answer["probability"] < 0.5
        values, half = _values(answer["map"])
        assert np.abs(values - expected.map).max() <= half * 1.001 + 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_compare_random_gives_the_twins_map_and_the_rank_correlation(client, models, lab_run, lenet, seven, method):
    answer = _ask(client, seven, model=lenet, method=method, compare_random="1").json()
    expected = cnnlab.saliency(lab_run, _pixels(answer), method, compare_random=True)
    twin = answer["random"]
    assert twin["correlation"] == pytest.approx(expected.correlation, abs=1e-6)
    assert -1 <= twin["correlation"] <= 1 and twin["correlation_words"] == expected.correlation_words()
    assert twin["probability"] == pytest.approx(expected.random.probability, abs=1e-6)
    assert twin["predicted_label"] == expected.random.predicted_label
    values, half = _values(twin["map"])
    assert twin["map"]["shape"] == [32, 32] and np.abs(values - expected.random.map).max() <= half * 1.001 + 1e-9
    trained, _ = _values(answer["map"])
    assert not np.allclose(trained, values)  # the twin is another network
    served = next(model for model in models if model.name == lenet)
    assert served.twin() is served.twin()  # built once, kept


def test_a_colour_model_and_a_network_without_maps(client, seven):
    answer = _ask(client, seven, model="resnet20", method="gradcam").json()
    assert answer["input"]["shape"] == [3, 32, 32] and answer["map"]["shape"] == [32, 32]
    assert answer["layer"] == answer["cam_layers"][-1]
    assert _ask(client, seven, model="mlp", method="occlusion").json()["map"]["shape"] == [32, 32]
    response = _ask(client, seven, model="mlp", method="gradcam")
    assert response.status_code == 422 and "Grad-CAM" in response.json()["error"]


def test_the_models_list_the_layers_grad_cam_reads(client, lenet):
    described = {model["name"]: model for model in client.get("/api/models").json()["models"]}
    assert (described[lenet]["cam_layers"], described[lenet]["cam_layer"]) == (["c1", "s2", "c3", "s4"], "c3")
    assert (described["mlp"]["cam_layers"], described["mlp"]["cam_layer"]) == ([], None)


BLANK = png_bytes(Image.new("L", (64, 64), 255))

BAD = [
    ({"method": "saliency"}, None, 422, "method: expected one of gradient, gradcam, occlusion"),
    ({"method": "gradcam", "layer": "c9"}, None, 404, "has no layer 'c9'; Grad-CAM can read c1, s2, c3, s4"),
    ({"method": "gradcam", "layer": "c5"}, None, 422, "maps are 1x1"),
    ({"method": "gradcam", "layer": "f6"}, None, 422, "outputs no feature maps"),
    ({"method": "gradient", "layer": "c3"}, None, 422, "only Grad-CAM"),
    ({"target": "10"}, None, 422, "10 classes, 0-9 or a name"),
    ({"target": "-1"}, None, 422, "10 classes, 0-9 or a name"),
    ({"target": "seven"}, None, 422, "got 'seven'"),
    ({"compare_random": "yes"}, None, 422, "compare_random: expected 1"),
    ({"centre": "2"}, None, 422, "centre: expected 1"),
    ({"model": "nope"}, None, 404, "no model 'nope' is loaded"),
    ({}, b"not an image", 400, "not an image"),
    ({}, b"", 400, "empty"),
    ({}, BLANK, 400, "ink"),
]


@pytest.mark.parametrize(("query", "body", "status", "words"), BAD)
def test_a_bad_request_gets_its_status_and_one_line_and_the_lab_keeps_working(
    client, lenet, seven, query, body, status, words
):
    response = _ask(client, seven if body is None else body, **{"model": lenet, **query})
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message
    assert _ask(client, seven, model=lenet, method="occlusion").status_code == 200


def test_a_form_and_a_repeated_key_are_refused_as_inspect_refuses_them(client, lenet, seven):
    form = client.post(f"/api/saliency?model={lenet}", files={"image": ("seven.png", seven, "image/png")})
    assert form.status_code == 415
    repeated = client.post(f"/api/saliency?model={lenet}&method=gradient&method=occlusion", content=seven)
    assert repeated.status_code == 422 and "method= is given more than once" in repeated.json()["error"]
