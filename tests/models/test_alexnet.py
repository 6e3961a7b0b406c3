"""AlexNet against the paper's numbers (paper_facts §2) and torchvision's alexnet as the oracle."""

import functools

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.models import create_model, load_torchvision_weights


@functools.cache
def _paper():
    torch.manual_seed(0)
    return create_model("alexnet").eval()


def _params(module):
    return sum(p.numel() for p in module.parameters())


def _shapes_at(model, size, names):
    """Output shape (C, H, W) of each named module for one input of ``size x size``."""
    modules = dict(model.named_modules())
    seen = {}

    def record(name):
        def hook(_module, _inputs, output) -> None:
            seen.setdefault(name, tuple(output.shape[1:]))

        return hook

    hooks = [modules[name].register_forward_hook(record(name)) for name in names]
    with torch.no_grad():
        model(torch.randn(1, model.in_channels, size, size))
    for hook in hooks:
        hook.remove()
    return seen


def test_per_layer_parameter_counts_are_the_papers():
    model = _paper()
    expected = {
        "conv1": 34_944,
        "conv2": 307_456,
        "conv3": 885_120,
        "conv4": 663_936,
        "conv5": 442_624,
        "fc6": 37_752_832,
        "fc7": 16_781_312,
        "fc8": 4_097_000,
    }
    layers = dict(model.features.named_children()) | dict(model.classifier.named_children())
    assert {name: _params(layers[name]) for name in expected} == expected
    assert _params(model) == 60_965_224


