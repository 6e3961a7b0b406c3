"""Twin networks for the lecture's experiments: each pair differs in exactly one of the ideas the papers claim.

Small enough to train on the bundled 32x32 digits in seconds on a CPU, so that ``cnnlab experiment`` can put
a claim to the test with several seeds in minutes. Each twin takes the option that switches the idea on or
off, and nothing else changes: the same widths, the same depth, the same receptive field where it can be kept.
Each class is registered as it is: its keyword-only constructor is the model's builder.

* ``convnet4`` (:class:`ConvNet4`, option ``activation``): the four-layer CIFAR-10 network of AlexNet's Figure 1,
  ReLU or tanh (Krizhevsky, Sutskever, Hinton 2012, Sec. 3.1).
* ``kernel_twin`` (:class:`KernelTwin`, ``kernels``): 5x5 and 7x7 convolutions, or stacks of 3x3 that see as far
  (Simonyan and Zisserman 2015, Sec. 2.3; Szegedy et al. 2016, Sec. 3.1).
* ``head_twin`` (:class:`HeadTwin`, ``head``): a fully connected classifier, or a 1x1 convolution and global average
  pooling (Lin, Chen, Yan 2014, Sec. 3.2); ``dropout`` on the fully connected one's hidden layer (Krizhevsky 2012);
  ``width`` multiplies every layer's width.
* ``filter_bank_net`` (:class:`FilterBankNet`, ``features``): one convolution, learned, or frozen at random values or
  at classic hand-made filters (Sobel and Gabor), in front of a linear classifier (LeCun, Bottou, Bengio, Haffner
  1998, Sec. I, Fig. 1).
* ``deep_aux_net`` (:class:`DeepAuxNet`, ``aux_logits``): a deep plain network, with or without auxiliary
  classifiers (Szegedy et al. 2015, Sec. 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from cnnlab.layers.pooling import GlobalAvgPool2d
from cnnlab.models._base import ImageClassifier, ModelOutput
from cnnlab.models._registry import register_model

__all__ = [
    "ACTIVATIONS",
    "FEATURES",
    "HEADS",
    "KERNELS",
    "ConvNet4",
    "DeepAuxNet",
    "FilterBankNet",
    "HeadTwin",
    "KernelTwin",
    "handmade_filters",
]

# Every twin's recipe (TrainConfig settings, see ModelSpec.recipe): the twins are compared on the bundled digits,
# one idea at a time: LeNet-5's budget and optimiser, without augmentation (the regularisation experiment turns it
# on as its variable).
RECIPE = {
    "recipe": "twins", "epochs": 10, "batch_size": 64, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4,
    "schedule": "onecycle", "augment": (), "normalization": "lenet", "val_fraction": 0.1,
}  # fmt: skip

ACTIVATIONS = ("relu", "tanh")
KERNELS = ("large", "stacked")
HEADS = ("fc", "gap")
FEATURES = ("learned", "random", "handmade")


def _choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _he_init(model: nn.Module) -> None:
    """He et al. 2015's initialisation for ReLU networks on every convolution, biases at zero: a deep plain stack
    then starts with signals of one size at every depth, so that depth alone is what differs between twins."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)


def _activation(kind: str) -> nn.Module:
    return nn.ReLU(inplace=True) if kind == "relu" else nn.Tanh()


class _LinearOnFlatMaps(ImageClassifier):
    """A twin whose classifier is one linear layer, ``fc``, on its flattened feature maps."""

    fc: nn.Linear

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.flatten(1)
        return x if pre_logits else self.fc(x)


# -------------------------------------------------------------------------------------------------
# AlexNet, Figure 1: ReLU against tanh


