"""LocallyConnected2d against its definition (a loop over positions) and against conv2d."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnlab.layers.locally_connected import LocallyConnected2d, locally_connected2d_reference
from cnnlab.layers.shapes import conv_output_size
from tests.layers._strategies import windows


@st.composite
def settings_that_fit(draw):
    window = draw(windows(max_padding=2))
    k, p, d = window["kernel_size"], window["padding"], window["dilation"]
    smallest = [max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]) for a in range(2)]  # the kernel must fit
    size = (draw(st.integers(smallest[0], 9)), draw(st.integers(smallest[1], 9)))
    channels = {"in_channels": draw(st.integers(1, 3)), "out_channels": draw(st.integers(1, 3))}
    return {**channels, "input_size": size, **window, "bias": draw(st.booleans())}


@given(settings_that_fit(), st.integers(1, 3))
def test_equals_the_loop_over_positions(settings, batch):
    layer = LocallyConnected2d(**settings).double()
    x = torch.randn(batch, settings["in_channels"], *settings["input_size"], dtype=torch.float64)
    expected = locally_connected2d_reference(
        x, layer.weight, layer.bias, settings["stride"], settings["padding"], settings["dilation"]
    )
    torch.testing.assert_close(layer(x), expected)


@given(settings_that_fit())
def test_equals_conv2d_when_all_positions_share_one_kernel(settings):
    conv = torch.nn.Conv2d(
        settings["in_channels"],
        settings["out_channels"],
        settings["kernel_size"],
        settings["stride"],
        settings["padding"],
        settings["dilation"],
        bias=settings["bias"],
    ).double()
    layer = LocallyConnected2d.from_conv(conv, settings["input_size"])
    x = torch.randn(2, settings["in_channels"], *settings["input_size"], dtype=torch.float64)
    torch.testing.assert_close(layer(x), conv(x))


@pytest.mark.parametrize(
    ("in_c", "out_c", "size", "k", "s", "p"),
    [(1, 6, 32, 5, 1, 0), (3, 16, 32, 3, 1, 1), (2, 4, 9, 3, 2, 0)],
)
def test_parameter_count_is_one_kernel_and_one_bias_per_output_unit(in_c, out_c, size, k, s, p):
    layer = LocallyConnected2d(in_c, out_c, size, k, s, p)
    out = conv_output_size(size, k, s, p)
    assert sum(t.numel() for t in layer.parameters()) == out * out * out_c * (in_c * k * k + 1)
    assert layer.output_size == (out, out)


def test_lenet_c1_sized_layer_has_as_many_parameters_as_c1_has_connections():
    # LeNet-5 Sec. II-B: C1 has 122,304 connections; without sharing each one is a parameter.
    assert sum(t.numel() for t in LocallyConnected2d(1, 6, 32, 5).parameters()) == 122_304


def test_positions_really_have_their_own_kernels():
    layer = LocallyConnected2d(1, 1, 4, 3)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[1, 0] = 1.0  # only output position (1, 0) responds
    out = layer(torch.ones(1, 1, 4, 4))
    assert out[0, 0, 1, 0] == 9.0
    assert out.abs().sum() == 9.0


def test_backward_reaches_input_and_every_parameter():
    layer = LocallyConnected2d(2, 3, (6, 5), 3, padding=1)
    x = torch.randn(2, 2, 6, 5, requires_grad=True)
    layer(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())


def test_wrong_input_shape_names_the_expected_one():
    layer = LocallyConnected2d(1, 6, 32, 5)
    with pytest.raises(ValueError, match=r"expects input \(N, 1, 32, 32\).*got \(1, 1, 28, 28\)"):
        layer(torch.zeros(1, 1, 28, 28))


def test_impossible_kernel_is_refused_at_construction():
    with pytest.raises(ValueError, match="kernel 7 is larger than the padded input 5"):
        LocallyConnected2d(1, 1, 3, 7, padding=1)


def test_unfold_layout_matches_conv_weight_layout():
    """weight[y, x] is laid out like a Conv2d kernel, so a conv's kernel drops in position by position."""
    conv = torch.nn.Conv2d(3, 2, 3, bias=False)
    layer = LocallyConnected2d.from_conv(conv, 5)
    assert layer.weight.shape == (3, 3, 2, 3, 3, 3)
    torch.testing.assert_close(layer.weight[2, 1], conv.weight)
    x = torch.randn(1, 3, 5, 5)
    torch.testing.assert_close(layer(x), F.conv2d(x, conv.weight))
