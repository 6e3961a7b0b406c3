"""GoogLeNet (Inception v1): Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke & Rabinovich,
"Going Deeper with Convolutions", CVPR 2015 (arXiv:1409.4842), Sec. 5, Table 1 and Fig. 3; and
torchvision's port of it, whose layers and names it shares so its weights load unchanged.

The two variants differ only in the fields of :class:`GoogLeNetVariant`, so every deviation of
torchvision's model from the paper is one line of :data:`PAPER_VARIANT` against :data:`TORCHVISION_VARIANT`.

Where the paper is silent, the faithful model follows Caffe's ``bvlc_googlenet`` (BVLC/caffe
``models/bvlc_googlenet/train_val.prototxt``), the public reproduction of Fig. 3:

* **LRN constants.** Fig. 3 has two "LocalRespNorm" layers (after pool1, and after the 3x3 conv of the
  stem, past its ReLU) without constants. Caffe uses ``local_size 5, alpha 1e-4, beta 0.75`` with its
  ``k = 1`` and its convention ``b = a / (k + alpha/n * sum a^2)^beta``. :class:`LocalResponseNorm2d`
  takes AlexNet's convention ``b = a / (k + alpha * sum a^2)^beta``, so the same layer is
  ``LocalResponseNorm2d(5, alpha=1e-4 / 5, beta=0.75, k=1.0)`` (``nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)``).
* **Pool rounding.** Table 1's sizes 112 -> 56 -> 28 -> 14 -> 7 need the 3x3/2 max pools to round up
  (``floor`` would give 112 -> 55). Caffe's pooling rounds up, and so does torchvision (``ceil_mode=True``).
  The auxiliary heads' 5x5/3 average pool is exact at 14 (``(14 - 5) / 3 + 1 = 4``) and rounds down.
* **Initialisation** (the paper trained on DistBelief and does not say): Caffe's "xavier" weights, uniform
  in ``+-sqrt(3 / fan_in)``; bias 0.2 in every layer followed by a ReLU, 0 in the classifiers.

One choice is ours: Table 1's "avg pool 7x7/1" is global average pooling. At the paper's 224 x 224 input the
5b map is 7 x 7, so the two are the same operation; Sec. 5 takes the pooling from Network in Network, whose
average pooling is global, and the parameters do not change. Global pooling lets the faithful model take
any input from 31 x 31 up, where a fixed 7x7 window followed by the 1024-input linear layer would accept only
223-254 pixels (sizes computed from the layers; see :meth:`GoogLeNet.input_size_range`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.layers.pooling import GlobalAvgPool2d
from cnnlab.models._base import ImageClassifier, ModelOutput, SidePath, imagenet_to_unit_range
from cnnlab.models._registry import register_model

__all__ = [
    "INCEPTION_TABLE",
    "PAPER_VARIANT",
    "TORCHVISION_VARIANT",
    "AuxClassifier",
    "ConvBlock",
    "GoogLeNet",
    "GoogLeNetVariant",
    "Inception",
    "InceptionRow",
    "TorchvisionGoogLeNet",
    "googlenet",
    "googlenet_tv",
]

PAPER = "Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich 2015, Going Deeper with Convolutions"


class InceptionRow(NamedTuple):
    """One inception row of Table 1: the output channels of each branch (Fig. 2b)."""

    ch1x1: int  # "#1x1"
    ch3x3red: int  # "#3x3 reduce"
    ch3x3: int  # "#3x3"
    ch5x5red: int  # "#5x5 reduce"
    ch5x5: int  # "#5x5"
    pool_proj: int  # "pool proj": 1x1 conv after a 3x3/1 max pool

    @property
    def out_channels(self) -> int:
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


# Table 1, the inception rows as printed.  #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
INCEPTION_TABLE: dict[str, InceptionRow] = {
    "3a": InceptionRow(64, 96, 128, 16, 32, 32),  # 28 x 28 x 256
    "3b": InceptionRow(128, 128, 192, 32, 96, 64),  # 28 x 28 x 480
    "4a": InceptionRow(192, 96, 208, 16, 48, 64),  # 14 x 14 x 512
    "4b": InceptionRow(160, 112, 224, 24, 64, 64),  # 14 x 14 x 512
    "4c": InceptionRow(128, 128, 256, 24, 64, 64),  # 14 x 14 x 512
    "4d": InceptionRow(112, 144, 288, 32, 64, 64),  # 14 x 14 x 528
    "4e": InceptionRow(256, 160, 320, 32, 128, 128),  # 14 x 14 x 832
    "5a": InceptionRow(256, 160, 320, 32, 128, 128),  # 7 x 7 x 832
    "5b": InceptionRow(384, 192, 384, 48, 128, 128),  # 7 x 7 x 1024
}


@dataclass(frozen=True)
class GoogLeNetVariant:
    """How a GoogLeNet builds its layers: the paper's way or torchvision's."""

    batch_norm: bool  # conv (no bias) -> BN(eps=1e-3) -> ReLU, instead of the paper's conv (+bias) -> ReLU
    kernel_5x5: int  # kernel of the "#5x5" branch
    lrn: bool  # Fig. 3's two LocalRespNorm layers in the stem
    maxpool4: int  # window of the stride-2 max pool between 4e and 5a
    dropout: float  # before the last linear layer
    aux_adaptive_pool: bool  # aux heads pool adaptively to 4x4 instead of the paper's 5x5/3 average pool
    aux_dropout: float  # between the aux heads' two linear layers


# Table 1 and Sec. 5: no BN (it came later), true 5x5, LRN, 3x3/2 pool, dropout 40% and 70%, 5x5/3 aux pools.
PAPER_VARIANT = GoogLeNetVariant(
    batch_norm=False, kernel_5x5=5, lrn=True, maxpool4=3, dropout=0.4, aux_adaptive_pool=False, aux_dropout=0.7
)
# torchvision 0.29 `googlenet`. BN, the 3x3 "5x5" ("a known bug": pytorch/vision issue #906, tensorflow issue #7130)
# and the 2x2/2 maxpool4 (`MaxPool_5a_2x2`) come from TF-slim's inception_v1, whose weights it ported; the adaptive
# aux pools and the 20% dropout are torchvision's own.
TORCHVISION_VARIANT = GoogLeNetVariant(
    batch_norm=True, kernel_5x5=3, lrn=False, maxpool4=2, dropout=0.2, aux_adaptive_pool=True, aux_dropout=0.7
)

# Sec. 5, the aux heads: the average pool gives "an 4x4x512 output for the (4a), and 4x4x528 for the (4d) stage",
# then "a 1x1 convolution with 128 filters" and "a fully connected layer with 1024 units".
AUX_POOLED_SIZE = 4
AUX_CONV_CHANNELS = 128
AUX_FC_UNITS = 1024


class ConvBlock(nn.Module):
    """A convolution followed by a ReLU; with ``batch_norm``, torchvision's ``BasicConv2d``
    (conv without bias -> BatchNorm(eps=0.001) -> ReLU).

    "All the convolutions, including those inside the Inception modules, use rectified linear
    activation" (Sec. 5): the 1x1 reductions and projections too.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, *,
        batch_norm: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x, inplace=True)


