"""Which pixels of one input decided one class: gradient saliency, Grad-CAM and occlusion, on any classifier.

Three ways of asking a network *what did you look at?*, each in the words of its paper:

* :func:`gradient_map`, Simonyan, Vedaldi and Zisserman 2014, "Deep Inside Convolutional Networks", Sec. 3.1: the
  derivative of the class score (the logit, before the softmax) with respect to every input pixel, its absolute
  value, the largest over the colour channels.
* :func:`grad_cam`, Selvaraju et al. 2017, "Grad-CAM", Sec. 3, Eq. 1-2: a layer's feature maps ``A^k``, each
  weighed by the mean over its positions of the class score's gradient (``alpha_k``), summed, through a ReLU,
  then scaled up bilinearly to the input's size.
* :func:`occlusion_map`, Zeiler and Fergus 2014, "Visualizing and Understanding Convolutional Networks", Sec. 4.2:
  a square slid over the input, and at each place how much the class's probability drops with the square
  hidden. A pixel's value is the mean drop over the windows that cover it (captum's ``Occlusion`` averages the
  same way); it is negative where hiding a part made the class *more* likely.

Everything here takes a model, one *normalised* input ``(1, C, H, W)`` and a class index, and returns tensors;
:func:`cnnlab.saliency` resolves runs and images and draws. Models that return more than their logits (a tuple,
a named tuple or a ``ModelOutput`` with auxiliary heads) are read by their first output; in-place ReLUs after
the layer Grad-CAM reads do not change what it reads (the layer's output is kept before the ReLU can overwrite
it: the trap of pytorch issue 61519 and pytorch-grad-cam issue 469).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.inspection import SALIENCY_METHODS
from cnnlab.inspection.feature_maps import MapLayer

__all__ = [
    "METHODS",
    "OCCLUSION_BATCH",
    "CamLayerError",
    "CamResult",
    "Occlusion",
    "cam_layers",
    "check_cam_layer",
    "class_scores",
    "correlation_words",
    "default_cam_layer",
    "default_occlusion",
    "grad_cam",
    "gradient_map",
    "occlusion_map",
    "occlusion_positions",
    "randomised_twin",
    "rank_correlation",
    "readable_cam_layers",
]

METHODS = SALIENCY_METHODS
"""The saliency methods, in the order the lecture meets them: the input's gradient, a layer's, and no gradient."""

OCCLUSION_BATCH = 64
"""Occluded copies run through the network at once: 64 LeNet-5 inputs are 256 KB, 64 GoogLeNet ones 38 MB."""


class CamLayerError(ValueError):
    """A layer Grad-CAM cannot use (unknown, maps of 1x1, no maps, or called more than once)."""


def class_scores(output: Any) -> torch.Tensor:
    """The logits ``(N, classes)`` of whatever a classifier returns: a tensor, or the first of a tuple, a named
    tuple (torchvision's ``GoogLeNetOutputs``) or an object with ``logits`` (cnnlab's ``ModelOutput``)."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, list | tuple) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(f"the model returned {type(output).__name__}, not class scores (a tensor of N x classes)")


