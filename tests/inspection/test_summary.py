"""The summary against known numbers, PyTorch's counters, and gradients (for receptive fields)."""

import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlab.inspection.receptive_field import GLOBAL, ReceptiveFieldTracker
from cnnlab.inspection.summary import meta_model, summarize
from cnnlab.models import create_model, get_spec, list_models


def _layer(summary, name):
    """The last call of the layer (a ResNet block calls its ReLU twice: the last is after the add)."""
    return [layer for layer in summary.layers if layer.name == name][-1]


def test_lenet5_rows_and_totals():
    summary = summarize("lenet5")
    assert [(r.name, r.output_shape) for r in summary.layers if r.type != "ScaledTanh"] == [
        ("c1", (6, 28, 28)), ("s2", (6, 14, 14)), ("c3", (16, 10, 10)), ("s4", (16, 5, 5)),
        ("c5", (120, 1, 1)), ("f6", (84,)), ("output", (10,)),
    ]  # fmt: skip
    assert [_layer(summary, n).params for n in ("c1", "s2", "c3", "s4", "c5", "f6")] == [
        156, 12, 1_516, 32, 48_120, 10_164,
    ]  # fmt: skip
    assert _layer(summary, "c5").rf == (32, 32)  # LeNet-5's C5 sees the whole 32x32 input
    assert (summary.trainable_params, summary.fixed_values) == (60_000, 840)
    assert _layer(summary, "c1").macs == 6 * 28 * 28 * 25 and _layer(summary, "c1").flops == 2 * 6 * 28 * 28 * 25
    assert _layer(summary, "c1").window == "5x5 s1"


def test_a_sparse_convolution_is_noted_with_its_papers_connection_count():
    # C3 is computed as one dense conv2d (240,000 MACs); LeNet-5's paper counts Table I's 151,600 connections.
    assert _layer(summarize("lenet5"), "c3").macs == 16 * 6 * 25 * 100
    (note,) = summarize("lenet5").notes
    assert note.startswith("c3: 240,000 MACs as computed") and "151,600 (150,000 multiply-accumulates" in note
    assert summarize(create_model("lenet5", c3="dense")).notes == [] and summarize("lenet5_modern").notes == []


@pytest.mark.parametrize("name", ["resnet18", "resnet20", "lenet5_modern", "locally_connected_net"])
def test_totals_equal_pytorchs_flop_counter_on_real_tensors(name):
    model = create_model(name).eval()
    x = torch.randn(1, *model.spec.input_size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    summary = summarize(name)
    assert summary.total_flops == counter.get_total_flops()
    assert summary.total_macs * 2 == summary.total_flops
    assert sum(layer.macs for layer in summary.layers) == summary.total_macs
    assert sum(layer.params for layer in summary.layers) == summary.total_params


@pytest.mark.parametrize(
    ("name", "layer", "field"),
    [
        ("alexnet", "features.pool5", 195),
        ("vgg16", "features.30", 212),
        ("lenet5", "c5", 32),
        # a residual add takes the larger field of its two paths: the widely quoted 435 and 427
        ("resnet18", "layer4.1.relu", 435),
        ("resnet50", "layer4.2.relu", 427),
    ],
)
def test_known_receptive_fields(name, layer, field):
    assert _layer(summarize(name), layer).rf == (field, field)


def test_an_inception_concat_takes_the_largest_branch_field():
    summary = summarize("googlenet")
    fields_3a = [row.rf[0] for row in summary.layers if row.name.startswith("inception3a.branch")]
    assert max(fields_3a) == _layer(summary, "inception3a.branch3.1.conv").rf[0]  # the 5x5 branch
    # 3b's 1x1 branch adds nothing to what it reads: the concat of 3a, whose field is the widest branch's
    assert _layer(summary, "inception3b.branch1.conv").rf[0] == max(fields_3a) > min(fields_3a)


def test_summary_of_a_trained_module_leaves_it_untouched():
    model = create_model("resnet20")
    before = model.conv1.weight.clone()
    summary = summarize(model)
    assert summary.model == "resnet20"
    assert torch.equal(model.conv1.weight, before) and not model.conv1.weight.is_meta


def test_other_input_sizes_and_bad_ones():
    assert summarize("resnet18", (3, 64, 64)).layers[0].output_shape == (64, 32, 32)
    with pytest.raises(ValueError, match="lenet5 needs an input from 1x32x32 to 1x35x35"):
        summarize("lenet5", (1, 28, 28))
    with pytest.raises(ValueError, match="unknown model 'resnet19'"):
        summarize("resnet19")


def test_json_form():
    data = json.loads(json.dumps(summarize("lenet5").to_dict()))
    assert data["model"] == "lenet5" and data["input"] == [1, 32, 32]
    assert data["total_params"] == 60_000 and data["total_macs"] == 415_680
    c5 = next(layer for layer in data["layers"] if layer["name"] == "c5")
    assert c5 == {"name": "c5", "type": "CoveringConv2d", "output_shape": [120, 1, 1], "params": 48_120,
                  "window": "5x5 s1", "macs": 48_000, "flops": 96_000, "rf": 32, "jump": 4}  # fmt: skip
    assert next(layer for layer in data["layers"] if layer["name"] == "f6")["jump"] is None


@pytest.mark.parametrize("name", list_models())
def test_every_model_summarizes_with_the_flop_counters_totals(name):
    summary = summarize(name)
    assert summary.layers and summary.total_macs > 0
    assert summary.trainable_params == get_spec(name).params
    model = meta_model(name).eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, *model.spec.input_size, device="meta"))
    assert summary.total_flops == counter.get_total_flops()


