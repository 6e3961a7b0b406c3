"""cnnlab.draw: the papers' boxes and the graph with its blocks expanded, the numbers being the summary's."""

import math
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from torch import nn

import cnnlab
from cnnlab.inspection.graph import INPUT
from cnnlab.inspection.summary import summarize
from cnnlab.models import list_models
from cnnlab.viz import architecture_graph
from cnnlab.viz.slide import read_svg
from tests._networks import TwoPaths
from tests._pictures import check_picture
from tests._slow import by_size

SVG = "{http://www.w3.org/2000/svg}"
NO_DOT = "Graphviz's dot is missing (apt-get install graphviz)"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason=NO_DOT)
GRAPH_MODELS = {"googlenet", "googlenet_tv", "bn_inception", "inception_v2", "inception_v3"}


def svg_texts(svg: str) -> list[str]:
    """Every text of an SVG, read as XML (matplotlib and Graphviz both keep labels as <text>)."""
    root = ET.fromstring(svg)
    return ["".join(element.itertext()).strip() for element in root.iter(f"{SVG}text")]


def _shape_words(shape: tuple[int, ...]) -> str:
    return f"{shape[0]}@{shape[1]}x{shape[2]}" if len(shape) == 3 and shape[1] * shape[2] > 1 else str(math.prod(shape))


@pytest.mark.parametrize("model", by_size(list_models()))
def test_every_model_is_drawn_with_the_summarys_shapes(model):
    if model in GRAPH_MODELS and shutil.which("dot") is None:
        pytest.skip(NO_DOT)
    drawing = cnnlab.draw(model)
    assert drawing.style == ("graph" if model in GRAPH_MODELS else "blocks")
    svg = drawing.svg
    texts = svg_texts(svg)
    slide = read_svg(svg)
    assert slide.passes, (slide, slide.below())  # every text at least 18 pt once the drawing fills a 16:9 slide
    assert slide.aspect >= 1.0, slide  # landscape
    summary = summarize(model)
    by_name = {}
    for depth in range(1, 6):
        by_name.update({row.name: row for row in summarize(model, depth=depth).layers})
    every_row = [*summary.layers, *by_name.values()]
    if drawing.style == "blocks":
        for box in drawing.boxes[1:]:
            node = drawing.graph.node(box.nodes[-1])
            assert box.shape == node.output_shape
            layer = node.name
            inside = [row for row in summary.layers if row.name == layer or row.name.startswith(layer + ".")]
            last_call = inside or [by_name[layer]]
            assert box.shape == last_call[-1].output_shape or box.then, box  # folded layers keep the shape
            assert _shape_words(box.shape) in texts or f"output {_shape_words(box.shape)}" in texts, box
            assert any(text.startswith(box.title) for text in texts), box
        assert drawing.boxes[0].description == f"input {_shape_words(summary.input)}"
        assert drawing.boxes[-1].description == f"output {summary.layers[-1].output_shape[0]}"
    else:  # each node says its output shape, which is the summary's
        drawn = {text for text in texts if re.fullmatch(r"(output )?\d+(@\d+x\d+)?", text)}
        nodes = {_shape_words(node.output_shape) for node in drawing.graph.nodes if node.kind == "module"}
        assert nodes <= drawn | {text.removeprefix("output ") for text in drawn}
        flattened = {str(math.prod(layer.output_shape)) for layer in every_row}
        assert {_shape_words(node.output_shape) for node in drawing.graph.nodes} <= {
            _shape_words(layer.output_shape) for layer in every_row
        } | flattened | {_shape_words(summary.input)}
        assert any(block.width >= 3 for block in drawing.expanded)  # why it is drawn as a graph


def test_lenet5_is_drawn_as_its_papers_figure():
    drawing = cnnlab.draw("lenet5")
    words = [(box.title, box.description, box.operation) for box in drawing.boxes]
    assert words == [
        ("INPUT", "input 1@32x32", ""),
        ("C1", "feature maps 6@28x28", "5x5 convolution"),
        ("S2", "feature maps 6@14x14", "2x2 subsampling"),
        ("C3", "feature maps 16@10x10", "5x5 convolution"),
        ("S4", "feature maps 16@5x5", "2x2 subsampling"),
        ("C5", "layer 120", "5x5 convolution"),
        ("F6", "layer 84", "full connection"),
        ("OUTPUT", "output 10", "Gaussian connections"),
    ]
    texts = svg_texts(drawing.svg)
    assert {"C1: feature maps", "6@28x28", "C3: feature maps", "16@10x10", "F6: layer", "84"} <= set(texts)
    assert {"Gaussian", "connections", "subsampling"} <= set(texts)  # the arrows' words, on two lines