class Inception(nn.Module):
    """The inception module with dimension reductions (Fig. 2b): four branches, concatenated.

    ``branch1`` 1x1; ``branch2`` 1x1 reduce -> 3x3; ``branch3`` 1x1 reduce -> 5x5 (``kernel_5x5``);
    ``branch4`` 3x3/1 max pool -> 1x1 projection. Every branch keeps the spatial size.
    """

    def __init__(self, in_channels: int, row: InceptionRow, *, kernel_5x5: int, batch_norm: bool) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, kernel: int) -> ConvBlock:
            return ConvBlock(c_in, c_out, kernel, padding=kernel // 2, batch_norm=batch_norm)

        self.out_channels = row.out_channels
        self.branch1 = conv(in_channels, row.ch1x1, 1)
        self.branch2 = nn.Sequential(conv(in_channels, row.ch3x3red, 1), conv(row.ch3x3red, row.ch3x3, 3))
        self.branch3 = nn.Sequential(conv(in_channels, row.ch5x5red, 1), conv(row.ch5x5red, row.ch5x5, kernel_5x5))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), conv(in_channels, row.pool_proj, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class AuxClassifier(nn.Module):
    """An auxiliary classifier of Sec. 5: avg pool 5x5/3 (-> 4x4) -> 1x1 conv 128 + ReLU -> FC 1024 + ReLU ->
    dropout 70% -> linear. With ``adaptive_pool``, torchvision's adaptive average pool to 4x4 instead.

    The FC layer takes exactly ``128 x 4 x 4`` inputs, so the fixed pool needs a 14-16 pixel map (14 x 14 at a
    224 input); :meth:`GoogLeNet.input_size_range` turns that into the input sizes the model accepts.
    """

    def __init__(
        self, in_channels: int, num_classes: int, *, adaptive_pool: bool, batch_norm: bool, dropout: float
    ) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(AUX_POOLED_SIZE) if adaptive_pool else nn.AvgPool2d(5, stride=3)
        self.conv = ConvBlock(in_channels, AUX_CONV_CHANNELS, 1, batch_norm=batch_norm)
        self.fc1 = nn.Linear(AUX_CONV_CHANNELS * AUX_POOLED_SIZE**2, AUX_FC_UNITS)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(AUX_FC_UNITS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x))  # N x 128 x 4 x 4
        x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)  # N x 1024
        return self.fc2(self.dropout(x))