def test_feature_maps_are_the_papers_at_227():
    names = [f"features.{n}" for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")]
    seen = _shapes_at(_paper(), 227, names)
    assert [seen[n] for n in names] == [
        (96, 55, 55),
        (96, 27, 27),
        (256, 27, 27),
        (256, 13, 13),
        (384, 13, 13),
        (384, 13, 13),
        (256, 13, 13),
        (256, 6, 6),
    ]


def test_the_papers_224_does_not_fit_and_the_error_says_what_does():
    model = _paper()
    assert model.input_size_range() == ((227, 258), (227, 258))
    with pytest.raises(ValueError, match=r"from 3x227x227 to 3x258x258.*got 3x224x224"):
        model(torch.zeros(1, 3, 224, 224))


def test_lrn_follows_relu_of_conv1_and_conv2_and_precedes_their_pools():
    order = [name for name, _ in _paper().features.named_children()]
    assert order == [
        *("conv1", "relu1", "norm1", "pool1"),
        *("conv2", "relu2", "norm2", "pool2"),
        *("conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5"),
    ]
    norms = [m for m in _paper().modules() if isinstance(m, LocalResponseNorm2d | nn.LocalResponseNorm)]
    assert len(norms) == 2
    for norm in norms:
        assert (norm.size, norm.alpha, norm.beta, norm.k) == (5, 1e-4, 0.75, 2.0)


def test_lrn_is_the_papers_formula():
    # Sec. 3.3 with the paper's alpha; PyTorch's LocalResponseNorm divides alpha by n, hence 5e-4 there.
    x = torch.randn(2, 96, 5, 5).relu()
    torch.testing.assert_close(_paper().features.norm1(x), nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(x))


def test_overlapping_max_pools():
    pools = [m for m in _paper().modules() if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(3, 2)] * 3


def test_conv2_conv4_conv5_see_only_their_own_tower():
    features = _paper().features
    assert [features.get_submodule(f"conv{i}").groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    # A map of the first tower does not depend on the second tower's input maps, and vice versa.
    conv2 = features.conv2
    x = torch.randn(1, 96, 9, 9, requires_grad=True)
    conv2(x)[:, :128].sum().backward()
    assert x.grad[:, :48].abs().sum() > 0
    assert x.grad[:, 48:].abs().sum() == 0
    # conv3 connects to every map of both towers.
    x = torch.randn(1, 256, 5, 5, requires_grad=True)
    features.conv3(x)[:, :1].sum().backward()
    assert (x.grad.abs().sum(dim=(0, 2, 3)) > 0).all()


def test_dropout_acts_on_the_outputs_of_fc6_and_fc7():
    classifier = _paper().classifier
    assert [name for name, _ in classifier.named_children()] == [
        *("fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"),
    ]
    assert [m.p for m in classifier if isinstance(m, nn.Dropout)] == [0.5, 0.5]


def test_relu_after_every_conv_and_hidden_fc():
    model = _paper()
    for seq in (model.features, model.classifier):
        children = list(seq.children())
        for index, module in enumerate(children[:-1]):
            if isinstance(module, nn.Conv2d | nn.Linear):
                assert isinstance(children[index + 1], nn.ReLU)
    assert not isinstance(model.classifier[-1], nn.ReLU)


def test_paper_initialisation():
    model = create_model("alexnet")
    layers = dict(model.features.named_children()) | dict(model.classifier.named_children())
    assert layers["fc6"].weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert layers["fc6"].weight.mean().abs().item() < 1e-4
    for name in ("conv2", "conv4", "conv5", "fc6", "fc7"):
        assert torch.equal(layers[name].bias, torch.ones_like(layers[name].bias)), name
    for name in ("conv1", "conv3", "fc8"):
        assert torch.equal(layers[name].bias, torch.zeros_like(layers[name].bias)), name


def test_pre_logits_are_the_fc7_activations():
    model = _paper()
    x = torch.randn(2, 3, 227, 227)
    with torch.no_grad():
        features = model.forward_features(x)
        pre = model.forward_head(features, pre_logits=True)
        assert pre.shape == (2, 4096) and (pre >= 0).all()
        torch.testing.assert_close(model.classifier.fc8(pre), model(x))


def test_any_input_channels_and_classes():
    model = create_model("alexnet", in_channels=1, num_classes=5).eval()
    assert model.features.conv1.in_channels == 1
    with torch.no_grad():
        assert model(torch.randn(1, 1, 227, 227)).shape == (1, 5)


# ------------------------------------------------------------------------------------------------
# torchvision's variant


@functools.cache
def _torchvision_pair():
    torch.manual_seed(0)
    reference = torchvision.models.alexnet(weights=None).eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.normal_(0, 0.02)  # non-zero biases too, so a misplaced bias shows
    model = load_torchvision_weights(create_model("alexnet_tv"), reference).eval()
    return model, reference


def test_tv_variant_has_torchvisions_names_and_counts():
    model, reference = _torchvision_pair()
    assert list(model.state_dict()) == list(reference.state_dict())
    convs = [_params(m) for m in model.features if isinstance(m, nn.Conv2d)]
    assert convs == [23_296, 307_392, 663_936, 884_992, 590_080]
    assert _params(model) == _params(reference) == 61_100_840


@pytest.mark.parametrize("size", [224, 63, 100])
def test_tv_variant_outputs_equal_torchvisions(size):
    model, reference = _torchvision_pair()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=1e-5)


def test_tv_variant_is_55_27_13_6_at_224_and_takes_63_up():
    model, _ = _torchvision_pair()
    seen = _shapes_at(model, 224, ["features.0", "features.2", "features.5", "features.12"])
    assert list(seen.values()) == [(64, 55, 55), (64, 27, 27), (192, 13, 13), (256, 6, 6)]
    assert model.min_input_size() == (63, 63)  # torchvision's meta["min_size"]
    with pytest.raises(ValueError, match="at least 3x63x63"):
        model(torch.zeros(1, 3, 62, 62))


def test_tv_variant_drops_before_fc6_and_fc7_as_torchvision():
    model, reference = _torchvision_pair()
    assert [type(m) for m in model.classifier] == [type(m) for m in reference.classifier]
    assert isinstance(model.classifier[0], nn.Dropout) and isinstance(model.classifier[3], nn.Dropout)


def test_paper_model_refuses_torchvision_weights():
    _, reference = _torchvision_pair()
    with pytest.raises(ValueError, match="no torchvision counterpart"):
        load_torchvision_weights(create_model("alexnet"), reference)
