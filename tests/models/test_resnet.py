"""ResNet against the paper's structure and torchvision's weights."""

import pytest
import torch
import torchvision

from cnnlab.models import create_model, load_torchvision_weights
from cnnlab.models.resnet import BasicBlock, Bottleneck, ZeroPadShortcut
from tests._slow import by_size


@pytest.mark.parametrize("name", by_size(["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]))
def test_torchvision_weights_give_the_same_outputs(name):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None).eval()
    ours = load_torchvision_weights(create_model(name), theirs).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-5)


def test_weights_that_do_not_fit_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="do not fit resnet34: missing"):
        load_torchvision_weights(create_model("resnet34"), torchvision.models.resnet18(weights=None))
    with pytest.raises(ValueError, match=r"shapes differ at fc\.weight"):
        load_torchvision_weights(create_model("resnet18", num_classes=10), torchvision.models.resnet18(weights=None))
    with pytest.raises(ValueError, match="resnet20 has no torchvision counterpart"):
        load_torchvision_weights(create_model("resnet20"), {})


@pytest.mark.parametrize(("depth", "n"), [(20, 3), (32, 5), (44, 7), (56, 9), (110, 18)])
def test_cifar_family_has_6n_plus_2_weighted_layers(depth, n):
    for prefix in ("resnet", "plain"):
        model = create_model(f"{prefix}{depth}")
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        assert len(convs) + len(linears) == 6 * n + 2
        assert [len(getattr(model, s)) for s in ("layer1", "layer2", "layer3")] == [n, n, n]
        assert [m.out_channels for m in convs if m.stride == (2, 2)] == [32, 64]


def test_cifar_feature_maps_are_32_16_8_with_16_32_64_filters():
    model = create_model("resnet20").eval()
    x = torch.randn(1, 3, 32, 32)
    x = model.relu(model.bn1(model.conv1(x)))
    shapes = []
    for stage in (model.layer1, model.layer2, model.layer3):
        x = stage(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_option_a_shortcut_subsamples_and_pads_zeros():
    shortcut = ZeroPadShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 8, 8)
    out = shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert out[:, :8].abs().sum() == 0 and out[:, 24:].abs().sum() == 0
    assert list(shortcut.parameters()) == []


def test_plain_nets_are_resnets_without_the_shortcut():
    torch.manual_seed(0)
    residual = create_model("resnet20").eval()
    plain = create_model("plain20").eval()
    plain.load_state_dict(residual.state_dict())  # the same layers, the same names
    blocks = [m for m in plain.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9 and not any(b.residual for b in blocks)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(plain(x), residual(x))
        block = residual.layer1[0]
        inner = block.bn2(
            block.conv2(block.relu(block.bn1(block.conv1(x := residual.relu(residual.bn1(residual.conv1(x)))))))
        )
        torch.testing.assert_close(block(x), torch.relu(inner + x))


def test_bottleneck_puts_the_stride_on_its_3x3_like_torchvision():
    model = create_model("resnet50")
    first = model.layer2[0]
    assert isinstance(first, Bottleneck)
    assert first.conv1.stride == (1, 1) and first.conv2.stride == (2, 2)
    assert "layer2.0.conv2" in model.size_steps


def test_zero_init_residual_starts_every_block_as_identity():
    model = create_model("resnet18", zero_init_residual=True)
    assert all(block.bn2.weight.abs().sum() == 0 for block in model.modules() if isinstance(block, BasicBlock))
