"""Inception-v2 against Rethinking's Table 1 and figures; Inception-v3 against torchvision; the aux head API."""

import pytest
import torch
import torchvision
from torch import nn

from cnnlab.layers import shapes
from cnnlab.models import ModelOutput, create_model, load_torchvision_weights
from cnnlab.models._inception_blocks import Figure5Module, Figure6Module, GridReduction, InceptionE

# Slow: Inception v2 and v3 have 24-25 million parameters: each test builds one or more (1-4 s on 2 busy cores).
pytestmark = pytest.mark.slow

V3_PARAMS = {False: 23_834_568, True: 27_161_264}
V2_PARAMS = {False: 25_493_448, True: 29_894_832}


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def kernels(model: nn.Module) -> set[tuple[int, int]]:
    return {m.kernel_size for m in model.modules() if isinstance(m, nn.Conv2d)}


def randomize_batch_norm_statistics(model: nn.Module) -> None:
    """Running statistics away from (0, 1), so that a buffer loaded into the wrong layer shows."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)


# ---------------------------------------------------------------------------------------------------------
# inception_v3: torchvision's network


@pytest.mark.parametrize("aux", [False, True])
def test_inception_v3_has_torchvisions_parameter_counts(aux):
    with torch.device("meta"):
        ours = create_model("inception_v3", aux_logits=aux)
        theirs = torchvision.models.inception_v3(weights=None, aux_logits=aux, init_weights=False)
    assert count(ours) == count(theirs) == V3_PARAMS[aux]


@pytest.mark.parametrize(("aux", "transform_input"), [(False, False), (False, True), (True, False)])
def test_inception_v3_with_torchvision_weights_gives_torchvisions_outputs(aux, transform_input):
    torch.manual_seed(0)
    theirs = torchvision.models.inception_v3(
        weights=None, aux_logits=aux, transform_input=transform_input, init_weights=True
    ).eval()
    with torch.no_grad():
        randomize_batch_norm_statistics(theirs)
    ours = create_model("inception_v3", aux_logits=aux, transform_input=transform_input)
    load_torchvision_weights(ours, theirs).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    size = ours.min_input_size()[0]  # 75 without the aux head, 299 with it
    assert size == (299 if aux else 75)
    x = torch.randn(1, 3, size, size + 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-5)


def test_inception_v3_aux_head_gives_torchvisions_aux_logits():
    torch.manual_seed(0)
    theirs = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True)
    ours = load_torchvision_weights(create_model("inception_v3", aux_logits=True), theirs)
    for model in (ours, theirs):
        model.train()
        model.dropout.eval()  # the only random layer; batch norm uses batch statistics in both
    x = torch.randn(2, 3, 299, 299)
    with torch.no_grad():
        expected = theirs(x)
        got = ours.forward_train(x)
    torch.testing.assert_close(got.logits, expected.logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(got.aux_logits[0], expected.aux_logits, rtol=0, atol=1e-5)


def test_weights_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="aux heads on one side only"):
        load_torchvision_weights(
            create_model("inception_v3"),
            torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False),
        )
    with pytest.raises(ValueError, match="inception_v2 has no torchvision counterpart"):
        load_torchvision_weights(create_model("inception_v2"), {})


def test_transform_input_needs_rgb():
    with pytest.raises(ValueError, match="in_channels=3"):
        create_model("inception_v3", in_channels=1, transform_input=True)
    with pytest.raises(ValueError, match="has no option transform_input"):
        create_model("inception_v2", transform_input=True)


# ---------------------------------------------------------------------------------------------------------
# inception_v2: Rethinking's Table 1


def test_inception_v2_parameter_count():
    for aux, expected in V2_PARAMS.items():
        with torch.device("meta"):
            assert count(create_model("inception_v2", aux_logits=aux)) == expected
    with torch.device("meta"):
        assert count(create_model("inception_v2", aux_logits=True).AuxLogits) == 4_401_384


def test_inception_v2_has_no_5x5_anywhere():
    model = create_model("inception_v2", aux_logits=True)
    assert (5, 5) not in kernels(model)
    assert kernels(model) == {(1, 1), (3, 3), (1, 7), (7, 1), (1, 3), (3, 1)}
    assert (5, 5) in kernels(create_model("inception_v3"))  # the released v3 keeps its 5x5 branches


def test_inception_v2_follows_table_1_at_299():
    """Table 1 lists each row's input size: the stem's outputs are those of the next rows."""
    model = create_model("inception_v2").eval()
    seen: dict[str, tuple[int, ...]] = {}
    for name in model.layer_names:
        getattr(model, name).register_forward_hook(lambda _m, _i, out, name=name: seen.update({name: out.shape[1:]}))
    with torch.no_grad():
        features = model.forward_features(torch.randn(1, 3, 299, 299))
    stem = [seen[name] for name in model.layer_names[:7]]
    assert stem == [(32, 149, 149), (32, 147, 147), (64, 147, 147), (64, 73, 73), (80, 71, 71), (192, 35, 35),
                    (288, 35, 35)]  # fmt: skip
    assert [seen[f"Mixed_5{i}"] for i in "bcd"] == [(288, 35, 35)] * 3
    assert [seen[f"Mixed_6{i}"] for i in "abcdef"] == [(768, 17, 17)] * 6
    assert [seen[f"Mixed_7{i}"] for i in "abc"] == [(1280, 8, 8), (2048, 8, 8), (2048, 8, 8)]
    assert tuple(features.shape) == (1, 2048, 8, 8) and model.feature_size(299, 299) == (8, 8)


def test_inception_v2_modules_are_the_papers_figures():
    model = create_model("inception_v2")
    blocks = {name: type(getattr(model, name)).__name__ for name in model.layer_names[7:]}
    assert list(blocks.values()) == (
        ["Figure5Module"] * 3 + ["GridReduction"] + ["Figure6Module"] * 5 + ["GridReduction"] + ["InceptionE"] * 2
    )
    # Fig. 10: a 1x1 before the single stride-2 3x3 as well, and a stride-2 pool in parallel.
    for reduction in (model.Mixed_6a, model.Mixed_7a):
        assert isinstance(reduction, GridReduction)
        assert reduction.branch3x3_1.conv.kernel_size == (1, 1) and reduction.branch3x3_2.conv.stride == (2, 2)
        assert reduction.branch3x3dbl_3.conv.stride == (2, 2) and reduction.pool.stride == 2
    # Fig. 5: 5x5 -> two 3x3.
    assert all(isinstance(getattr(model, f"Mixed_5{i}"), Figure5Module) for i in "bcd")


def test_inception_v2_17x17_modules_factorise_7x7_into_1x7_then_7x1():
    model = create_model("inception_v2")
    for name in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_6f"):
        block = getattr(model, name)
        assert isinstance(block, Figure6Module)
        single = [getattr(block, f"branch7x7_{i}").conv.kernel_size for i in (1, 2, 3)]
        double = [getattr(block, f"branch7x7dbl_{i}").conv.kernel_size for i in (1, 2, 3, 4, 5)]
        assert single == [(1, 1), (1, 7), (7, 1)]
        assert double == [(1, 1), (1, 7), (7, 1), (1, 7), (7, 1)]  # Fig. 6's order (the release starts with 7x1)
    assert (
        model.Mixed_6b.branch7x7dbl_2.conv.kernel_size
        != create_model("inception_v3").Mixed_6b.branch7x7dbl_2.conv.kernel_size
    )


def test_inception_v2_8x8_modules_run_1x3_and_3x1_in_parallel():
    block = create_model("inception_v2").Mixed_7b.eval()
    assert isinstance(block, InceptionE)
    inputs: dict[str, torch.Tensor] = {}
    for name in ("branch3x3_2a", "branch3x3_2b", "branch3x3dbl_3a", "branch3x3dbl_3b"):
        getattr(block, name).register_forward_pre_hook(lambda _m, args, name=name: inputs.update({name: args[0]}))
    with torch.no_grad():
        out = block(torch.randn(1, 1280, 3, 3))
    assert out.shape == (1, 2048, 3, 3)
    assert block.branch3x3_2a.conv.kernel_size == (1, 3) and block.branch3x3_2b.conv.kernel_size == (3, 1)
    assert inputs["branch3x3_2a"] is inputs["branch3x3_2b"]  # the same input: parallel, not stacked
    assert inputs["branch3x3dbl_3a"] is inputs["branch3x3dbl_3b"]


def test_inception_v2_differs_from_v3_where_the_paper_does():
    v2, v3 = create_model("inception_v2"), create_model("inception_v3")
    assert v2.Conv2d_4a_3x3.conv.stride == (2, 2) and not hasattr(v2, "maxpool2")  # Table 1: a stride-2 conv
    assert v2.Mixed_5b.branch1x1.conv.in_channels == 288 and v3.Mixed_5b.branch1x1.conv.in_channels == 192
    assert len([n for n in v2.layer_names if n.startswith("Mixed_6")]) == 6  # reduction + 5 x Fig. 6
    assert len([n for n in v3.layer_names if n.startswith("Mixed_6")]) == 5  # reduction + 4


# ---------------------------------------------------------------------------------------------------------
# the auxiliary classifier


@pytest.mark.parametrize("name", ["inception_v2", "inception_v3"])
def test_without_aux_head_there_is_none(name):
    model = create_model(name)
    assert model.AuxLogits is None and model.aux_loss_weights == ()
    assert not any(key.startswith("AuxLogits") for key in model.state_dict())
    x = torch.randn(2, 3, 75, 75)
    with torch.no_grad():
        output = model.train().forward_train(x)
    assert isinstance(output, ModelOutput) and output.aux_logits == () and output.logits.shape == (2, 1000)


@pytest.mark.parametrize(("name", "expected"), [("inception_v2", ((299, 346), (299, 346))),
                                                ("inception_v3", ((299, None), (299, None)))])  # fmt: skip
def test_aux_head_bounds_the_input_sizes(name, expected):
    plain, with_aux = create_model(name), create_model(name, aux_logits=True)
    assert plain.input_size_range() == ((75, None), (75, None))
    assert with_aux.input_size_range() == expected
    assert with_aux.aux_loss_weights == (0.4,)
    message = "from 3x299x299 to 3x346x346" if name == "inception_v2" else "of at least 3x299x299"
    for size in (298, 347) if name == "inception_v2" else (298,):
        with pytest.raises(ValueError, match=f"{name} needs an input {message}"):
            with_aux.forward_train(torch.zeros(1, 3, size, size))
        with pytest.raises(ValueError, match=message):
            with_aux(torch.zeros(1, 3, size, size))


def test_v2_aux_range_is_exactly_where_figure_8_sees_a_5x5_map():
    model = create_model("inception_v2", aux_logits=True).eval()
    steps = model.geometry()[0][: model._aux_steps_before]

    def grid(size: int) -> int:
        for step in steps:
            size = step.output_size(size)
        return size

    assert [grid(s) for s in (298, 299, 346, 347)] == [16, 17, 19, 20]
    assert [shapes.pool_output_size(g, 5, 3) for g in (17, 19, 20)] == [5, 5, 6]
    with torch.no_grad():
        assert model.AuxLogits(torch.randn(2, 768, 19, 19)).shape == (2, 1000)
        with pytest.raises(RuntimeError):
            model.AuxLogits(torch.randn(2, 768, 20, 20))  # 6x6x128 does not fit FC 1024's 3200 inputs


def test_v2_aux_head_is_figure_8_and_trains_with_the_network():
    torch.manual_seed(0)
    model = create_model("inception_v2", aux_logits=True, num_classes=10).train()
    head = model.AuxLogits
    assert head.conv0.conv.out_channels == 128 and (head.fc1.in_features, head.fc1.out_features) == (3200, 1024)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in head.modules())  # BN-auxiliary is a v3 addition
    x = torch.randn(2, 3, 299, 299, requires_grad=True)
    output = model.forward_train(x)
    assert output.logits.shape == (2, 10) and len(output.aux_logits) == 1 and output.aux_logits[0].shape == (2, 10)
    (output.logits.square().mean() + 0.4 * output.aux_logits[0].square().mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    assert x.grad is not None
    assert isinstance(model(x), torch.Tensor)  # forward gives the main logits in train mode too


@pytest.mark.parametrize("name", ["inception_v2", "inception_v3"])
def test_aux_logits_come_back_in_eval_mode_too(name):
    model = create_model(name, aux_logits=True).eval()
    calls: list[torch.Size] = []
    model.AuxLogits.register_forward_hook(lambda _m, _i, out: calls.append(out.shape))
    x = torch.randn(1, 3, 299, 299)
    with torch.no_grad():
        logits = model(x)
        assert calls == []  # forward never runs the head
        output = model.forward_train(x)
    assert logits.shape == (1, 1000) and calls == [torch.Size([1, 1000])]
    torch.testing.assert_close(output.logits, logits)
