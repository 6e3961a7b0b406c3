"""The size arithmetic against PyTorch as the oracle: same sizes, and errors exactly where PyTorch refuses."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnlab.layers import shapes
from cnnlab.layers.shapes import (
    ReceptiveField,
    Window,
    conv_output_size,
    explain_conv,
    explain_pool,
    explain_same_padding,
    explain_transposed,
    merge_receptive_fields,
    pool_output_size,
    receptive_fields,
    same_padding,
    transposed_output_size,
)

sizes = st.integers(1, 24)
kernels = st.integers(1, 7)
strides = st.integers(1, 4)
paddings = st.integers(0, 5)
dilations = st.integers(1, 3)


@st.composite
def axis(draw, output_padding: bool = False):
    params = {
        "i": draw(sizes),
        "k": draw(kernels),
        "s": draw(strides),
        "p": draw(paddings),
        "d": draw(dilations),
    }
    if output_padding:
        params["output_padding"] = draw(st.integers(0, 3))
    return params


def ours(function, **params):
    try:
        return function(**params)
    except ValueError:
        return None


def theirs(run):
    try:
        return tuple(run().shape[-2:])
    except (RuntimeError, ValueError):
        return None


def both_axes(function, h, w):
    out_h, out_w = ours(function, **h), ours(function, **w)
    return None if out_h is None or out_w is None else (out_h, out_w)


@given(axis(), axis())
def test_conv_output_size_equals_conv2d(h, w):
    x = torch.zeros(1, 1, h["i"], w["i"])
    weight = torch.zeros(1, 1, h["k"], w["k"])
    torch_shape = theirs(
        lambda: F.conv2d(x, weight, stride=(h["s"], w["s"]), padding=(h["p"], w["p"]), dilation=(h["d"], w["d"]))
    )
    assert both_axes(conv_output_size, h, w) == torch_shape


@given(axis(), axis(), st.booleans(), st.booleans())
def test_pool_output_size_equals_max_pool2d(h, w, ceil_mode, default_stride):
    x = torch.zeros(1, 1, h["i"], w["i"])
    if default_stride:
        h, w = {**h, "s": None}, {**w, "s": None}
    stride = None if default_stride else (h["s"], w["s"])
    torch_shape = theirs(
        lambda: F.max_pool2d(x, (h["k"], w["k"]), stride, (h["p"], w["p"]), (h["d"], w["d"]), ceil_mode=ceil_mode)
    )
    ours_shape = both_axes(lambda **a: pool_output_size(**a, ceil_mode=ceil_mode), h, w)
    assert ours_shape == torch_shape


@given(axis(), axis(), st.booleans())
def test_pool_output_size_equals_avg_pool2d(h, w, ceil_mode):
    h, w = {**h, "d": 1}, {**w, "d": 1}  # average pooling has no dilation
    x = torch.zeros(1, 1, h["i"], w["i"])
    torch_shape = theirs(
        lambda: F.avg_pool2d(x, (h["k"], w["k"]), (h["s"], w["s"]), (h["p"], w["p"]), ceil_mode=ceil_mode)
    )
    assert both_axes(lambda **a: pool_output_size(**a, ceil_mode=ceil_mode), h, w) == torch_shape


@given(axis(output_padding=True), axis(output_padding=True))
def test_transposed_output_size_equals_conv_transpose2d(h, w):
    x = torch.zeros(1, 1, h["i"], w["i"])
    weight = torch.zeros(1, 1, h["k"], w["k"])
    torch_shape = theirs(
        lambda: F.conv_transpose2d(
            x,
            weight,
            stride=(h["s"], w["s"]),
            padding=(h["p"], w["p"]),
            output_padding=(h["output_padding"], w["output_padding"]),
            dilation=(h["d"], w["d"]),
        )
    )
    if torch_shape is not None and 0 in torch_shape:
        # PyTorch returns an empty map when the padding crops exactly the whole output (and fails at one pixel
        # more); cnnlab refuses both, saying the padding crops the whole output.
        torch_shape = None
    assert both_axes(transposed_output_size, h, w) == torch_shape


@given(axis())
def test_output_padding_recovers_the_input_size(a):
    """Dumoulin & Visin, Relationship 14: with output_padding = (i + 2p - k_eff) mod s the transpose
    of a convolution gives back the convolution's input size."""
    o = ours(conv_output_size, **a)
    k_eff = a["d"] * (a["k"] - 1) + 1
    remainder = (a["i"] + 2 * a["p"] - k_eff) % a["s"]
    if o is None or remainder >= max(a["s"], a["d"]):
        return
    assert transposed_output_size(o, a["k"], a["s"], a["p"], a["d"], output_padding=remainder) == a["i"]


