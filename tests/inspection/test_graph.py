"""trace_graph: what feeds what, with every number from the summary."""

import math
from collections import defaultdict

import pytest

from cnnlab.inspection.graph import INPUT, OUTPUT, trace_graph
from cnnlab.inspection.summary import summarize
from cnnlab.models import list_models
from tests._networks import TwoPaths


def _summary_rows(model: str, names: set[str]) -> dict[str, list]:
    """Each name's rows, one per call, from `cnnlab summary` at the name's own depth."""
    rows: dict[str, list] = defaultdict(list)
    for depth in sorted({name.count(".") + 1 for name in names}):
        for row in summarize(model, depth=depth).layers:
            if row.name in names and row.name.count(".") + 1 == depth:
                rows[row.name].append(row)
    return rows


@pytest.mark.parametrize("model", list_models())
def test_every_node_carries_the_summarys_numbers(model):
    graph = trace_graph(model)
    modules = [node for node in graph.nodes if node.kind == "module"]
    rows = _summary_rows(model, {node.name for node in modules})
    calls: dict[str, int] = defaultdict(int)
    for node in modules:
        row = rows[node.name][calls[node.name]]
        calls[node.name] += 1
        assert (node.output_shape, node.params, node.window, node.macs) == (
            row.output_shape, row.params, row.window, row.macs), node.id  # fmt: skip
    # parameters: every one is in exactly one node (a module called twice counts once)
    assert sum(node.params for node in modules) == graph.summary.total_params
    # what an edge carries is what its source gives, or that flattened (a classifier's input)
    shapes = {node.id: node.output_shape for node in graph.nodes}
    for edge in graph.edges:
        assert edge.shape == shapes[edge.source] or edge.shape == (math.prod(shapes[edge.source]),), edge
    assert graph.nodes[0].id == INPUT and graph.nodes[-1].id == OUTPUT
    assert graph.nodes[-1].output_shape == (graph.summary.layers[-1].output_shape)


def test_lenet5_is_a_chain_of_its_seven_layers_and_the_squashing_folds_away():
    graph = trace_graph("lenet5")
    assert graph.is_chain and graph.width == 1
    folded = graph.folded()
    assert [node.id for node in folded.nodes] == [INPUT, "c1", "s2", "c3", "s4", "c5", "f6", "output", OUTPUT]
    assert all(node.folded == ("ScaledTanh",) for node in folded.nodes[1:7])
    assert [node.id for node in graph.nodes].count("squash#5") == 1  # called five times: five nodes


def test_an_inception_module_is_four_branches_and_a_concatenation():
    graph = trace_graph("googlenet", within="inception3a").folded()
    concat = graph.node("concat")
    assert graph.width == 4 and concat.output_shape == (256, 28, 28)
    inputs = [graph.node(source).output_shape[0] for source in graph.predecessors("concat")]
    assert inputs == [64, 128, 32, 32]  # 1x1, 3x3, 5x5 and pool projection: the paper's Table 1
    assert len(graph.successors(INPUT)) == 4 and graph.block_type == "Inception"
    windows = [graph.node(source).window for source in graph.predecessors("concat")]
    assert windows == ["1x1 s1", "3x3 s1 p1", "5x5 s1 p2", "1x1 s1"]
    assert graph.node("inception3a.branch2.1.conv").folded == ("ReLU",)  # the ConvBlock's F.relu


def test_a_residual_block_adds_its_shortcut():
    graph = trace_graph("resnet20", within="layer2.0").folded()
    assert graph.width == 2
    add = graph.node("add")
    sources = graph.predecessors("add")
    assert "layer2.0.downsample" in sources and add.output_shape == (32, 16, 16) and add.folded == ("ReLU",)
    plain = trace_graph("plain20", within="layer2.0").folded()
    assert plain.is_chain and not any(node.kind == "function" for node in plain.nodes)


def test_runs_of_blocks_collapse_per_stage():
    resnet = trace_graph("resnet50").folded().collapsed()
    stages = [node for node in resnet.nodes if node.repeat > 1]
    assert [(node.id, node.repeat) for node in stages] == [
        ("layer1.0..layer1.2", 3),
        ("layer2.0..layer2.3", 4),
        ("layer3.0..layer3.5", 6),
        ("layer4.0..layer4.2", 3),
    ]
    assert stages[1].member_shapes == ((512, 28, 28),) * 4
    googlenet = trace_graph("googlenet").folded().collapsed()
    stack = googlenet.node("inception4a..inception4e")
    assert stack.repeat == 5 and [shape[0] for shape in stack.member_shapes] == [512, 512, 512, 528, 832]
    vgg = trace_graph("vgg16").folded().collapsed(same_shape=True)
    assert [node.repeat for node in vgg.nodes if node.type == "Conv2d"] == [2, 2, 3, 3, 3]


def test_blocks_names_one_of_each_kind_the_fullest():
    assert trace_graph("resnet20").blocks() == ["layer2.0"]  # the first block with a shortcut module
    assert trace_graph("googlenet").blocks() == ["conv1", "inception3a"]
    assert trace_graph("vgg16").blocks() == []


def test_any_module_of_the_users_with_a_branch():
    graph = trace_graph(TwoPaths(), (3, 16, 16))
    assert not graph.is_chain and graph.width == 2
    assert graph.predecessors("add") == ["left", "right"] and graph.node("add").folded == ("ReLU",)
    assert graph.successors("add") == ["head"] and graph.node("head").params == 8 * 16 * 16 * 5 + 5


def test_within_names_a_block_or_is_refused():
    with pytest.raises(ValueError, match="within: 'nothing' is not a block of googlenet; blocks: "):
        trace_graph("googlenet", within="nothing")
    with pytest.raises(ValueError, match="needs an input of at least"):
        trace_graph("vgg16", (3, 8, 8))
