"""Every custom layer's backward pass against finite differences (float64), for inputs and parameters."""

import pytest
import torch
from torch.func import functional_call

from cnnlab.layers.lenet import (
    LENET5_C3_TABLE,
    EuclideanRBF,
    ScaledTanh,
    SparseConv2d,
    TrainableSubsampling,
    connections_from_table,
)
from cnnlab.layers.locally_connected import LocallyConnected2d
from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.layers.pooling import GatedPool2d, GlobalAvgPool2d, LearnedLPPool2d, MixedPool2d
from cnnlab.layers.transposed import ZeroInsertionConvTranspose2d

CASES = {
    "LocallyConnected2d": (
        lambda: LocallyConnected2d(2, 3, (5, 4), 3, stride=(1, 2), padding=1),
        (2, 2, 5, 4),
    ),
    "LocallyConnected2d dilated": (lambda: LocallyConnected2d(1, 2, 6, 2, dilation=2), (1, 1, 6, 6)),
    "MixedPool2d": (lambda: MixedPool2d(3, 2, 1, num_channels=2), (2, 2, 6, 6)),
    "GatedPool2d": (lambda: GatedPool2d(2, ceil_mode=True), (2, 2, 5, 5)),
    "LearnedLPPool2d": (lambda: LearnedLPPool2d(3, 2, 1, num_channels=2), (2, 2, 6, 6)),
    "GlobalAvgPool2d": (lambda: GlobalAvgPool2d(), (2, 3, 4, 5)),
    "ZeroInsertionConvTranspose2d": (
        lambda: ZeroInsertionConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
        (1, 2, 3, 4),
    ),
    "TrainableSubsampling": (lambda: TrainableSubsampling(3), (2, 3, 4, 6)),
    "ScaledTanh": (lambda: ScaledTanh(), (2, 3, 4)),
    "SparseConv2d": (
        lambda: SparseConv2d(connections_from_table(LENET5_C3_TABLE), in_channels=6, kernel_size=3),
        (1, 6, 5, 5),
    ),
    "EuclideanRBF": (lambda: EuclideanRBF.lenet5(trainable=True), (2, 84)),
    "LocalResponseNorm2d": (lambda: LocalResponseNorm2d(), (2, 7, 3, 3)),
}


@pytest.mark.parametrize("name", CASES)
def test_gradcheck(name):
    make, shape = CASES[name]
    torch.manual_seed(0)
    module = make().double()
    for parameter in module.parameters():  # move learned-pooling parameters off their symmetric start
        with torch.no_grad():
            parameter.add_(0.3 * torch.randn_like(parameter))
    names = [n for n, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in module.parameters())
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)

    def function(x, *params):
        return functional_call(module, dict(zip(names, params, strict=True)), (x,))

    assert torch.autograd.gradcheck(function, (x, *params))