@given(st.integers(1, 30), st.integers(1, 9), st.integers(1, 4), st.integers(1, 3))
def test_same_padding_keeps_the_size(i, k, s, d):
    if (d * (k - 1)) % 2:
        with pytest.raises(ValueError, match="even"):
            same_padding(k, s, d)
        return
    p = same_padding(k, s, d)
    expected = -(-i // s)  # ceil(i / s)
    assert conv_output_size(i, k, s, p, d) == expected
    out = F.conv2d(torch.zeros(1, 1, i, i), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    assert out.shape[-1] == expected
    if s == 1:  # PyTorch's own "same" agrees
        same = F.conv2d(torch.zeros(1, 1, i, i), torch.zeros(1, 1, k, k), padding="same", dilation=d)
        assert same.shape[-1] == i


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conv_output_size(3, 7, p=1), r"kernel 7 is larger than the padded input 5 \(i=3, p=1\)"),
        (
            lambda: conv_output_size(5, 3, d=3),
            r"dilated kernel 7 \(k=3, d=3\) is larger than the padded input 5",
        ),
        (lambda: conv_output_size(5, 3, s=0), "stride must be positive, got 0"),
        (lambda: conv_output_size(5, 3, p=-1), "padding must be non-negative, got -1"),
        (lambda: conv_output_size(5, 2.5), "kernel must be an integer, got 2.5"),
        (lambda: conv_output_size(True, 1), "input size must be an integer, got True"),
        (
            lambda: pool_output_size(8, 3, 2, p=2),
            r"padding 2 is more than half the pooling window 3 \(at most 1\)",
        ),
        (lambda: pool_output_size(2, 3), "pooling kernel 3 is larger than the padded input 2"),
        (
            lambda: transposed_output_size(3, 3, s=2, output_padding=2),
            "output_padding 2 must be smaller than",
        ),
        (lambda: transposed_output_size(2, 1, p=1), "padding 1 crops the whole output"),
        (lambda: same_padding(4), r"kernel 4 is even.*\(1 before, 2 after\)"),
    ],
)
def test_invalid_arguments_name_the_value_and_the_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_lectures_formula_and_its_explanation():
    explanation = explain_conv(32, 5)
    assert explanation.output == 28
    assert "o = floor((32 - 5 + 2*0) / 1) + 1 = 28" in explanation.lines
    assert "exact" in str(explanation) and "not exact" not in str(explanation)

    uneven = explain_conv(32, 5, s=2, p=1)  # (32 - 5 + 2) / 2 = 14.5
    assert uneven.output == 15
    assert "remainder 1" in str(uneven) and "all of them padding" in str(uneven)

    real_pixel_lost = explain_conv(8, 3, s=2)  # (8 - 3) / 2: the last real column is never seen
    assert "1 of them real input pixel(s)" in str(real_pixel_lost)

    dilated = explain_conv(7, 3, s=2, d=2)
    assert dilated.lines[0] == "k_eff = d*(k - 1) + 1 = 2*(3 - 1) + 1 = 5"


