"""Transposed convolution by zero insertion equals PyTorch's, and is the adjoint of convolution."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnlab.layers.shapes import conv_output_size, effective_kernel_size
from cnnlab.layers.transposed import (
    ZeroInsertionConvTranspose2d,
    conv_transpose2d_by_zero_insertion,
    insert_zeros,
)
from tests.layers._strategies import windows


@st.composite
def transposed_settings(draw):
    window = draw(windows(max_padding=3))
    s, d = window["stride"], window["dilation"]
    op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
    return {**window, "output_padding": op}


@given(transposed_settings(), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3))
def test_equals_conv_transpose2d(settings, h, w, in_c, out_c):
    x = torch.randn(2, in_c, h, w, dtype=torch.float64)
    weight = torch.randn(in_c, out_c, *settings["kernel_size"], dtype=torch.float64)
    bias = torch.randn(out_c, dtype=torch.float64)
    args = {k: settings[k] for k in ("stride", "padding", "output_padding", "dilation")}
    try:
        expected = F.conv_transpose2d(x, weight, bias, **args)
    except RuntimeError:  # padding crops everything: ours must refuse too
        with pytest.raises(ValueError, match="crops the whole output"):
            conv_transpose2d_by_zero_insertion(x, weight, bias, **args)
        return
    torch.testing.assert_close(conv_transpose2d_by_zero_insertion(x, weight, bias, **args), expected)


@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 2), st.integers(1, 2), st.integers(4, 10))
def test_is_the_adjoint_of_convolution(s, k, p, d, i):
    """<conv2d(x, w), y> == <conv_transpose2d(y, w), x>: the transposed convolution multiplies by C^T."""
    if effective_kernel_size(k, d) > i + 2 * p:
        return
    o = conv_output_size(i, k, s, p, d)
    remainder = (i + 2 * p - effective_kernel_size(k, d)) % s
    if remainder >= max(s, d):
        return
    x = torch.randn(1, 2, i, i, dtype=torch.float64)
    y = torch.randn(1, 3, o, o, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, dtype=torch.float64)  # conv: 2 -> 3, so the transpose maps 3 -> 2
    forward = (F.conv2d(x, w, stride=s, padding=p, dilation=d) * y).sum()
    back = conv_transpose2d_by_zero_insertion(y, w, stride=s, padding=p, output_padding=remainder, dilation=d)
    torch.testing.assert_close(forward, (back * x).sum())


def test_insert_zeros_puts_stride_minus_one_zeros_between_pixels():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert insert_zeros(x, 3).tolist() == [[[
        [1, 0, 0, 2],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [3, 0, 0, 4],
    ]]]  # fmt: skip


def test_module_is_a_drop_in_for_conv_transpose2d():
    reference = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    ours = ZeroInsertionConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    assert ours.weight.shape == reference.weight.shape
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(2, 4, 7, 7)
    torch.testing.assert_close(ours(x), reference(x))
    assert ours(x).shape == (2, 2, 14, 14)
    # what the convolution sees: 7 -> 13 stretched, border k - 1 - p = 1, +1 output padding
    assert ours.zero_inserted(x).shape == (2, 4, 16, 16)


def test_default_initialisation_matches_conv_transpose2d():
    torch.manual_seed(0)
    reference = torch.nn.ConvTranspose2d(4, 2, 3)
    torch.manual_seed(0)
    ours = ZeroInsertionConvTranspose2d(4, 2, 3)
    torch.testing.assert_close(ours.weight, reference.weight)
    torch.testing.assert_close(ours.bias, reference.bias)


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="output_padding 2 must be smaller than the stride 2"):
        ZeroInsertionConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="same C_in"):
        conv_transpose2d_by_zero_insertion(torch.zeros(1, 2, 3, 3), torch.zeros(3, 1, 3, 3))
