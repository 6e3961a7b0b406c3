"""cnnlab draw: a thin front over cnnlab.draw, with default places and one-line refusals."""

import shutil
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from cnnlab.viz.slide import read_svg
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
        (["lenet5", "--aux"], "lenet5 has no auxiliary classifiers to draw"),
        (["lenet5", "--open", "downsampling"], "lenet5 has no residual block with a downsampling shortcut to open"),
        (["resnet20", "--open", "sideways"], "argument --open: invalid choice: 'sideways'"),
        (["lenet5", "--aspect", "0:0"], "argument --aspect: an aspect is WIDTH:HEIGHT"),
        (["lenet5", "--title", "long"], "argument --title: invalid choice: 'long'"),
        (["googlenet", "--style", "blocks", "--aux"], "branch off googlenet: draw them with --style graph"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(fails, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in fails("draw", *args)
    assert list(tmp_path.iterdir()) == []


def test_slide_flags_open_aspect_title(run, tmp_path):
    out = tmp_path / "r.svg"
    code, _, err = run("draw", "resnet20", "--open", "downsampling", "--aspect", "16:9", "--title", "none",
                       "--output", str(out))  # fmt: skip
    assert code == 0, err
    check = read_svg(out)
    assert check.passes and abs(check.aspect - 16 / 9) < 0.02, check
    texts = [text.text for text in check.texts]
    assert "stage 2: residual block, zero-padding shortcut" in texts and "resnet20" not in texts


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing (apt-get install graphviz)")
def test_aux_draws_googlenets_heads(run, tmp_path):
    code, _, err = run("draw", "googlenet", "--aux", "--title", "full", "--output", str(tmp_path / "g.svg"))
    assert code == 0, err
    check = read_svg(tmp_path / "g.svg")
    texts = [text.text for text in check.texts]
    assert texts.count("aux classifier") == 2 and texts[0] == "googlenet at 3x224x224, graph style"
    assert check.passes and check.aspect > 1, check
