"""The lab's JSON API through an in-process client: the contract of docs/lab-api.md, bad requests, a fuzz."""

import base64
import io
import json
import random
import re
import struct
import zlib
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from starlette.testclient import TestClient
from torch import nn

from cnnlab.lab.app import create_app
from cnnlab.lab.session import LabModel, load_models
from cnnlab.training.trained import untrained_model
from tests.lab.conftest import png_bytes

# Slow: every test serves the LeNet-5 that lab_run trains (3 epochs, once per session).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(lab_run):
    return TestClient(create_app(load_models([lab_run.path, "resnet20"])))


def test_models_describe_shapes_classes_and_layers(client, lab_run):
    models = client.get("/api/models").json()["models"]
    assert [m["name"] for m in models] == [lab_run.path.name, "resnet20"]
    lenet = models[0]
    assert lenet["input_shape"] == [1, 32, 32] and lenet["classes"] == [str(d) for d in range(10)]
    assert lenet["gray"] and lenet["digits"] and not lenet["random_weights"]
    assert models[1]["random_weights"] and not models[1]["gray"]
    c1 = next(layer for layer in lenet["layers"] if layer["name"] == "c1")
    assert c1 == {"name": "c1", "type": "Conv2d", "output_shape": [6, 28, 28], "params": 156, "macs": 117_600,
                  "field": {"size": [5, 5], "jump": [1, 1], "start": [2.0, 2.0]}, "shown": True,
                  "title": "C1 · convolution 5x5, 6 maps", "sentence": c1["sentence"]}  # fmt: skip
    assert lenet["default_layers"] == ["c1", "s2", "c3", "s4", "c5", "f6", "output"]  # to the network's output
    assert lenet["publish_error"] is None and models[1]["publish_error"] is None


def test_every_layer_has_the_published_pages_title_and_sentence(client):
    lenet, resnet = client.get("/api/models").json()["models"]
    titles = {layer["name"]: layer["title"] for layer in lenet["layers"]}
    assert titles["f6"] == "F6 · full connection, 84 units" and titles["output"] == "output · RBF output, 10 units"
    c3 = next(layer for layer in lenet["layers"] if layer["name"] == "c3")
    assert "connection table" in c3["sentence"] and c3["sentence"].endswith(".")
    vectors = [layer for layer in lenet["layers"] if len(layer["output_shape"]) == 1]
    assert [(v["name"], v["output_shape"], v["shown"]) for v in vectors] == [("f6", [84], True), ("output", [10], True)]
    for model in (lenet, resnet):
        for name in model["default_layers"]:
            layer = next(layer for layer in model["layers"] if layer["name"] == name)
            assert layer["title"] and layer["sentence"] and "\n" not in layer["sentence"], layer
    assert resnet["default_layers"][-2:] == ["avgpool", "fc"]
    block = next(layer for layer in resnet["layers"] if layer["name"] == "layer2.0")
    assert block["sentence"].startswith("Residual addition")  # a block's sentence is its last step's
    conv = next(layer for layer in resnet["layers"] if layer["name"] == "conv1")
    assert conv["title"].startswith("conv1 + bn1 · convolution 3x3")  # the batch norm folded in, as on the page


def test_predict_gives_what_run_predict_gives(client, lab_run, seven):
    answer = client.post(f"/api/predict?model={lab_run.path.name}&k=3", content=seven).json()
    (expected,) = lab_run.predict(Image.open(io.BytesIO(seven)), k=3)
    assert answer["model"] == lab_run.path.name and len(answer["top"]) == 3
    assert [t["class"] for t in answer["top"]] == [g.label for g in expected.top]
    assert [t["probability"] for t in answer["top"]] == pytest.approx([g.probability for g in expected.top], abs=1e-6)
    assert set(answer["top"][0]) == {"class", "probability"}


def test_predict_of_a_jpeg_photo_on_a_colour_model_and_k_capped(client):
    photo = client.get("/api/samples/china")
    assert photo.headers["content-type"] == "image/jpeg"
    answer = client.post("/api/predict?model=resnet20&k=50", content=photo.content).json()
    assert len(answer["top"]) == 10 and sum(t["probability"] for t in answer["top"]) == pytest.approx(1, abs=1e-4)


