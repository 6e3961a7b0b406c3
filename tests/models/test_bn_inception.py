"""BN-Inception against Ioffe & Szegedy's Appendix and Fig. 5."""

import pytest
import torch
from torch import nn

from cnnlab.models import ModelOutput, create_model
from cnnlab.models.bn_inception import BN_INCEPTION_TABLE, BNInceptionModule, module_widths

NAMES = ["3a", "3b", "3c", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
# Fig. 5's output column (3c and 4e printed at their input grid; they halve it).
FIG5_OUTPUTS = [256, 320, 576, 576, 576, 576, 576, 1024, 1024, 1024]
GRID_AT_224 = [28, 28, 14, 14, 14, 14, 14, 7, 7, 7]


def test_parameter_count_is_pinned_below_the_papers_13_6_million():
    model = create_model("bn_inception")
    total = sum(p.numel() for p in model.parameters())
    assert total == 11_188_288
    assert 0.8 < total / 13.6e6 < 0.85  # the paper's "13.6 * 10^6"; see the model's notes


def test_module_outputs_follow_figure_5_at_224():
    model = create_model("bn_inception").eval()
    assert [row.name for row in BN_INCEPTION_TABLE] == [f"inception_{n}" for n in NAMES]
    seen: dict[str, tuple[int, ...]] = {}
    for name in ["conv1", "pool1", "conv2", "pool2", *model.module_names]:
        getattr(model, name).register_forward_hook(lambda _m, _i, out, name=name: seen.update({name: out.shape[1:]}))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    assert [seen[n] for n in ("conv1", "pool1", "conv2", "pool2")] == [
        (64, 112, 112),
        (64, 56, 56),
        (192, 56, 56),
        (192, 28, 28),
    ]
    assert [seen[n] for n in model.module_names] == [(c, g, g) for c, g in zip(FIG5_OUTPUTS, GRID_AT_224, strict=True)]
    assert module_widths(BN_INCEPTION_TABLE) == FIG5_OUTPUTS
    assert model.feature_size(224, 224) == (7, 7) and model.num_features == 1024


def test_printed_pool_projections_of_4c_and_4d_would_contradict_the_printed_outputs():
    printed = [row._replace(pool_proj=128) if row.name in ("inception_4c", "inception_4d") else row
               for row in BN_INCEPTION_TABLE]  # fmt: skip
    assert module_widths(tuple(printed))[5:8] == [608, 608, 1056]


def test_no_5x5_and_the_first_conv_is_separable_with_depth_multiplier_8():
    model = create_model("bn_inception", in_channels=2)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert {c.kernel_size for c in convs} == {(1, 1), (3, 3), (7, 7)}
    sevens = [c for c in convs if c.kernel_size == (7, 7)]
    assert sevens == [model.conv1.depthwise]
    assert model.conv1.depthwise.groups == 2 and model.conv1.depthwise.out_channels == 16
    assert model.conv1.pointwise.weight.shape == (64, 16, 1, 1)
    assert model.conv1.depthwise.stride == (2, 2)


def test_batch_norm_before_every_nonlinearity_no_bias_no_lrn_no_dropout():
    model = create_model("bn_inception")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == len(convs) - 1  # every conv but the depthwise half of the separable one
    assert all(c.bias is None for c in convs)
    assert not any(isinstance(m, nn.Dropout | nn.LocalResponseNorm) for m in model.modules())
    assert model.fc.in_features == 1024


@pytest.mark.parametrize(
    ("name", "pool"),
    [("3a", "avg"), ("3b", "avg"), ("3c", "max"), ("4a", "avg"), ("4b", "avg"), ("4c", "avg"), ("4d", "avg"),
     ("4e", "max"), ("5a", "avg"), ("5b", "max")],
)  # fmt: skip
def test_pool_type_per_module(name, pool):
    block = getattr(create_model("bn_inception"), f"inception_{name}")
    assert isinstance(block.pool, nn.AvgPool2d if pool == "avg" else nn.MaxPool2d)


@pytest.mark.parametrize("name", ["3c", "4e"])
def test_stride_2_modules_have_no_1x1_branch_and_pass_the_max_pool_through(name):
    model = create_model("bn_inception").eval()
    block: BNInceptionModule = getattr(model, f"inception_{name}")
    assert block.branch1x1 is None and block.branch_pool is None
    assert block.branch3x3_2.conv.stride == (2, 2) and block.branch3x3dbl_3.conv.stride == (2, 2)
    assert block.branch3x3dbl_2.conv.stride == (1, 1) and block.pool.stride == 2
    in_channels = block.branch3x3_1.conv.in_channels
    x = torch.randn(1, in_channels, 14, 14)
    with torch.no_grad():
        out = block(x)
    assert out.shape == (1, block.out_channels, 7, 7)
    torch.testing.assert_close(out[:, -in_channels:], nn.functional.max_pool2d(x, 3, 2, padding=1))
    assert f"inception_{name}.branch3x3_2.conv" in model.size_steps
    others = [n for n in NAMES if n not in ("3c", "4e")]
    assert all(getattr(model, f"inception_{n}").branch1x1 is not None for n in others)


def test_double_3x3_replaces_5x5():
    model = create_model("bn_inception")
    for row in BN_INCEPTION_TABLE:
        block = getattr(model, row.name)
        assert block.branch3x3dbl_2.conv.kernel_size == block.branch3x3dbl_3.conv.kernel_size == (3, 3)
        assert block.branch3x3dbl_2.conv.out_channels == block.branch3x3dbl_3.conv.out_channels == row.double_3x3


def test_no_auxiliary_classifier():
    model = create_model("bn_inception")
    assert model.aux_loss_weights == ()
    with pytest.raises(ValueError, match="has no option aux_logits"):
        create_model("bn_inception", aux_logits=True)
    with torch.no_grad():
        output = model.train().forward_train(torch.randn(2, 3, 32, 32))
    assert isinstance(output, ModelOutput) and output.aux_logits == () and output.logits.shape == (2, 1000)


def test_any_input_size_works_with_same_padding():
    model = create_model("bn_inception").eval()
    assert model.input_size_range() == ((1, None), (1, None))
    assert model.feature_size(17, 33) == (1, 2)  # ceil(i / 2) five times
    with torch.no_grad():
        assert model(torch.randn(1, 3, 17, 33)).shape == (1, 1000)
