"""Each layer the page can run, as one operation: its kind, its attributes and its parameter tensors.

A module of a known type is translated from its own fields, never from what it computed on the tracing input
(zeros), so the numbers the page runs are the module's. The kinds and their attributes are the contract of
``docs/publish.md``; ``static/forward.js`` has one function per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnnlab.layers.lenet import CoveringConv2d, EuclideanRBF, ScaledTanh, SparseConv2d, TrainableSubsampling
from cnnlab.layers.locally_connected import LocallyConnected2d
from cnnlab.layers.normalization import LocalResponseNorm2d
from cnnlab.layers.pooling import GatedPool2d, GlobalAvgPool2d, LearnedLPPool2d, MixedPool2d
from cnnlab.layers.transposed import ZeroInsertionConvTranspose2d
from cnnlab.models.resnet import ZeroPadShortcut

__all__ = [
    "KNOWN_MODULES",
    "Translation",
    "Untranslatable",
    "check_functional_dropout",
    "fold_batch_norm",
    "functional_pool",
    "translate_module",
]

# The positional arguments of F.max_pool2d and F.avg_pool2d after the input, in order (nn.MaxPool2d's differ).
_POOL_ARGUMENTS = {
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
}


class Untranslatable(Exception):
    """A known type in a setting the page cannot run (``padding_mode="reflect"``); the reason, in a few words."""


@dataclass(frozen=True)
class Translation:
    """One module as an operation, before it has tensor names.

    Attributes:
        op: the operation's kind (``conv2d``, ``subsampling``, ...).
        attributes: plain numbers and lists.
        parameters: its tensors by role (``weight``, ``bias``), float64 so that folding rounds once.
    """

    op: str
    attributes: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, torch.Tensor] = field(default_factory=dict)


def _pair(value: int | tuple[int, ...]) -> list[int]:
    return [int(value), int(value)] if isinstance(value, int) else [int(v) for v in value]


def _tensor(value: torch.Tensor) -> torch.Tensor:
    return value.detach().to("cpu", torch.float64).contiguous()


def _with_bias(weight: torch.Tensor, bias: torch.Tensor | None) -> dict[str, torch.Tensor]:
    found = {"weight": _tensor(weight)}
    if bias is not None:
        found["bias"] = _tensor(bias)
    return found


def _conv_padding(module: nn.Conv2d) -> list[int]:
    """Numeric padding; ``"same"`` only where it is symmetric (PyTorch pads an even kernel's extra pixel at the end)."""
    if module.padding == "valid":
        return [0, 0]
    if module.padding == "same":
        totals = [d * (k - 1) for k, d in zip(module.kernel_size, module.dilation, strict=True)]
        if any(total % 2 for total in totals):
            raise Untranslatable("padding='same' with an even kernel pads unevenly")
        return [total // 2 for total in totals]
    return _pair(module.padding)


def _conv2d(module: nn.Conv2d) -> Translation:
    if module.padding_mode != "zeros":
        raise Untranslatable(f"padding_mode={module.padding_mode!r}")
    attributes = {"stride": _pair(module.stride), "padding": _conv_padding(module),
                  "dilation": _pair(module.dilation), "groups": module.groups}  # fmt: skip
    return Translation("conv2d", attributes, _with_bias(module.weight, module.bias))


def _conv_transpose2d(module: nn.ConvTranspose2d | ZeroInsertionConvTranspose2d) -> Translation:
    if getattr(module, "padding_mode", "zeros") != "zeros":
        raise Untranslatable(f"padding_mode={module.padding_mode!r}")
    attributes = {"stride": _pair(module.stride), "padding": _pair(module.padding),
                  "output_padding": _pair(module.output_padding), "dilation": _pair(module.dilation),
                  "groups": getattr(module, "groups", 1)}  # fmt: skip
    return Translation("conv_transpose2d", attributes, _with_bias(module.weight, module.bias))


def _locally_connected(module: LocallyConnected2d) -> Translation:
    attributes = {"stride": _pair(module.stride), "padding": _pair(module.padding), "dilation": _pair(module.dilation)}
    return Translation("locally_connected2d", attributes, _with_bias(module.weight, module.bias))


def _sparse_conv(module: SparseConv2d) -> Translation:
    """C3 with Table I: each output map's kernels, stored map by map, and the input maps they read."""
    attributes = {"connections": [list(inputs) for inputs in module.connections],
                  "stride": _pair(module.stride), "padding": _pair(module.padding)}  # fmt: skip
    return Translation("sparse_conv2d", attributes, _with_bias(module.weight, module.bias))


def _subsampling(module: TrainableSubsampling) -> Translation:
    return Translation("subsampling", {"kernel": module.kernel_size}, _with_bias(module.weight, module.bias))


def _window(module: nn.Module) -> dict[str, Any]:
    if getattr(module, "dilation", 1) not in (1, (1, 1)):
        raise Untranslatable("dilated pooling")
    if getattr(module, "return_indices", False):
        raise Untranslatable("return_indices=True")
    stride = module.stride if module.stride is not None else module.kernel_size
    return {"kernel": _pair(module.kernel_size), "stride": _pair(stride), "padding": _pair(module.padding),
            "ceil_mode": bool(module.ceil_mode)}  # fmt: skip


def _avg_pool(module: nn.AvgPool2d) -> Translation:
    if module.divisor_override is not None:
        raise Untranslatable("divisor_override")
    return Translation("avg_pool2d", {**_window(module), "count_include_pad": bool(module.count_include_pad)})


def _per_channel(value: torch.Tensor) -> torch.Tensor:
    return _tensor(value).reshape(-1)


def _mixed_pool(module: MixedPool2d) -> Translation:
    return Translation("mixed_pool2d", _window(module), {"mix": _per_channel(module.mix)})


def _gated_pool(module: GatedPool2d) -> Translation:
    parameters = {"gate_weight": _tensor(module.gate_weight), "gate_bias": _per_channel(module.gate_bias)}
    return Translation("gated_pool2d", _window(module), parameters)


def _lp_pool(module: LearnedLPPool2d) -> Translation:
    return Translation("lp_pool2d", _window(module), {"p": _per_channel(module.p)})


def _batch_norm(module: nn.BatchNorm1d | nn.BatchNorm2d) -> Translation:
    """``y = (x - mean) / sqrt(var + eps) * gamma + beta`` as one scale and one shift per channel (eval mode)."""
    if module.running_mean is None or module.running_var is None:
        raise Untranslatable("no running statistics (track_running_stats=False)")
    scale = 1 / torch.sqrt(_tensor(module.running_var) + module.eps)
    if module.weight is not None:
        scale = scale * _tensor(module.weight)
    shift = -_tensor(module.running_mean) * scale
    if module.bias is not None:
        shift = shift + _tensor(module.bias)
    return Translation("affine", {"batch_norm": True}, {"scale": scale, "shift": shift})


def _flatten(module: nn.Flatten) -> Translation:
    if module.start_dim != 1 or module.end_dim != -1:
        raise Untranslatable(f"start_dim={module.start_dim}, end_dim={module.end_dim}")
    return Translation("flatten")


def _lrn(module: nn.LocalResponseNorm | LocalResponseNorm2d) -> Translation:
    """The paper's alpha, which multiplies the sum itself (``nn.LocalResponseNorm``'s is divided by the size)."""
    alpha = module.alpha if isinstance(module, LocalResponseNorm2d) else module.alpha / module.size
    return Translation("local_response_norm", {"size": module.size, "alpha": alpha, "beta": module.beta, "k": module.k})


def _global_avg(module: GlobalAvgPool2d) -> Translation:
    return Translation("adaptive_avg_pool2d", {"output_size": [1, 1]})


def _adaptive_avg(module: nn.AdaptiveAvgPool2d) -> Translation:
    return Translation("adaptive_avg_pool2d", {"output_size": None})  # filled in from the traced shape


def _shortcut_pad(module: ZeroPadShortcut) -> Translation:
    """ResNet's option A: every ``stride``-th pixel, and zero maps before and after the input's."""
    attributes = {"stride": module.stride, "before": module.extra_before, "after": module.extra_after}
    return Translation("shortcut_pad", attributes)


# In the order they are tried: a subclass before its base (CoveringConv2d is a Conv2d).
_TRANSLATORS: list[tuple[type[nn.Module] | tuple[type[nn.Module], ...], Callable[[Any], Translation | None]]] = [
    ((CoveringConv2d, nn.Conv2d), _conv2d),
    ((nn.ConvTranspose2d, ZeroInsertionConvTranspose2d), _conv_transpose2d),
    (LocallyConnected2d, _locally_connected),
    (SparseConv2d, _sparse_conv),
    (TrainableSubsampling, _subsampling),
    (ScaledTanh, lambda m: Translation("scaled_tanh", {"amplitude": m.amplitude, "slope": m.slope})),
    (EuclideanRBF, lambda m: Translation("rbf", {}, {"prototypes": _tensor(m.prototypes)})),
    (nn.Linear, lambda m: Translation("linear", {}, _with_bias(m.weight, m.bias))),
    (nn.ReLU, lambda m: Translation("relu")),
    (nn.Sigmoid, lambda m: Translation("sigmoid")),
    (nn.Tanh, lambda m: Translation("tanh")),
    (nn.MaxPool2d, lambda m: Translation("max_pool2d", _window(m))),
    (nn.AvgPool2d, _avg_pool),
    (MixedPool2d, _mixed_pool),
    (GatedPool2d, _gated_pool),
    (LearnedLPPool2d, _lp_pool),
    (GlobalAvgPool2d, _global_avg),
    (nn.AdaptiveAvgPool2d, _adaptive_avg),
    ((nn.BatchNorm1d, nn.BatchNorm2d), _batch_norm),
    ((nn.LocalResponseNorm, LocalResponseNorm2d), _lrn),
    (nn.Flatten, _flatten),
    (ZeroPadShortcut, _shortcut_pad),
    ((nn.Dropout, nn.Dropout2d, nn.Identity), lambda m: None),  # eval mode: the input, unchanged
]
KNOWN_MODULES: tuple[type[nn.Module], ...] = tuple(
    kind for kinds, _ in _TRANSLATORS for kind in (kinds if isinstance(kinds, tuple) else (kinds,))
)


def translate_module(module: nn.Module) -> Translation | None:
    """The operation ``module`` is (``None``: it passes its input on unchanged, as dropout does in eval mode).

    Raises:
        Untranslatable: a known type in a setting the page cannot run.
        TypeError: a type that is not in :data:`KNOWN_MODULES` (the tracer asks only about those).
    """
    for kinds, translate in _TRANSLATORS:
        if isinstance(module, kinds):
            return translate(module)
    raise TypeError(f"{type(module).__name__} is not a known layer")


def fold_batch_norm(layer: Translation, norm: Translation) -> Translation:
    """A convolution or linear layer followed by a batch norm, as one layer: ``W' = W * s``, ``b' = b * s + t``.

    The scale multiplies each output channel's kernel (axis 0 of both ``conv2d``'s and ``linear``'s weight).
    """
    scale, shift = norm.parameters["scale"], norm.parameters["shift"]
    weight = layer.parameters["weight"]
    folded = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
    bias = layer.parameters.get("bias", torch.zeros_like(scale)) * scale + shift
    return Translation(layer.op, layer.attributes, {"weight": folded, "bias": bias})


def check_functional_dropout(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``F.dropout(x, p, training)``: only a dropout that is off (``training=False``) is the identity."""
    training = args[2] if len(args) > 2 else kwargs.get("training", True)
    if training:
        raise Untranslatable("dropout with training=True drops values at random")


def functional_pool(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Translation:
    """``F.max_pool2d``, ``F.avg_pool2d`` and ``F.adaptive_avg_pool2d`` called in a forward, as their modules."""
    if name == "adaptive_avg_pool2d":
        return Translation("adaptive_avg_pool2d", {"output_size": None})
    settings = {**dict(zip(_POOL_ARGUMENTS[name], args[1:], strict=False)), **kwargs}
    module_type = nn.MaxPool2d if name == "max_pool2d" else nn.AvgPool2d
    return translate_module(module_type(**settings))  # type: ignore[return-value]
