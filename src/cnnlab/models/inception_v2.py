"""Inception-v2 and Inception-v3: Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception
Architecture for Computer Vision", CVPR 2016 (arXiv:1512.00567, Dec. 2015).

The lecture's "Inception V2" replaces GoogLeNet's 7x7 and 5x5 filters with stacks of 3x3 convolutions: the
network of the paper's Sec. 6 and Table 1. (TF-slim's "Inception V2" is another network, Ioffe & Szegedy's
BN-Inception: see :mod:`cnnlab.models.bn_inception`.) The paper's best variant, Inception-v3, is
Inception-v2 plus RMSProp, label smoothing, a factorised 7x7 and a batch-normalised auxiliary head
(Table 3); the released v3, which torchvision ports, also changes the layout (its stem, a 5x5 branch at
35x35, four 17x17 modules). So there are two tables here:

* ``inception_v2``: Table 1 with the modules of Figs. 5, 6, 7 and the grid reductions of Fig. 10. The paper
  gives the module filter counts only "in the supplementary materials"; ours are chosen to give Table 1's
  channel totals (288, 768, 1280, 2048) and are the released v3's wherever the structures agree.
* ``inception_v3``: torchvision's ``inception_v3``, layer for layer and name for name, so
  :func:`cnnlab.models.load_torchvision_weights` reproduces its outputs.

Both have one optional auxiliary classifier on the last 17x17 layer (Sec. 4, Fig. 8), built only with
``aux_logits=True``, returned only by :meth:`RethinkingInception.forward_train`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from cnnlab.models._base import ImageClassifier, ModelOutput, SidePath, imagenet_to_unit_range
from cnnlab.models._inception_blocks import (
    BasicConv2d,
    Branches,
    Figure5Module,
    Figure6Module,
    Figure8Aux,
    GridReduction,
    InceptionA,
    InceptionAux,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)
from cnnlab.models._registry import register_model

__all__ = ["INCEPTION_V2", "INCEPTION_V3", "InceptionConfig", "RethinkingInception", "TorchvisionInception3"]

PAPER = "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna 2016, Rethinking the Inception Architecture for Computer Vision"

# No loss weight for the auxiliary head is given in the paper; 0.4 is what TF-slim's train_image_classifier and
# torchvision's reference trainer (references/classification/train.py) use for Inception-v3.
AUX_LOSS_WEIGHT = 0.4


class StemLayer(NamedTuple):
    """One row of the stem: a :class:`BasicConv2d` or, with ``out_channels == 0``, a max pool."""

    name: str
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0


class MixedLayer(NamedTuple):
    """One Inception module: its name, its block class and the block's filter counts."""

    name: str
    block: type[nn.Module]
    widths: Mapping[str, Any]


def mixed(name: str, block: type[nn.Module], **widths: Any) -> MixedLayer:
    return MixedLayer(name, block, widths)


class InceptionConfig(NamedTuple):
    """A whole network as data: stem rows, module rows, where the auxiliary head sits, and the head."""

    stem: tuple[StemLayer, ...]
    mixed: tuple[MixedLayer, ...]
    num_features: int  # channels of the last module (checked when the model is built)
    aux_after: str  # the module whose output feeds the auxiliary classifier
    aux_head: type[nn.Module]
    dropout: float  # before the last linear layer


# Table 1 (Inception-v2). The table gives each row's INPUT size; the comments give each row's output at 299.
# Rows 1-6: the 7x7 of GoogLeNet factorised into 3x3 convolutions (Sec. 6). Row 7, "conv 3x3/1" on
# 35x35x192, must be padded and have 288 filters: the next row's input is 35x35x288.
_V2_STEM = (
    StemLayer("Conv2d_1a_3x3", 32, 3, stride=2),  # N x 32 x 149 x 149
    StemLayer("Conv2d_2a_3x3", 32, 3),  # N x 32 x 147 x 147
    StemLayer("Conv2d_2b_3x3", 64, 3, padding=1),  # "conv padded": N x 64 x 147 x 147
    StemLayer("maxpool1", 0, 3, stride=2),  # N x 64 x 73 x 73
    StemLayer("Conv2d_3b_3x3", 80, 3),  # N x 80 x 71 x 71
    StemLayer("Conv2d_4a_3x3", 192, 3, stride=2),  # N x 192 x 35 x 35
    StemLayer("Conv2d_4b_3x3", 288, 3, padding=1),  # N x 288 x 35 x 35
)
_35 = Branches(64, (48, 64), (64, 96, 96), 64)  # 288 each