def test_alexnet_says_strides_and_folded_layers_and_resnet_is_drawn_by_stage():
    alexnet = {box.title: box for box in cnnlab.draw("alexnet").boxes}
    assert alexnet["conv1"].operation == "11x11 convolution, stride 4" and alexnet["conv1"].then == "ReLU, LRN"
    assert alexnet["pool1"].operation == "3x3 max pooling, stride 2"
    assert alexnet["conv3-conv4"].repeat == 2 and alexnet["conv5"].shape == (256, 13, 13)
    resnet = cnnlab.draw("resnet20")
    stages = [(box.title, box.description, box.operation) for box in resnet.boxes if box.repeat > 1]
    assert stages == [("stage 1", "feature maps 16@32x32", "residual blocks"),
                      ("stage 2", "feature maps 32@16x16", "stride 2"),
                      ("stage 3", "feature maps 64@8x8", "stride 2")]  # fmt: skip
    texts = svg_texts(resnet.svg)
    assert texts.count("x3") == 3 and sum("residual blocks" in t for t in texts) == 1
    assert not any("layer1" in text or "..." in text for text in texts)


@needs_dot
def test_googlenet_graph_collapses_the_stacks_and_expands_one_inception_module():
    drawing = cnnlab.draw("googlenet")
    texts = svg_texts(drawing.svg)
    assert {"Inception 3a-3b x2", "Inception 4a-4e x5", "832@14x14", "7x7/2 conv", "3x3/2 max pool"} <= set(texts)
    [inception] = drawing.expanded
    assert inception.within == "inception3a" and inception.width == 4
    assert "Inception 3a, opened" in texts and "concat" in texts
    assert {"1x1 conv, 64", "3x3 conv, 128", "5x5 conv, 32", "3x3 max pool", "1x1 conv, 32"} <= set(texts)
    assert "aux classifier" not in texts and drawing.aux == {}


@needs_dot
def test_resnet50_as_a_graph_shows_the_stages_and_a_block_with_its_shortcut():
    drawing = cnnlab.draw("resnet50", style="graph")
    texts = svg_texts(drawing.svg)
    assert [text for text in texts if text.startswith("stage ") and "blocks" in text] == [
        "stage 1: 3 bottleneck blocks", "stage 2: 4 bottleneck blocks", "stage 3: 6 bottleneck blocks",
        "stage 4: 3 bottleneck blocks"]  # fmt: skip
    [block] = drawing.expanded
    assert block.within == "layer1.1" and "stage 1: bottleneck block, identity shortcut" in texts and "+" in texts
    assert INPUT in block.predecessors("add")


@needs_dot
@pytest.mark.slow
def test_files_decode(tmp_path):
    drawing = cnnlab.draw("lenet5")
    check_picture(drawing.save(tmp_path / "lenet5.png"))
    assert drawing.save(tmp_path / "lenet5.pdf").read_bytes().startswith(b"%PDF")
    svg = drawing.save(tmp_path / "lenet5.svg").read_text()
    assert "C1: feature maps" in svg_texts(svg) and "<path" in svg
    graph = cnnlab.draw("googlenet")
    check_picture(graph.save(tmp_path / "googlenet.png"))
    assert graph.save(tmp_path / "googlenet.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "googlenet.pdf", "googlenet.png", "lenet5.pdf", "lenet5.png", "lenet5.svg"]  # fmt: skip
    with pytest.raises(ValueError, match="drawings are written as svg, png, pdf; out ends in .gif"):
        drawing.save(tmp_path / "lenet5.gif")
    assert drawing._repr_svg_().startswith("<?xml") and str(drawing) == "lenet5 at 1x32x32, blocks style: 8 boxes"


@needs_dot
def test_any_module_of_the_users_is_drawn_and_a_branching_one_as_a_graph():
    drawing = cnnlab.draw(TwoPaths(), (3, 16, 16))
    assert drawing.style == "graph" and {"8@16x16", "output 5", "input 3@16x16"} <= set(svg_texts(drawing.svg))
    with pytest.raises(ValueError, match="the blocks style draws a chain of layers; TwoPaths branches at "):
        cnnlab.draw(TwoPaths(), (3, 16, 16), style="blocks")
    chain = cnnlab.draw(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)), (1, 8, 8))
    assert [box.description for box in chain.boxes] == ["input 1@8x8", "feature maps 4@6x6", "output 2"]
    with pytest.raises(ValueError, match="pass input_size"):
        cnnlab.draw(TwoPaths())


def test_without_graphviz_the_graph_style_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(architecture_graph.shutil, "which", lambda _name: None)
    with pytest.raises(ValueError, match='Graphviz\'s dot program, which is not installed .* style="blocks"'):
        cnnlab.draw("googlenet").render("svg")
    assert "C1: feature maps" in svg_texts(cnnlab.draw("lenet5").svg)  # the blocks style needs nothing


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="style must be one of blocks, graph, got 'boxes'"):
        cnnlab.draw("lenet5", style="boxes")
