"""cnnlab.draw on a slide: ResNet's shortcut, LeNet-5's sheets and digit, GoogLeNet's auxiliary heads, the shape
asked for, the title asked for; every drawing read back as SVG (text sizes, ids, Graphviz's edge titles)."""

import shutil
import xml.etree.ElementTree as ET

import pytest
import torch

import cnnlab
from cnnlab.inspection.graph import INPUT
from cnnlab.viz.slide import read_svg
from tests.viz.test_architecture import svg_texts

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is missing (apt-get install graphviz)"
)


def svg_ids(svg: str) -> set[str]:
    """The ids matplotlib gives the artists with a gid."""
    return {element.get("id") for element in ET.fromstring(svg).iter() if element.get("id")}


def graphviz_edges(svg: str) -> set[str]:
    """Graphviz's edges, as the <title> of each edge's group says them: ``a->b``."""
    root = ET.fromstring(svg)
    return {
        "".join(group.find(f"{SVG}title").itertext()) for group in root.iter(f"{SVG}g") if group.get("class") == "edge"
    }


def test_resnet20_opens_an_identity_block_whose_sum_takes_the_blocks_input():
    drawing = cnnlab.draw("resnet20")
    block = drawing.opened
    assert block is not None and block.within == "layer1.0"
    assert sorted(block.predecessors("add")) == [INPUT, "layer1.0.conv2"]  # x -> conv -> conv -> (+) <- x
    svg = drawing.svg
    ids = svg_ids(svg)
    assert {"node:add", f"edge:{INPUT}->add", "edge:layer1.0.conv2->add", f"edge:{INPUT}->layer1.0.conv1"} <= ids
    texts = svg_texts(svg)
    assert "stage 1: residual block, identity shortcut" in texts and "identity" in texts and "+" in texts


@pytest.mark.parametrize(("model", "shortcut", "words"), [
    ("resnet20", "layer2.0.downsample", "subsample, pad with zeros"),  # option A, as the CIFAR nets have it
    ("resnet18", "layer2.0.downsample.0", "1x1/2 conv, BN"),  # the 1x1 projection (option B)
])  # fmt: skip
def test_the_downsampling_block_on_request_shows_its_shortcut(model, shortcut, words):
    drawing = cnnlab.draw(model, open_block="downsampling")
    block = drawing.opened
    assert block is not None and block.within == "layer2.0"
    assert INPUT not in block.predecessors("add") and shortcut in block.predecessors("add")
    svg = drawing.svg
    assert {f"edge:{INPUT}->{shortcut}", f"edge:{shortcut}->add"} <= svg_ids(svg)
    assert words in svg_texts(svg) and "stage 2: residual block" in " ".join(svg_texts(svg))
    assert read_svg(svg).passes


def test_no_block_is_opened_on_request_nor_in_a_network_without_residual_blocks():
    assert cnnlab.draw("resnet20", open_block="none").opened is None
    assert cnnlab.draw("plain20").opened is None  # its blocks have no sum
    assert not any(i.startswith("edge:") for i in svg_ids(cnnlab.draw("resnet20", open_block="none").svg))


@needs_dot
def test_resnet20_graph_opens_the_identity_block_with_names_a_person_would_write():
    drawing = cnnlab.draw("resnet20", style="graph")
    [block] = drawing.expanded
    assert block is drawing.opened and block.within == "layer1.0"
    svg = drawing.svg
    assert {f"b0:{INPUT}->b0:add", "b0:layer1.0.conv2->b0:add"} <= graphviz_edges(svg)  # the sum takes x itself
    texts = svg_texts(svg)
    assert "stage 1: residual block, identity shortcut" in texts
    assert texts[texts.index("stage 1: 3 residual blocks") :][:2] == ["stage 1: 3 residual blocks", "16@32x32"]
    assert not any("layer1" in text or "..." in text for text in texts)


@needs_dot
def test_resnet20_graph_opens_the_downsampling_block_on_request():
    drawing = cnnlab.draw("resnet20", style="graph", open_block="downsampling")
    edges = graphviz_edges(drawing.svg)
    assert {f"b0:{INPUT}->b0:layer2.0.downsample", "b0:layer2.0.downsample->b0:add"} <= edges
    assert f"b0:{INPUT}->b0:add" not in edges
    assert "stage 2: residual block, zero-padding shortcut" in svg_texts(drawing.svg)


