"""LeNet-5 against the paper's numbers (Sec. II-B) and the baselines of the lecture's comparison."""

import pytest
import torch

from cnnlab.layers.lenet import EuclideanRBF, ScaledTanh, SparseConv2d, TrainableSubsampling
from cnnlab.models import create_model

PAPER_LAYER_PARAMS = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}
PAPER_CONNECTIONS = {"c1": 122_304, "s2": 5_880, "c3": 151_600, "s4": 2_000, "c5": 48_120, "f6": 10_164}


def _params(module):
    return sum(p.numel() for p in module.parameters())


def test_every_layer_has_the_papers_parameter_count():
    model = create_model("lenet5")
    assert {name: _params(getattr(model, name)) for name in PAPER_LAYER_PARAMS} == PAPER_LAYER_PARAMS
    assert _params(model) == 60_000
    assert isinstance(model.output, EuclideanRBF) and model.output.prototypes.numel() == 840


def test_connections_add_up_to_340908():
    # connections = parameters x positions where each is used (Sec. II-B); plus 840 for the RBF output
    model = create_model("lenet5")
    sizes = {}
    hooks = [
        getattr(model, n).register_forward_hook(lambda m, i, o, n=n: sizes.update({n: o.shape}))
        for n in PAPER_CONNECTIONS
    ]
    model(torch.zeros(1, 1, 32, 32))
    for hook in hooks:
        hook.remove()
    positions = {name: shape[2] * shape[3] if len(shape) == 4 else 1 for name, shape in sizes.items()}
    per_unit = {"c1": 26, "s2": 5, "c3": 1_516 // 16, "s4": 5, "c5": 401, "f6": 121}
    connections = {n: per_unit[n] * positions[n] * sizes[n][1] for n in PAPER_CONNECTIONS}
    connections["c3"] = 1_516 * positions["c3"]  # C3's maps read different numbers of S2 maps
    assert connections == PAPER_CONNECTIONS
    assert sum(connections.values()) + 840 == 340_908


def test_layers_are_the_papers_kinds():
    model = create_model("lenet5")
    assert isinstance(model.s2, TrainableSubsampling) and isinstance(model.s4, TrainableSubsampling)
    assert isinstance(model.c3, SparseConv2d) and len(model.c3.flat_index) == 60
    assert isinstance(model.squash, ScaledTanh)


def test_initialisation_is_uniform_within_2_4_over_fan_in():
    torch.manual_seed(0)
    model = create_model("lenet5")
    for layer, fan_in in ((model.c1, 25), (model.c5, 400), (model.f6, 120)):
        assert layer.weight.abs().max() <= 2.4 / fan_in
        assert layer.weight.abs().max() > 0.8 * 2.4 / fan_in  # spread over the whole interval
    assert model.s2.weight.abs().max() <= 0.6


def test_rbf_logits_are_negative_squared_distances():
    model = create_model("lenet5").eval()
    x = torch.randn(3, 1, 32, 32)
    features = model.forward_head(model.forward_features(x), pre_logits=True)
    torch.testing.assert_close(model(x), -(torch.cdist(features, model.output.prototypes) ** 2), rtol=1e-4, atol=1e-3)


def test_linear_head_option():
    model = create_model("lenet5", head="linear")
    assert isinstance(model.output, torch.nn.Linear) and _params(model) == 60_000 + 850
    with pytest.raises(ValueError, match="head must be 'rbf'"):
        create_model("lenet5", head="softmax")


def test_rbf_with_other_class_counts_uses_fixed_codes():
    model = create_model("lenet5", num_classes=26)
    assert model.output.prototypes.shape == (26, 84)
    assert set(model.output.prototypes.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(model.output.prototypes, create_model("lenet5", num_classes=26).output.prototypes)


def test_the_lectures_fc_lc_conv_ladder_in_parameters():
    counts = {n: _params(create_model(n)) for n in ("mlp", "locally_connected_net", "lenet5_modern")}
    assert counts == {"mlp": 338_610, "locally_connected_net": 423_038, "lenet5_modern": 61_706}
    lc, conv = create_model("locally_connected_net"), create_model("lenet5_modern")
    # same topology: sharing the weights of C1 divides them by the 28x28 positions
    assert _params(lc.c1) == 28 * 28 * _params(conv.c1)
    assert _params(lc.c3) == 10 * 10 * _params(conv.c3)


def test_input_sizes_are_computed():
    assert create_model("lenet5").input_size_range() == ((32, 35), (32, 35))
    assert create_model("locally_connected_net").input_size_range() == ((32, 32), (32, 32))
    with pytest.raises(ValueError, match=r"lenet5 needs an input from 1x32x32 to 1x35x35 .*got 1x28x28"):
        create_model("lenet5")(torch.zeros(1, 1, 28, 28))


# LeNet-1: LeCun et al. 1990 (NIPS 2) give "2578 independent parameters" and "98442 connections"; LeCun et al.
# 1998, Sec. III-C.7, "about 2600" free parameters.
LENET1_LAYER_PARAMS = {"c1": 104, "s2": 8, "c3": 512, "s4": 24, "output": 1_930}
LENET1_CONNECTIONS = {"c1": 59_904, "s2": 2_880, "c3": 32_768, "s4": 960, "output": 1_930}


def _connections(model, names, size):
    """Parameters x the positions where each is used (a layer's output positions), as the papers count them."""
    shapes = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: shapes.update({n: o.shape})) for n in names]
    model(torch.zeros(1, 1, size, size))
    for hook in hooks:
        hook.remove()
    connections = {}
    for name in names:
        layer, shape = getattr(model, name), shapes[name]
        positions = shape[2] * shape[3] if len(shape) == 4 else 1
        subsampling = isinstance(layer, TrainableSubsampling)  # a unit: 4 inputs and a bias
        connections[name] = shape[1] * positions * 5 if subsampling else _params(layer) * positions
    return connections


