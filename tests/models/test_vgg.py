"""VGG against Table 1 of the paper (paper_facts §3) and torchvision's VGGs as the oracle."""

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.models import create_model, load_torchvision_weights
from cnnlab.models.vgg import CONFIGS, VGG, make_features

# name -> (Table 1 column, weight layers, parameters at 1000 classes: paper_facts §3.3)
PLAIN = {
    "vgg11": ("A", 11, 132_863_336),
    "vgg11_lrn": ("A-LRN", 11, 132_863_336),
    "vgg13": ("B", 13, 133_047_848),
    "vgg16_c": ("C", 16, 133_638_952),
    "vgg16": ("D", 16, 138_357_544),
    "vgg19": ("E", 19, 143_667_240),
}
BN = {"vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736, "vgg16_c_bn": 133_647_400, "vgg16_bn": 138_365_992,
      "vgg19_bn": 143_678_248}  # fmt: skip
TORCHVISION = ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]


def on_meta(name, **kwargs):
    """The model without allocating its 130M+ parameters: shapes and counts only."""
    with torch.device("meta"):
        return create_model(name, **kwargs)


def _params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", PLAIN)
def test_weight_layers_and_parameters_per_column(name):
    _, weight_layers, params = PLAIN[name]
    model = on_meta(name)
    assert sum(isinstance(m, nn.Conv2d | nn.Linear) for m in model.modules()) == weight_layers
    assert _params(model) == params


@pytest.mark.parametrize("name", BN)
def test_batch_norm_adds_a_scale_and_a_shift_per_conv_channel(name):
    model, plain = on_meta(name), on_meta(name.removesuffix("_bn"))
    channels = sum(m.out_channels for m in plain.modules() if isinstance(m, nn.Conv2d))
    assert _params(model) == _params(plain) + 2 * channels == BN[name]
    # BN sits between each conv and its ReLU.
    features = list(model.features)
    for index, module in enumerate(features):
        if isinstance(module, nn.Conv2d):
            assert isinstance(features[index + 1], nn.BatchNorm2d) and isinstance(features[index + 2], nn.ReLU)


def test_classifier_layers_have_the_papers_sizes():
    model = on_meta("vgg16")
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
    assert [_params(m) for m in linears] == [102_764_544, 16_781_312, 4_097_000]


@pytest.mark.parametrize("name", [*PLAIN, *BN])
def test_features_are_512x7x7_at_224_and_halve_at_every_pool(name):
    model = on_meta(name)
    x = torch.empty(1, 3, 224, 224, device="meta")
    sizes = []
    for module in model.features:
        x = module(x)
        if isinstance(module, nn.MaxPool2d):
            sizes.append(x.shape[-1])
    assert sizes == [112, 56, 28, 14, 7]
    assert tuple(x.shape) == (1, 512, 7, 7)
    assert model.feature_size(224, 224) == (7, 7)


