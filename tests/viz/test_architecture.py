"""cnnlab.draw: the papers' boxes and the graph with its blocks expanded, the numbers being the summary's."""

import math
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from torch import nn

import cnnlab
from cnnlab.inspection.summary import summarize
from cnnlab.models import list_models
from cnnlab.viz import architecture_graph
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
    texts = svg_texts(drawing.svg)
    summary = summarize(model)
    by_name = {}
    for depth in range(1, 6):
        by_name.update({row.name: row for row in summarize(model, depth=depth).layers})
    every_row = [*summary.layers, *by_name.values()]
    shapes = {"x".join(map(str, layer.output_shape)) for layer in every_row}
    if drawing.style == "blocks":
        for box in drawing.boxes[1:]:
            node = drawing.graph.node(box.nodes[-1])
            assert box.shape == node.output_shape
            layer = node.name
            inside = [row for row in summary.layers if row.name == layer or row.name.startswith(layer + ".")]
            last_call = inside or [by_name[layer]]
            assert box.shape == last_call[-1].output_shape or box.then, box  # folded layers keep the shape
            assert box.description in texts and box.title in texts, box
        assert drawing.boxes[0].description == f"input {_shape_words(summary.input)}"
        assert drawing.boxes[-1].description == f"output {summary.layers[-1].output_shape[0]}"
    else:
        edges = {edge.shape_text for graph in (drawing.graph, *drawing.expanded) for edge in graph.edges}
        assert {text for text in texts if re.fullmatch(r"\d+(x\d+)*", text)} == edges
        flattened = {str(math.prod(layer.output_shape)) for layer in every_row}
        assert edges <= shapes | flattened | {"x".join(map(str, summary.input))}
        params = {f"{node.params:,} params" for node in drawing.graph.nodes if node.params}
        assert params <= set(texts)
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
    assert "feature maps 6@28x28" in texts and "Gaussian connections" in texts and "then tanh" in texts


def test_alexnet_says_strides_and_folded_layers_and_resnet_is_drawn_by_stage():
    alexnet = {box.title: box for box in cnnlab.draw("alexnet").boxes}
    assert alexnet["conv1"].operation == "11x11 convolution, stride 4" and alexnet["conv1"].then == "ReLU, LRN"
    assert alexnet["pool1"].operation == "3x3 max pooling, stride 2"
    assert alexnet["conv3-conv4"].repeat == 2 and alexnet["conv5"].shape == (256, 13, 13)
    resnet = cnnlab.draw("resnet20")
    stages = [(box.title, box.description, box.operation) for box in resnet.boxes if box.repeat > 1]
    assert stages == [("layer1", "feature maps 16@32x32", "3 residual blocks"),
                      ("layer2", "feature maps 32@16x16", "3 residual blocks"),
                      ("layer3", "feature maps 64@8x8", "3 residual blocks")]  # fmt: skip
    assert "x3" in svg_texts(resnet.svg)


@needs_dot
def test_googlenet_graph_collapses_the_stacks_and_expands_one_inception_module():
    drawing = cnnlab.draw("googlenet")
    texts = svg_texts(drawing.svg)
    assert "Inception x5" in texts and "channels 512, 512, 512, 528, 832" in texts
    [inception] = drawing.expanded
    assert inception.within == "inception3a" and inception.width == 4
    assert "Inception (inception3a, one of 9), expanded" in texts and "concat" in texts
    for branch in ("branch1.conv", "branch2.1.conv", "branch3.1.conv", "branch4.0"):
        assert branch in texts
    assert "Conv2d 5x5 s1 p2" in texts and "then ReLU" in texts


@needs_dot
def test_resnet50_as_a_graph_shows_the_stages_and_a_block_with_its_shortcut():
    drawing = cnnlab.draw("resnet50", style="graph")
    texts = svg_texts(drawing.svg)
    assert [text for text in texts if text.startswith("Bottleneck x")] == [
        "Bottleneck x3", "Bottleneck x4", "Bottleneck x6", "Bottleneck x3"]  # fmt: skip
    [block] = drawing.expanded
    assert block.within == "layer1.0" and "downsample.0" in texts and "+" in texts


@needs_dot
@pytest.mark.slow
def test_files_decode(tmp_path):
    drawing = cnnlab.draw("lenet5")
    check_picture(drawing.save(tmp_path / "lenet5.png"))
    assert drawing.save(tmp_path / "lenet5.pdf").read_bytes().startswith(b"%PDF")
    svg = drawing.save(tmp_path / "lenet5.svg").read_text()
    assert "C1" in svg_texts(svg) and "<path" in svg
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
    assert drawing.style == "graph" and {"8x16x16", "2048", "3x16x16"} <= set(svg_texts(drawing.svg))
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
    assert "C1" in svg_texts(cnnlab.draw("lenet5").svg)  # the blocks style needs nothing


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="style must be one of blocks, graph, got 'boxes'"):
        cnnlab.draw("lenet5", style="boxes")