def test_lenet1_has_the_papers_2578_parameters_and_98442_connections():
    model = create_model("lenet1")
    assert {name: _params(getattr(model, name)) for name in LENET1_LAYER_PARAMS} == LENET1_LAYER_PARAMS
    assert _params(model) == 2_578 == model.spec.params and abs(_params(model) - 2_600) < 50  # 1998: "about 2600"
    assert _connections(model, LENET1_CONNECTIONS, 28) == LENET1_CONNECTIONS
    assert sum(LENET1_CONNECTIONS.values()) == 98_442


def test_lenet1_h3_reads_one_or_two_h2_maps_and_every_h2_map_five_times():
    mask = create_model("lenet1").c3.mask  # (H2 maps, H3 maps)
    assert mask.shape == (4, 12) and int(mask.sum()) == 20
    assert sorted(mask.sum(0).tolist()) == [1] * 4 + [2] * 8 and mask.sum(1).tolist() == [5, 5, 5, 5]


def test_lenet1_sizes_and_inputs():
    model = create_model("lenet1")
    assert model.input_size_range() == ((28, 31), (28, 31))
    assert model.forward_features(torch.zeros(2, 1, 28, 28)).shape == (2, 12, 4, 4)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_lenet4_is_described_layer_by_layer_and_counts_51090_not_the_papers_17000():
    model = create_model("lenet4")
    layers = {"c1": 104, "s2": 8, "c3": 1_616, "s4": 32, "c5": 48_120, "output": 1_210}
    assert {name: _params(getattr(model, name)) for name in layers} == layers
    assert _params(model) == 51_090 == model.spec.params  # Sec. III-C.8: "about 17,000"; see LeNet4's docstring
    sizes = {}
    hooks = [getattr(model, n).register_forward_hook(lambda m, i, o, n=n: sizes.update({n: tuple(o.shape[1:])}))
             for n in ("c1", "s2", "c3", "s4", "c5")]  # fmt: skip
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    for hook in hooks:
        hook.remove()
    assert sizes == {"c1": (4, 28, 28), "s2": (4, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5), "c5": (120, 1, 1)}


@pytest.mark.parametrize("name", ["lenet1", "lenet4"])
def test_the_early_lenets_start_uniform_in_2_4_over_fan_in(name):
    model = create_model(name)
    weight = model.c1.weight.detach()
    assert float(weight.abs().max()) <= 2.4 / 25 and float(weight.abs().max()) > 0.8 * 2.4 / 25
    assert float(model.output.weight.detach().abs().max()) <= 2.4 / model.output.in_features
