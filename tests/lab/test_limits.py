"""What one request may cost the lab, through an in-process client: pixels decoded, layers and values answered,
the query, the bodies held at once; a client that leaves; the files it may open; the samples' names.

Random-weight models (no training), so these run in the fast lane.
"""

import asyncio
import io
import json
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw
from starlette.testclient import TestClient

from cnnlab.lab import app as app_module
from cnnlab.lab import session
from cnnlab.lab.app import MAX_QUERY, create_app
from cnnlab.lab.session import DECODED_SIDE, MAX_DECODED_PIXELS, LabError, decode_upload, load_models
from tests.lab.conftest import png_bytes


@pytest.fixture(scope="module")
def models():
    return load_models(["lenet5", "resnet20"])


@pytest.fixture(scope="module")
def client(models):
    return TestClient(create_app(models))


def _png_header_only(width: int, height: int, colour_type: int = 6) -> bytes:
    """A PNG that claims ``width x height`` (RGBA by default) and holds one tiny compressed row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _seven(side: int, mode: str = "RGBA", fmt: str = "PNG") -> bytes:
    image = Image.new(mode, (side, side), "white")
    ImageDraw.Draw(image).line(
        [(side * 0.28, side * 0.22), (side * 0.75, side * 0.22), (side * 0.45, side * 0.82)], fill="black",
        width=side // 14,
    )  # fmt: skip
    return png_bytes(image, fmt)


# -- 1. memory: a lower pixel cap, big images reduced while decoding, a few decodes at once


def test_an_image_over_the_labs_pixel_cap_is_refused_before_decoding(client):
    # 6300x6300 RGBA is under the library's 40-megapixel bomb cap, and cost 1.2 GB per request
    response = client.post("/api/predict?model=lenet5", content=_png_header_only(6300, 6300))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error == f"the upload is 6300x6300 = 39,690,000 pixels; at most {MAX_DECODED_PIXELS:,} are decoded: " + (
        "make it smaller first"
    )
    bomb = client.post("/api/inspect?model=lenet5", content=_png_header_only(100_000, 100_000))
    assert bomb.status_code == 413 and "a decompression bomb" in bomb.json()["error"]


def test_a_big_image_is_reduced_while_it_is_decoded():
    image = decode_upload(_seven(3000, "L"))
    assert image.size == (DECODED_SIDE, DECODED_SIDE)
    wide = decode_upload(png_bytes(Image.new("RGB", (4000, 1000), "white")))
    assert wide.size == (DECODED_SIDE, DECODED_SIDE // 4)
    small = decode_upload(_seven(300))
    assert small.size == (300, 300)  # at most DECODED_SIDE: as decode_image gives it, untouched


def test_a_big_jpeg_counts_at_the_scale_it_is_decoded_at():
    # 6000x4500 = 27 megapixels declared; libjpeg decodes it at 1/2 scale (3000x2250, under the cap)
    photo = png_bytes(Image.new("RGB", (6000, 4500), (200, 180, 160)), "JPEG")
    image = decode_upload(photo)
    assert image.size == (DECODED_SIDE, 768) and image.getpixel((10, 10)) == pytest.approx((200, 180, 160), abs=2)


@pytest.mark.parametrize("mode", ["1", "P", "LA", "I", "RGBA"])
def test_a_big_image_of_any_mode_reads_as_the_same_digit(models, mode):
    lenet = models[0]
    image = Image.open(io.BytesIO(_seven(1200, "L"))).convert(mode)
    fmt = "TIFF" if mode == "I" else "PNG"
    reduced, full = lenet.prepare(png_bytes(image, fmt)), lenet.prepare(_seven(1000, "L"))
    assert (reduced.float() - full.float()).abs().mean() < 8  # the same 7, within resampling


def test_at_most_a_few_uploads_are_decoded_at_once(monkeypatch):
    busy, most = 0, 0
    real = session.decode_image

    def counting(*args, **kwargs):
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        try:
            time.sleep(0.05)
            return real(*args, **kwargs)
        finally:
            busy -= 1

    monkeypatch.setattr(session, "decode_image", counting)
    data = _seven(200)
    threads = [threading.Thread(target=decode_upload, args=(data,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert most == session.DECODING_AT_ONCE


def test_a_refused_or_broken_upload_is_a_lab_error():
    with pytest.raises(LabError) as refused:
        decode_upload(_png_header_only(5000, 5000))
    assert refused.value.status == 413
    with pytest.raises(LabError) as broken:
        decode_upload(b"\x89PNG\r\n\x1a\n" + b"cut" * 10)
    assert broken.value.status == 400


# -- 2. amplification: each layer once, a capped number of names, values and query characters


def test_a_layer_named_again_and_again_is_answered_once(client):
    query = "model=resnet20&layers=" + ",".join(["conv1"] * 2000)  # 2,600 repeats answered 57 MB of JSON
    assert len(query) <= MAX_QUERY
    response = client.post(f"/api/inspect?{query}", content=_seven(200))
    assert response.status_code == 200, response.text[:200]
    assert [layer["name"] for layer in response.json()["layers"]] == ["conv1"]
    assert len(response.content) < 50_000


def test_a_long_query_is_refused(client):
    query = "model=resnet20&layers=" + ",".join(["conv1"] * 2600)
    response = client.post(f"/api/inspect?{query}", content=_seven(200))
    assert response.status_code == 414
    assert response.json()["error"] == f"the query has {len(query):,} characters; at most {MAX_QUERY:,} are read"


def test_too_many_layer_names_are_refused(client):
    names = ",".join(f"x{index}" for index in range(session.MAX_LAYERS + 1))
    response = client.post(f"/api/inspect?model=resnet20&layers={names}", content=_seven(200))
    assert response.status_code == 422
    assert (
        response.json()["error"] == f"layers: 257 different names; one request may ask for at most {session.MAX_LAYERS}"
    )


def test_an_answer_over_the_value_cap_is_refused_before_anything_is_computed(models, monkeypatch):
    lenet = models[0]
    monkeypatch.setattr(session, "MAX_MAP_VALUES", 5000)
    with pytest.raises(LabError) as refused:
        lenet.inspect(b"not even read", ["all"])
    assert refused.value.status == 422
    assert str(refused.value) == (
        "the maps of those 7 layers hold 8,094 values; one answer carries at most 5,000: ask for fewer layers"
    )
    assert [layer["name"] for layer in lenet.inspect(_seven(100), ["c1", "c1"])["layers"]] == ["c1"]  # 4,704 values


def test_a_query_key_given_twice_is_refused(client):
    for query in ("model=lenet5&model=resnet20", "model=lenet5&k=1&k=2", "model=lenet5&layers=c1&layers=c3"):
        response = client.post(f"/api/inspect?{query}", content=_seven(100))
        assert response.status_code == 422 and "is given more than once; give it once" in response.json()["error"]
    field = client.get("/api/field?model=lenet5&layer=c1&y=0&y=1&x=0")
    assert field.status_code == 422 and field.json()["error"] == "y= is given more than once; give it once"


def test_uploads_held_at_once_are_capped(models, monkeypatch):
    monkeypatch.setattr(app_module, "MAX_RECEIVING", 3000)
    app = create_app(models, max_upload=1000)  # holds 3,000 bytes of uploads at once
    go_on = asyncio.Event()

    def held(first: bytes):
        """A client that sends ``first``, then waits for ``go_on`` before it ends its body."""
        sent = iter([first])

        async def receive():
            chunk = next(sent, None)
            if chunk is not None:
                return {"type": "http.request", "body": chunk, "more_body": True}
            await go_on.wait()
            return {"type": "http.request", "body": b"", "more_body": False}

        return receive

    async def classroom():
        answers = [[] for _ in range(4)]
        holding = [asyncio.create_task(_call(app, "/api/predict", "model=lenet5", held(b"x" * 1000), answers[i]))
                   for i in range(3)]  # fmt: skip
        await asyncio.sleep(0.1)  # let the three be received up to where they wait
        try:  # the timeout only stops a hang (a lab without the cap waits for the fourth body's end)
            await asyncio.wait_for(_call(app, "/api/predict", "model=lenet5", held(b"x"), answers[3]), 30)
        finally:
            go_on.set()
        await asyncio.gather(*holding)
        return answers

    answers = asyncio.run(classroom())
    assert [answer[0] for answer in answers] == [400, 400, 400, 503]  # three not images; the fourth: no room
    assert json.loads(answers[3][1])["error"] == (
        "the lab is receiving 3,000 bytes of uploads at once; try again in a moment"
    )
    assert TestClient(app).post("/api/predict?model=lenet5", content=_seven(30)).status_code == 200  # room again


async def _call(app, path, query, receive, answers):
    """Call the ASGI app directly with messages from ``receive_next``; collect the status and body."""
    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "path": path, "raw_path": path.encode(),
        "query_string": query.encode(), "headers": [(b"host", b"127.0.0.1")], "scheme": "http",
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": "",
    }  # fmt: skip

    async def send(message):
        if message["type"] == "http.response.start":
            answers.append(message["status"])
        elif message.get("body"):
            answers.append(message["body"])

    await app(scope, receive, send)


# -- 3. a client that leaves mid-upload: no exception out of the app


def test_a_client_that_leaves_mid_upload_is_dropped_without_an_exception(models):
    app = create_app(models)
    messages = iter(
        [{"type": "http.request", "body": b"\x89PNG" + b"x" * 100, "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive():
        return next(messages)

    answers = []
    asyncio.run(_call(app, "/api/inspect", "model=lenet5", receive, answers))  # raised ClientDisconnect before
    assert answers[0] == 400


# -- 5 and 6. samples by class, the static files, methods, content types, hosts


def test_samples_are_named_by_their_class_and_answer_to_their_old_names(client):
    names = [sample["name"] for sample in client.get("/api/samples").json()["samples"]]
    assert names == [f"digit-{digit}" for digit in range(10)] + ["china", "flower"]
    three = client.get("/api/samples/digit-3")
    assert three.status_code == 200 and three.headers["content-type"] == "image/png"
    assert client.get("/api/samples/digit-268").content == three.content  # its name before, its index
    label = next(s["label"] for s in client.get("/api/samples").json()["samples"] if s["name"] == "digit-3")
    assert label.endswith("(a 3)")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../session.py", "/static/..%2fsession.py", "/static/%2e%2e/session.py", "/static/", "/static/x.js",
        "/static//etc/passwd", "/static/lab.js/..", "/api/samples/..%2f..%2fsession.py", "/api/samples/%00",
        "/api/samples/../../app.py", "/api/samples/digit-3/../../app.py", "/static/__init__.py",
    ],
)  # fmt: skip
def test_no_request_names_a_file_the_lab_opens(client, path):
    response = client.get(path)
    assert response.status_code == 404, (path, response.text[:100])
    assert "\n" not in response.json()["error"]


def test_the_static_files_are_served(client):
    for name, kind in [("lab.js", "javascript"), ("lab.css", "text/css"), ("index.html", "text/html"),
                       ("pad.js", "javascript"), ("explain.css", "text/css"), ("draw.js", "javascript")]:  # fmt: skip
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


def test_methods_each_path_does_not_take_say_which_it_does(client):
    assert client.head("/api/models").status_code == 200
    for method, path in [("OPTIONS", "/api/models"), ("DELETE", "/api/predict"), ("PUT", "/api/inspect"),
                         ("PATCH", "/api/field"), ("POST", "/api/samples")]:  # fmt: skip
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert "allow" in response.headers and response.json()["error"].startswith("Method Not Allowed")


def test_a_form_upload_is_refused_with_what_to_send_instead(client):
    response = client.post("/api/predict?model=lenet5", files={"image": ("seven.png", _seven(100), "image/png")})
    assert response.status_code == 415
    assert response.json()["error"] == (
        "the body is a multipart/form-data form; send the image file's bytes as the body itself "
        "(docs/lab-api.md shows how)"
    )


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/json", "image/jpeg", "", "x/y; charset=ü".encode("latin-1")]
)
def test_any_other_content_type_is_read_as_the_bytes_of_an_image(client, kind):
    response = client.post("/api/predict?model=lenet5", content=_seven(100), headers={"content-type": kind})
    assert response.status_code == 200


def test_a_host_the_lab_does_not_answer_gets_one_json_line(models):
    local = TestClient(create_app(models, allowed_hosts=["127.0.0.1", "localhost", "[::1]"]))
    for host in ("127.0.0.1:8765", "localhost", "LOCALHOST:1", "[::1]:8765"):
        assert local.get("/api/models", headers={"host": host}).status_code == 200, host
    for host in ("evil.example:8765", "127.0.0.1.evil.example", "", "0.0.0.0", "[::2]:8765"):
        response = local.get("/api/models", headers={"host": host})
        assert response.status_code == 400, host
        assert response.json()["error"].startswith("this lab answers requests addressed to 127.0.0.1 and")


@pytest.mark.parametrize("name", ["ü", "名前", "%F0%9F%98%80", "a b", "'; DROP", "\u202e"])
def test_unicode_and_odd_names_get_404_in_one_line(client, name):
    for response in (
        client.post(f"/api/predict?model={name}", content=b"x"),
        client.post(f"/api/inspect?model=lenet5&layers={name}", content=_seven(50)),
        client.get(f"/api/field?model=lenet5&layer={name}&y=0&x=0"),
        client.get(f"/api/samples/{name}"),
    ):
        assert response.status_code == 404, response.text[:200]
        assert "\n" not in response.json()["error"]


def test_the_same_model_asked_from_many_threads_at_once_answers_each_the_same(client):
    body = _seven(120)
    first = client.post("/api/inspect?model=lenet5&layers=all", content=body).json()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post("/api/inspect?model=lenet5&layers=all", content=body), range(16)))
    assert all(answer.status_code == 200 and answer.json() == first for answer in answers)
    assert np.isfinite(first["top"][0]["probability"])


def test_a_field_at_the_edge_reads_zero_not_minus_zero(client):
    response = client.get("/api/field?model=lenet5&layer=c1&y=0&x=0")
    assert response.json()["outside"] == [0, 0, 0, 0] and "-0.0" not in response.text


# -- the session's Python doors: a wrong type is named in one line


@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (lambda m: m.predict(123), TypeError, "the upload: expected the bytes of an image file, got int"),
        (lambda m: m.predict(None), TypeError, "the upload: expected the bytes of an image file, got NoneType"),
        (lambda m: m.inspect(b"x", layers=[1, 2]), TypeError, "layers: expected a list of layer names (strings)"),
        (lambda m: m.inspect(b"x", layers=[["c1"]]), TypeError, "layers: expected a list of layer names"),
        (lambda m: m.inspect(b"x", layers="c1"), TypeError, "got 'c1'"),
        (lambda m: m.field("c1", 1.5, 0), LabError, "y: expected a whole number >= 0, got 1.5"),
        (lambda m: m.field("c1", 0, "0"), LabError, "x: expected a whole number >= 0, got '0'"),
    ],
)
def test_the_sessions_doors_name_a_wrong_argument(models, call, error, says):
    with pytest.raises(error) as raised:
        call(models[0])
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_one_subject_is_one_model_and_the_upload_limit_is_checked(models):
    assert [model.name for model in load_models("lenet5")] == ["lenet5"]  # was: "l is neither a run directory..."
    with pytest.raises(ValueError, match="max_upload: expected a positive whole number, got 0"):
        create_app(models, max_upload=0)