@register_model(
    name="convnet4",
    recipe=RECIPE,
    paper="Krizhevsky, Sutskever, Hinton 2012, ImageNet Classification with Deep Convolutional Neural Networks",
    section="Sec. 3.1, Fig. 1 (the network itself: cuda-convnet's CIFAR-10 layers)",
    year=2012,
    input_size=(3, 32, 32),
    params=89_578,
    notes="The paper names a four-layer CNN without its layers; these are the author's published cuda-convnet "
    "CIFAR-10 layers without response normalisation. activation='tanh' for the paper's dashed curve; "
    "extra_layers=N adds N 3x3 layers before the classifier (a deeper plain net).",
)
class ConvNet4(_LinearOnFlatMaps):
    """Four layers with weights: three 5x5 convolutions (32, 32, 64 maps) with 3x3 stride-2 pools, and a linear
    classifier, the layout of the CIFAR-10 network in Krizhevsky's cuda-convnet, the code of AlexNet's Fig. 1.

    The paper does not give the network of Fig. 1 ("a four-layer convolutional neural network"); this is the
    four-layer CIFAR-10 net its author published with cuda-convnet (max pool, then two average pools; pools
    rounded up, as cuda-convnet's are). ``activation`` is ``relu`` or ``tanh``, after every convolution.

    ``extra_layers`` makes it a deeper plain net for the depth axis AlexNet's Sec. 3.1 points to ("the magnitude
    of the effect ... varies with network architecture"): that many 3x3 convolutions of 64 maps, each with the
    activation, on the 4x4 maps before the classifier (4 + ``extra_layers`` layers with weights), where they cost
    least; they are built after the four layers, which start as in the four-layer net.
    """

    def __init__(
        self, *, in_channels: int = 3, num_classes: int = 10, activation: str = "relu", extra_layers: int = 0
    ) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=64)
        self.activation_kind = _choice("activation", activation, ACTIVATIONS)
        if extra_layers < 0:
            raise ValueError(f"extra_layers must be 0 or more, got {extra_layers}")
        self.conv1 = nn.Conv2d(in_channels, 32, 5, padding=2)  # N x 32 x 32 x 32
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)  # N x 32 x 16 x 16
        self.conv2 = nn.Conv2d(32, 32, 5, padding=2)
        self.pool2 = nn.AvgPool2d(3, 2, ceil_mode=True)  # N x 32 x 8 x 8
        self.conv3 = nn.Conv2d(32, 64, 5, padding=2)
        self.pool3 = nn.AvgPool2d(3, 2, ceil_mode=True)  # N x 64 x 4 x 4
        self.act = _activation(activation)
        self.fc = nn.Linear(64 * 4 * 4, num_classes)
        self.extra = nn.ModuleList(_same_conv(64, 64, 3) for _ in range(extra_layers))  # none: no state to save
        _he_init(self.extra)
        self.size_steps = ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3",
                           *(f"extra.{index}" for index in range(extra_layers)))  # fmt: skip
        self.final_size = (4, 4)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.act(self.conv1(x)))
        x = self.pool2(self.act(self.conv2(x)))
        x = self.pool3(self.act(self.conv3(x)))
        for conv in self.extra:
            x = self.act(conv(x))
        return x


# -------------------------------------------------------------------------------------------------
# VGG / Inception v2: 5x5 and 7x7 against stacks of 3x3


def _same_conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)