def test_every_conv_keeps_the_size_with_stride_1():
    for name in ("vgg16_c", "vgg19"):
        for conv in (m for m in on_meta(name).modules() if isinstance(m, nn.Conv2d)):
            assert conv.stride == (1, 1) and conv.padding == (conv.kernel_size[0] // 2,) * 2


def test_config_c_closes_the_last_three_blocks_with_1x1_convs():
    kernels_per_block, block = [], []
    for module in on_meta("vgg16_c").features:
        if isinstance(module, nn.Conv2d):
            block.append(module.kernel_size[0])
        elif isinstance(module, nn.MaxPool2d):
            kernels_per_block.append(block)
            block = []
    assert kernels_per_block == [[3, 3], [3, 3], [3, 3, 1], [3, 3, 1], [3, 3, 1]]
    # D is C with 3x3 instead of 1x1: same layers, more parameters.
    assert [m.kernel_size[0] for m in on_meta("vgg16").modules() if isinstance(m, nn.Conv2d)] == [3] * 13


def test_lrn_only_in_a_lrn_after_the_first_conv_and_its_relu():
    features = list(on_meta("vgg11_lrn").features)
    assert [type(m) for m in features[:4]] == [nn.Conv2d, nn.ReLU, LocalResponseNorm2d, nn.MaxPool2d]
    norm = features[2]
    assert (norm.size, norm.alpha, norm.beta, norm.k) == (5, 1e-4, 0.75, 2.0)  # AlexNet's (Sec. 2.2)
    assert sum(isinstance(m, LocalResponseNorm2d) for m in features) == 1
    for name in ("vgg11", "vgg16_c", "vgg19_bn"):
        assert not any(isinstance(m, LocalResponseNorm2d | nn.LocalResponseNorm) for m in on_meta(name).modules())


def test_dropout_follows_the_first_two_fc_layers():
    classifier = list(on_meta("vgg19").classifier)
    kinds = [type(m) for m in classifier]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert [m.p for m in classifier if isinstance(m, nn.Dropout)] == [0.5, 0.5]


@pytest.mark.slow
def test_small_inputs_work_through_the_adaptive_pool_and_31_is_refused():
    torch.manual_seed(0)
    model = create_model("vgg11", num_classes=10).eval()
    assert model.min_input_size() == (32, 32)
    with torch.no_grad():
        assert model.forward_features(torch.randn(1, 3, 32, 32)).shape == (1, 512, 1, 1)
        assert model(torch.randn(2, 3, 48, 40)).shape == (2, 10)
    with pytest.raises(ValueError, match="at least 3x32x32"):
        model(torch.zeros(1, 3, 31, 32))


def test_the_adaptive_pool_is_the_identity_at_224():
    model = on_meta("vgg11")
    x = torch.randn(2, 512, 7, 7)
    assert torch.equal(model.avgpool(x), x)


@pytest.mark.slow
def test_pre_logits_stop_before_the_last_layer():
    torch.manual_seed(0)
    model = create_model("vgg11", num_classes=3).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        pre = model.forward_head(model.forward_features(x), pre_logits=True)
        assert pre.shape == (1, 4096)
        torch.testing.assert_close(model.classifier[-1](pre), model(x))


def test_any_input_channels():
    model = on_meta("vgg13", in_channels=1, num_classes=7)
    assert model.features[0].in_channels == 1 and model.classifier[-1].out_features == 7


def test_bad_config_entry_names_the_choices():
    with pytest.raises(ValueError, match="unknown VGG layer 'X'"):
        make_features([64, "X"], 3, batch_norm=False)
    with pytest.raises(ValueError, match="at least one convolution"):
        VGG(["M"])


def test_configs_are_table_1():
    convs = {name: [e for e in config if e not in ("M", "LRN")] for name, config in CONFIGS.items()}
    assert {name: len(c) + 3 for name, c in convs.items()} == {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16,
                                                                 "E": 19}  # fmt: skip
    assert all(config.count("M") == 5 for config in CONFIGS.values())


# ------------------------------------------------------------------------------------------------
# torchvision interop


def _randomised(reference):
    """Non-trivial biases and BN statistics, so that a misplaced bias or BN layer changes the output."""
    torch.manual_seed(0)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                module.bias.normal_(0, 0.1)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return reference.eval()


@pytest.mark.parametrize("name", TORCHVISION)
@pytest.mark.slow
def test_torchvision_weights_load_and_give_the_same_outputs(name):
    torch.manual_seed(0)
    reference = _randomised(getattr(torchvision.models, name)(weights=None))
    model = create_model(name)
    assert list(model.state_dict()) == list(reference.state_dict())
    load_torchvision_weights(model, reference).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-5)
    assert expected.abs().max() > 1e-3  # the comparison is not between two near-zero outputs


@pytest.mark.parametrize("name", ["vgg11_lrn", "vgg16_c", "vgg16_c_bn"])
def test_columns_torchvision_lacks_refuse_its_weights(name):
    reference = on_meta("vgg11")
    with pytest.raises(ValueError, match="no torchvision counterpart"):
        load_torchvision_weights(on_meta(name), reference.state_dict())


def test_weights_of_another_column_do_not_fit():
    with pytest.raises(ValueError, match="do not fit vgg13"):
        load_torchvision_weights(on_meta("vgg13"), on_meta("vgg11").state_dict())