def _fig6(c7: int) -> Branches:
    return Branches(192, (c7, c7, 192), (c7, c7, c7, c7, 192), 192)  # 768


_8 = Branches(320, (384, 384), (448, 384, 384), 192)  # 2048 each

INCEPTION_V2 = InceptionConfig(
    stem=_V2_STEM,
    mixed=(
        mixed("Mixed_5b", Figure5Module, widths=_35),  # N x 288 x 35 x 35
        mixed("Mixed_5c", Figure5Module, widths=_35),  # N x 288 x 35 x 35
        mixed("Mixed_5d", Figure5Module, widths=_35),  # N x 288 x 35 x 35
        mixed("Mixed_6a", GridReduction, branch3x3=(192, 384), branch3x3dbl=(64, 96, 96)),  # N x 768 x 17 x 17
        mixed("Mixed_6b", Figure6Module, widths=_fig6(128)),  # N x 768 x 17 x 17
        mixed("Mixed_6c", Figure6Module, widths=_fig6(160)),  # N x 768 x 17 x 17
        mixed("Mixed_6d", Figure6Module, widths=_fig6(160)),  # N x 768 x 17 x 17
        mixed("Mixed_6e", Figure6Module, widths=_fig6(160)),  # N x 768 x 17 x 17
        mixed("Mixed_6f", Figure6Module, widths=_fig6(192)),  # N x 768 x 17 x 17
        mixed("Mixed_7a", GridReduction, branch3x3=(192, 320), branch3x3dbl=(192, 192, 192)),  # N x 1280 x 8 x 8
        mixed("Mixed_7b", InceptionE, widths=_8),  # Fig. 7: N x 2048 x 8 x 8
        mixed("Mixed_7c", InceptionE, widths=_8),  # N x 2048 x 8 x 8
    ),
    num_features=2048,
    aux_after="Mixed_6f",
    aux_head=Figure8Aux,
    dropout=0.0,  # Table 1 has none
)

# torchvision 0.29 inception_v3 (= TF-slim's inception_v3), every filter count as in torchvision's blocks.
INCEPTION_V3 = InceptionConfig(
    stem=(
        StemLayer("Conv2d_1a_3x3", 32, 3, stride=2),  # N x 32 x 149 x 149
        StemLayer("Conv2d_2a_3x3", 32, 3),  # N x 32 x 147 x 147
        StemLayer("Conv2d_2b_3x3", 64, 3, padding=1),  # N x 64 x 147 x 147
        StemLayer("maxpool1", 0, 3, stride=2),  # N x 64 x 73 x 73
        StemLayer("Conv2d_3b_1x1", 80, 1),  # N x 80 x 73 x 73
        StemLayer("Conv2d_4a_3x3", 192, 3),  # N x 192 x 71 x 71
        StemLayer("maxpool2", 0, 3, stride=2),  # N x 192 x 35 x 35
    ),
    mixed=(
        mixed("Mixed_5b", InceptionA, widths=Branches(64, (48, 64), (64, 96, 96), 32)),
        mixed("Mixed_5c", InceptionA, widths=Branches(64, (48, 64), (64, 96, 96), 64)),
        mixed("Mixed_5d", InceptionA, widths=Branches(64, (48, 64), (64, 96, 96), 64)),
        # N x 288 x 35 x 35
        mixed("Mixed_6a", InceptionB, branch3x3=384, branch3x3dbl=(64, 96, 96)),  # N x 768 x 17 x 17
        mixed("Mixed_6b", InceptionC, widths=_fig6(128)),
        mixed("Mixed_6c", InceptionC, widths=_fig6(160)),
        mixed("Mixed_6d", InceptionC, widths=_fig6(160)),
        mixed("Mixed_6e", InceptionC, widths=_fig6(192)),  # N x 768 x 17 x 17
        mixed("Mixed_7a", InceptionD, branch3x3=(192, 320), branch7x7x3=(192, 192, 192, 192)),  # N x 1280 x 8 x 8
        mixed("Mixed_7b", InceptionE, widths=_8),
        mixed("Mixed_7c", InceptionE, widths=_8),  # N x 2048 x 8 x 8
    ),
    num_features=2048,
    aux_after="Mixed_6e",
    aux_head=InceptionAux,
    dropout=0.5,  # torchvision's default (TF-slim keeps 0.8, i.e. drops 0.2)
)