@register_model(
    name="kernel_twin",
    recipe=RECIPE,
    paper="Simonyan, Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image Recognition",
    section="Sec. 2.3 (a stack of 3x3 layers for a 5x5 or 7x7 one); Szegedy et al. 2016, Sec. 3.1",
    year=2015,
    input_size=(1, 32, 32),
    params=21_706,
    notes="A twin for the factorisation experiment, not a network of the paper. kernels='stacked' (14,330 "
    "parameters) puts two and three 3x3 convolutions where the 5x5 and 7x7 are.",
)
class KernelTwin(_LinearOnFlatMaps):
    """A 3x3 stem (16 maps) and a 2x2 max pool, then two stages of 16 maps at 16x16 and 8x8: a 5x5 convolution,
    then a 7x7 one, each with a ReLU and a 2x2 max pool; or, with ``kernels="stacked"``, two and three 3x3
    convolutions in their places, a ReLU after each (VGG, Sec. 2.3: the same field, more non-linearities,
    18 and 27 weights per pair of maps instead of 25 and 49). A linear classifier on the 16x4x4 maps follows,
    the same in both. The stem and the constant width make every factorised layer map 16 maps to 16, the
    setting of the papers' arithmetic; He initialisation (as VGG's successors train such stacks from scratch).
    """

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10, kernels: str = "large") -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=16)
        self.kernels = _choice("kernels", kernels, KERNELS)
        self.stem = _same_conv(in_channels, 16, 3)
        self.pool0 = nn.MaxPool2d(2)  # N x 16 x 16 x 16
        self.stage1 = self._stage(16, 5)
        self.pool1 = nn.MaxPool2d(2)  # N x 16 x 8 x 8
        self.stage2 = self._stage(16, 7)
        self.pool2 = nn.MaxPool2d(2)  # N x 16 x 4 x 4
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(16 * 4 * 4, num_classes)
        stages = (*self._convolutions("stage1"), "pool1", *self._convolutions("stage2"), "pool2")
        self.size_steps = ("stem", "pool0", *stages)
        self.final_size = (4, 4)
        _he_init(self)

    def _convolutions(self, stage: str) -> list[str]:
        return [f"{stage}.{i}" for i, module in enumerate(getattr(self, stage)) if isinstance(module, nn.Conv2d)]

    def _stage(self, channels: int, kernel: int) -> nn.Sequential:
        """One ``kernel x kernel`` convolution, or ``(kernel - 1) / 2`` 3x3 ones, each with its ReLU."""
        if self.kernels == "large":
            return nn.Sequential(_same_conv(channels, channels, kernel), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        for _ in range((kernel - 1) // 2):
            layers += [_same_conv(channels, channels, 3), nn.ReLU(inplace=True)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool0(self.relu(self.stem(x)))
        return self.pool2(self.stage2(self.pool1(self.stage1(x))))


# -------------------------------------------------------------------------------------------------
# Network in Network / GoogLeNet: a fully connected head against 1x1 + global average pooling


@register_model(
    name="head_twin",
    recipe=RECIPE,
    paper="Lin, Chen, Yan 2014, Network In Network",
    section="Sec. 3.2 (global average pooling instead of fully connected layers); Szegedy et al. 2015, Sec. 5",
    year=2014,
    input_size=(1, 32, 32),
    params=147_946,
    notes="A twin for the global-pooling and regularisation experiments, not a network of the paper. "
    "head='gap' (19,562 parameters) ends in 1x1 convolutions and global average pooling.",
)
class HeadTwin(ImageClassifier):
    """Three 3x3 convolutions (16, 32, 32 maps) with ReLUs and 2x2 max pools (32 -> 4x4 maps), then a head:
    ``fc`` flattens the 32x4x4 maps into a hidden layer of 256 and a linear output, as AlexNet and VGG end;
    ``gap`` is Network in Network's: a 1x1 convolution of 128 maps with a ReLU (a fully connected layer at every
    position: the end of an mlpconv), a 1x1 convolution to one map per class, and the average of each map.

    ``dropout`` drops the fully connected head's hidden units with that probability while training (AlexNet,
    Sec. 4.2); the ``gap`` head has none to drop.

    ``width`` multiplies every layer's width (the maps of the convolutions, the hidden layer of 256, the 1x1
    convolution of 128; rounded, at least one), as MobileNet's width multiplier does, so that both heads grow
    with the network: the curve of accuracy against parameters in the global-pooling experiment.
    """

    def __init__(
        self, *, in_channels: int = 1, num_classes: int = 10, head: str = "fc", dropout: float = 0.0,
        width: float = 1.0,
    ) -> None:  # fmt: skip
        if not (isinstance(width, int | float) and math.isfinite(width) and width > 0):
            raise ValueError(f"width must be a positive number, got {width!r}")
        c1, c2, hidden = (max(1, round(n * width)) for n in (16, 32, 256 if head == "fc" else 128))
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=c2)
        self.head = _choice("head", head, HEADS)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if dropout and head == "gap":
            raise ValueError("dropout applies to the fully connected head's hidden layer; head='gap' has none")
        self.width = width
        self.conv1 = _same_conv(in_channels, c1, 3)
        self.pool1 = nn.MaxPool2d(2)  # N x 16 x 16 x 16 (at width 1)
        self.conv2 = _same_conv(c1, c2, 3)
        self.pool2 = nn.MaxPool2d(2)  # N x 32 x 8 x 8
        self.conv3 = _same_conv(c2, c2, 3)
        self.pool3 = nn.MaxPool2d(2)  # N x 32 x 4 x 4
        self.relu = nn.ReLU(inplace=True)
        self.size_steps = ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3")
        if head == "fc":
            self.fc1 = nn.Linear(c2 * 4 * 4, hidden)
            self.dropout = nn.Dropout(dropout)
            self.fc2 = nn.Linear(hidden, num_classes)
            self.final_size = (4, 4)
        else:  # the fc head's two layers as 1x1 convolutions, applied at every position before the average
            self.mlpconv = _same_conv(c2, hidden, 1)
            self.classes = nn.Conv2d(hidden, num_classes, 1)
            self.gap = GlobalAvgPool2d()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu(self.conv1(x)))
        x = self.pool2(self.relu(self.conv2(x)))
        return self.pool3(self.relu(self.conv3(x)))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.head == "gap":
            x = self.relu(self.mlpconv(x))
            return x if pre_logits else self.gap(self.classes(x))
        x = self.dropout(self.relu(self.fc1(x.flatten(1))))
        return x if pre_logits else self.fc2(x)


# -------------------------------------------------------------------------------------------------
# Learned features against fixed ones


def handmade_filters(count: int = 8, size: int = 5) -> torch.Tensor:
    """Classic filters ``(count, 1, size, size)``: Sobel's two edge detectors, then Gabor filters at evenly
    spaced orientations (wavelength 4 pixels, cosine phase), each scaled to unit L2 norm with zero mean.
    """
    if count < 2 or size < 3 or size % 2 == 0:
        raise ValueError(f"expected at least 2 filters of an odd size >= 3, got {count} of {size}")
    smooth, slope = torch.tensor([1.0, 2, 1]), torch.tensor([-1.0, 0, 1])
    sobel_x = nn.functional.pad(torch.outer(smooth, slope), [(size - 3) // 2] * 4)
    filters = [sobel_x, sobel_x.T.clone()]
    half = size // 2
    y, x = torch.meshgrid(torch.arange(-half, half + 1.0), torch.arange(-half, half + 1.0), indexing="ij")
    for index in range(count - 2):
        angle = math.pi * index / (count - 2)
        along = x * math.cos(angle) + y * math.sin(angle)
        envelope = torch.exp(-(x**2 + y**2) / (2 * (size / 4) ** 2))
        filters.append(envelope * torch.cos(2 * math.pi * along / 4))
    bank = torch.stack(filters)
    bank = bank - bank.mean(dim=(1, 2), keepdim=True)
    return (bank / bank.flatten(1).norm(dim=1)[:, None, None]).unsqueeze(1)


@register_model(
    name="filter_bank_net",
    recipe=RECIPE,
    paper="LeCun, Bottou, Bengio, Haffner 1998, Gradient-Based Learning Applied to Document Recognition",
    section="Sec. I, Fig. 1 (a feature extractor, then a trainable classifier)",
    year=1998,
    input_size=(1, 32, 32),
    params=15_898,
    notes="A twin for the learned-features experiment. features='random' or 'handmade' freezes the convolution "
    "(15,690 trainable parameters: the classifier's).",
)
class FilterBankNet(_LinearOnFlatMaps):
    """One 5x5 convolution of 8 maps, a ReLU and a 2x2 max pool (the feature extractor), then a linear
    classifier on the 8x14x14 features (the model), as LeCun et al. 1998 draw the classic pipeline (Fig. 1).

    ``features``: ``learned`` (trained with the classifier, end to end), ``random`` (frozen at its random
    initial values) or ``handmade`` (frozen at :func:`handmade_filters`). Frozen filters have
    ``requires_grad=False``, so that only the classifier learns.
    """

    def __init__(self, *, in_channels: int = 1, num_classes: int = 10, features: str = "learned") -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=8 * 14 * 14)
        self.features = _choice("features", features, FEATURES)
        self.conv = nn.Conv2d(in_channels, 8, 5)  # N x 8 x 28 x 28
        self.pool = nn.MaxPool2d(2)  # N x 8 x 14 x 14
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(8 * 14 * 14, num_classes)
        self.size_steps = ("conv", "pool")
        self.final_size = (14, 14)
        if features == "handmade":
            with torch.no_grad():
                self.conv.weight.copy_(handmade_filters(8, 5).repeat(1, in_channels, 1, 1) / in_channels)
                self.conv.bias.zero_()
        if features != "learned":
            self.conv.requires_grad_(False)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.conv(x)))