def test_pool_explanation_shows_pytorchs_ceil_mode_rule():
    dropped = explain_pool(5, 3, 3, p=1, ceil_mode=True)
    assert dropped.output == 2 == pool_output_size(5, 3, 3, 1, ceil_mode=True)
    assert "o = ceil((5 - 3 + 2*1) / 3) + 1 = 3" in dropped.lines
    assert "PyTorch drops it: o = 2" in str(dropped)
    partial = explain_pool(5, 2, ceil_mode=True)
    assert partial.output == 3 and "past the padded input" in str(partial)


def test_transposed_explanation_is_zero_insertion():
    explanation = explain_transposed(14, 5, s=2, p=2, output_padding=1)
    assert explanation.output == 28
    assert "insert s - 1 = 1 zero(s) between inputs (14 -> 27)" in str(explanation)
    assert explain_same_padding(5, d=2).output == 4


def test_shapes_does_not_need_torch():
    with open(shapes.__file__) as file:
        source = file.read()
    assert "import torch" not in source


# ---------------------------------------------------------------------------------------------
# receptive fields, checked against gradients: an input pixel is in a unit's field exactly when the
# unit's value depends on it.

layer_specs = st.lists(
    st.tuples(st.sampled_from(["conv", "pool"]), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), dilations),
    min_size=1,
    max_size=4,
)


def _chain(specs):
    layers, windows = [], []
    for kind, k, s, p, d in specs:
        if kind == "pool":
            d, p = 1, min(p, k // 2)
            layers.append(torch.nn.AvgPool2d((k, 1), (s, 1), (p, 0), count_include_pad=True))
        else:
            conv = torch.nn.Conv2d(1, 1, (k, 1), (s, 1), (p, 0), (d, 1), bias=False)
            torch.nn.init.ones_(conv.weight)
            layers.append(conv)
        windows.append(Window(k, s, p, d))
    return torch.nn.Sequential(*layers).double(), windows


@given(layer_specs)
def test_receptive_field_is_what_the_gradient_reaches(specs):
    net, windows = _chain(specs)
    size = 200
    for w in windows:
        size = ours(conv_output_size, i=size, k=w.kernel, s=w.stride, p=w.padding, d=w.dilation)
        assume(size is not None)  # the strides shrank the input below the next kernel
    field = receptive_fields(windows)[-1]
    x = torch.ones(1, 1, 200, 1, dtype=torch.float64, requires_grad=True)
    out = net(x)
    unit = out.shape[2] // 2
    first = field.start + unit * field.jump - (field.size - 1) / 2
    last = first + field.size - 1
    if first < 0 or last > 199:
        return  # the field sticks out of the image; padding hides part of it
    out[0, 0, unit, 0].backward()
    touched = torch.nonzero(x.grad[0, 0, :, 0]).flatten()
    assert touched.min().item() == first
    assert touched.max().item() == last


def test_lenet5_receptive_fields():
    lenet = [Window(5), Window(2, 2), Window(5), Window(2, 2), Window(5)]
    assert [f.size for f in receptive_fields(lenet)] == [5, 6, 14, 16, 32]
    assert [f.jump for f in receptive_fields(lenet)] == [1, 2, 2, 4, 4]


def test_merging_branches_takes_the_widest_field():
    base = ReceptiveField(size=3, jump=2, start=1.0)
    one_by_one = base.then(Window(1))
    three = base.then(Window(3, padding=1))
    five = base.then(Window(5, padding=2))
    merged = merge_receptive_fields([one_by_one, three, five])
    assert merged == five
    assert merged.size == 3 + 4 * 2
    # a residual add with a strided shortcut: same jump, fields centred alike
    assert merge_receptive_fields([base.then(Window(1, 2)), base.then(Window(3, 2, 1))]).size == 7
    with pytest.raises(ValueError, match="different jumps"):
        merge_receptive_fields([base.then(Window(1, 2)), base.then(Window(1))])
    with pytest.raises(ValueError, match="at least one"):
        merge_receptive_fields([])