def gradient_map(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    """``max_c |d score_target / d x_c|`` at every pixel: ``(H, W)`` for one input ``x`` ``(1, C, H, W)``."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        score = class_scores(model(x))[0, target]
        (grad,) = torch.autograd.grad(score, x)
    return grad[0].abs().amax(dim=0)


@dataclass(frozen=True)
class CamResult:
    """Grad-CAM of one layer: the map at the layer's resolution and at the input's, and the channel weights."""

    layer_map: torch.Tensor  # (h, w), after the ReLU
    map: torch.Tensor  # (H, W), bilinear from layer_map
    weights: torch.Tensor  # (K,) alpha_k


def grad_cam(model: nn.Module, x: torch.Tensor, target: int, layer: str) -> CamResult:
    """Grad-CAM of class ``target`` on the maps of module ``layer`` (its first call), for one input ``(1, C, H, W)``.

    Raises:
        CamLayerError: ``layer`` is not a module of ``model``, or its output is not a stack of maps.
    """
    modules = dict(model.named_modules())
    if layer not in modules or not layer:
        raise CamLayerError(f"the model has no layer {layer!r}")
    kept: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        if kept or not isinstance(output, torch.Tensor):
            return None
        kept.append(output)
        # The rest of the network gets a copy: an in-place ReLU after this layer then overwrites the copy, not
        # the maps read here (whose gradient would otherwise be taken after the ReLU, or refused by autograd).
        return output.clone()

    handle = modules[layer].register_forward_hook(keep)
    try:
        with torch.enable_grad():
            score = class_scores(model(x.detach()))[0, target]
            if not kept or kept[0].dim() != 4:
                raise CamLayerError(f"{layer} outputs no feature maps (C x H x W) for Grad-CAM to weigh")
            (grad,) = torch.autograd.grad(score, kept[0])
    finally:
        handle.remove()
    maps = kept[0].detach()[0]
    weights = grad[0].mean(dim=(1, 2))
    layer_map = torch.relu((weights[:, None, None] * maps).sum(dim=0))
    upsampled = F.interpolate(layer_map[None, None], size=x.shape[2:], mode="bilinear", align_corners=False)[0, 0]
    return CamResult(layer_map, upsampled, weights)


def cam_layers(layers: Sequence[MapLayer]) -> list[MapLayer]:
    """The layers Grad-CAM may read: stacks of maps of at least 2x2, from a module called once per pass."""
    return [layer for layer in layers if layer.has_maps and layer.calls == 1 and min(layer.output_shape[1:]) >= 2]


def default_cam_layer(layers: Sequence[MapLayer]) -> MapLayer | None:
    """The last convolution or block whose maps are at least 2x2 (Selvaraju et al. read the last convolutional
    layer; LeNet-5's last, C5, has maps of 1x1, where a class activation map is one number, so C3); ``None`` if
    the network has none (an MLP)."""
    usable = [layer for layer in cam_layers(layers) if layer.block or _convolution(layer)]
    return usable[-1] if usable else None


def _convolution(layer: MapLayer) -> bool:
    return layer.windowed and "pool" not in layer.type.lower() and "subsampl" not in layer.type.lower()


def readable_cam_layers(layers: Sequence[MapLayer]) -> list[MapLayer]:
    """The layers a user may name for Grad-CAM: :func:`cam_layers` that are convolutions, poolings or blocks (not
    an activation or a normalisation, whose maps are the layer's before them)."""
    return [layer for layer in cam_layers(layers) if layer.block or layer.windowed]


def check_cam_layer(layers: Sequence[MapLayer], name: str, model_name: str) -> MapLayer:
    """The layer ``name`` if Grad-CAM can read it.

    Raises:
        CamLayerError: unknown (the usable ones are listed), maps of 1x1, a vector, or called several times.
    """
    by_name = {layer.name: layer for layer in layers}
    usable = ", ".join(layer.name for layer in readable_cam_layers(layers))
    layer = by_name.get(name)
    if layer is None:
        raise CamLayerError(f"{model_name} has no layer {name!r}; Grad-CAM can read {usable}")
    if not layer.has_maps:
        raise CamLayerError(f"{name} ({layer.type}) outputs a vector, not feature maps; Grad-CAM can read {usable}")
    if min(layer.output_shape[1:]) < 2:
        shape = "x".join(map(str, layer.output_shape[1:]))
        raise CamLayerError(
            f"{name}'s maps are {shape}: a class activation map of one position says nothing about where; "
            f"Grad-CAM can read {usable}"
        )
    if layer.calls != 1:
        shared = f"{name} runs {layer.calls} times in one pass (a shared module)"
        raise CamLayerError(f"{shared}; Grad-CAM can read {usable}")
    return layer


@dataclass(frozen=True)
class Occlusion:
    """Where the square goes: its side and step, in input pixels."""

    window: int
    stride: int


def default_occlusion(height: int, width: int) -> Occlusion:
    """A quarter of the shorter side, moved a sixteenth at a time: 8 by 2 on LeNet-5's 32x32 (169 places), 56 by
    14 on 224x224 (169 places), large enough to hide a stroke of a digit or an eye, small enough to say where."""
    side = min(height, width)
    return Occlusion(max(1, round(side / 4)), max(1, round(side / 16)))


def occlusion_positions(size: int, window: int, stride: int) -> list[int]:
    """The first row (or column) of every window along one axis: ``0, stride, ...``, and the last place that
    fits (``size - window``) when the steps miss it, so that every pixel is hidden at least once."""
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


@torch.no_grad()
def occlusion_map(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    occlusion: Occlusion,
    *,
    fill: float = 0.0,
    temperature: float = 1.0,
) -> torch.Tensor:
    """The mean drop of ``softmax(logits / temperature)[target]`` over the windows that hide each pixel, ``(H, W)``.

    The window is filled with ``fill`` in every channel of the normalised input (0: the training images' mean).

    Raises:
        ValueError: a window larger than the input, or a stride larger than the window (pixels never hidden).
    """
    _, _, height, width = x.shape
    if occlusion.window > min(height, width):
        raise ValueError(f"an occlusion window of {occlusion.window} does not fit the {height}x{width} input")
    if occlusion.stride > occlusion.window:
        raise ValueError(
            f"a stride of {occlusion.stride} past a window of {occlusion.window} leaves pixels never hidden"
        )
    probability = _probability(model(x), target, temperature)[0]
    places = [(top, left) for top in occlusion_positions(height, occlusion.window, occlusion.stride)
              for left in occlusion_positions(width, occlusion.window, occlusion.stride)]  # fmt: skip
    drops = torch.empty(len(places), dtype=torch.float64)
    for first in range(0, len(places), OCCLUSION_BATCH):
        chunk = places[first : first + OCCLUSION_BATCH]
        hidden = x.repeat(len(chunk), 1, 1, 1)
        for i, (top, left) in enumerate(chunk):
            hidden[i, :, top : top + occlusion.window, left : left + occlusion.window] = fill
        drops[first : first + len(chunk)] = probability - _probability(model(hidden), target, temperature)
    total = torch.zeros(height, width, dtype=torch.float64)
    covered = torch.zeros(height, width, dtype=torch.float64)
    for (top, left), drop in zip(places, drops.tolist(), strict=True):
        total[top : top + occlusion.window, left : left + occlusion.window] += drop
        covered[top : top + occlusion.window, left : left + occlusion.window] += 1
    return (total / covered).float()


def _probability(output: Any, target: int, temperature: float) -> torch.Tensor:
    scores = class_scores(output)
    return torch.softmax(scores.to(torch.promote_types(scores.dtype, torch.float32)) / temperature, dim=1)[:, target]


def rank_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rank correlation of two maps' values, pixel by pixel (Adebayo et al. 2018, Sec. 3); ``nan``
    where a map is constant (a blank Grad-CAM), whose ranks say nothing."""
    from scipy.stats import spearmanr

    a, b = np.asarray(first, dtype=np.float64).ravel(), np.asarray(second, dtype=np.float64).ravel()
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b).statistic)


def randomised_twin(model: nn.Module, build: Any, seed: int) -> nn.Module:
    """A twin of ``model`` with fresh weights: ``build()`` under ``seed`` (the architecture's own initialisation,
    as Adebayo et al.'s cascading randomisation starts from), in eval mode, or else a copy whose layers are
    reset with their ``reset_parameters``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if build is not None:
            twin = build()
        else:
            twin = copy.deepcopy(model)
            for module in twin.modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
    return twin.eval()


def correlation_words(rho: float) -> str:
    """What a rank correlation between a map and its random twin's says, in a phrase: ``low`` (below 0.3 in
    size) passes Adebayo et al.'s check, ``high`` (0.6 and above) fails it. The published page words it the same
    (``occlusion.js``)."""
    if math.isnan(rho):
        return "undefined (a map is constant)"
    if rho <= -0.3:
        return "negative: random weights rank the pixels the other way round, so the map is not theirs"
    if rho < 0.3:
        return "low: the map depends on what the network learned"
    if rho < 0.6:
        return "moderate: part of the map would be there without training"
    return "high: the map would look much the same with random weights; it shows the image and the architecture"