def test_lenet5_has_the_papers_sheets_and_the_input_digit():
    svg = cnnlab.draw("lenet5").svg
    ids = svg_ids(svg)
    for layer, maps in (("C1", 6), ("S2", 6), ("C3", 16), ("S4", 16)):
        assert {i for i in ids if i.startswith(f"sheet:{layer}:")} == {f"sheet:{layer}:{n}" for n in range(1, maps + 1)}
    assert "image:INPUT" in ids and "<image" in svg  # the bundled MNIST digit, in the input's sheet
    texts = svg_texts(svg)
    assert texts[texts.index("C1: feature maps") :][:2] == ["C1: feature maps", "6@28x28"]


@needs_dot
@pytest.mark.parametrize("model", ["googlenet", "googlenet_tv"])
def test_googlenet_aux_draws_its_two_auxiliary_heads_on_4a_and_4d(model):
    drawing = cnnlab.draw(model, aux=True)
    assert list(drawing.aux) == ["aux1", "aux2"]
    edges = graphviz_edges(drawing.svg)
    assert {"n:inception4a->n:aux1", "n:inception4b..inception4d->n:aux2"} <= edges
    texts = svg_texts(drawing.svg)
    assert texts.count("aux classifier") == 2 and "Inception 4a" in texts and "Inception 4e" in texts
    check = read_svg(drawing.svg)
    assert check.passes and check.aspect >= 1, check


@needs_dot
@pytest.mark.parametrize(("model", "style"), [("lenet5", None), ("resnet20", None), ("resnet20", "graph"),
                                              ("googlenet", None), ("vgg16", None)])  # fmt: skip
def test_aspect_16_9_gives_that_shape_and_readable_text(model, style):
    check = read_svg(cnnlab.draw(model, style=style, aspect=16 / 9).svg)
    assert check.aspect == pytest.approx(16 / 9, rel=0.02) and check.passes, check


@needs_dot
def test_googlenet_with_aux_fits_16_9():
    check = read_svg(cnnlab.draw("googlenet", aux=True, aspect="16:9").svg)
    assert check.aspect == pytest.approx(16 / 9, rel=0.02) and check.passes, check


@needs_dot
@pytest.mark.parametrize("style", ["blocks", "graph"])
def test_titles_short_full_none(style):
    texts = {
        mode: svg_texts(cnnlab.draw("resnet20", style=style, title=mode).svg) for mode in ("short", "full", "none")
    }
    assert texts["short"][0] == "resnet20"
    assert texts["full"][0] == f"resnet20 at 3x32x32, {style} style"
    assert "resnet20" not in texts["none"] and not any("3x32x32" in text for text in texts["none"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"open_block": "sideways"}, "open_block must be one of identity, downsampling, none, got 'sideways'"),
    ({"aux": True}, "lenet5 has no auxiliary classifiers to draw"),
    ({"title": "long"}, "a title is one of full, short, none, not 'long'"),
    ({"aspect": "wide"}, "an aspect is WIDTH:HEIGHT"),
])  # fmt: skip
def test_what_lenet5_cannot_be_drawn_with(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cnnlab.draw("lenet5", **kwargs)


def test_a_block_that_is_not_there_is_refused():
    with pytest.raises(ValueError, match="lenet5 has no residual block with a downsampling shortcut to open"):
        cnnlab.draw("lenet5", open_block="downsampling")
    with pytest.raises(ValueError, match="the auxiliary classifiers branch off googlenet: draw them with style"):
        cnnlab.draw("googlenet", style="blocks", aux=True)


def test_a_runs_input_shows_its_first_test_image_and_a_name_the_bundled_digit(tmp_path, monkeypatch):
    from cnnlab.data.datasets import load_dataset
    from cnnlab.viz import architecture
    from tests._checkpoints import write_checkpoint

    write_checkpoint(tmp_path / "run" / "best.pt", "lenet5")
    given = {}
    real = architecture.draw
    monkeypatch.setattr(architecture, "draw", lambda *args, **kwargs: given.update(kwargs) or real(*args, **kwargs))
    assert "image:INPUT" in svg_ids(cnnlab.draw(tmp_path / "run").svg)
    assert torch.equal(given["image"], load_dataset("mnist5k").test.images[0])
    cnnlab.draw("lenet5")
    assert given["image"] is None  # drawn with the bundled digit (see the sheets' test)
