"""The lab's JSON API through an in-process client: the contract of docs/lab-api.md, bad requests, a fuzz."""

import base64
import io
import random
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from cnnlab.lab.app import create_app
from cnnlab.lab.session import load_models
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
                  "field": {"size": [5, 5], "jump": [1, 1], "start": [2.0, 2.0]}, "shown": True}  # fmt: skip
    assert lenet["default_layers"] == ["c1", "s2", "c3", "s4"]


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
    assert [layer["name"] for layer in default["layers"]] == ["c1", "s2", "c3", "s4"]
    every = client.post("/api/inspect?model=resnet20&layers=all", content=seven).json()
    assert len(every["layers"]) > 20  # the branching model's convolutions, pools and residual blocks


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