# ---------------------------------------------------------------------------------------------
# receptive fields of branches and shortcuts, checked against what the gradient reaches


class Inceptionish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.one = nn.Conv2d(2, 2, 1)
        self.five = nn.Conv2d(2, 2, 5, padding=2)
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.wide = nn.Conv2d(2, 2, (1, 7), padding=(0, 3))

    def forward(self, x):
        x = self.stem(x)
        return torch.cat([self.one(x), self.five(x), self.pool(x), self.wide(x)], 1)


class Residualish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.project = nn.Conv2d(4, 4, 1, stride=2)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b(torch.relu(self.a(x)))
        return self.down(x) + self.project(x)


@pytest.mark.parametrize("net", [Inceptionish(), Residualish()])
def test_merged_fields_are_exactly_what_the_gradient_reaches(net):
    net = net.double()
    for p in net.parameters():
        nn.init.constant_(p, 0.1)  # positive weights: nothing cancels, so gradients show reach
    x = torch.ones(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    tracker = ReceptiveFieldTracker()
    tracker.watch(x)
    with tracker:
        out = net(x)
    field_h, field_w = tracker.field(out)
    u, v = out.shape[2] // 2, out.shape[3] // 2
    out[0, :, u, v].sum().backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    for field, touched, unit in ((field_h, rows, u), (field_w, cols, v)):
        centre = field.start + unit * field.jump
        assert touched.min().item() == centre - (field.size - 1) / 2
        assert touched.max().item() == centre + (field.size - 1) / 2


def test_flatten_sees_everything_and_unknown_ops_are_unknown():
    tracker = ReceptiveFieldTracker()
    x = torch.zeros(1, 1, 8, 8)
    tracker.watch(x)
    with tracker:
        flat = torch.flatten(x, 1)
        up = nn.functional.conv_transpose2d(x, torch.zeros(1, 1, 2, 2), stride=2)
    assert tracker.field(flat) is GLOBAL
    assert tracker.field(up) is None


@pytest.mark.parametrize(
    ("name", "depth", "rows"), [("inception_v3", 1, 21), ("resnet20", 2, 14), ("googlenet", 1, None)]
)
def test_depth_groups_the_rows_by_block_and_keeps_the_totals(name, depth, rows):
    flat, grouped = summarize(name), summarize(name, depth=depth)
    assert len(grouped.layers) < len(flat.layers) and (rows is None or len(grouped.layers) == rows)
    assert sum(layer.params for layer in grouped.layers) == sum(layer.params for layer in flat.layers)
    assert sum(layer.macs for layer in grouped.layers) == grouped.total_macs == flat.total_macs
    assert all(layer.name.count(".") < depth for layer in grouped.layers)
    blocks = {layer.name: layer for layer in grouped.layers}
    if name == "inception_v3":  # a block's output and field are its own: its concatenation's
        assert blocks["Mixed_5b"].output_shape == (256, 35, 35) and blocks["Mixed_5b"].type == "InceptionA"
        inside = [layer.rf for layer in flat.layers if layer.name.startswith("Mixed_5b.")]
        assert blocks["Mixed_5b"].rf == max(inside)  # the union of its branches' fields


def test_bad_depths_and_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="depth: expected a positive whole number, got 0"):
        summarize("lenet5", depth=0)
    with pytest.raises(ValueError, match="unknown model 'nowhere'"):
        summarize("nowhere")
    with pytest.raises(
        TypeError, match="cannot summarize an object of type 'object': expected a model name, a run or an nn.Module"
    ):
        summarize(object())  # type: ignore[arg-type]
