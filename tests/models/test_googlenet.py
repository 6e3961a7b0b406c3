"""GoogLeNet against the paper (Szegedy et al. 2015, Sec. 5, Table 1, Fig. 3) and against torchvision.

The shared suite (test_zoo.py) covers the defaults; these tests pin the paper's numbers, the auxiliary
classifiers' API and input sizes, and weight interop with torchvision's model.
"""

import functools

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import ModelOutput, create_model, get_spec, load_torchvision_weights
from cnnlab.models.googlenet import INCEPTION_TABLE, AuxClassifier, ConvBlock, GoogLeNet

MODULES = ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")
# Table 1's output depth of each inception module.
CHANNELS = dict(zip(MODULES, (256, 480, 512, 512, 512, 528, 832, 832, 1024), strict=True))
# Parameters of each module in the faithful build (conv biases, no BN, true 5x5): paper_facts.md Sec. 5.4.
MODULE_PARAMS = dict(
    zip(MODULES, (163_696, 388_736, 376_176, 449_160, 510_104, 605_376, 868_352, 1_043_456, 1_444_080), strict=True)
)
# Table 1's output size of each layer that changes the resolution, and of each inception module, at 224.
SIZES_AT_224 = {
    "conv1": 112, "maxpool1": 56, "maxpool2": 28, "inception3a": 28, "inception3b": 28, "maxpool3": 14,
    "inception4a": 14, "inception4b": 14, "inception4c": 14, "inception4d": 14, "inception4e": 14,
    "maxpool4": 7, "inception5a": 7, "inception5b": 7,
}  # fmt: skip
NAMES = ("googlenet", "googlenet_tv")


@functools.cache
def _built(name: str, aux_logits: bool) -> GoogLeNet:
    torch.manual_seed(0)
    return create_model(name, aux_logits=aux_logits)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def image(size: int | tuple[int, int], batch: int = 1, seed: int = 1) -> torch.Tensor:
    h, w = (size, size) if isinstance(size, int) else size
    return torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(seed))


# -------------------------------------------------------------------------------------------------
# Table 1


def test_inception_table_is_table_1():
    assert tuple(INCEPTION_TABLE) == MODULES
    assert INCEPTION_TABLE["3a"] == (64, 96, 128, 16, 32, 32)
    assert INCEPTION_TABLE["4d"] == (112, 144, 288, 32, 64, 64)
    assert INCEPTION_TABLE["5b"] == (384, 192, 384, 48, 128, 128)
    assert {name: row.out_channels for name, row in INCEPTION_TABLE.items()} == CHANNELS


@pytest.mark.parametrize("name", NAMES)
def test_module_channels_and_sizes_at_224_are_table_1(name):
    model = _built(name, False).eval()
    seen: dict[str, tuple[int, ...]] = {}

    def record(layer: str):
        def hook(_module, _inputs, output) -> None:
            seen[layer] = tuple(output.shape)

        return hook

    hooks = [getattr(model, layer).register_forward_hook(record(layer)) for layer in SIZES_AT_224]
    with torch.no_grad():
        logits = model(image(224))
    for hook in hooks:
        hook.remove()
    assert logits.shape == (1, 1000)
    assert {layer: shape[2:] for layer, shape in seen.items()} == {k: (v, v) for k, v in SIZES_AT_224.items()}
    assert {m: seen[f"inception{m}"][1] for m in MODULES} == CHANNELS
    assert seen["maxpool2"][1] == 192


def test_faithful_parameter_counts_per_module():
    model = _built("googlenet", False)
    assert {m: n_params(getattr(model, f"inception{m}")) for m in MODULES} == MODULE_PARAMS


@pytest.mark.parametrize(
    ("name", "aux_logits", "expected"),
    [
        ("googlenet", False, 6_998_552),
        ("googlenet", True, 13_378_280),
        ("googlenet_tv", False, 6_624_904),
        ("googlenet_tv", True, 13_004_888),
    ],
)
def test_total_parameter_counts(name, aux_logits, expected):
    assert n_params(_built(name, aux_logits)) == expected
    if not aux_logits:
        assert get_spec(name).params == expected