class GoogLeNet(ImageClassifier):
    """GoogLeNet, "22 layers deep" (Sec. 5), built from Table 1 and Fig. 3.

    Stem: conv 7x7/2 -> max pool 3x3/2 -> LRN -> conv 1x1 -> conv 3x3 -> LRN -> max pool 3x3/2; then the nine
    inception modules of :data:`INCEPTION_TABLE` with 3x3/2 max pools after 3b and 4e; then average pooling,
    dropout and one linear layer. Sizes at 224: 112 -> 56 -> 28 -> 14 -> 7.

    Auxiliary classifiers exist only with ``aux_logits=True``. They read the outputs of 4a and 4d, are used in
    training only and come back through one typed path: :meth:`forward` always returns the main logits, and
    :meth:`forward_train` returns ``ModelOutput(logits, (aux_4a, aux_4d))``; their losses weigh
    ``aux_loss_weights = (0.3, 0.3)`` ("the losses of the auxiliary classifiers were weighted by 0.3").

    Args:
        variant: :data:`PAPER_VARIANT` or :data:`TORCHVISION_VARIANT`.
        in_channels: input channels.
        num_classes: classes of the main and the auxiliary classifiers.
        aux_logits: build the two auxiliary classifiers.
    """

    def __init__(
        self, variant: GoogLeNetVariant, *, in_channels: int, num_classes: int, aux_logits: bool = False
    ) -> None:
        super().__init__(
            in_channels=in_channels, num_classes=num_classes, num_features=INCEPTION_TABLE["5b"].out_channels
        )
        self.variant = variant
        bn = variant.batch_norm
        self.conv1 = ConvBlock(in_channels, 64, 7, stride=2, padding=3, batch_norm=bn)  # N x 64 x 112 x 112
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # N x 64 x 56 x 56
        self.lrn1 = LocalResponseNorm2d(5, alpha=1e-4 / 5, beta=0.75, k=1.0) if variant.lrn else None
        self.conv2 = ConvBlock(64, 64, 1, batch_norm=bn)  # Table 1's "#3x3 reduce"
        self.conv3 = ConvBlock(64, 192, 3, padding=1, batch_norm=bn)  # N x 192 x 56 x 56
        self.lrn2 = LocalResponseNorm2d(5, alpha=1e-4 / 5, beta=0.75, k=1.0) if variant.lrn else None
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # N x 192 x 28 x 28
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # after 3b: N x 480 x 14 x 14
        self.maxpool4 = nn.MaxPool2d(variant.maxpool4, stride=2, ceil_mode=True)  # after 4e: N x 832 x 7 x 7
        channels = 192
        for name, row in INCEPTION_TABLE.items():
            self.add_module(f"inception{name}", Inception(channels, row, kernel_5x5=variant.kernel_5x5, batch_norm=bn))
            channels = row.out_channels
        self.aux1: AuxClassifier | None = None
        self.aux2: AuxClassifier | None = None
        if aux_logits:
            self.aux1 = self._aux_head(INCEPTION_TABLE["4a"].out_channels)
            self.aux2 = self._aux_head(INCEPTION_TABLE["4d"].out_channels)
            self.aux_loss_weights = (0.3, 0.3)
        self.avgpool = GlobalAvgPool2d()  # Table 1's "avg pool 7x7/1" at 224; see the module docstring
        self.dropout = nn.Dropout(variant.dropout)
        self.fc = nn.Linear(channels, num_classes)
        self.size_steps = ("conv1.conv", "maxpool1", "maxpool2", "maxpool3", "maxpool4")
        self._init_weights()

    def _aux_head(self, in_channels: int) -> AuxClassifier:
        v = self.variant
        return AuxClassifier(
            in_channels, self.num_classes, adaptive_pool=v.aux_adaptive_pool, batch_norm=v.batch_norm,
            dropout=v.aux_dropout,
        )  # fmt: skip

    def _init_weights(self) -> None:
        # Caffe bvlc_googlenet: "xavier" weights (uniform in +-sqrt(3 / fan_in)), bias 0.2 where a ReLU follows,
        # 0 in the classifiers. The paper does not say.
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                bound = math.sqrt(3.0 / module.weight[0].numel())
                nn.init.uniform_(module.weight, -bound, bound)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0.2)
        for classifier in (self.fc, *(aux.fc2 for aux in self._aux_heads())):
            nn.init.zeros_(classifier.bias)

    def _aux_heads(self) -> tuple[AuxClassifier, ...]:
        return tuple(aux for aux in (self.aux1, self.aux2) if aux is not None)

    # ---------------------------------------------------------------------------------------------
    # forward

    def _prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _features(self, x: torch.Tensor, aux_inputs: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The feature extractor; appends the outputs of 4a and 4d to ``aux_inputs`` when given."""
        x = self.maxpool1(self.conv1(self._prepare_input(x)))  # N x 64 x 56 x 56
        if self.lrn1 is not None:
            x = self.lrn1(x)
        x = self.conv3(self.conv2(x))
        if self.lrn2 is not None:
            x = self.lrn2(x)
        x = self.maxpool2(x)  # N x 192 x 28 x 28
        x = self.inception3b(self.inception3a(x))  # N x 480 x 28 x 28
        x = self.inception4a(self.maxpool3(x))  # N x 512 x 14 x 14
        if aux_inputs is not None:
            aux_inputs.append(x)
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # N x 528 x 14 x 14
        if aux_inputs is not None:
            aux_inputs.append(x)
        x = self.maxpool4(self.inception4e(x))  # N x 832 x 7 x 7
        return self.inception5b(self.inception5a(x))  # N x 1024 x 7 x 7

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.dropout(self.avgpool(x))  # N x 1024
        return x if pre_logits else self.fc(x)

    def forward_train(self, x: torch.Tensor) -> ModelOutput:
        """Logits and the auxiliary logits ``(aux_4a, aux_4d)`` (empty without aux heads), for the loss
        ``loss(logits) + 0.3 * loss(aux_4a) + 0.3 * loss(aux_4d)``. The same type in train and eval mode."""
        self.check_input(x)
        if self.aux1 is None or self.aux2 is None:
            return ModelOutput(self.forward_head(self.forward_features(x)), ())
        aux_inputs: list[torch.Tensor] = []
        logits = self.forward_head(self._features(x, aux_inputs))
        return ModelOutput(logits, (self.aux1(aux_inputs[0]), self.aux2(aux_inputs[1])))

    # ---------------------------------------------------------------------------------------------
    # sizes

    def side_paths(self) -> tuple[SidePath, ...]:
        """With fixed-pool aux heads, only the inputs that pool to their 4 x 4 fit; adaptive heads take any."""
        if self.aux1 is None or isinstance(self.aux1.pool, nn.AdaptiveAvgPool2d):
            return ()
        # Both heads read stage 4 (4a and 4d), which maxpool3 opens and no layer resizes until maxpool4.
        steps = (*self.size_steps[: self.size_steps.index("maxpool3") + 1], "aux1.pool")
        reason = (
            f"where the auxiliary classifiers' 5x5/3 pools give the {AUX_POOLED_SIZE}x{AUX_POOLED_SIZE} maps "
            "their FC layers take"
        )
        return (SidePath(steps, (AUX_POOLED_SIZE, AUX_POOLED_SIZE), reason),)


class TorchvisionGoogLeNet(GoogLeNet):
    """torchvision's ``GoogLeNet`` (:data:`TORCHVISION_VARIANT`) with its module names, so that
    :func:`cnnlab.models.load_torchvision_weights` gives the same outputs.

    Args:
        in_channels: input channels.
        num_classes: classes.
        aux_logits: build the two auxiliary classifiers (torchvision's ``aux1`` and ``aux2``).
        transform_input: torchvision's option: map inputs normalised with ImageNet's mean and std to the
            ``(x - 0.5) / 0.5`` normalisation its ported weights expect (3 channels only).
    """

    torchvision_compatible = True

    def __init__(
        self, *, in_channels: int, num_classes: int, aux_logits: bool = False, transform_input: bool = False
    ) -> None:
        if transform_input and in_channels != 3:
            raise ValueError(f"transform_input needs RGB input (3 channels), got in_channels={in_channels}")
        super().__init__(TORCHVISION_VARIANT, in_channels=in_channels, num_classes=num_classes, aux_logits=aux_logits)
        self.transform_input = transform_input

    def _init_weights(self) -> None:
        # torchvision's init_weights=True: truncated normal (std 0.01) conv and linear weights, BN at identity
        # (PyTorch's start: weight 1, bias 0).
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(module.weight, mean=0.0, std=0.01, a=-2, b=2)

    def _prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        return imagenet_to_unit_range(x) if self.transform_input else x

    def extra_repr(self) -> str:
        return f"transform_input={self.transform_input}"


# Both models' recipe (TrainConfig settings, see ModelSpec.recipe), Sec. 6: SGD momentum 0.9, lr decreased by 4%
# every 8 epochs. The initial lr and batch are not given: 0.01 and 128 (our choice). Aux losses weigh 0.3 (in the
# model).
RECIPE = {
    "recipe": "googlenet", "epochs": 120, "batch_size": 128, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9,
    "weight_decay": 2e-4, "schedule": "exponential", "step_epochs": 8, "gamma": 0.96, "augment": ("crop", "flip"),
}  # fmt: skip
SPEC = {"paper": PAPER, "year": 2015, "input_size": (3, 224, 224), "recipe": RECIPE}


@register_model(
    **SPEC,
    section="Sec. 5, Table 1, Fig. 3",
    params=6_998_552,
    notes="As Table 1 and Fig. 3: conv biases, no BN, ReLU on every conv, true 5x5 branches, LRN, dropout 40%. "
    "Not in the paper, from Caffe's bvlc_googlenet: LRN n=5, alpha=1e-4 (Caffe's alpha/n convention), beta=0.75, "
    "k=1; max pools round up (as also torchvision) so 112->56->28->14->7; xavier init, biases 0.2. The 7x7/1 average "
    "pool is global (the same at 224). aux_logits=True adds the aux heads on 4a and 4d (13,378,280 params, loss "
    "weight 0.3 each; inputs 223-270 only, so that their 5x5/3 pools give 4x4).",
)
def googlenet(*, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False) -> GoogLeNet:
    """GoogLeNet as the paper builds it; ``aux_logits=True`` adds the two auxiliary classifiers."""
    return GoogLeNet(PAPER_VARIANT, in_channels=in_channels, num_classes=num_classes, aux_logits=aux_logits)


@register_model(
    **SPEC,
    section="Sec. 5, Table 1, as torchvision implements it",
    params=6_624_904,
    notes="torchvision's layout and names: BN after every conv (no conv bias), no LRN, 3x3 instead of 5x5 in the "
    "'5x5' branch (a known bug, pytorch/vision#906), 2x2/2 maxpool4, aux heads pool adaptively to 4x4, dropout 20%. "
    "aux_logits=True: 13,004,888 params; forward_train gives (aux_4a, aux_4d) in train and eval alike, where "
    "torchvision's forward returns (logits, aux2, aux1) in train mode only.",
)
def googlenet_tv(
    *, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False, transform_input: bool = False
) -> TorchvisionGoogLeNet:
    """torchvision's GoogLeNet, whose weights :func:`cnnlab.models.load_torchvision_weights` loads."""
    return TorchvisionGoogLeNet(
        in_channels=in_channels, num_classes=num_classes, aux_logits=aux_logits, transform_input=transform_input
    )