# -------------------------------------------------------------------------------------------------
# GoogLeNet's auxiliary classifiers on a deep plain network


@register_model(
    name="deep_aux_net",
    recipe=RECIPE,
    paper="Szegedy et al. 2015, Going Deeper with Convolutions",
    section="Sec. 5 (auxiliary classifiers on intermediate layers, loss weight 0.3)",
    year=2015,
    input_size=(1, 32, 32),
    params=43_258,
    notes="A twin for the auxiliary experiment, not a network of the paper: twelve plain 3x3 layers. "
    "aux_logits=True adds two auxiliary heads (training only); per_group=N sets the depth (1 + 3N layers).",
)
class DeepAuxNet(ImageClassifier):
    """A 3x3 stem (8 maps) and a 2x2 max pool, then twelve 3x3 convolutions, four each of 8, 16 and 32 maps at
    16x16, 8x8 and 4x4, with ReLUs and no normalisation or shortcut (thirteen layers: deep enough for the
    gradient to fade on its way down), then global average pooling and a linear classifier. With
    ``aux_logits``, two auxiliary classifiers (global average pooling and a linear layer) read the ends of the
    first and the second group while training, their losses weighted 0.3 as in GoogLeNet (Szegedy et al.
    2015, Sec. 5). He initialisation: with PyTorch's default one the plain stack does not train at all (its
    first layer's gradient is 1e-7), which would make any help look decisive.

    ``per_group`` sets the depth: that many convolutions in each of the three groups (``1 + 3 * per_group``
    layers; four, the default, gives thirteen); the auxiliary classifiers read the ends of the first two groups
    at any depth.
    """

    WIDTHS = (8, 16, 32)  # each group's maps

    def __init__(
        self, *, in_channels: int = 1, num_classes: int = 10, aux_logits: bool = False, per_group: int = 4
    ) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=32)
        if per_group < 1:
            raise ValueError(f"per_group must be 1 or more, got {per_group}")
        self.per_group = per_group
        self.aux_at = (per_group - 1, 2 * per_group - 1)  # indexes of the convolutions the auxiliary classifiers read
        self.stem = _same_conv(in_channels, 8, 3)
        self.pool0 = nn.MaxPool2d(2)  # N x 8 x 16 x 16
        widths = tuple(width for width in self.WIDTHS for _ in range(per_group))
        self.convs = nn.ModuleList(_same_conv(8 if i == 0 else widths[i - 1], w, 3) for i, w in enumerate(widths))
        self.pools = nn.ModuleDict({str(i): nn.MaxPool2d(2) for i in self.aux_at})  # to 8x8, then 4x4
        self.relu = nn.ReLU(inplace=True)
        self.gap = GlobalAvgPool2d()
        self.fc = nn.Linear(32, num_classes)
        _he_init(self)  # before the auxiliary heads: with or without them, the network starts the same
        self.aux_logits = aux_logits
        if aux_logits:
            self.aux1 = nn.Linear(widths[self.aux_at[0]], num_classes)
            self.aux2 = nn.Linear(widths[self.aux_at[1]], num_classes)
            self.aux_loss_weights = (0.3, 0.3)
        steps = ["stem", "pool0"]
        for index in range(len(widths)):
            steps.append(f"convs.{index}")
            if str(index) in self.pools:
                steps.append(f"pools.{index}")
        self.size_steps = tuple(steps)

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        taps = []
        x = self.pool0(self.relu(self.stem(x)))
        for index, conv in enumerate(self.convs):
            x = self.relu(conv(x))
            if index in self.aux_at:
                taps.append(x)
            if str(index) in self.pools:
                x = self.pools[str(index)](x)
        return x, taps

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.gap(x)
        return x if pre_logits else self.fc(x)

    def forward_train(self, x: torch.Tensor) -> ModelOutput:
        self.check_input(x)
        features, taps = self._run(x)
        logits = self.forward_head(features)
        if not self.aux_logits:
            return ModelOutput(logits, ())
        return ModelOutput(logits, (self.aux1(self.gap(taps[0])), self.aux2(self.gap(taps[1]))))
