"""Network in Network against the authors' released Caffe models (paper_facts §4)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers.pooling import GlobalAvgPool2d
from cnnlab.models import create_model, load_torchvision_weights
from cnnlab.models.nin import CIFAR10_BLOCKS, MlpConv, MlpConvRow, NiN

# Per convolution, in order: conv 5x5 192, 1x1 160, 1x1 96 | 5x5 192, 1x1 192, 1x1 192 | 3x3 192, 1x1 192, 1x1 10.
CIFAR_LAYER_PARAMS = [14_592, 30_880, 15_456, 460_992, 37_056, 37_056, 331_968, 37_056, 1_930]
# conv1 11x11 96, cccp1-2 | conv2 5x5 256, cccp3-4 | conv3 3x3 384, cccp5-6 | conv4 3x3 1024, cccp7 1024, cccp8 1000.
IMAGENET_LAYER_PARAMS = [
    *(34_944, 9_312, 9_312),
    *(614_656, 65_792, 65_792),
    *(885_120, 147_840, 147_840),
    *(3_539_968, 1_049_600, 1_025_000),
]


def _convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def _params(module):
    return sum(p.numel() for p in module.parameters())


def test_cifar_per_layer_parameters_are_the_zoo_models():
    model = create_model("nin")
    assert [_params(conv) for conv in _convs(model)] == CIFAR_LAYER_PARAMS
    assert _params(model) == sum(CIFAR_LAYER_PARAMS) == 966_986


def test_imagenet_per_layer_parameters_are_the_zoo_models():
    with torch.device("meta"):
        model = create_model("nin_imagenet")
    assert [_params(conv) for conv in _convs(model)] == IMAGENET_LAYER_PARAMS
    assert _params(model) == sum(IMAGENET_LAYER_PARAMS) == 7_595_176


@pytest.mark.parametrize("name", ["nin", "nin_imagenet"])
def test_no_fully_connected_layer_and_the_logits_are_the_average_of_the_class_maps(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7).eval()
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert isinstance(model.gap, GlobalAvgPool2d)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        maps = model.forward_features(x)
        assert maps.shape[1] == 7 == model.num_features
        torch.testing.assert_close(model(x), maps.mean(dim=(2, 3)))
        torch.testing.assert_close(model.forward_head(maps, pre_logits=True), model(x))


def test_every_mlpconv_is_a_conv_then_1x1_convs_each_with_relu():
    model = create_model("nin")
    blocks = [m for m in model.modules() if isinstance(m, MlpConv)]
    assert len(blocks) == 3
    for block, kernel in zip(blocks, (5, 5, 3), strict=True):
        kinds = [type(m) for m in block]
        assert kinds == [nn.Conv2d, nn.ReLU] * 3
        assert [conv.kernel_size[0] for conv in block if isinstance(conv, nn.Conv2d)] == [kernel, 1, 1]


def test_cifar_maps_are_32_16_8_as_caffe_rounds_up():
    model = create_model("nin").eval()
    sizes = {}
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for name, module in model.features.named_children():
            x = module(x)
            sizes[name] = tuple(x.shape[1:])
    assert sizes == {
        "mlpconv1": (96, 32, 32),
        "pool1": (96, 16, 16),
        "drop1": (96, 16, 16),
        "mlpconv2": (192, 16, 16),
        "pool2": (192, 8, 8),
        "drop2": (192, 8, 8),
        "mlpconv3": (10, 8, 8),
    }
    # PyTorch's default floor would give 15 and then 7.
    assert F.max_pool2d(torch.zeros(1, 1, 32, 32), 3, 2).shape[-1] == 15


def test_cifar_pools_max_then_average_as_the_zoo_model():
    model = create_model("nin")
    pools = [model.features.pool1, model.features.pool2]
    assert [type(p) for p in pools] == [nn.MaxPool2d, nn.AvgPool2d]
    assert all((p.kernel_size, p.stride, p.ceil_mode) == (3, 2, True) for p in pools)


def test_cifar_dropout_after_the_first_two_pools_only():
    names = [(name, type(m)) for name, m in create_model("nin").features.named_children()]
    assert [name for name, kind in names if kind is nn.Dropout] == ["drop1", "drop2"]
    order = [name for name, _ in names]
    assert order.index("drop1") == order.index("pool1") + 1 and order.index("drop2") == order.index("pool2") + 1
    assert all(m.p == 0.5 for m in create_model("nin").modules() if isinstance(m, nn.Dropout))


def test_imagenet_layout_is_the_zoo_models():
    with torch.device("meta"):
        model = create_model("nin_imagenet")
    names = [name for name, _ in model.features.named_children()]
    assert names == [*("mlpconv1", "pool1", "mlpconv2", "pool2", "mlpconv3", "pool3", "drop3", "mlpconv4")]
    conv1 = model.features.mlpconv1[0]
    assert (conv1.out_channels, conv1.kernel_size, conv1.stride, conv1.padding) == (96, (11, 11), (4, 4), (0, 0))
    assert all(isinstance(model.features.get_submodule(f"pool{i}"), nn.MaxPool2d) for i in (1, 2, 3))
    x = torch.empty(1, 3, 224, 224, device="meta")
    sizes = []
    for module in model.features:
        x = module(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(96, 54, 54), (96, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13), (384, 6, 6),
                     (384, 6, 6), (1000, 6, 6)]  # fmt: skip


def test_too_small_input_names_the_smallest():
    model = create_model("nin").eval()
    assert model.min_input_size() == (4, 4)
    with pytest.raises(ValueError, match="at least 3x4x4"):
        model(torch.zeros(1, 3, 3, 8))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 4, 4)).shape == (1, 10)


def test_a_table_must_end_in_the_class_maps():
    with pytest.raises(ValueError, match="must end in 'classes' maps"):
        NiN((*CIFAR10_BLOCKS[:2], MlpConvRow(3, (192, 192, 192), padding=1)), in_channels=3, num_classes=10)


def test_nin_has_no_torchvision_weights():
    with pytest.raises(ValueError, match="no torchvision counterpart"):
        load_torchvision_weights(create_model("nin"), {})
