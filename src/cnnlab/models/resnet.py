"""ResNet: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv:1512.03385): the ImageNet networks of Sec. 3.3-4.1 / Table 1, the CIFAR-10 networks of Sec. 4.2,
and the plain networks without shortcuts that show the degradation problem (Fig. 1, Fig. 6).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models._base import ImageClassifier
from cnnlab.models._registry import register_model

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ZeroPadShortcut"]

PAPER = "He, Zhang, Ren, Sun 2016, Deep Residual Learning for Image Recognition"


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A (Sec. 3.3): a parameter-free shortcut that subsamples by the stride and pads the new
    channels with zeros."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        if out_planes < in_planes:
            raise ValueError(f"option A can only add channels, got {in_planes} -> {out_planes}")
        self.stride = stride
        self.extra_before = (out_planes - in_planes) // 2
        self.extra_after = out_planes - in_planes - self.extra_before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.extra_before, self.extra_after))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, zero channels={self.extra_before}+{self.extra_after}"


class _ResidualBlock(nn.Module, ABC):
    """What both blocks share: a branch of convolutions, ``relu(branch(x) + shortcut(x))`` (Eq. 1-2); with
    ``residual=False``, the plain-net twin ``relu(branch(x))``. ``downsample`` is the shortcut where the shape
    changes (``None``: the identity)."""

    expansion: ClassVar[int]

    def __init__(
        self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, residual: bool = True
    ) -> None:
        super().__init__()
        self.residual = residual
        self._build_branch(in_planes, planes, stride)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @abstractmethod
    def _build_branch(self, in_planes: int, planes: int, stride: int) -> None:
        """Create the branch's layers (their names are the state_dict's keys)."""

    @abstractmethod
    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        """The branch, up to its last batch norm (the sum and the ReLU come after)."""

    @abstractmethod
    def last_bn(self) -> nn.BatchNorm2d:
        """The branch's last batch norm, which ``zero_init_residual`` starts at zero."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._branch(x)
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class BasicBlock(_ResidualBlock):
    """Two 3x3 convolutions (Fig. 2 / Fig. 5 left); with ``residual=False`` the plain-net twin."""

    expansion = 1

    def _build_branch(self, in_planes: int, planes: int, stride: int) -> None:
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2


