"""Layers with feature maps: shapes and fields against real forward passes and gradients; what `all` means."""

import pytest
import torch
from torch import nn

from cnnlab.inspection.feature_maps import (
    capture,
    choose_layers,
    field_box,
    kernel_layers,
    kernels,
    map_layers,
    one_per_resolution,
    shown_layers,
)
from cnnlab.inspection.mistakes import examine
from cnnlab.inspection.receptive_field import GLOBAL
from cnnlab.inspection.summary import summarize
from cnnlab.models import create_model


@pytest.fixture(scope="module")
def resnet20():
    torch.manual_seed(0)
    return create_model("resnet20").eval()


@pytest.fixture(scope="module")
def lenet5():
    torch.manual_seed(0)
    return create_model("lenet5").eval()


def test_lenet5_layers_and_what_all_means(lenet5):
    layers = {layer.name: layer for layer in map_layers(lenet5, (1, 32, 32))}
    assert {n: layers[n].output_shape for n in ("c1", "s2", "c3", "s4", "c5", "f6")} == {
        "c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5), "c5": (120, 1, 1), "f6": (84,),
    }  # fmt: skip
    assert layers["squash"].calls == 6 and not layers["squash"].shown  # one module, called after every layer
    assert [layer.name for layer in shown_layers(layers.values())] == ["c1", "s2", "c3", "s4", "c5"]
    assert layers["f6"].field is GLOBAL
    assert [layer.name for layer in one_per_resolution(layers.values())] == ["c1", "s2", "c3", "s4"]


def test_all_is_convolutions_pooling_and_blocks(resnet20):
    layers = map_layers(resnet20, (3, 32, 32))
    shown = [layer.name for layer in shown_layers(layers)]
    assert "layer1.0" in shown and "layer1.0.conv1" in shown and "conv1" in shown
    assert not any(name.endswith(("bn1", "relu")) for name in shown)
    assert "layer1" not in shown  # a plain Sequential: its output is its last block's
    assert len(shown) == 19 + 9  # every convolution and every residual block
    assert [layer.name for layer in one_per_resolution(layers)] == ["conv1", "layer1.2", "layer2.2", "layer3.2"]


@pytest.mark.parametrize("name", ["googlenet", "alexnet", "inception_v3"])
def test_overview_goes_from_large_to_small_maps(name):
    from cnnlab.inspection.summary import meta_model

    model = meta_model(name)
    picked = one_per_resolution(map_layers(model, model.spec.input_size))
    areas = [layer.output_shape[1] * layer.output_shape[2] for layer in picked[1:]]
    assert areas == sorted(areas, reverse=True) and len(set(areas)) == len(areas)
    assert 3 <= len(picked) <= 6


def test_shapes_equal_the_captured_outputs_and_fields_equal_the_summary(resnet20):
    layers = map_layers(resnet20, (3, 32, 32))
    shown = shown_layers(layers)
    maps = capture(resnet20, torch.randn(1, 3, 32, 32), [layer.name for layer in shown])
    assert all(tuple(maps[layer.name].shape[1:]) == layer.output_shape for layer in shown)
    rows = {row.name: row for row in summarize(resnet20, (3, 32, 32)).layers}  # leaf layers only
    for layer in shown:
        if layer.name in rows:
            fields = layer.field
            assert rows[layer.name].rf == (fields[0].size, fields[1].size)
            assert rows[layer.name].jump == (fields[0].jump, fields[1].jump)


def test_capture_keeps_outputs_that_an_in_place_relu_changes_later():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True))
    x = torch.randn(1, 1, 8, 8)
    kept = capture(model, x, ["0"])["0"]
    assert torch.equal(kept, model[0](x)) and (kept < 0).any()


