"""ResNet: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv:1512.03385): the ImageNet networks of Sec. 3.3-4.1 / Table 1, the CIFAR-10 networks of Sec. 4.2,
and the plain networks without shortcuts that show the degradation problem (Fig. 1, Fig. 6).
"""

from __future__ import annotations

from collections.abc import Sequence

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


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (Fig. 2 / Fig. 5 left); with ``residual=False`` the plain-net twin."""

    expansion = 1

    def __init__(
        self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, residual: bool = True
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 -> 1x1 expand (x4) (Fig. 5 right), stride on the 3x3 (torchvision's "V1.5")."""

    expansion = 4

    def __init__(
        self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, residual: bool = True
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = conv1x1(in_planes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


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
        # He et al. 2015 ("Delving deep into rectifiers") initialisation, as the paper says (Sec. 3.4).
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, BasicBlock | Bottleneck):
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


def _imagenet(block: Block, layers: tuple[int, ...], **kwargs: object) -> TorchvisionResNet:
    return TorchvisionResNet(block, layers, widths=(64, 128, 256, 512), stem="imagenet", shortcut="B", **kwargs)  # type: ignore[arg-type]


def _cifar(depth: int, *, residual: bool, **kwargs: object) -> ResNet:
    n = (depth - 2) // 6  # 6n + 2 weighted layers
    return ResNet(BasicBlock, (n, n, n), widths=(16, 32, 64), stem="cifar", shortcut="A", residual=residual, **kwargs)  # type: ignore[arg-type]


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


@register_model(**IMAGENET, params=11_689_512, notes=BASIC_NOTES)
def resnet18(*, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2)."""
    return _imagenet(BasicBlock, (2, 2, 2, 2), in_channels=in_channels, num_classes=num_classes,
                     zero_init_residual=zero_init_residual)  # fmt: skip


@register_model(**IMAGENET, params=21_797_672, notes=BASIC_NOTES)
def resnet34(*, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3)."""
    return _imagenet(BasicBlock, (3, 4, 6, 3), in_channels=in_channels, num_classes=num_classes,
                     zero_init_residual=zero_init_residual)  # fmt: skip


@register_model(**IMAGENET, params=25_557_032, notes=BOTTLENECK_NOTES)
def resnet50(*, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3)."""
    return _imagenet(Bottleneck, (3, 4, 6, 3), in_channels=in_channels, num_classes=num_classes,
                     zero_init_residual=zero_init_residual)  # fmt: skip


@register_model(**IMAGENET, params=44_549_160, notes=BOTTLENECK_NOTES)
def resnet101(*, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3)."""
    return _imagenet(Bottleneck, (3, 4, 23, 3), in_channels=in_channels, num_classes=num_classes,
                     zero_init_residual=zero_init_residual)  # fmt: skip


@register_model(**IMAGENET, params=60_192_808, notes=BOTTLENECK_NOTES)
def resnet152(*, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3)."""
    return _imagenet(Bottleneck, (3, 8, 36, 3), in_channels=in_channels, num_classes=num_classes,
                     zero_init_residual=zero_init_residual)  # fmt: skip


@register_model(**CIFAR, params=269_722, notes=RESIDUAL_NOTES)
def resnet20(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-20 (n = 3)."""
    return _cifar(20, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=464_154, notes=RESIDUAL_NOTES)
def resnet32(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-32 (n = 5)."""
    return _cifar(32, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=658_586, notes=RESIDUAL_NOTES)
def resnet44(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-44 (n = 7)."""
    return _cifar(44, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=853_018, notes=RESIDUAL_NOTES)
def resnet56(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-56 (n = 9)."""
    return _cifar(56, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=1_727_962, notes=RESIDUAL_NOTES)
def resnet110(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """CIFAR ResNet-110 (n = 18). The paper warms up at LR 0.01 for about 400 iterations (a recipe matter)."""
    return _cifar(110, residual=True, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=269_722, notes=PLAIN_NOTES)
def plain20(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """Plain-20: ResNet-20 without shortcuts."""
    return _cifar(20, residual=False, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=464_154, notes=PLAIN_NOTES)
def plain32(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """Plain-32: ResNet-32 without shortcuts."""
    return _cifar(32, residual=False, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=658_586, notes=PLAIN_NOTES)
def plain44(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """Plain-44: ResNet-44 without shortcuts."""
    return _cifar(44, residual=False, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=853_018, notes=PLAIN_NOTES)
def plain56(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """Plain-56: ResNet-56 without shortcuts."""
    return _cifar(56, residual=False, in_channels=in_channels, num_classes=num_classes)


@register_model(**CIFAR, params=1_727_962, notes=PLAIN_NOTES)
def plain110(*, num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """Plain-110: ResNet-110 without shortcuts."""
    return _cifar(110, residual=False, in_channels=in_channels, num_classes=num_classes)