def test_inspect_gives_the_input_and_the_maps_of_named_layers(client, lab_run, seven):
    answer = client.post(f"/api/inspect?model={lab_run.path.name}&layers=c1,c5", content=seven).json()
    assert answer["input"]["shape"] == [1, 32, 32]
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["input"]["png"]))))
    (prediction,) = lab_run.predict(Image.open(io.BytesIO(seven)))
    assert np.array_equal(seen, prediction.input[0].numpy())  # the image as predict prepared it
    assert [t["class"] for t in answer["top"]] == [g.label for g in prediction.top]
    c1, c5 = answer["layers"]
    assert (c1["name"], c1["shape"], c5["shape"]) == ("c1", [6, 28, 28], [120, 1, 1])
    assert len(base64.b64decode(c1["data"])) == 6 * 28 * 28 and c1["low"] < c1["high"]
    default = client.post(f"/api/inspect?model={lab_run.path.name}", content=seven).json()
    assert [layer["name"] for layer in default["layers"]] == ["c1", "s2", "c3", "s4", "c5", "f6", "output"]
    every = client.post("/api/inspect?model=resnet20&layers=all", content=seven).json()
    assert len(every["layers"]) > 20  # the branching model's convolutions, pools and residual blocks


def test_inspect_reaches_the_output_as_bars(client, lab_run, seven):
    answer = client.post(f"/api/inspect?model={lab_run.path.name}", content=seven).json()
    assert [(layer["name"], layer["shape"]) for layer in answer["layers"]][-3:] == [
        ("c5", [120, 1, 1]), ("f6", [84]), ("output", [10])]  # fmt: skip
    assert len(base64.b64decode(answer["layers"][-1]["data"])) == 10
    resnet = client.post("/api/inspect?model=resnet20&layers=fc,avgpool", content=seven).json()
    assert [layer["shape"] for layer in resnet["layers"]] == [[10], [64, 1, 1]]


def _off_centre_digit() -> bytes:
    """A small 7 drawn in the top left corner of a 280x280 pad, dark on white."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(20, 20), (80, 20), (45, 110)], fill=0, width=16)
    return png_bytes(image)


def _ink_centre(answer: dict) -> tuple[float, float]:
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["input"]["png"])))).astype(float)
    rows, cols = np.indices(pixels.shape)
    return (rows * pixels).sum() / pixels.sum(), (cols * pixels).sum() / pixels.sum()


def test_centre_0_leaves_the_digit_where_it_was_drawn(client, lab_run):
    drawn, name = _off_centre_digit(), lab_run.path.name
    centred = client.post(f"/api/inspect?model={name}&layers=c1", content=drawn).json()
    as_drawn = client.post(f"/api/inspect?model={name}&layers=c1&centre=0", content=drawn).json()
    assert max(abs(v - 15.5) for v in _ink_centre(centred)) < 2  # MNIST's centre of mass
    y, x = _ink_centre(as_drawn)
    assert y < 10 and x < 10  # the top left, as drawn
    assert as_drawn["input"]["shape"] == [1, 32, 32] and as_drawn["top"] != centred["top"]
    predicted = client.post(f"/api/predict?model={name}&k=3&centre=0", content=drawn).json()
    inspected = client.post(f"/api/inspect?model={name}&k=3&centre=0&layers=c1", content=drawn).json()
    assert predicted["top"] == inspected["top"]
    photo = client.get("/api/samples/china").content  # a colour model has no digit to centre: the same input
    assert (client.post("/api/inspect?model=resnet20&layers=fc&centre=0", content=photo).json()["input"]
            == client.post("/api/inspect?model=resnet20&layers=fc", content=photo).json()["input"])  # fmt: skip


def _page_data(html: str) -> dict:
    (block,) = re.findall(r'<script type="application/json" id="cnnlab-data">(.*?)</script>', html, re.DOTALL)
    return json.loads(block)


def test_the_page_download_is_the_published_page_of_the_labs_networks(client, lab_run):
    response = client.get("/api/page")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="cnnlab-{lab_run.path.name}-resnet20.html"'
    data = _page_data(response.text)
    assert data["format"] == "cnnlab-page/1" and [m["name"] for m in data["models"]] == [lab_run.path.name, "resnet20"]
    assert str(lab_run.path.parent) not in response.text  # no absolute path of this machine
    assert client.get("/api/page").content == response.content  # built once, answered from memory after


class _Softmaxed(nn.Module):
    """A network the published page cannot run (a softmax in its forward)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(32 * 32, 10)

    def forward(self, x):
        return nn.functional.softmax(self.fc(x.flatten(1)), dim=1)


