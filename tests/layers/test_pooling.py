"""Learned poolings reduce to max and mean pooling at their limits, and learn."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnlab.layers.pooling import GatedPool2d, GlobalAvgPool2d, LearnedLPPool2d, MixedPool2d
from cnnlab.layers.shapes import pool_output_size


@st.composite
def windows(draw):
    k = draw(st.integers(1, 4))
    return {
        "kernel_size": k,
        "stride": draw(st.one_of(st.none(), st.integers(1, 3))),
        "padding": draw(st.integers(0, k // 2)),
        "ceil_mode": draw(st.booleans()),
    }


def _native(x, window):
    args = (window["kernel_size"], window["stride"], window["padding"])
    maximum = F.max_pool2d(x, *args, ceil_mode=window["ceil_mode"])
    mean = F.avg_pool2d(x, *args, ceil_mode=window["ceil_mode"], count_include_pad=False)
    return maximum, mean


def _fill(parameter, value):
    with torch.no_grad():
        parameter.fill_(value)


@given(windows(), st.booleans())
def test_mixed_pool_is_max_and_mean_pooling_at_its_limits(window, per_channel):
    x = torch.randn(2, 3, 7, 6)
    pool = MixedPool2d(**window, num_channels=3 if per_channel else None)
    maximum, mean = _native(x, window)
    _fill(pool.mix_logit, math.inf)
    assert torch.equal(pool(x), maximum)
    _fill(pool.mix_logit, -math.inf)
    assert torch.equal(pool(x), mean)
    _fill(pool.mix_logit, 0.0)
    torch.testing.assert_close(pool(x), (maximum + mean) / 2)


@given(windows(), st.booleans())
def test_gated_pool_is_max_and_mean_pooling_at_its_limits(window, per_channel):
    x = torch.randn(2, 3, 7, 6)
    pool = GatedPool2d(**window, num_channels=3 if per_channel else None)
    maximum, mean = _native(x, window)
    torch.nn.init.normal_(pool.gate_weight)
    _fill(pool.gate_bias, math.inf)
    assert torch.equal(pool(x), maximum)
    _fill(pool.gate_bias, -math.inf)
    assert torch.equal(pool(x), mean)


def test_gated_pool_gate_looks_at_each_region():
    pool = GatedPool2d(2)
    _fill(pool.gate_weight, 1.0)
    x = torch.tensor([[[[1.0, 1.0, -1.0, -1.0], [1.0, 1.0, -1.0, -1.0]]]])
    gate = pool.gate(x)
    torch.testing.assert_close(gate, torch.sigmoid(torch.tensor([[[[4.0, -4.0]]]])))


@given(windows(), st.booleans())
def test_lp_pool_is_max_and_mean_pooling_at_its_limits(window, per_channel):
    x = torch.randn(2, 3, 7, 6).abs()  # Lp pooling pools magnitudes; after a ReLU these are the values
    pool = LearnedLPPool2d(**window, num_channels=3 if per_channel else None)
    maximum, mean = _native(x, window)
    _fill(pool.p_raw, math.inf)
    assert torch.equal(pool(x), maximum)
    _fill(pool.p_raw, -math.inf)
    torch.testing.assert_close(pool(x), mean)


@pytest.mark.parametrize("p", [2.0, 3.0, 7.5])
def test_lp_pool_is_the_mean_lp_norm_of_each_region(p):
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    pool = LearnedLPPool2d(2, initial_p=p).double()
    torch.testing.assert_close(pool.p, torch.tensor([p], dtype=torch.float64))
    # nn.LPPool2d sums |x|^p where we average; the two differ by the region size to the 1/p.
    expected = F.lp_pool2d(x.abs(), p, 2) / 4 ** (1 / p)
    torch.testing.assert_close(pool(x), expected)


def test_lp_pool_stays_finite_where_the_power_would_overflow():
    pool = LearnedLPPool2d(2, initial_p=60.0)
    x = torch.full((1, 1, 2, 2), 1e3)  # (1e3)^60 overflows float32
    torch.testing.assert_close(pool(x), torch.full((1, 1, 1, 1), 1e3))
    zeros = torch.zeros(1, 1, 4, 4, requires_grad=True)
    pool(zeros).sum().backward()
    assert torch.isfinite(zeros.grad).all() and torch.isfinite(pool.p_raw.grad).all()


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (lambda: MixedPool2d(2), ["mix_logit"]),
        (lambda: MixedPool2d(3, 2, 1, num_channels=4), ["mix_logit"]),
        (lambda: GatedPool2d(2), ["gate_weight", "gate_bias"]),
        (lambda: GatedPool2d(3, 2, 1, ceil_mode=True, num_channels=4), ["gate_weight", "gate_bias"]),
        (lambda: LearnedLPPool2d(2), ["p_raw"]),
        (lambda: LearnedLPPool2d(3, 2, 1, num_channels=4), ["p_raw"]),
    ],
)
def test_every_pooling_parameter_gets_a_gradient(make, names):
    pool = make()
    x = torch.randn(2, 4, 9, 9, requires_grad=True)
    pool(x).square().sum().backward()
    assert x.grad.abs().sum() > 0
    for name in names:
        grad = getattr(pool, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@given(windows(), st.integers(1, 9), st.integers(1, 9))
def test_learned_pools_have_max_pool2d_output_size(window, h, w):
    try:
        expected = (
            pool_output_size(
                h, window["kernel_size"], window["stride"], window["padding"], ceil_mode=window["ceil_mode"]
            ),
            pool_output_size(
                w, window["kernel_size"], window["stride"], window["padding"], ceil_mode=window["ceil_mode"]
            ),
        )
    except ValueError:
        for pool in (MixedPool2d(**window), GatedPool2d(**window), LearnedLPPool2d(**window)):
            with pytest.raises(ValueError, match="larger than the padded input"):
                pool(torch.randn(1, 2, h, w))
        return
    for pool in (MixedPool2d(**window), GatedPool2d(**window), LearnedLPPool2d(**window)):
        assert pool(torch.randn(1, 2, h, w)).shape == (1, 2, *expected)


def test_learned_pools_refuse_what_max_pool2d_refuses():
    with pytest.raises(ValueError, match="padding 2 is more than half the pooling window 3"):
        MixedPool2d(3, padding=2)
    with pytest.raises(ValueError, match="parameters for 4 channels, got 3"):
        GatedPool2d(2, num_channels=4)(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="initial_p must be at least 1"):
        LearnedLPPool2d(2, initial_p=0.5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        MixedPool2d(2)(torch.zeros(3, 4, 4))


def test_learned_pools_are_drop_ins_for_max_pool2d():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), MixedPool2d(2), torch.nn.Flatten())
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten()
    )
    x = torch.randn(2, 1, 10, 10)
    assert net(x).shape == reference(x).shape == (2, 64)


def test_global_average_pooling_averages_each_map():
    x = torch.randn(2, 5, 6, 7)
    torch.testing.assert_close(GlobalAvgPool2d()(x), F.adaptive_avg_pool2d(x, 1).flatten(1))
    assert GlobalAvgPool2d(keepdim=True)(x).shape == (2, 5, 1, 1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        GlobalAvgPool2d()(torch.zeros(5, 6))