class Bottleneck(_ResidualBlock):
    """1x1 reduce -> 3x3 -> 1x1 expand (x4) (Fig. 5 right), stride on the 3x3 (torchvision's "V1.5")."""

    expansion = 4

    def _build_branch(self, in_planes: int, planes: int, stride: int) -> None:
        self.conv1 = conv1x1(in_planes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3


Block = type[BasicBlock] | type[Bottleneck]


class ResNet(ImageClassifier):
    """A stem, stages of residual blocks (stride 2 at the first block of every stage but the first),
    global average pooling and one linear layer.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18 or ``(3, 3, 3)`` for ResNet-20.
        widths: planes per stage.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max pool, Table 1) or ``"cifar"`` (one 3x3 conv, Sec. 4.2).
        shortcut: ``"B"`` (1x1 projection where the shape changes, identity elsewhere) or ``"A"``
            (zero-padding, parameter-free).
        residual: ``False`` builds the plain network: the same layers without shortcuts.
        zero_init_residual: start each block's last BN at zero, so every block starts as the identity.
    """

    def __init__(
        self,
        block: Block,
        layers: Sequence[int],
        *,
        widths: Sequence[int],
        stem: str,
        shortcut: str,
        residual: bool = True,
        in_channels: int,
        num_classes: int,
        zero_init_residual: bool = False,
    ) -> None:
        if stem not in ("imagenet", "cifar") or shortcut not in ("A", "B") or len(layers) != len(widths):
            raise ValueError(f"bad ResNet configuration: stem={stem!r}, shortcut={shortcut!r}, {layers=}, {widths=}")
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=widths[-1] * block.expansion)
        self.residual = residual
        stem_width = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, stem_width, 7, stride=2, padding=3, bias=False)  # N x 64 x 112 x 112
            self.maxpool: nn.Module = nn.MaxPool2d(3, stride=2, padding=1)  # N x 64 x 56 x 56
            steps = ["conv1", "maxpool"]
        else:
            self.conv1 = conv3x3(in_channels, stem_width)  # N x 16 x 32 x 32
            self.maxpool = nn.Identity()
            steps = []
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        in_planes = stem_width
        self.stage_names: list[str] = []
        for index, (blocks, planes) in enumerate(zip(layers, widths, strict=True)):
            stride = 1 if index == 0 else 2
            name = f"layer{index + 1}"
            self.add_module(name, self._make_stage(block, in_planes, planes, blocks, stride, shortcut))
            self.stage_names.append(name)
            if stride != 1:  # the stride sits on conv1 of a basic block, conv2 of a bottleneck
                steps.append(f"{name}.0.{'conv1' if block is BasicBlock else 'conv2'}")
            in_planes = planes * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        self.size_steps = tuple(steps)
        self._init_weights(zero_init_residual)

    def _make_stage(
        self, block: Block, in_planes: int, planes: int, blocks: int, stride: int, shortcut: str
    ) -> nn.Sequential:
        out_planes = planes * block.expansion
        downsample: nn.Module | None = None
        if self.residual and (stride != 1 or in_planes != out_planes):
            if shortcut == "B":
                downsample = nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))
            else:
                downsample = ZeroPadShortcut(in_planes, out_planes, stride)
        first = block(in_planes, planes, stride, downsample, residual=self.residual)
        rest = [block(out_planes, planes, residual=self.residual) for _ in range(blocks - 1)]
        return nn.Sequential(first, *rest)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # He et al. 2015 ("Delving deep into rectifiers") initialisation, as the paper says (Sec. 3.4); batch
        # norms start at the identity (PyTorch's weight 1, bias 0) unless zero_init_residual.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif zero_init_residual and isinstance(module, _ResidualBlock):
                nn.init.zeros_(module.last_bn().weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(x)


class TorchvisionResNet(ResNet):
    """The ImageNet ResNets, whose layer names are torchvision's, so its weights load unchanged."""

    torchvision_compatible = True


# The recipes (TrainConfig settings, see ModelSpec.recipe). ImageNet, Sec. 3.4: SGD, batch 256, lr 0.1 / 10 on
# plateau, weight decay 1e-4, momentum 0.9, up to 60e4 iterations (~120 epochs); crops and flips. Our choice: the
# division every 30 epochs for 90 epochs of torchvision's reference trainer, instead of watching for the plateau.
IMAGENET_RECIPE = {
    "recipe": "resnet_imagenet", "epochs": 90, "batch_size": 256, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
    "weight_decay": 1e-4, "schedule": "step", "step_epochs": 30, "gamma": 0.1, "augment": ("crop", "flip"),
}  # fmt: skip
# CIFAR-10, Sec. 4.2: batch 128, lr 0.1 / 10 at 32k and 48k iterations, stop at 64k (on a 45k/5k split: ~91, ~137
# and ~182 epochs), weight decay 1e-4, momentum 0.9, 4-pixel crops and flips. Channels-last: 1.22-1.29x faster
# forward + backward for resnet20 on the 2-core CPU (benchmarks/pipeline.py).
CIFAR_RECIPE = {
    "recipe": "resnet_cifar", "epochs": 182, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
    "weight_decay": 1e-4, "schedule": "multistep", "milestones": (91, 137), "gamma": 0.1, "augment": ("crop", "flip"),
    "val_fraction": 0.1, "channels_last": True,
}  # fmt: skip
# Sec. 4.2 on ResNet-110: "we use 0.01 to warm up the training until the training error is below 80% (about 400
# iterations)": about one epoch.
RESNET110_RECIPE = {**CIFAR_RECIPE, "warmup_epochs": 1.0}

IMAGENET = {"paper": PAPER, "section": "Sec. 3.3-4.1, Table 1", "year": 2015, "input_size": (3, 224, 224)}
CIFAR = {"paper": PAPER, "section": "Sec. 4.2, Table 6, Fig. 6", "year": 2015, "input_size": (3, 32, 32)}
BASIC_NOTES = (
    "torchvision's layout and names; option B shortcuts (1x1 projections where the shape changes). The paper's "
    "Table 2 ResNet-18/34 use option A (zero-padding); option B is its Table 3 variant."
)
BOTTLENECK_NOTES = (
    "torchvision's layout and names ('ResNet V1.5': the stride is on the bottleneck's 3x3 conv, the paper puts it "
    "on the first 1x1; same parameters); option B shortcuts (1x1 projections where the shape changes)."
)
RESIDUAL_NOTES = "Option A shortcuts (subsample + zero-pad channels): exactly the parameters of its plain twin."
PLAIN_NOTES = "The ResNet of the same depth without shortcuts: same layers, same parameter count (Fig. 6 left)."

# Table 1: the ImageNet networks, their blocks per stage, and their parameters at 1000 classes (pinned by the
# tests). Registered as ``resnet18`` ... ``resnet152``.
IMAGENET_LAYERS: dict[int, tuple[Block, tuple[int, ...], int]] = {
    18: (BasicBlock, (2, 2, 2, 2), 11_689_512),
    34: (BasicBlock, (3, 4, 6, 3), 21_797_672),
    50: (Bottleneck, (3, 4, 6, 3), 25_557_032),
    101: (Bottleneck, (3, 4, 23, 3), 44_549_160),
    152: (Bottleneck, (3, 8, 36, 3), 60_192_808),
}
# Sec. 4.2: the CIFAR-10 networks of 6n + 2 layers and their parameters at 10 classes, the same with shortcuts
# (option A has none to learn) as without. Registered as ``resnet20`` ... ``resnet110`` and ``plain20`` ...
CIFAR_PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


def _imagenet_builder(depth: int, block: Block, layers: tuple[int, ...]) -> Callable[..., ResNet]:
    def build(*, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
        return TorchvisionResNet(
            block, layers, widths=(64, 128, 256, 512), stem="imagenet", shortcut="B", in_channels=in_channels,
            num_classes=num_classes, zero_init_residual=zero_init_residual,
        )  # fmt: skip

    kind = "basic" if block is BasicBlock else "bottleneck"
    build.__doc__ = f"ResNet-{depth} (He et al. 2016, Table 1): {kind} blocks {layers}."
    return build


def _cifar_builder(depth: int, residual: bool) -> Callable[..., ResNet]:
    n = (depth - 2) // 6  # 6n + 2 weighted layers

    def build(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
        return ResNet(
            BasicBlock, (n, n, n), widths=(16, 32, 64), stem="cifar", shortcut="A", residual=residual,
            in_channels=in_channels, num_classes=num_classes,
        )  # fmt: skip

    if residual:
        build.__doc__ = f"CIFAR ResNet-{depth} (He et al. 2016, Sec. 4.2): n = {n}."
    else:
        build.__doc__ = f"Plain-{depth} (He et al. 2016, Sec. 4.2, Fig. 6 left): ResNet-{depth} without shortcuts."
    return build


for _depth, (_block, _layers, _params) in IMAGENET_LAYERS.items():
    register_model(
        name=f"resnet{_depth}", **IMAGENET, params=_params, recipe=IMAGENET_RECIPE,
        notes=BASIC_NOTES if _block is BasicBlock else BOTTLENECK_NOTES,
    )(_imagenet_builder(_depth, _block, _layers))  # fmt: skip
for _residual, _prefix, _notes in ((True, "resnet", RESIDUAL_NOTES), (False, "plain", PLAIN_NOTES)):
    for _depth, _params in CIFAR_PARAMS.items():
        _recipe = RESNET110_RECIPE if _residual and _depth == 110 else CIFAR_RECIPE
        register_model(name=f"{_prefix}{_depth}", **CIFAR, params=_params, notes=_notes, recipe=_recipe)(
            _cifar_builder(_depth, _residual)
        )