def test_faithful_aux_head_parameter_counts():
    model = _built("googlenet", True)
    assert (n_params(model.aux1), n_params(model.aux2)) == (3_188_840, 3_190_888)


def test_true_5x5_in_the_paper_and_3x3_in_torchvision():
    for name, kernel in (("googlenet", 5), ("googlenet_tv", 3)):
        model = _built(name, False)
        for m in MODULES:
            conv = getattr(model, f"inception{m}").branch3[1].conv
            assert (conv.kernel_size, conv.padding) == ((kernel, kernel), (kernel // 2, kernel // 2)), (name, m)


def test_faithful_layers_are_the_papers():
    model = _built("googlenet", True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    blocks = [m for m in model.modules() if isinstance(m, ConvBlock)]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # Every convolution, the 1x1 reductions and projections included, has a bias and a ReLU (its ConvBlock).
    assert len(convs) == len(blocks) == 3 + 9 * 6 + 2
    assert all(block.conv.bias is not None and block.bn is None for block in blocks)
    assert (model.maxpool4.kernel_size, model.maxpool4.stride) == (3, 2)
    assert (model.dropout.p, model.aux1.dropout.p, model.aux2.dropout.p) == (0.4, 0.7, 0.7)
    for aux in (model.aux1, model.aux2):
        assert isinstance(aux.pool, nn.AvgPool2d) and (aux.pool.kernel_size, aux.pool.stride) == (5, 3)
        assert (aux.conv.conv.out_channels, aux.fc1.in_features, aux.fc1.out_features) == (128, 128 * 4 * 4, 1024)


def test_torchvision_variant_layers():
    model = _built("googlenet_tv", True)
    assert model.lrn1 is None and model.lrn2 is None
    assert all(b.conv.bias is None and b.bn.eps == 0.001 for b in model.modules() if isinstance(b, ConvBlock))
    assert (model.maxpool4.kernel_size, model.maxpool4.stride) == (2, 2)
    assert (model.dropout.p, model.aux1.dropout.p) == (0.2, 0.7)
    assert isinstance(model.aux1.pool, nn.AdaptiveAvgPool2d)


def test_every_conv_output_goes_through_a_relu():
    model = _built("googlenet", True).eval()
    outputs = []
    hooks = [b.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for b in model.modules()
             if isinstance(b, ConvBlock)]  # fmt: skip
    with torch.no_grad():
        model.forward_train(image(224))
    for hook in hooks:
        hook.remove()
    assert len(outputs) == 3 + 9 * 6 + 2
    assert all(out.min() >= 0 for out in outputs)


# -------------------------------------------------------------------------------------------------
# Fig. 3's stem and its LRN


def test_layers_run_in_fig_3_order():
    model = _built("googlenet", False).eval()
    order: list[str] = []
    hooks = [
        child.register_forward_hook(lambda _m, _i, _o, name=name: order.append(name))
        for name, child in model.named_children()
    ]
    with torch.no_grad():
        model(image(64))
    for hook in hooks:
        hook.remove()
    inceptions = [f"inception{m}" for m in MODULES]
    assert order == [
        "conv1", "maxpool1", "lrn1", "conv2", "conv3", "lrn2", "maxpool2", *inceptions[:2], "maxpool3",
        *inceptions[2:7], "maxpool4", *inceptions[7:], "avgpool", "dropout", "fc",
    ]  # fmt: skip


def test_lrn_uses_caffe_bvlc_googlenet_constants():
    # Caffe: b = a / (1 + alpha / n * sum over n = 5 neighbouring channels of a^2) ** beta, alpha 1e-4, beta 0.75.
    model = _built("googlenet", False)
    x = torch.rand(2, 64, 5, 5, generator=torch.Generator().manual_seed(0)) * 100
    padded = nn.functional.pad(x.square(), (0, 0, 0, 0, 2, 2))
    window_sum = sum(padded[:, i : i + 64] for i in range(5))
    expected = x / (1 + 1e-4 / 5 * window_sum) ** 0.75
    for lrn in (model.lrn1, model.lrn2):
        torch.testing.assert_close(lrn(x), expected)
    assert not torch.allclose(expected, x / (2 + 1e-4 * window_sum) ** 0.75)  # AlexNet's constants differ here


# -------------------------------------------------------------------------------------------------
# auxiliary classifiers


@pytest.mark.parametrize("name", NAMES)
def test_aux_heads_only_when_asked_for(name):
    model = _built(name, False)
    assert model.aux1 is None and model.aux2 is None and model.aux_loss_weights == ()
    assert not any("aux" in key for key in model.state_dict())
    output = model.eval().forward_train(image(64))
    assert isinstance(output, ModelOutput) and output.aux_logits == ()
    model = _built(name, True)
    assert isinstance(model.aux1, AuxClassifier) and isinstance(model.aux2, AuxClassifier)
    assert model.aux_loss_weights == (0.3, 0.3)


@pytest.mark.parametrize(("name", "size"), [("googlenet", 224), ("googlenet_tv", 64)])
def test_forward_returns_logits_and_forward_train_the_aux_logits_in_both_modes(name, size):
    torch.manual_seed(0)
    model = create_model(name, aux_logits=True, num_classes=10)
    x = image(size, batch=2)
    tapped: dict[str, torch.Tensor] = {}
    model.inception4a.register_forward_hook(lambda _m, _i, out: tapped.__setitem__("4a", out))
    model.inception4d.register_forward_hook(lambda _m, _i, out: tapped.__setitem__("4d", out))
    model.aux1.register_forward_pre_hook(lambda _m, args: tapped.__setitem__("aux1", args[0]))
    model.aux2.register_forward_pre_hook(lambda _m, args: tapped.__setitem__("aux2", args[0]))
    for mode in (True, False):
        model.train(mode)
        with torch.no_grad():
            logits = model(x)
            output = model.forward_train(x)
        assert type(logits) is torch.Tensor and logits.shape == (2, 10)
        assert isinstance(output, ModelOutput) and output.logits.shape == (2, 10)
        assert len(output.aux_logits) == 2 and all(aux.shape == (2, 10) for aux in output.aux_logits)
        if not mode:  # no dropout: the main logits are forward's
            torch.testing.assert_close(output.logits, logits)
    # The heads read the outputs of 4a and 4d (Sec. 5): the last call was forward_train.
    assert tapped["aux1"] is tapped["4a"] and tapped["aux2"] is tapped["4d"]


def test_backward_reaches_the_aux_heads():
    model = _built("googlenet", True).train()
    model.zero_grad()
    output = model.forward_train(image(224))
    loss = output.logits.square().mean() + sum(
        w * aux.square().mean() for w, aux in zip(model.aux_loss_weights, output.aux_logits, strict=True)
    )
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    model.zero_grad(set_to_none=True)
    assert not missing, missing[:5]


def test_aux_heads_limit_the_input_size_to_what_pools_to_4x4():
    model = _built("googlenet", True).eval()
    assert _built("googlenet", False).input_size_range() == ((31, None), (31, None))
    assert model.input_size_range() == ((223, 270), (223, 270))
    with torch.no_grad():
        for size in (223, 270, (223, 270)):
            assert len(model.forward_train(image(size)).aux_logits) == 2
        for size in (222, 271, (224, 300)):
            for call in (model, model.forward_train):
                with pytest.raises(ValueError, match=r"googlenet needs an input from 3x223x223 to 3x270x270.*aux"):
                    call(image(size))
        # The limit is real: the 4a map of a 222 input is 13 x 13, which the 5x5/3 pool takes to 3 x 3.
        with pytest.raises(RuntimeError):
            model.aux1(torch.zeros(1, 512, 13, 13))
        with pytest.raises(RuntimeError):
            model.aux1(torch.zeros(1, 512, 17, 17))


def test_torchvision_aux_heads_pool_adaptively_so_any_size_works():
    model = _built("googlenet_tv", True).eval()
    assert model.input_size_range() == _built("googlenet_tv", False).input_size_range() == ((15, None), (15, None))
    # torchvision states the same smallest input for its weights.
    assert torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["min_size"] == model.min_input_size()
    with torch.no_grad():
        assert len(model.forward_train(image(15)).aux_logits) == 2


@pytest.mark.parametrize("name", NAMES)
def test_forward_train_checks_its_input(name):
    model = _built(name, True)
    with pytest.raises(ValueError, match=r"expects input \(N, 3, H, W\)"):
        model.forward_train(torch.zeros(1, 1, 224, 224))
    with pytest.raises(ValueError, match=f"{name} needs an input"):
        model.forward_train(torch.zeros(1, 3, 14, 14))


@pytest.mark.parametrize("name", NAMES)
def test_builds_with_aux_heads_on_the_meta_device(name):
    with torch.device("meta"):
        model = create_model(name, aux_logits=True)
    assert all(p.is_meta for p in model.parameters())
    assert n_params(model) == n_params(_built(name, True))


def test_transform_input_needs_rgb():
    with pytest.raises(ValueError, match="transform_input"):
        create_model("googlenet_tv", transform_input=True, in_channels=1)
    with pytest.raises(ValueError, match="no option transform_input"):
        create_model("googlenet", transform_input=True)


# -------------------------------------------------------------------------------------------------
# torchvision interop


def _calibrated_torchvision(aux_logits: bool, transform_input: bool, x: torch.Tensor) -> nn.Module:
    """torchvision's model with random weights and BN statistics of a real batch, so that outputs are not ~0."""
    torch.manual_seed(0)
    tv = torchvision.models.googlenet(
        weights=None, aux_logits=aux_logits, transform_input=transform_input, init_weights=True
    )
    generator = torch.Generator().manual_seed(2)
    for module in tv.modules():
        if isinstance(module, nn.Linear):  # std 0.01 would shrink the logits towards 0
            nn.init.kaiming_normal_(module.weight, generator=generator)
        elif isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # running statistics = those of the one batch below
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0.0, 0.1, generator=generator)
    tv.train()
    with torch.no_grad():
        tv(x)
    return tv.eval()


@pytest.mark.parametrize(
    ("aux_logits", "transform_input"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_torchvision_weights_give_torchvision_outputs(aux_logits, transform_input):
    x = image(224 if not (aux_logits or transform_input) else 96, batch=2)
    tv = _calibrated_torchvision(aux_logits, transform_input, x)
    model = create_model("googlenet_tv", aux_logits=aux_logits, transform_input=transform_input)
    assert n_params(model) == n_params(tv)
    load_torchvision_weights(model, tv).eval()
    with torch.no_grad():
        expected = tv(x)
        assert expected.std() > 0.1  # a meaningful comparison, not two near-zero outputs
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
        if aux_logits:
            # torchvision returns its aux logits only in train mode: there, without dropout and with BN frozen.
            tv.train()
            for module in tv.modules():
                if isinstance(module, nn.Dropout | nn.BatchNorm2d):
                    module.eval()
            logits, aux2, aux1 = tv(x)
            output = model.forward_train(x)
            torch.testing.assert_close(output.logits, logits, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(output.aux_logits[0], aux1, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(output.aux_logits[1], aux2, rtol=1e-4, atol=1e-5)
            assert aux1.std() > 0.1 and not torch.allclose(aux1, aux2)


def test_torchvision_weights_must_match_the_aux_setting():
    tv = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    with pytest.raises(ValueError, match="aux heads on one side only"):
        load_torchvision_weights(create_model("googlenet_tv"), tv)
    with pytest.raises(ValueError, match="no torchvision counterpart"):
        load_torchvision_weights(create_model("googlenet"), tv)
