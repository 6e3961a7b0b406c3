"""cnnlab.publish: one self-contained HTML file with the page's data block (docs/publish.md, "Page data").

The page's own behaviour in a browser is tests/publish/test_page_browser.py's; these check what publish puts in
the file: the data block's schema, escaping, no network and no trace of the writing machine, sizes, refusals.
"""

import base64
import datetime
import getpass
import io
import json
import os
import re
import socket
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

import cnnlab
import cnnlab.publish.page as page
from cnnlab.errors import SettingError
from cnnlab.publish import UnsupportedLayer
from cnnlab.training.trained import untrained_model

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
    "connect-src 'none'; base-uri 'none'; form-action 'none'"
)
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # XML names, never fetched


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """A short trained LeNet-5 run (one epoch on the bundled 8x8 digits)."""
    output = tmp_path_factory.mktemp("runs") / "lenet5-digits"
    return cnnlab.train("lenet5", data="digits", epochs=1, output=str(output), progress=False, log=None)


def data_of(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    (block,) = re.findall(r'<script type="application/json" id="cnnlab-data">(.*?)</script>', text, re.DOTALL)
    return json.loads(block)


def check_model(entry: dict) -> None:
    """One model's entry has every field of the schema, of its type."""
    assert set(entry) == {"name", "label", "random_weights", "classes", "input_shape", "gray",
                          "digit_layout", "normalization", "temperature", "facts", "architecture_svg", "program",
                          "layers", "occlusion"}  # fmt: skip
    assert isinstance(entry["name"], str) and isinstance(entry["label"], str)
    assert isinstance(entry["random_weights"], bool) and isinstance(entry["gray"], bool)
    assert all(isinstance(c, str) for c in entry["classes"]) and len(entry["input_shape"]) == 3
    assert set(entry["normalization"]) == {"mean", "std"} and isinstance(entry["temperature"], float)
    assert set(entry["facts"]) == {"parameters", "macs", "epochs", "test_top1", "dataset", "date"}
    assert entry["facts"]["parameters"] > 0 and entry["facts"]["macs"] > 0
    svg = entry["architecture_svg"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and "<?xml" not in svg
    program = entry["program"]
    assert program["format"] == "cnnlab-program/1" and program["input"]["shape"] == entry["input_shape"]
    assert [layer["tensor"] for layer in entry["layers"]] == program["layers"]  # every layer, to the output
    shapes = {op["output"]: op["shape"] for op in program["operations"]}
    for layer in entry["layers"]:
        assert set(layer) == {"tensor", "module", "op", "title", "shape", "field", "sentence"}
        assert layer["shape"] == shapes[layer["tensor"]] and layer["module"] and layer["sentence"].endswith(".")
        field = layer["field"]
        assert field is None or field == {"global": True} or set(field) == {"size", "jump", "start"}


def test_the_data_block_of_a_trained_lenet5(lenet_run, tmp_path):
    published = cnnlab.publish(lenet_run, tmp_path / "lab.html", title="Week 3", note="Draw a digit.")
    assert published.path == tmp_path / "lab.html" and published.size == published.path.stat().st_size
    assert published.models == ("lenet5-digits",) and "lenet5-digits" in str(published)
    data = data_of(published.path)
    assert data["format"] == "cnnlab-page/1" and data["title"] == "Week 3" and data["note"] == "Draw a digit."
    assert data["generated"] == datetime.date.today().isoformat() and data["cnnlab"] == cnnlab.__version__
    (entry,) = data["models"]
    check_model(entry)
    assert entry["name"] == "lenet5-digits" and entry["label"].startswith("lenet5 trained 1 epoch on digits")
    assert entry["random_weights"] is False and entry["digit_layout"] == {"field": 8, "box": 8, "border": 0}
    facts = entry["facts"]
    assert facts["epochs"] == 1 and facts["dataset"] == "digits" and 0 <= facts["test_top1"] <= 1
    assert facts["parameters"] == 60_000 and re.fullmatch(r"\d{4}-\d\d-\d\d", facts["date"])
    layers = {layer["tensor"]: layer for layer in entry["layers"]}
    assert layers["c1"]["title"] == "C1 · convolution 5x5, 6 maps"
    assert layers["c1"]["field"] == {"size": [5, 5], "jump": [1, 1], "start": [2.0, 2.0]}
    assert layers["squash#2"]["field"] == layers["s2"]["field"]  # the squash after S2 sees what S2 sees
    assert layers["f6"]["field"] == {"global": True} and layers["output"]["op"] == "rbf"
    assert [s["name"] for s in data["samples"]] == [f"digit-{d}" for d in range(10)]
    for sample in data["samples"]:
        image = Image.open(io.BytesIO(base64.b64decode(sample["png"])))
        assert image.size == (28, 28) and image.mode == "L"


def test_two_networks_side_by_side_and_names_kept_unique(lenet_run, tmp_path):
    other = tmp_path / "elsewhere" / "lenet5-digits"  # a second run of the same directory name
    other.parent.mkdir()
    os.symlink(lenet_run.path, tmp_path / "link")
    import shutil

    shutil.copytree(lenet_run.path, other)
    published = cnnlab.publish([lenet_run, other, "resnet20"], tmp_path / "three.html")
    assert published.models == ("lenet5-digits", "lenet5-digits-2", "resnet20")
    data = data_of(published.path)
    assert data["title"] == "cnnlab: lenet5-digits, lenet5-digits-2, resnet20"
    for entry in data["models"]:
        check_model(entry)
    resnet = data["models"][2]
    assert resnet["random_weights"] is True and resnet["digit_layout"] is None and resnet["gray"] is False
    assert resnet["facts"]["epochs"] is None and resnet["label"] == "resnet20, random weights (untrained)"
    sentences = {layer["tensor"]: layer["sentence"] for layer in resnet["layers"]}
    assert sentences["layer1.0.relu#2"].startswith("Residual addition")
    assert sentences["avgpool"].startswith("Global average pooling")


def test_title_and_note_stay_text(tmp_path):
    attack = "</script><script>alert(1)</script>"
    path = cnnlab.publish("lenet5", tmp_path / "x.htm", title=f"<b>{attack}</b>", note=attack + "\u2028").path
    text = path.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text and "<b>" not in text
    assert "<title>&lt;b&gt;&lt;/script&gt;" in text
    data = data_of(path)
    assert data["note"] == attack + "\u2028" and data["title"] == f"<b>{attack}</b>"
    block = text[text.index('id="cnnlab-data">') :]
    assert "\u2028" not in block[: block.index("</script>")]  # a line end to older JavaScript, escaped


def test_the_page_asks_for_nothing_and_says_nothing_of_its_machine(lenet_run, tmp_path):
    path = cnnlab.publish([lenet_run, "lenet5"], tmp_path / "out" / "page.html").path
    text = path.read_text(encoding="utf-8")
    (meta,) = re.findall(r"<meta[^>]*http-equiv[^>]*>", text, re.IGNORECASE)  # one policy, nothing to loosen it
    assert meta == f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    assert text.index(meta) < text.index("<script")  # in force before any script runs
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", text))
    assert urls <= NAMESPACES, urls - NAMESPACES
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text) and "fetch(" not in text
    for secret in {str(tmp_path), str(lenet_run.path), os.path.realpath(tmp_path), os.path.expanduser("~")} - {"/"}:
        assert secret not in text
    data = data_of(path)
    for entry in data["models"]:  # the data's words, without its base64 (where any short name turns up by chance)
        entry["program"]["parameters"] = {}
    data["samples"] = []
    words = set(re.findall(r"[\w.-]+", json.dumps(data)))
    assert getpass.getuser() not in words and socket.gethostname() not in words


def test_sizes(tmp_path):
    lenet = cnnlab.publish("lenet5", tmp_path / "lenet5.html").size
    resnet = cnnlab.publish("resnet20", tmp_path / "resnet20.html").size
    # measured at 1a9ec32: 487,383 and 1,613,289 bytes (float32 weights, the page's scripts and style included)
    assert lenet <= 600_000 and resnet <= 2_500_000, (lenet, resnet)


def test_a_page_over_the_limit_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(page, "MAX_PAGE_BYTES", 100_000)
    with pytest.raises(ValueError, match=r"^the page would be .* over the 100 KB .*\(cnnlab lab\)") as error:
        cnnlab.publish("lenet5", tmp_path / "big.html")
    assert "\n" not in str(error.value) and list(tmp_path.iterdir()) == []


def test_a_failing_write_leaves_nothing(tmp_path, monkeypatch):
    def full_disk(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("cnnlab.files.os.fsync", full_disk)
    with pytest.raises(OSError, match="cannot write .*lab.html: No space left"):
        cnnlab.publish("lenet5", tmp_path / "lab.html")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_page_is_replaced_whole(tmp_path):
    target = tmp_path / "lab.html"
    target.write_text("old")
    cnnlab.publish("lenet5", target)
    assert data_of(target)["models"][0]["name"] == "lenet5"


@pytest.mark.parametrize(
    ("output", "error", "message"),
    [
        ("lab.txt", SettingError, r"ends in \.html or \.htm$"),
        ("folder.html", SettingError, r"is a directory"),
        ("file/lab.html", OSError, r"file as a directory: it is a file"),
    ],
)
def test_bad_outputs_are_refused_before_any_work(tmp_path, output, error, message):
    (tmp_path / "folder.html").mkdir()
    (tmp_path / "file").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(error, match=message):
        cnnlab.publish("no-such-model-is-looked-up", tmp_path / output)
    assert sorted(tmp_path.rglob("*")) == before


def test_bad_subjects_are_refused_in_one_line(lenet_run, tmp_path):
    out = tmp_path / "lab.html"
    with pytest.raises(SettingError, match="given twice"):
        cnnlab.publish([lenet_run, lenet_run.path], out)
    with pytest.raises(SettingError, match="lenet5 is given twice"):
        cnnlab.publish(["lenet5", "lenet5"], out)
    with pytest.raises(ValueError, match="does not exist"):
        cnnlab.publish(tmp_path / "missing", out)
    with pytest.raises(ValueError, match="neither a run directory"):
        cnnlab.publish("lenet6", out)
    with pytest.raises(SettingError, match="one or more"):
        cnnlab.publish([], out)
    with pytest.raises(SettingError, match="note: expected a text"):
        cnnlab.publish("lenet5", out, note=5)
    assert not out.exists()


class _Softmaxed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(32 * 32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(x.flatten(1)), dim=1)


def test_a_module_the_page_cannot_run_is_named(tmp_path):
    trained = replace(untrained_model("mlp") if "mlp" in cnnlab.list_models() else untrained_model("lenet5"),
                      model=_Softmaxed().eval(), input_size=(1, 32, 32))  # fmt: skip
    with pytest.raises(UnsupportedLayer, match="softmax.*cnnlab lab") as error:
        cnnlab.publish(trained, tmp_path / "lab.html")
    assert "\n" not in str(error.value) and not (tmp_path / "lab.html").exists()


def test_run_publish_and_the_package_call_are_the_same_verb(lenet_run, tmp_path):
    published = lenet_run.publish(tmp_path / "run.html", note="hi")
    assert isinstance(published, cnnlab.PublishedPage) and data_of(published.path)["note"] == "hi"
    assert callable(cnnlab.publish) and cnnlab.publish.to_program is not None