class RethinkingInception(ImageClassifier):
    """A stem, Inception modules, global average pooling and one linear layer, built from an
    :class:`InceptionConfig`; an optional auxiliary classifier on the last 17x17 layer (Sec. 4).

    ``forward(x)`` always returns the main logits. With ``aux_logits=True``, :meth:`forward_train` returns
    ``ModelOutput(logits, (aux,))`` in train and eval mode, and ``aux_loss_weights == (0.4,)``; the input
    sizes the model accepts then also respect the head's geometry (:meth:`input_size_range`).

    Args:
        config: the network's tables (``INCEPTION_V2`` or ``INCEPTION_V3``).
        in_channels: input channels.
        num_classes: classes of the main and the auxiliary classifier.
        aux_logits: build the auxiliary classifier.
        transform_input: torchvision's option: map ImageNet-normalised RGB input to [-1, 1] first.
    """

    def __init__(
        self,
        config: InceptionConfig,
        *,
        in_channels: int,
        num_classes: int,
        aux_logits: bool = False,
        transform_input: bool = False,
    ) -> None:
        super().__init__(in_channels=in_channels, num_classes=num_classes, num_features=config.num_features)
        if transform_input and in_channels != 3:
            raise ValueError(f"transform_input re-normalises RGB input; it needs in_channels=3, got {in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.layer_names: tuple[str, ...] = tuple(row.name for row in (*config.stem, *config.mixed))
        self.aux_after = config.aux_after
        steps: list[str] = []
        width = in_channels
        for row in config.stem:
            if row.out_channels:
                self.add_module(row.name, BasicConv2d(width, row.out_channels, row.kernel, row.stride, row.padding))
                steps.append(f"{row.name}.conv")
                width = row.out_channels
            else:
                self.add_module(row.name, nn.MaxPool2d(row.kernel, row.stride, row.padding))
                steps.append(row.name)
        self.AuxLogits: nn.Module | None = None
        self._aux_steps_before = 0  # how many main-path size steps the auxiliary head's input has gone through
        for row in config.mixed:
            block = row.block(width, **row.widths)
            self.add_module(row.name, block)
            if block.size_step is not None:
                steps.append(f"{row.name}.{block.size_step}")
            width = block.out_channels
            if row.name == config.aux_after:
                self._aux_steps_before = len(steps)
                if aux_logits:  # registered here, so the state_dict order is torchvision's too
                    self.AuxLogits = config.aux_head(width, num_classes)
        if width != config.num_features:
            raise ValueError(f"the modules end with {width} channels, the config says {config.num_features}")
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # Table 1's "pool 8x8" at 299
        self.dropout = nn.Dropout(config.dropout) if config.dropout else nn.Identity()
        self.fc = nn.Linear(width, num_classes)
        self.size_steps = tuple(steps)
        self.aux_loss_weights = (AUX_LOSS_WEIGHT,) if aux_logits else ()
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's: truncated normal, std 0.1 (cut at +-2), smaller for the aux head's last layers; batch
        # norms at the identity (PyTorch's start: weight 1, bias 0).
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(module.weight, mean=0.0, std=0.1, a=-2.0, b=2.0)
        if self.AuxLogits is not None:
            for name, std in self.AuxLogits.init_stds:
                nn.init.trunc_normal_(self.AuxLogits.get_submodule(name).weight, mean=0.0, std=std, a=-2.0, b=2.0)

    # ---------------------------------------------------------------------------------------------
    # sizes

    def side_paths(self) -> tuple[SidePath, ...]:
        """The auxiliary head, if built: its layers limit the input sizes too (computed with ``shapes``)."""
        if self.AuxLogits is None:
            return ()
        steps = (*self.size_steps[: self._aux_steps_before], *(f"AuxLogits.{n}" for n in self.AuxLogits.size_steps))
        return (SidePath(steps, self.AuxLogits.final_size),)

    # ---------------------------------------------------------------------------------------------
    # forward

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        return imagenet_to_unit_range(x) if self.transform_input else x

    def _features(self, x: torch.Tensor, with_aux: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self._transform_input(x)
        aux = None
        for name in self.layer_names:
            x = getattr(self, name)(x)
            if with_aux and name == self.aux_after and self.AuxLogits is not None:
                aux = self.AuxLogits(x)
        return x, aux

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._features(x, with_aux=False)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.dropout(torch.flatten(self.avgpool(x), 1))
        return x if pre_logits else self.fc(x)

    def forward_train(self, x: torch.Tensor) -> ModelOutput:
        """Logits and ``(aux,)`` (empty without the head), for ``loss(logits) + 0.4 * loss(aux)``."""
        self.check_input(x)
        features, aux = self._features(x, with_aux=True)
        return ModelOutput(self.forward_head(features), () if aux is None else (aux,))


class TorchvisionInception3(RethinkingInception):
    """Inception-v3 with torchvision's layer names: its weights load unchanged."""

    torchvision_compatible = True


V2_NOTES = (
    "Table 1 as printed (its sizes are each row's input): stem conv 3x3/2 32, 3x3 32, 3x3 padded 64, max pool "
    "3x3/2, 3x3 80, 3x3/2 192, 3x3 288 (padded: the next row's input is 35x35x288); 3 x Fig. 5 (no 5x5), "
    "Fig. 10 reduction to 17x17x768, 5 x Fig. 6 (1x7 then 7x1, n=7), Fig. 10 reduction to 8x8x1280, 2 x Fig. 7, "
    "global average pool (= pool 8x8 at 299), linear. Filter counts (the paper's supplement is not public): "
    "35x35 modules 1x1 64 | 1x1 48 -> 3x3 64 | 1x1 64 -> 3x3 96 -> 3x3 96 | avg pool -> 1x1 64 (= the released "
    "v3's, with its 5x5 a 3x3 as in Fig. 5); 35->17 reduction 1x1 192 -> 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 "
    "96 | max pool (the release has no 1x1 before its 3x3/2, Fig. 10 draws one; 192 is our choice); 17x17 "
    "modules 1x1 192 | 1x1 c -> 1x7 c -> 7x1 192 | 1x1 c -> 1x7 c -> 7x1 c -> 1x7 c -> 7x1 192 | avg pool -> 1x1 "
    "192 with c = 128, 160, 160, 160, 192 (the release's 128, 160, 160, 192 for its four modules, one more 160); "
    "17->8 reduction 1x1 192 -> 3x3/2 320 | 1x1 192 -> 3x3 192 -> 3x3/2 192 | max pool (Fig. 10; the release "
    "puts 1x7, 7x1 where Fig. 10 has the 3x3); 8x8 modules = the release's Mixed_7b/7c (Fig. 7). Every conv is "
    "conv + BN(eps 0.001) + ReLU: Table 3's v2 already uses BN (BN-auxiliary is a v3 addition). Module pools "
    "are 3x3/1 average, as released. No dropout (none in Table 1). Optional aux head (aux_logits=True) on the "
    "last 17x17 layer as in Fig. 8: avg pool 5x5/3, 1x1 conv 128 (+BN), FC 1024 + ReLU, FC; it needs the "
    "pooled map to be 5x5, so with it the input must be 299 to 346 pixels. Aux loss weight 0.4 (not in the "
    "paper; TF-slim's and torchvision's trainers). 25,493,448 params, 29,894,832 with the aux head: the "
    "abstract's 'less than 25 million' is said of v3 (torchvision's v3: 23,834,568). Table 3 lists 'Factorized "
    "7x7' as a v3 addition although Sec. 6 already builds v2 with it; we follow Table 1."
)
V3_NOTES = (
    "torchvision's inception_v3 (a port of TF-slim's, i.e. Google's released model), layer for layer and name "
    "for name: load_torchvision_weights gives its outputs. It differs from the paper's Table 1: stem 1x1 80, "
    "3x3 192, max pool (not 3x3 80, 3x3/2 192, 3x3 288); 5x5 branches in the 35x35 modules; no 1x1 before the "
    "first reduction's 3x3/2; four 17x17 modules whose double branch starts with 7x1; 1x7, 7x1 in the second "
    "reduction. Dropout 0.5 before the linear layer. Aux head (aux_logits=True) avg pool 5x5/3, 1x1 conv 128, "
    "5x5 conv 768, linear; torchvision's inception_v3 builds it by default (27,161,264 params), we build it "
    "only when asked. Aux loss weight 0.4 (torchvision's reference trainer; the paper gives none)."
)


# Both models' recipe (TrainConfig settings, see ModelSpec.recipe), Sec. 7-8: RMSProp (decay 0.9, eps 1.0), lr
# 0.045 decayed by 0.94 every 2 epochs, gradient clipping (threshold 2.0, as the later versions of the paper say),
# label smoothing 0.1.
RECIPE = {
    "recipe": "inception", "epochs": 100, "batch_size": 32, "optimizer": "rmsprop", "lr": 0.045, "momentum": 0.0,
    "rmsprop_alpha": 0.9, "rmsprop_eps": 1.0, "weight_decay": 4e-5, "schedule": "exponential", "step_epochs": 2,
    "gamma": 0.94, "grad_clip": 2.0, "label_smoothing": 0.1, "augment": ("crop", "flip"),
}  # fmt: skip
SPEC = {"paper": PAPER, "year": 2016, "input_size": (3, 299, 299), "recipe": RECIPE}


@register_model(
    **SPEC,
    section="Sec. 6, Table 1; modules Figs. 5, 6, 7, grid reduction Fig. 10; aux head Sec. 4, Fig. 8",
    params=25_493_448,
    notes=V2_NOTES,
)
def inception_v2(*, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False) -> RethinkingInception:
    """The lecture's Inception V2: Rethinking's Sec. 6 and Table 1. Where the paper is silent, our choices:

    * Stem, Table 1 (its sizes are each row's input): conv 3x3/2 32 -> 3x3 32 -> 3x3 padded 64 -> max pool
      3x3/2 -> 3x3 80 -> 3x3/2 192 -> 3x3 288. The last conv is padded and has 288 filters because the next
      row's input is 35x35x288. (The released v3 has 1x1 80 -> 3x3 192 -> max pool instead.)
    * 35x35, 3 x Fig. 5: 1x1 64 | 1x1 48 -> 3x3 64 | 1x1 64 -> 3x3 96 -> 3x3 96 | avg pool -> 1x1 64 = 288,
      the released v3's Mixed_5c/5d widths with its 5x5 a 3x3, as Fig. 5 draws. No 5x5 anywhere.
    * 35 -> 17, Fig. 10: 1x1 192 -> 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 | max pool 3x3/2 = 768. The
      release (Mixed_6a) has no 1x1 before its 3x3/2; Fig. 10 draws one, and its 192 filters are our choice
      (the width of the 1x1 in the release's other reduction).
    * 17x17, 5 x Fig. 6 with n = 7: 1x1 192 | 1x1 c -> 1x7 c -> 7x1 192 | 1x1 c -> 1x7 c -> 7x1 c -> 1x7 c ->
      7x1 192 | avg pool -> 1x1 192 = 768, c = 128, 160, 160, 160, 192 (the release's four modules have 128,
      160, 160, 192; we add one more 160). Both branches start with 1x7 as Fig. 6 draws; the release's double
      branch starts with 7x1. Kernels are (height, width).
    * 17 -> 8, Fig. 10: 1x1 192 -> 3x3/2 320 | 1x1 192 -> 3x3 192 -> 3x3/2 192 | max pool = 1280 (the
      release's Mixed_7a, with Fig. 10's 3x3 where the release has 1x7 and 7x1).
    * 8x8, 2 x Fig. 7: the release's Mixed_7b/7c, 1x1 320 | 1x1 384 -> (1x3 ‖ 3x1) 384 | 1x1 448 -> 3x3 384
      -> (1x3 ‖ 3x1) 384 | avg pool -> 1x1 192 = 2048.
    * Every conv is conv + BN (eps 0.001, TF-slim's) + ReLU: Table 3's "BN-auxiliary" (a v3 addition) is
      defined as the aux head's FC being batch-normalised "not just the convolutions". Module pools are 3x3/1
      average pools as released; global average pooling (Table 1's "pool 8x8" at 299); no dropout (none in
      Table 1); torchvision's initialisation.
    * ``aux_logits=True``: Fig. 8's head on the last 17x17 layer (avg pool 5x5/3 -> 1x1 conv 128 + BN ->
      FC 1024 + ReLU -> FC), no BN on its FCs, no dropout. Its FC reads a 5x5x128 map, so the model then
      accepts 299 to 346 pixels only. Aux loss weight 0.4: the paper gives none; TF-slim's and torchvision's
      trainers use 0.4 for v3.
    * 25,493,448 parameters (29,894,832 with the aux head), about 6.3 G multiply-adds at 299: above the
      abstract's "less than 25 million parameters" and "5 billion multiply-adds", which it states for v3
      (torchvision's v3: 23,834,568 and 5.7 G). Table 3 lists "Factorized 7x7" as a v3 addition although
      Sec. 6 builds v2 with it; we follow Table 1, which is also the lecture's definition.
    """
    return RethinkingInception(INCEPTION_V2, in_channels=in_channels, num_classes=num_classes, aux_logits=aux_logits)


@register_model(
    **SPEC,
    section="Sec. 7-8, Table 3 (Inception-v3); layout of torchvision's inception_v3",
    params=23_834_568,
    notes=V3_NOTES,
)
def inception_v3(
    *, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False, transform_input: bool = False
) -> TorchvisionInception3:
    """Inception-v3 (Rethinking, Sec. 7-8, Table 3) as torchvision builds it, name for name, so that
    :func:`cnnlab.models.load_torchvision_weights` gives torchvision's outputs (``transform_input`` too).

    23,834,568 parameters; 27,161,264 with ``aux_logits=True`` (torchvision builds the aux head by default,
    we only when asked; its weights' ``num_params`` counts it). Differences from the paper's Table 1, all
    from Google's released model that torchvision ports: stem 1x1 80 -> 3x3 192 -> max pool (Table 1: 3x3 80
    -> 3x3/2 192 -> 3x3 288); a 5x5 branch in the 35x35 modules (Fig. 5 has two 3x3); no 1x1 before the
    first reduction's 3x3/2 (Fig. 10 has one); four 17x17 modules (Table 1: five) whose double branch starts
    with 7x1; 1x7, 7x1 in the second reduction; the aux head is avg pool 5x5/3 -> 1x1 conv 128 -> 5x5 conv
    768 -> linear, and accepts any input from 299 pixels. Dropout 0.5 before the last layer. Aux loss weight
    0.4 (torchvision's reference trainer; the paper gives none).
    """
    return TorchvisionInception3(
        INCEPTION_V3,
        in_channels=in_channels,
        num_classes=num_classes,
        aux_logits=aux_logits,
        transform_input=transform_input,
    )
