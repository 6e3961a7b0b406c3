"""The one interface every cnnlab classifier has, and the input checks that come with it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from cnnlab.data.facts import IMAGENET_MEAN, IMAGENET_STD
from cnnlab.layers import shapes
from cnnlab.layers.lenet import SparseConv2d, TrainableSubsampling
from cnnlab.layers.locally_connected import LocallyConnected2d
from cnnlab.layers.pooling import _LearnedPool2d
from cnnlab.models._spec import ModelSpec

__all__ = ["ImageClassifier", "ModelOutput", "SidePath", "SizeStep"]

# Inputs up to this size are searched when computing the sizes a model accepts.
_LARGEST_SEARCHED = 2048


class ModelOutput(NamedTuple):
    """What :meth:`ImageClassifier.forward_train` returns: the logits and the auxiliary logits.

    ``aux_logits`` is empty for models without auxiliary classifiers; the loss weight of each is in
    the model's ``aux_loss_weights``.
    """

    logits: torch.Tensor
    aux_logits: tuple[torch.Tensor, ...] = ()


@dataclass(frozen=True)
class SizeStep:
    """A layer that changes the resolution, along one axis: what ``shapes`` needs to size it."""

    module: str
    kind: str  # "conv" or "pool"
    window: shapes.Window
    ceil_mode: bool = False
    required_input: int | None = None  # a locally connected layer takes one size only

    def output_size(self, size: int) -> int:
        if self.required_input is not None and size != self.required_input:
            raise ValueError(f"{self.module} takes inputs of size {self.required_input} only, got {size}")
        w = self.window
        if self.kind == "conv":
            return shapes.conv_output_size(size, w.kernel, w.stride, w.padding, w.dilation)
        return shapes.pool_output_size(size, w.kernel, w.stride, w.padding, w.dilation, self.ceil_mode)


@dataclass(frozen=True)
class SidePath:
    """A branch off the main path with sizes of its own, such as an auxiliary classifier.

    Attributes:
        steps: names of the modules that change the resolution, from the input to the branch's end.
        final_size: the map size the branch's end needs (a flattening layer), or ``None`` for any.
        reason: what needs it, said when an input does not fit.
    """

    steps: tuple[str, ...]
    final_size: tuple[int, int] | None = None
    reason: str = ""


def _as_pair(value: int | Sequence[int] | str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def size_steps_of(name: str, module: nn.Module) -> tuple[SizeStep, SizeStep]:
    """The (height, width) size steps of a convolution or pooling module."""
    kind = "conv"
    ceil_mode = False
    dilation: tuple[int, int] = (1, 1)
    required: tuple[int | None, int | None] = (None, None)
    if isinstance(module, LocallyConnected2d):
        required = module.input_size
    if isinstance(module, nn.Conv2d | LocallyConnected2d | SparseConv2d):
        kernel, stride = _as_pair(module.kernel_size), _as_pair(module.stride)
        dilation = _as_pair(getattr(module, "dilation", 1))
        if module.padding == "same":
            padding = (shapes.same_padding(kernel[0], 1, dilation[0]), shapes.same_padding(kernel[1], 1, dilation[1]))
        else:
            padding = _as_pair(module.padding)
    elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d | _LearnedPool2d):
        kind = "pool"
        kernel, padding = _as_pair(module.kernel_size), _as_pair(module.padding)
        stride = _as_pair(module.stride if module.stride is not None else module.kernel_size)
        dilation = _as_pair(getattr(module, "dilation", 1))
        ceil_mode = module.ceil_mode
    elif isinstance(module, TrainableSubsampling):
        kind, kernel, stride, padding = "pool", _as_pair(module.kernel_size), _as_pair(module.kernel_size), (0, 0)
    else:
        raise TypeError(f"{name}: cannot size a {type(module).__name__}")
    return tuple(  # type: ignore[return-value]
        SizeStep(name, kind, shapes.Window(kernel[a], stride[a], padding[a], dilation[a]), ceil_mode, required[a])
        for a in range(2)
    )


def _intersect(a: tuple[int, int | None], b: tuple[int, int | None]) -> tuple[int, int | None]:
    low = max(a[0], b[0])
    highs = [high for high in (a[1], b[1]) if high is not None]
    high = min(highs) if highs else None
    if high is not None and high < low:
        raise ValueError(f"no input size fits every path of the model ({a} and {b})")
    return (low, high)


def _accepted_range(steps: Sequence[SizeStep], final_size: int | None) -> tuple[int, int | None]:
    """Smallest and largest input size the chain of steps accepts (``None``: no largest)."""
    accepted = []
    for size in range(1, _LARGEST_SEARCHED + 1):
        try:
            out = size
            for step in steps:
                out = step.output_size(out)
        except ValueError:
            continue
        if final_size is None or out == final_size:
            accepted.append(size)
        elif accepted:
            break
        if accepted and final_size is None:
            break  # output sizes grow with the input: everything larger works too
    if not accepted:
        raise ValueError(f"no input size up to {_LARGEST_SEARCHED} fits this model")
    return accepted[0], (None if final_size is None else accepted[-1])


def imagenet_to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """torchvision's ``transform_input``: an input normalised with ImageNet's mean and std, mapped to [-1, 1].

    ``(x * std + mean - 0.5) / 0.5`` per channel, the range Google's Inception weights were trained on.
    """
    channels = [
        x[:, c : c + 1] * (std / 0.5) + (mean - 0.5) / 0.5
        for c, (mean, std) in enumerate(zip(IMAGENET_MEAN, IMAGENET_STD, strict=True))
    ]
    return torch.cat(channels, 1)


class ImageClassifier(nn.Module, ABC):
    """Base of every registered model: ``forward_features -> forward_head`` with checked input.

    Subclasses build their layers, list in ``size_steps`` the names of the modules that change the
    resolution along the main path (in order), and set ``final_size`` when the head needs an exact
    feature-map size (a flattening classifier). The sizes the model accepts are then computed with
    :mod:`cnnlab.layers.shapes`, never hard-coded.

    Attributes:
        in_channels: input channels.
        num_classes: outputs of the classifier.
        num_features: channels of the feature map that ``forward_head`` receives (units, where the
            features are a vector, as in the multilayer perceptron).
        spec: the registry's facts about the model (set by ``create_model``).
        aux_loss_weights: weight of each auxiliary classifier's loss (empty without them).
    """

    spec: ModelSpec | None = None
    aux_loss_weights: tuple[float, ...] = ()
    final_size: tuple[int, int] | None = None

    def __init__(self, *, in_channels: int, num_classes: int, num_features: int) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 1:
            raise ValueError(f"in_channels and num_classes must be positive, got {in_channels} and {num_classes}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_features = num_features
        self.size_steps: tuple[str, ...] = ()
        self._input_range: tuple[tuple[int, int | None], tuple[int, int | None]] | None = None

    @abstractmethod
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature extractor: everything before the classifier."""

    @abstractmethod
    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The classifier on the features; ``pre_logits=True`` stops before the last layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)``."""
        self.check_input(x)
        return self.forward_head(self.forward_features(x))

    def forward_train(self, x: torch.Tensor) -> ModelOutput:
        """Logits and auxiliary logits, for a training loss; models with auxiliary heads override it."""
        return ModelOutput(self(x), ())

    # ---------------------------------------------------------------------------------------------
    # sizes

    def side_paths(self) -> tuple[SidePath, ...]:
        """Branches whose sizes also limit the input (auxiliary classifiers); none by default."""
        return ()

    def geometry(self, steps: Sequence[str] | None = None) -> tuple[tuple[SizeStep, ...], tuple[SizeStep, ...]]:
        """The resolution-changing steps of the main path (or of ``steps``), for height and for width."""
        modules = dict(self.named_modules())
        pairs = [size_steps_of(name, modules[name]) for name in (self.size_steps if steps is None else steps)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    def input_size_range(self) -> tuple[tuple[int, int | None], tuple[int, int | None]]:
        """``((min_h, max_h), (min_w, max_w))`` the model accepts; a max of ``None`` means unbounded.

        Every path must fit: the main one and each of :meth:`side_paths`.
        """
        if self._input_range is None:
            paths = [SidePath(self.size_steps, self.final_size), *self.side_paths()]
            ranges = []
            for path in paths:
                steps_h, steps_w = self.geometry(path.steps)
                final = path.final_size or (None, None)
                ranges.append((_accepted_range(steps_h, final[0]), _accepted_range(steps_w, final[1])))
            height, width = ranges[0]
            for range_h, range_w in ranges[1:]:
                height, width = _intersect(height, range_h), _intersect(width, range_w)
            self._input_range = (height, width)
        return self._input_range

    def accepts_size(self, height: int, width: int) -> bool:
        """Whether the model takes an input of ``height x width`` (see :meth:`input_size_range`)."""
        (min_h, max_h), (min_w, max_w) = self.input_size_range()
        return (
            min_h <= height
            and min_w <= width
            and (max_h is None or height <= max_h)
            and (max_w is None or width <= max_w)
        )

    def min_input_size(self) -> tuple[int, int]:
        (min_h, _), (min_w, _) = self.input_size_range()
        return (min_h, min_w)

    def feature_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of the last resolution step's output for an input of ``height x width``."""
        steps_h, steps_w = self.geometry()
        for step in steps_h:
            height = step.output_size(height)
        for step in steps_w:
            width = step.output_size(width)
        return (height, width)

    def describe_input(self) -> str:
        (min_h, max_h), (min_w, max_w) = self.input_size_range()
        smallest = f"{self.in_channels}x{min_h}x{min_w}"
        if max_h == min_h and max_w == min_w:
            text = f"of exactly {smallest}"
        elif max_h is None and max_w is None:
            text = f"of at least {smallest}"
        else:
            text = f"from {smallest} to {self.in_channels}x{max_h}x{max_w}"
        reasons = [path.reason for path in self.side_paths() if path.reason]
        return ", ".join([text, *reasons])

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError that names what the model accepts, instead of a shape error deep inside."""
        name = self.spec.name if self.spec is not None else type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{name} expects input (N, {self.in_channels}, H, W) {self.describe_input()}; got {tuple(x.shape)}"
            )
        (min_h, max_h), (min_w, max_w) = self.input_size_range()
        h, w = x.shape[2], x.shape[3]
        if h < min_h or w < min_w or (max_h is not None and h > max_h) or (max_w is not None and w > max_w):
            raise ValueError(
                f"{name} needs an input {self.describe_input()} (computed from its layers); got {x.shape[1]}x{h}x{w}"
            )