def test_a_network_the_page_cannot_run_is_left_out_or_refused_in_one_line():
    lenet = untrained_model("lenet5")
    odd = LabModel("odd", replace(lenet, model=_Softmaxed().eval(), input_size=(1, 32, 32)), "random weights")
    alone = TestClient(create_app([odd]))
    (described,) = alone.get("/api/models").json()["models"]
    assert "softmax" in described["publish_error"] and "\n" not in described["publish_error"]
    assert described["layers"][0]["title"] == "fc · Linear" and described["layers"][0]["sentence"] is None
    refused = alone.get("/api/page")
    assert refused.status_code == 422 and "odd:" in refused.json()["error"] and "softmax" in refused.json()["error"]
    both = TestClient(create_app([odd, LabModel("lenet5", lenet, "random weights")]))
    answer = both.get("/api/page")
    assert answer.status_code == 200 and [m["name"] for m in _page_data(answer.text)["models"]] == ["lenet5"]
    assert answer.headers["content-disposition"] == 'attachment; filename="cnnlab-lenet5.html"'


def test_program_is_the_published_pages_program_of_the_network(client, lab_run):
    from cnnlab.publish import to_program
    from cnnlab.subjects import trained_model

    answer = client.get(f"/api/program?model={lab_run.path.name}")
    assert answer.status_code == 200
    trained = trained_model(lab_run.path)
    assert answer.json() == to_program(trained.model, trained.input_size).to_json()
    (lenet,) = [m for m in client.get("/api/models").json()["models"] if m["name"] == lab_run.path.name]
    assert len(lenet["normalization"]["mean"]) == len(lenet["normalization"]["std"]) == 1  # to rebuild the input


def test_program_of_a_network_the_page_cannot_run_is_refused_in_one_line():
    lenet = untrained_model("lenet5")
    odd = LabModel("odd", replace(lenet, model=_Softmaxed().eval(), input_size=(1, 32, 32)), "random weights")
    refused = TestClient(create_app([odd])).get("/api/program?model=odd")
    error = refused.json()["error"]
    assert refused.status_code == 422 and "softmax" in error and "arithmetic" in error and "\n" not in error


def test_field_of_a_unit(client, lab_run):
    field = client.get(f"/api/field?model={lab_run.path.name}&layer=c3&y=2&x=3").json()
    assert field["size"] == [14, 14] and field["box"] == [4.0, 6.0, 17.0, 19.0] and field["outside"] == [0, 0, 0, 0]
    edge = client.get("/api/field?model=resnet20&layer=layer3.2&y=0&x=0").json()
    assert max(edge["outside"]) > 0  # a deep unit at the corner reaches into the padding