@pytest.mark.parametrize(("layer", "unit"), [("layer2.1", (3, 5)), ("layer3.0", (0, 0)), ("layer1.2.conv1", (31, 7))])
def test_the_box_is_where_the_gradient_reaches(resnet20, layer, unit):
    """Positive weights: nothing cancels, and the gradient's support is the field, clipped to the image."""
    model = create_model("resnet20").double().eval()
    for p in model.parameters():
        nn.init.constant_(p, 0.01)
    info = choose_layers(map_layers(model, (3, 32, 32)), [layer])[0]
    box = field_box(info, unit, (32, 32))
    x = torch.ones(1, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    capture_out = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(lambda m, i, o: capture_out.setdefault("y", o))
    model(x)
    handle.remove()
    capture_out["y"][0, :, unit[0], unit[1]].sum().backward()
    rows = torch.nonzero(x.grad[0].abs().sum((0, 2))).flatten()
    cols = torch.nonzero(x.grad[0].abs().sum((0, 1))).flatten()
    assert (rows.min().item(), cols.min().item(), rows.max().item(), cols.max().item()) == box.clipped


def test_box_arithmetic_padding_and_units_outside():
    layers = {layer.name: layer for layer in map_layers(create_model("lenet5"), (1, 32, 32))}
    box = field_box(layers["s4"], (4, 4), (32, 32))  # field 16, jump 4, first centre 7.5
    assert box.centre == (23.5, 23.5) and box.size == (16, 16) and box.clipped == (16, 16, 31, 31)
    assert not box.extends_past_input
    with pytest.raises(ValueError, match=r"unit \(5, 0\) is outside s4's 5x5 map \(rows 0-4, columns 0-4\)"):
        field_box(layers["s4"], (5, 0), (32, 32))
    with pytest.raises(ValueError, match="f6 outputs no feature maps"):
        field_box(layers["f6"], (0, 0), (32, 32))
    resnet = {layer.name: layer for layer in map_layers(create_model("resnet20"), (3, 32, 32))}
    corner = field_box(resnet["layer3.2"], (0, 0), (32, 32))  # field 81 centred on pixel 0
    assert corner.outside == (40, 40, 9, 9) and corner.extends_past_input and corner.clipped == (0, 0, 31, 31)


def test_choose_layers_says_what_exists(lenet5):
    layers = map_layers(lenet5, (1, 32, 32))
    with pytest.raises(
        ValueError, match=r"lenet5 has no layer 'c4'; did you mean .*Layers with feature maps: c1, squash"
    ):
        choose_layers(layers, ["c4"], "lenet5")
    with pytest.raises(ValueError, match="f6 \\(Linear\\) outputs a vector of 84, not feature maps"):
        choose_layers(layers, ["f6"])
    assert [layer.name for layer in choose_layers(layers, ["c3", "all", "squash"])] == [
        "c3", "c1", "s2", "s4", "c5", "squash",
    ]  # fmt: skip


def test_kernels_of_every_kind_of_layer():
    lenet = kernel_layers(create_model("lenet5"))
    assert list(lenet) == ["c1", "c3", "c5"]
    dense, note = kernels(lenet["c3"])
    assert dense.shape == (16, 6, 5, 5) and "zeros" in note
    assert (dense.abs().sum((2, 3)) == 0).sum() == 16 * 6 - 60  # Table I leaves out 36 of the 96 pairs
    local, note = kernels(kernel_layers(create_model("locally_connected_net"))["c1"])
    assert local.shape == (6, 1, 5, 5) and "centre position" in note


def test_examine_finds_the_worst_images_and_the_confusion():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x = torch.randn(20, 1, 2, 2)
    y = torch.randint(0, 3, (20,))
    batches = [(x[:7], y[:7]), (x[7:], y[7:])]
    result = examine(model, batches, 3, worst=5)
    losses = nn.functional.cross_entropy(model(x), y, reduction="none")
    assert [m.index for m in result.worst] == losses.argsort(descending=True)[:5].tolist()
    assert result.count == 20 and result.confusion.sum(1).tolist() == torch.bincount(y, minlength=3).tolist()
    assert result.loss == pytest.approx(losses.mean().item())
    assert torch.equal(result.worst[0].image, x[result.worst[0].index])
