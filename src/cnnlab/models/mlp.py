"""The lecture's first two networks, as baselines for LeNet-5: fully connected and locally connected.

The multilayer perceptron is the "3-layer NN, 300+100 hidden units" of LeCun et al. 1998, Sec. III-C
(Fig. 9: 3.05% MNIST test error). The locally connected network is LeNet-5's modern form with every
convolution replaced by :class:`~cnnlab.layers.LocallyConnected2d`: the same windows without shared
weights, the kind of layer Taigman et al. 2014 (DeepFace, Sec. 3) used. Together with ``lenet5_modern``
they make the lecture's FC -> LC -> conv comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from cnnlab.layers.locally_connected import LocallyConnected2d
from cnnlab.models._base import ImageClassifier
from cnnlab.models._registry import register_model
from cnnlab.models.lenet import MODERN_RECIPE, ModernLeNetTopology

__all__ = ["MLP", "LocallyConnectedNet"]

IMAGE_SIZE = 32  # the bundled digits are padded to 32x32, LeNet-5's input


@register_model(
    name="mlp",
    recipe=MODERN_RECIPE,
    paper="LeCun, Bottou, Bengio, Haffner 1998, Gradient-Based Learning Applied to Document Recognition",
    section="Sec. III-C, Fig. 9 (3-layer NN, 300+100 hidden units)",
    year=1998,
    input_size=(1, 32, 32),
    params=338_610,
    notes="ReLU instead of sigmoid units; 32x32 input (the padded digits) instead of 28x28.",
)
class MLP(ImageClassifier):
    """Flatten -> Linear 300 -> ReLU -> Linear 100 -> ReLU -> Linear ``num_classes``.

    ``hidden`` sets the hidden layers' widths: ``(300,)`` is Fig. 9's "28x28-300-10" (2-layer NN, 300 hidden
    units, 4.7% MNIST test error; its 28x28 input is our 32x32 one less a border of background).

    Deviation: ReLU instead of the paper's sigmoid units, to compare architectures, not activations.
    Every pixel is connected to every hidden unit, so the input size is fixed at 32x32.
    """

    final_size = (IMAGE_SIZE, IMAGE_SIZE)

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10, hidden: Sequence[int] = (300, 100)) -> None:
        widths = [int(width) for width in hidden]
        if not widths or min(widths) < 1:
            raise ValueError(f"hidden must list one or more positive widths, got {list(hidden)}")
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=widths[-1])
        sizes = [in_channels * IMAGE_SIZE * IMAGE_SIZE, *widths]
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        if len(widths) > 1:  # fc2, fc3, ...: the names the default (300, 100) network has always had
            for index, (fan_in, fan_out) in enumerate(pairwise(sizes[1:]), start=2):
                setattr(self, f"fc{index}", nn.Linear(fan_in, fan_out))
        self.hidden_layers = len(widths)
        self.output = nn.Linear(widths[-1], num_classes)
        self.relu = nn.ReLU(inplace=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for index in range(1, self.hidden_layers + 1):
            x = self.relu(getattr(self, f"fc{index}")(x))
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return x if pre_logits else self.output(x)


@register_model(
    name="locally_connected_net",
    recipe=MODERN_RECIPE,
    paper="Taigman, Yang, Ranzato, Wolf 2014, DeepFace (locally connected layers); topology of LeNet-5",
    section="DeepFace Sec. 3 (locally connected layers); LeNet-5 Sec. II-B (sizes)",
    year=2014,
    input_size=(1, 32, 32),
    params=423_038,
    notes="A baseline for the lecture, not a published network: lenet5_modern with unshared weights.",
)
class LocallyConnectedNet(ModernLeNetTopology):
    """LeNet-5's modern form with unshared weights: LC 5x5 6 -> max pool -> LC 5x5 16 -> max pool ->
    LC 5x5 120 -> Linear 84 -> Linear ``num_classes`` (ReLU after each hidden layer).

    Every output position has its own kernel, so the input size is fixed at 32x32.
    """

    final_size = (1, 1)

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=120)
        self.c1 = LocallyConnected2d(in_channels, 6, IMAGE_SIZE, 5)  # N x 6 x 28 x 28
        self.s2 = nn.MaxPool2d(2)  # N x 6 x 14 x 14
        self.c3 = LocallyConnected2d(6, 16, 14, 5)  # N x 16 x 10 x 10
        self.s4 = nn.MaxPool2d(2)  # N x 16 x 5 x 5
        self.c5 = LocallyConnected2d(16, 120, 5, 5)  # N x 120 x 1 x 1
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.relu = nn.ReLU(inplace=True)
        self.size_steps = ("c1", "s2", "c3", "s4", "c5")
