"""VGG: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
arXiv:1409.1556 (2014), ICLR 2015: the configurations A, A-LRN, B, C, D and E of Table 1 (Sec. 2.1-2.3),
with and without batch normalisation. A, B, D and E (``vgg11/13/16/19`` and their ``_bn`` twins) use
torchvision's module names, so its weights load unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from torch import nn

from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.models._registry import register_model
from cnnlab.models.alexnet import PooledClassifier, fc_classifier

__all__ = ["CONFIGS", "VGG", "TorchvisionVGG", "make_features"]

PAPER = "Simonyan, Zisserman 2014, Very Deep Convolutional Networks for Large-Scale Image Recognition"

Layer = int | str | tuple[int, int]

# Table 1, one list per column, read top to bottom. An int is a conv3 layer with that many channels
# ("conv3-256"), a pair (1, n) a conv1 layer ("conv1-256", config C only), "LRN" local response
# normalisation (config A-LRN only) and "M" a 2x2 max pool with stride 2 (Sec. 2.1).
CONFIGS: dict[str, list[Layer]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (1, 256), "M", 512, 512, (1, 512), "M", 512, 512, (1, 512), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}

# At the paper's 224x224 input the five pools leave 7x7 maps: what the first FC layer flattens.
POOLED_SIZE = 7


def make_features(config: Sequence[Layer], in_channels: int, batch_norm: bool) -> nn.Sequential:
    """The convolutional part of one Table 1 column: each conv followed by (BN and) ReLU (Sec. 2.1).

    Every convolution has stride 1 and the padding that keeps the size (1 for 3x3, 0 for 1x1), so only
    the pools change the resolution. With ``batch_norm`` a BN layer sits between each conv and its ReLU,
    as in torchvision (the conv keeps its bias). The indices of the resulting ``nn.Sequential`` are
    torchvision's for configurations A, B, D and E.

    Raises:
        ValueError: an entry that is none of int, ``(kernel, channels)``, ``"LRN"`` or ``"M"``.
    """
    layers: list[nn.Module] = []
    for entry in config:
        if entry == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif entry == "LRN":
            # "the parameters for the LRN layer are those of (Krizhevsky et al., 2012)" (Sec. 2.2)
            layers.append(LocalResponseNorm2d(size=5, alpha=1e-4, beta=0.75, k=2.0))
        elif isinstance(entry, int | tuple) and not isinstance(entry, bool):
            kernel, channels = entry if isinstance(entry, tuple) else (3, entry)
            layers.append(nn.Conv2d(in_channels, channels, kernel, padding=kernel // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(channels))
            layers.append(nn.ReLU(inplace=True))
            in_channels = channels
        else:
            raise ValueError(f"unknown VGG layer {entry!r}: use an int, (kernel, channels), 'LRN' or 'M'")
    return nn.Sequential(*layers)


class VGG(PooledClassifier):
    """A column of Table 1: 3x3 convolutions in five blocks, each closed by a 2x2 max pool, then
    FC-4096, FC-4096 and FC-``num_classes``, with ReLU after every hidden layer and dropout 0.5 after the
    first two FC layers (Sec. 2.1, 3.1).

    Args:
        config: the column, as in :data:`CONFIGS`.
        batch_norm: put BN between every convolution and its ReLU (not in the paper; Ioffe & Szegedy 2015
            came later).
        in_channels: input channels.
        num_classes: classes.
        dropout: drop probability after FC-4096 (the paper's 0.5).

    Deviations from the paper:
        * An ``AdaptiveAvgPool2d((7, 7))`` before the classifier (torchvision's). At the paper's 224x224 it
          is the identity; at other sizes it averages (or repeats) to 7x7, so any input from 32x32 up works.
          The paper instead evaluates larger images densely, turning the FC layers into convolutions
          (Sec. 3.2).
        * Initialisation is torchvision's (He normal, fan-out, for convolutions; N(0, 0.01^2) for the FC
          layers; zero biases). The paper draws net A from N(0, 10^-2) (variance) and starts the deeper nets
          from A's first four convolutions and three FC layers, noting that Glorot initialisation works
          without that pre-training (Sec. 3.1).
        * Batch normalisation (the ``_bn`` models) is not in the paper.
    """

    def __init__(
        self,
        config: Sequence[Layer],
        *,
        batch_norm: bool = False,
        in_channels: int = 3,
        num_classes: int = 1000,
        dropout: float = 0.5,
    ) -> None:
        features = make_features(config, in_channels, batch_norm)
        widths = [m.out_channels for m in features if isinstance(m, nn.Conv2d)]
        if not widths:
            raise ValueError(f"a VGG configuration needs at least one convolution, got {list(config)}")
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=widths[-1])
        self.features = features  # N x 512 x 7 x 7 at 224 x 224 (five pools: 224 -> 112 -> 56 -> 28 -> 14 -> 7)
        self.avgpool = nn.AdaptiveAvgPool2d((POOLED_SIZE, POOLED_SIZE))  # N x 512 x 7 x 7 at any size
        self.classifier = fc_classifier(widths[-1] * POOLED_SIZE * POOLED_SIZE, num_classes, dropout)
        self.size_steps = tuple(f"features.{i}" for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d))
        self._init_weights()

    def _init_weights(self) -> None:
        # Batch norms keep PyTorch's start at the identity (weight 1, bias 0).
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
                nn.init.zeros_(module.bias)


class TorchvisionVGG(VGG):
    """Configurations A, B, D and E, whose layers and names are torchvision's, so its weights load unchanged."""

    torchvision_compatible = True


TORCHVISION_COLUMNS = ("A", "B", "D", "E")

# Every column's recipe (TrainConfig settings, see ModelSpec.recipe), Sec. 3.1: batch 256, momentum 0.9, weight
# decay 5e-4, lr 0.01 / 10 on plateau (3 times), 74 epochs; crops, flips, colour shift.
RECIPE = {
    "recipe": "vgg", "epochs": 74, "batch_size": 256, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
    "weight_decay": 5e-4, "schedule": "plateau", "gamma": 0.1, "patience": 5, "augment": ("crop", "flip", "pca"),
}  # fmt: skip
SPEC = {"paper": PAPER, "year": 2014, "input_size": (3, 224, 224), "recipe": RECIPE}
NOTES = (
    "torchvision's layout and names; AdaptiveAvgPool2d((7, 7)) before the classifier (the identity at 224x224, "
    "the paper evaluates other sizes densely); torchvision's He/N(0, 0.01) init instead of the paper's "
    "N(0, 1e-2 variance) with deeper nets started from net A."
)
OWN_NOTES = NOTES.replace("torchvision's layout and names", "Not in torchvision; built like the torchvision columns")
BN_NOTES = " Batch normalisation after every convolution is not in the paper."


class Variant(NamedTuple):
    """A registered VGG: a column of Table 1, with or without batch normalisation."""

    column: str
    batch_norm: bool
    params: int  # at 1000 classes, pinned by the tests
    summary: str  # the builder's docstring
    notes: str = ""  # what the column's notes add to NOTES or OWN_NOTES


VARIANTS = {
    "vgg11": Variant("A", False, 132_863_336, "VGG-11, configuration A: eight conv3 layers and three FC layers."),
    "vgg11_lrn": Variant(
        "A-LRN", False, 132_863_336,
        "VGG-11 with local response normalisation after the first layer (A-LRN); it did not help (Table 3).",
        " LRN after the first conv's ReLU, with AlexNet's constants (Sec. 2.2).",
    ),
    "vgg13": Variant("B", False, 133_047_848, "VGG-13, configuration B: two conv3 layers in every block."),
    "vgg16_c": Variant(
        "C", False, 133_638_952, "VGG-16, configuration C: B plus a conv1 layer closing each of the last three blocks.",
        " The 1x1 convolutions have no padding and are followed by ReLU like the others.",
    ),
    "vgg16": Variant("D", False, 138_357_544, "VGG-16, configuration D: three conv3 layers in each of blocks 3-5."),
    "vgg19": Variant("E", False, 143_667_240, "VGG-19, configuration E: four conv3 layers in each of blocks 3-5."),
    "vgg11_bn": Variant("A", True, 132_868_840, "VGG-11 (A) with batch normalisation."),
    "vgg13_bn": Variant("B", True, 133_053_736, "VGG-13 (B) with batch normalisation."),
    "vgg16_c_bn": Variant("C", True, 133_647_400, "VGG-16 (C, with the conv1 layers) with batch normalisation."),
    "vgg16_bn": Variant("D", True, 138_365_992, "VGG-16 (D) with batch normalisation."),
    "vgg19_bn": Variant("E", True, 143_678_248, "VGG-19 (E) with batch normalisation."),
}  # fmt: skip


def _builder(variant: Variant) -> Callable[..., VGG]:
    cls = TorchvisionVGG if variant.column in TORCHVISION_COLUMNS else VGG

    def build(*, num_classes: int = 1000, in_channels: int = 3) -> VGG:
        return cls(
            CONFIGS[variant.column], batch_norm=variant.batch_norm, in_channels=in_channels, num_classes=num_classes
        )

    build.__doc__ = f"{variant.summary} Simonyan & Zisserman 2015, Table 1."
    return build


for _name, _variant in VARIANTS.items():
    _notes = (NOTES if _variant.column in TORCHVISION_COLUMNS else OWN_NOTES) + _variant.notes
    register_model(
        name=_name, **SPEC, section=f"Sec. 2.1-2.2, Table 1 column {_variant.column}", params=_variant.params,
        notes=_notes + (BN_NOTES if _variant.batch_norm else ""),
    )(_builder(_variant))  # fmt: skip
