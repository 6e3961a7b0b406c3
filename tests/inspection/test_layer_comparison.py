"""The FC / LC / conv comparison against real modules: parameter counts and FLOP counts."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnlab import compare_layers
from cnnlab.layers.locally_connected import LocallyConnected2d

SETTINGS = [
    ((1, 32, 32), 6, 5, 1, 0, 1),  # LeNet-5 C1
    ((3, 32, 32), 16, 3, 1, 1, 1),
    ((2, 11, 9), 4, 3, 2, 1, 2),
]


def _counted_macs(module, x):
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2  # a multiply-accumulate is two FLOPs


@pytest.mark.parametrize(("shape", "out_c", "k", "s", "p", "d"), SETTINGS)
def test_numbers_equal_real_modules(shape, out_c, k, s, p, d):
    comparison = compare_layers(shape, out_c, k, s, p, d)
    fully, local, conv = comparison.layers
    out_numel = 1
    for n in comparison.output_shape:
        out_numel *= n
    in_numel = shape[0] * shape[1] * shape[2]
    x = torch.randn(1, *shape)
    modules = {
        fully: torch.nn.Linear(in_numel, out_numel),
        local: LocallyConnected2d(shape[0], out_c, shape[1:], k, s, p, d),
        conv: torch.nn.Conv2d(shape[0], out_c, k, s, p, d),
    }
    for cost, module in modules.items():
        assert cost.weights == module.weight.numel()
        assert cost.biases == module.bias.numel()
        assert cost.params == sum(t.numel() for t in module.parameters())
        inputs = x.flatten(1) if cost.name == "fully connected" else x
        assert cost.macs == _counted_macs(module, inputs)
    assert tuple(modules[conv](x).shape[1:]) == comparison.output_shape
    assert local.receptive_field == conv.receptive_field == ((k - 1) * d + 1,) * 2
    assert fully.receptive_field == shape[1:]


def test_lenet_c1_numbers():
    fully, local, conv = compare_layers((1, 32, 32), 6, 5).layers
    assert conv.params == 156  # the paper's C1
    assert local.params == 122_304  # = C1's connections: each one its own weight
    assert fully.weights == 1024 * 6 * 28 * 28
    assert local.macs == conv.macs == 117_600


def test_to_dict_has_params_per_layer():
    data = compare_layers((1, 8, 8), 2, 3).to_dict()
    assert data["output_shape"] == (2, 6, 6)
    assert [row["params"] for row in data["layers"]] == [64 * 72 + 72, 36 * 2 * 9 + 72, 2 * 9 + 2]


def test_impossible_settings_raise():
    with pytest.raises(ValueError, match="kernel 5 is larger than the padded input 4"):
        compare_layers((1, 4, 4), 1, 5)
    with pytest.raises(ValueError, match="positive"):
        compare_layers((0, 4, 4), 1, 3)
