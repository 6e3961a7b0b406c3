"""cnnlab draw: a thin front over cnnlab.draw, with default places and one-line refusals."""

import shutil
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from tests._checkpoints import write_checkpoint


def test_a_model_name_draws_into_pictures_model(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("draw", "lenet5")
    assert code == 0, err
    assert out.splitlines() == ["lenet5 at 1x32x32, blocks style: 8 boxes", "pictures/lenet5/architecture-blocks.svg"]
    ET.parse(tmp_path / "pictures" / "lenet5" / "architecture-blocks.svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing (apt-get install graphviz)")
def test_a_run_draws_into_its_pictures_at_its_size(run, tmp_path):
    write_checkpoint(tmp_path / "run" / "best.pt", "resnet20", data="cifar10")
    code, out, err = run("draw", str(tmp_path / "run"), "--style", "graph", "--output", str(tmp_path / "r.png"))
    assert code == 0, err
    assert out.startswith("resnet20 at 3x32x32, graph style: ") and "blocks expanded: BasicBlock" in out
    with Image.open(tmp_path / "r.png") as picture:
        assert picture.width > 300
    code, out, err = run("draw", str(tmp_path / "run" / "best.pt"))
    assert code == 0, err
    assert out.splitlines()[-1] == str(tmp_path / "run" / "pictures" / "architecture-blocks.svg")


def test_input_size_and_pdf(run, tmp_path):
    code, out, err = run("draw", "vgg11", "--input", "3x32x32", "--out", str(tmp_path / "v.pdf"))
    assert code == 0, err
    assert out.startswith("vgg11 at 3x32x32, blocks style") and (tmp_path / "v.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lenet6"], "unknown model 'lenet6'; did you mean lenet5"),
        (["vgg16", "--input", "3x8x8"], "vgg16 needs an input of at least 3x32x32"),
        (["lenet5", "--output", "a.gif"], "drawings are written as svg, png, pdf; --output ends in .gif"),
        (["lenet5", "--style", "boxes"], "argument --style: invalid choice: 'boxes'"),
        (["lenet5", "--input", "3x32x"], "argument --input: expected CxHxW"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(fails, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in fails("draw", *args)
    assert list(tmp_path.iterdir()) == []
