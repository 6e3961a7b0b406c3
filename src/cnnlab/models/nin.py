"""Network in Network: Lin, Chen & Yan, "Network In Network", arXiv:1312.4400 (2013), ICLR 2014: mlpconv
layers (Sec. 3.1) and global average pooling instead of fully connected layers (Sec. 3.2), in the two
layouts the authors released in the Caffe Model Zoo: CIFAR-10 (the network of Sec. 4.1-4.2) and ImageNet.

The paper leaves the layer widths to its supplementary material; the tables below are the authors'
released Caffe models: "NIN CIFAR-10" (gist mavenlin/e56253735ef32c3c296d, mirrored in
jiecaoyu/pytorch-nin-cifar10 ``original.py``) and "Network in Network Imagenet Model" (gist
mavenlin/d802a5849de39225bcc6, ``train_val.prototxt``; converted in ethereon/caffe-tensorflow
``examples/imagenet/models/nin.py``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import torch
from torch import nn

from cnnlab.layers.pooling import GlobalAvgPool2d
from cnnlab.models._base import ImageClassifier
from cnnlab.models._registry import register_model

__all__ = ["CIFAR10_BLOCKS", "IMAGENET_BLOCKS", "MlpConv", "MlpConvRow", "NiN", "nin", "nin_imagenet"]

PAPER = "Lin, Chen, Yan 2013, Network In Network"
CLASSES: Literal["classes"] = "classes"


@dataclass(frozen=True)
class MlpConvRow:
    """One mlpconv layer of a table, and the pooling and dropout after it.

    Attributes:
        kernel: size of the first (spatial) convolution; the rest are 1x1.
        widths: output maps of each convolution; ``"classes"`` for one map per class.
        stride: stride of the first convolution.
        padding: zero padding of the first convolution.
        pool: ``"max"``, ``"avg"`` or ``None``: a 3x3 stride-2 pool after the block, rounded up as Caffe does.
        dropout: drop probability after the pool (0: none).
    """

    kernel: int
    widths: tuple[int | Literal["classes"], ...]
    stride: int = 1
    padding: int = 0
    pool: Literal["max", "avg"] | None = None
    dropout: float = 0.0


# The Caffe Model Zoo CIFAR-10 model: conv + two 1x1 ("cccp") layers per block. Its second pool is an
# average pool, while the paper's text says every mlpconv is followed by max pooling (Sec. 4.1).
CIFAR10_BLOCKS = (
    MlpConvRow(5, (192, 160, 96), padding=2, pool="max", dropout=0.5),  # N x 96 x 16 x 16
    MlpConvRow(5, (192, 192, 192), padding=2, pool="avg", dropout=0.5),  # N x 192 x 8 x 8
    MlpConvRow(3, (192, 192, CLASSES), padding=1),  # N x 10 x 8 x 8
)

# The Caffe Model Zoo ImageNet model: four mlpconv layers, dropout only after the third pool (the CIFAR net
# of the paper drops after every mlpconv layer but the last).
IMAGENET_BLOCKS = (
    MlpConvRow(11, (96, 96, 96), stride=4, pool="max"),  # conv: N x 96 x 54 x 54; pool: N x 96 x 27 x 27
    MlpConvRow(5, (256, 256, 256), padding=2, pool="max"),  # N x 256 x 13 x 13
    MlpConvRow(3, (384, 384, 384), padding=1, pool="max", dropout=0.5),  # N x 384 x 6 x 6
    MlpConvRow(3, (1024, 1024, CLASSES), padding=1),  # N x 1000 x 6 x 6
)


class MlpConv(nn.Sequential):
    """An mlpconv layer (Sec. 3.1, Eq. 2): a ``k x k`` convolution and a small MLP slid over every position,
    i.e. 1x1 convolutions ("cascaded cross channel parametric pooling"), each layer followed by ReLU.

    Children are ``0`` (the spatial conv), ``1`` (ReLU), ``2`` (first 1x1 conv), ...
    """

    def __init__(
        self, in_channels: int, widths: Sequence[int], kernel_size: int, stride: int = 1, padding: int = 0
    ) -> None:
        if not widths:
            raise ValueError("an mlpconv layer needs at least one convolution")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], kernel_size, stride, padding),
            nn.ReLU(inplace=True),
        ]
        for previous, width in pairwise(widths):
            layers.append(nn.Conv2d(previous, width, 1))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class NiN(ImageClassifier):
    """Stacked mlpconv layers whose last one produces one map per class, averaged into the logits.

    ``mlpconv -> pool -> dropout -> ... -> mlpconv (num_classes maps) -> global average pooling``. There is
    no fully connected layer: the class maps are the features (``forward_features`` returns them, so they
    can be shown as category confidence maps, Sec. 3.2), and ``forward_head`` only averages them, so its
    ``pre_logits`` output is the logits as well.

    Args:
        blocks: the table, as :data:`CIFAR10_BLOCKS` or :data:`IMAGENET_BLOCKS`.
        in_channels: input channels.
        num_classes: classes, i.e. maps of the last layer.

    Deviations from the released Caffe models, which these otherwise follow layer by layer:
        * Pools use ``ceil_mode=True`` to round up as Caffe does (CIFAR: 32 -> 16 -> 8, where PyTorch's
          default floor would give 15 -> 7).
        * The final average pool is global (:class:`~cnnlab.layers.GlobalAvgPool2d`) instead of a fixed
          8x8 (CIFAR) or 6x6/1 (ImageNet) window: the same at the default input, and it takes any size.
        * PyTorch's default initialisation instead of the hand-tuned Gaussians of the prototxt files.
        * The last 1x1 convolution is followed by ReLU as in the released models, so the logits are
          non-negative; the paper does not say.
    """

    def __init__(self, blocks: Sequence[MlpConvRow], *, in_channels: int, num_classes: int) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=num_classes)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        steps: list[str] = []
        channels = in_channels
        for number, row in enumerate(blocks, start=1):
            widths = [num_classes if w == CLASSES else int(w) for w in row.widths]
            layers[f"mlpconv{number}"] = MlpConv(channels, widths, row.kernel, row.stride, row.padding)
            if row.stride != 1 or row.kernel != 2 * row.padding + 1:
                steps.append(f"features.mlpconv{number}.0")
            if row.pool is not None:
                pool_type = nn.MaxPool2d if row.pool == "max" else nn.AvgPool2d
                layers[f"pool{number}"] = pool_type(3, stride=2, ceil_mode=True)
                steps.append(f"features.pool{number}")
            if row.dropout:
                layers[f"drop{number}"] = nn.Dropout(row.dropout)
            channels = widths[-1]
        if channels != num_classes:
            raise ValueError(f"the last mlpconv layer must end in 'classes' maps, got {channels}")
        self.features = nn.Sequential(layers)
        self.gap = GlobalAvgPool2d()  # N x num_classes
        self.size_steps = tuple(steps)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        # No layer follows the average: the pre-logits are the logits.
        return self.gap(x)


# Both models' recipe (TrainConfig settings, see ModelSpec.recipe), Sec. 4.1: Krizhevsky's recipe, batch 128, lr / 10
# twice when training accuracy stops improving. Base lr, weight decay and length are not given: 0.1, 1e-4 and 120
# epochs (our choice), with the translation and flip augmentation of Table 1's 8.81%.
RECIPE = {
    "recipe": "nin", "epochs": 120, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
    "weight_decay": 1e-4, "schedule": "multistep", "milestones": (60, 90), "gamma": 0.1, "augment": ("crop", "flip"),
}  # fmt: skip
SPEC = {"paper": PAPER, "year": 2013, "recipe": RECIPE}


@register_model(
    **SPEC,
    section="Sec. 3-4.2; Caffe Model Zoo NIN CIFAR-10 model",
    input_size=(3, 32, 32),
    params=966_986,
    notes="Layer widths from the authors' Caffe Model Zoo model (the paper defers them to supplementary "
    "material); its 2nd pool is average where the paper says max; pools round up (ceil_mode) as Caffe, "
    "32 -> 16 -> 8; global average pooling instead of an 8x8 pool; PyTorch's default init.",
)
def nin(*, num_classes: int = 10, in_channels: int = 3) -> NiN:
    """NiN for CIFAR-10: three mlpconv layers, dropout 0.5 after the first two, global average pooling."""
    return NiN(CIFAR10_BLOCKS, in_channels=in_channels, num_classes=num_classes)


@register_model(
    **SPEC,
    section="Sec. 3 (mlpconv, GAP); Caffe Model Zoo Network in Network Imagenet Model",
    input_size=(3, 224, 224),
    params=7_595_176,
    notes="The paper has no ImageNet network; this is the authors' Caffe Model Zoo model (gist "
    "mavenlin/d802a5849de39225bcc6): 4 mlpconv layers, conv1 11x11/4 96, max pools 3x3/2 rounded up, dropout "
    "after pool3, a final 1x1 conv to the classes; global average pooling instead of its 6x6 pool; PyTorch's "
    "default init.",
)
def nin_imagenet(*, num_classes: int = 1000, in_channels: int = 3) -> NiN:
    """NiN for ImageNet-sized input: the released Model Zoo network (59.36% top-1 on validation, its authors say)."""
    return NiN(IMAGENET_BLOCKS, in_channels=in_channels, num_classes=num_classes)
