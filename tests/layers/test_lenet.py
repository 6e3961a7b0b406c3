"""LeNet-5's parts against the paper's numbers (LeCun et al. 1998, Sec. II-B, Table I, Appendix A)."""

import pytest
import torch
import torch.nn.functional as F

from cnnlab.layers import lenet
from cnnlab.layers.normalization import LocalResponseNorm2d

# Table I read by C3 map (shared/reference/paper_facts.md §1.2), typed independently of the rows.
PAPER_C3_INPUTS = [
    {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {0, 4, 5}, {0, 1, 5},
    {0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {0, 3, 4, 5}, {0, 1, 4, 5}, {0, 1, 2, 5},
    {0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5}, {0, 1, 2, 3, 4, 5},
]  # fmt: skip


def test_c3_table_is_the_papers_table_i():
    connections = lenet.connections_from_table(lenet.LENET5_C3_TABLE)
    assert [set(inputs) for inputs in connections] == PAPER_C3_INPUTS
    assert sum(len(inputs) for inputs in connections) == 60


def test_sparse_c3_has_1516_parameters_against_2416_dense():
    c3 = lenet.SparseConv2d(lenet.connections_from_table(lenet.LENET5_C3_TABLE), in_channels=6, kernel_size=5)
    assert sum(p.numel() for p in c3.parameters()) == 1_516
    assert sum(p.numel() for p in torch.nn.Conv2d(6, 16, 5).parameters()) == 2_416
    assert c3(torch.randn(2, 6, 14, 14)).shape == (2, 16, 10, 10)


def test_sparse_conv_is_a_conv_with_the_unconnected_kernels_zero():
    c3 = lenet.SparseConv2d(lenet.connections_from_table(lenet.LENET5_C3_TABLE), in_channels=6, kernel_size=5)
    mask = c3.mask
    assert mask.shape == (6, 16)
    assert [set(torch.nonzero(mask[:, j]).flatten().tolist()) for j in range(16)] == PAPER_C3_INPUTS
    dense = c3.dense_weight()
    assert dense[~mask.T].abs().sum() == 0
    assert (dense[mask.T].abs().sum(dim=(1, 2)) > 0).all()
    x = torch.randn(3, 6, 14, 14)
    torch.testing.assert_close(c3(x), F.conv2d(x, dense, c3.bias))


def test_sparse_conv_gradient_stays_off_the_missing_connections():
    c3 = lenet.SparseConv2d([(0,), (0, 1)], in_channels=2, kernel_size=3)
    x = torch.randn(1, 2, 5, 5, requires_grad=True)
    out = c3(x)
    out[:, 0].sum().backward()  # output map 0 reads only input map 0
    assert x.grad[:, 1].abs().sum() == 0 and x.grad[:, 0].abs().sum() > 0


@pytest.mark.parametrize(
    ("connections", "message"),
    [([(0, 0)], "must be distinct"), ([(0, 3)], r"in 0\.\.1"), ([()], "at least one input map")],
)
def test_sparse_conv_rejects_a_bad_table(connections, message):
    with pytest.raises(ValueError, match=message):
        lenet.SparseConv2d(connections, in_channels=2, kernel_size=3)


def test_connection_table_rows_must_be_x_and_dots():
    with pytest.raises(ValueError, match=r"'X' and '\.'"):
        lenet.connections_from_table(["X . Y", "X X X"])


def test_trainable_subsampling_is_coefficient_times_sum_plus_bias():
    s2 = lenet.TrainableSubsampling(6)
    assert sum(p.numel() for p in s2.parameters()) == 12  # Sec. II-B: S2 has 12 trainable parameters
    with torch.no_grad():
        s2.weight.copy_(torch.arange(1.0, 7.0))
        s2.bias.copy_(torch.arange(6.0) / 10)
    x = torch.randn(2, 6, 28, 28)
    out = s2(x)
    assert out.shape == (2, 6, 14, 14)
    region_sum = x[:, :, 2:4, 6:8].sum(dim=(2, 3))
    torch.testing.assert_close(out[:, :, 1, 3], region_sum * s2.weight + s2.bias)
    assert sum(p.numel() for p in lenet.TrainableSubsampling(16).parameters()) == 32  # S4


def test_trainable_subsampling_starts_as_average_pooling():
    x = torch.randn(1, 6, 8, 8)
    torch.testing.assert_close(lenet.TrainableSubsampling(6)(x), F.avg_pool2d(x, 2))


@pytest.mark.parametrize(("size", "k"), [((7, 9), 2), ((10, 10), 3), ((11, 6), 5)])
def test_trainable_subsampling_drops_a_remainder_as_pooling_does(size, k):
    x = torch.randn(2, 3, *size, requires_grad=True)
    layer = lenet.TrainableSubsampling(3, kernel_size=k)
    out = layer(x)  # training: the sums as matrix products
    with torch.no_grad():
        torch.testing.assert_close(layer.eval()(x), out)  # evaluation: as a pooling
    reference = F.avg_pool2d(x, k) * k * k * layer.weight.view(1, -1, 1, 1) + layer.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(out, reference)
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    (expected,) = torch.autograd.grad(reference.square().sum(), x)
    torch.testing.assert_close(grad, expected)


def test_c5_is_a_convolution_computed_as_a_matrix_product_at_its_kernel_size():
    c5 = lenet.CoveringConv2d(16, 120, 5)
    reference = torch.nn.Conv2d(16, 120, 5)
    reference.load_state_dict(c5.state_dict())  # the same parameters, under the same names
    x = torch.randn(4, 16, 5, 5, requires_grad=True)
    out, expected = c5(x), reference(x)
    assert out.shape == (4, 120, 1, 1)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(torch.autograd.grad(out.sum(), x)[0], torch.autograd.grad(expected.sum(), x)[0])
    larger = torch.randn(2, 16, 9, 7)  # Sec. II-B: a larger input gives larger C5 maps
    torch.testing.assert_close(c5(larger), reference(larger))
    assert c5(larger).shape == (2, 120, 5, 3)


def test_scaled_tanh_maps_plus_minus_one_to_themselves():
    f = lenet.ScaledTanh()
    values = f(torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(values, torch.tensor([0.9999973, -0.9999973, 0.0], dtype=torch.float64))
    assert f(torch.tensor(100.0)).item() == pytest.approx(1.7159)
    for amplitude, slope in [("x", 1.0), (1.0, None), (True, 1.0), (float("nan"), 1.0)]:
        with pytest.raises(ValueError, match=r"^(amplitude|slope) must be a finite number, got "):
            lenet.ScaledTanh(amplitude, slope)
    assert lenet.ScaledTanh(2, 1).amplitude == 2.0


def test_rbf_prototypes_are_ten_fixed_7x12_bitmaps_of_plus_minus_one():
    assert len(lenet.LENET5_RBF_BITMAPS) == 10
    assert all(len(b) == 12 and all(len(row) == 7 for row in b) for b in lenet.LENET5_RBF_BITMAPS)
    rbf = lenet.EuclideanRBF.lenet5()
    assert list(rbf.parameters()) == []
    assert rbf.prototypes.shape == (10, 84) and rbf.prototypes.numel() == 840
    assert set(rbf.prototypes.unique().tolist()) == {-1.0, 1.0}
    assert "prototypes" in rbf.state_dict()
    distances = torch.cdist(rbf.prototypes, rbf.prototypes)
    assert (distances + torch.eye(10) > 0).all(), "two digits share a prototype"
    assert sum(p.numel() for p in lenet.EuclideanRBF.lenet5(trainable=True).parameters()) == 840


def test_rbf_output_is_the_squared_distance_to_each_prototype():
    rbf = lenet.EuclideanRBF.lenet5()
    x = torch.randn(4, 84)
    torch.testing.assert_close(rbf(x), torch.cdist(x, rbf.prototypes) ** 2, rtol=1e-4, atol=1e-4)
    assert rbf(rbf.prototypes).argmin(dim=1).tolist() == list(range(10))
    with pytest.raises(ValueError, match=r"\(N, 84\)"):
        rbf(torch.zeros(2, 80))


def _paper_lrn(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """AlexNet Sec. 3.3, summed over channel windows j = max(0, i - n/2) .. min(N - 1, i + n/2)."""
    channels = a.shape[1]
    out = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        out[:, i] = a[:, i] / (k + alpha * (a[:, lo : hi + 1] ** 2).sum(1)) ** beta
    return out


def test_local_response_norm_uses_the_papers_alpha():
    a = torch.randn(2, 12, 4, 4, dtype=torch.float64) * 30  # large enough that alpha matters
    torch.testing.assert_close(LocalResponseNorm2d()(a), _paper_lrn(a))
    pytorch_with_paper_alpha = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a)
    assert not torch.allclose(pytorch_with_paper_alpha, _paper_lrn(a))