def _png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header says ``width x height``, with one tiny compressed row: a bomb (or an empty image)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "says"),
    [
        ("post", "/api/predict?model=resnet20", b"", 400, "is empty"),
        ("post", "/api/predict?model=resnet20", b"definitely not an image", 400, "not an image"),
        ("post", "/api/predict?model=resnet20", _png_with_header(100_000, 100_000), 413, "decompression bomb"),
        ("post", "/api/predict?model=resnet20", _png_with_header(0, 0), 400, "image"),
        ("post", "/api/predict?model=resnet20", b"\x89PNG\r\n\x1a\n" + b"cut" * 10, 400, "image"),
        ("post", "/api/predict?model=resnet20", b"x" * (8 * 2**20 + 1), 413, "at most 8,388,608"),
        ("post", "/api/predict?model=nope", b"x", 404, "no model 'nope' is loaded; loaded: "),
        ("post", "/api/predict", b"x", 422, "which model?"),
        ("post", "/api/predict?model=resnet20&k=0", b"x", 422, "k: expected a positive whole number, got 0"),
        ("post", "/api/predict?model=resnet20&k=two", b"x", 422, "k: expected a positive whole number, got 'two'"),
        ("post", "/api/inspect?model=resnet20&layers=conv9", "seven", 404, "no layer with feature maps called 'conv9'"),
        ("get", "/api/field?model=resnet20&layer=conv9&y=0&x=0", None, 404, "it has conv1"),
        ("get", "/api/field?model=resnet20&layer=conv1&y=32&x=0", None, 422, "outside conv1's 32x32 map"),
        ("get", "/api/field?model=resnet20&layer=conv1&y=1", None, 422, "x= is missing"),
        ("get", "/api/field?model=resnet20", None, 422, "layer= is missing"),
        ("get", "/api/field?model=resnet20&layer=fc&y=0&x=0", None, 422, "fc"),
        ("post", "/api/inspect?model=resnet20&centre=yes", "seven", 422, "centre: expected 1 (centre the digit) or 0"),
        ("post", "/api/page", None, 405, "Method Not Allowed"),
        ("get", "/api/page?x=1&x=2", None, 422, "x= is given more than once"),
        ("get", "/api/samples/nope", None, 404, "no sample 'nope'"),
        ("get", "/api/predict", None, 405, "Method Not Allowed"),
        ("get", "/../../etc/passwd", None, 404, "Not Found"),
        ("get", "/static/../session.py", None, 404, "Not Found"),
    ],
)
def test_bad_requests_get_their_status_and_one_line(client, seven, method, url, body, status, says):
    if body == "seven":
        body = seven
    response = client.post(url, content=body) if method == "post" else client.get(url)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error and "\n" not in error and "Traceback" not in error


def test_the_upload_limit_holds_without_a_content_length(lab_run):
    small = TestClient(create_app(load_models([lab_run.path]), max_upload=1000))

    def chunks():
        for _ in range(10):
            yield b"\x00" * 500

    response = small.post("/api/predict", content=chunks())
    assert response.status_code == 413 and "more than 1,000 bytes" in response.json()["error"]


def test_a_lab_on_localhost_answers_only_local_host_names(lab_run):
    local = TestClient(create_app(load_models([lab_run.path]), allowed_hosts=["127.0.0.1", "localhost"]))
    assert local.get("/api/models", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert local.get("/api/models", headers={"host": "evil.example:8765"}).status_code == 400


def test_a_fuzz_of_bodies_and_query_strings_then_it_still_answers(client, lab_run, seven):
    rng = random.Random(0)
    names = [lab_run.path.name, "resnet20", "", "nope", "%00", "../../x"]
    keys = ["model", "k", "layers", "layer", "y", "x", "zz"]
    for _ in range(300):
        query = "&".join(
            f"{rng.choice(keys)}={rng.choice([*names, str(rng.randint(-5, 40)), 'all', 'c1,c3', 'x' * 50])}"
            for _ in range(rng.randint(0, 4))
        )
        kind = rng.random()
        if kind < 0.4:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 400)))
        elif kind < 0.7:
            cut = bytearray(seven[: rng.randint(0, len(seven))])
            body = bytes(cut)
        else:
            body = png_bytes(Image.fromarray(np.random.default_rng(rng.randint(0, 99)).integers(
                0, 256, (rng.randint(1, 40), rng.randint(1, 40)), dtype=np.uint8)))  # fmt: skip
        path = rng.choice(["/api/predict", "/api/inspect", "/api/field"])
        response = (
            client.post(f"{path}?{query}", content=body) if path != "/api/field" else client.get(f"{path}?{query}")
        )
        assert response.status_code in (200, 400, 404, 405, 413, 422), (path, query, response.text[:200])
        if response.status_code != 200:
            assert "\n" not in response.json()["error"]
    answer = client.post(f"/api/predict?model={lab_run.path.name}", content=seven)
    assert answer.status_code == 200 and answer.json()["top"][0]["probability"] > 0
