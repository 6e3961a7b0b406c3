"""Receptive fields of every tensor in a forward pass, for any network: chains, branches and shortcuts.

A :class:`ReceptiveFieldTracker` watches the functions a forward pass calls (a ``TorchFunctionMode``)
and the modules it runs (forward hooks), and gives each 4-D tensor a receptive field per axis, from
:mod:`cnnlab.layers.shapes`:

* a convolution or pooling window grows the field of its input (``ReceptiveField.then``);
* padding shifts where the first unit's field starts; strided slicing acts as a 1x1 window;
* an addition or concatenation of branches (a residual add, an Inception concat) sees the union of
  what its inputs see: the largest field wins (``merge_receptive_fields``);
* anything that keeps the spatial size (ReLU, batch norm, dropout, LRN) keeps the field;
* anything that mixes all positions (flatten, linear, global pooling) sees the whole input.

It works on meta tensors, so a summary of VGG-16 at 224x224 costs no real computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnlab.inspection.tensor_labels import Call, TensorLabels
from cnnlab.layers import shapes
from cnnlab.models._base import size_steps_of

__all__ = ["GLOBAL", "AxisFields", "ReceptiveFieldTracker"]

AxisFields = tuple[shapes.ReceptiveField, shapes.ReceptiveField]
"""The receptive field along height and along width."""


@dataclass(frozen=True)
class _Global:
    """The field of a unit that sees the whole input (after flatten, linear or global pooling)."""

    def __repr__(self) -> str:
        return "GLOBAL"


GLOBAL = _Global()

_CONV_PARAMS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_MAX_POOL_PARAMS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVG_POOL_PARAMS = ("input", "kernel_size", "stride", "padding", "ceil_mode")
_LP_POOL_PARAMS = ("input", "norm_type", "kernel_size", "stride", "ceil_mode")
_MERGING = {
    "add",
    "add_",
    "__iadd__",
    "__add__",
    "__radd__",
    "sub",
    "sub_",
    "mul",
    "mul_",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "where",
}


def _bind(names: Sequence[str], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = dict(zip(names, args, strict=False))
    bound.update({k: v for k, v in kwargs.items() if k in names})
    return bound


def _pair(value: Any, default: int) -> tuple[int, int]:
    if value is None or (isinstance(value, list | tuple) and len(value) == 0):
        return (default, default)
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[-1]))


def _windows(kernel: Any, stride: Any, padding: Any, dilation: Any) -> tuple[shapes.Window, shapes.Window]:
    k = _pair(kernel, 1)
    s = _pair(stride, 1) if stride not in (None, []) else k
    d = _pair(dilation, 1)
    if isinstance(padding, str):  # "same" / "valid"
        p = tuple(d[a] * (k[a] - 1) // 2 if padding == "same" else 0 for a in range(2))
    else:
        p = _pair(padding, 0)
    return tuple(shapes.Window(k[a], s[a], p[a], d[a]) for a in range(2))  # type: ignore[return-value]


def _spatial(tensor: torch.Tensor) -> tuple[int, int] | None:
    return (tensor.shape[-2], tensor.shape[-1]) if tensor.dim() == 4 else None


class ReceptiveFieldTracker(TensorLabels[AxisFields | _Global | None]):
    """Give every 4-D tensor of a forward pass its receptive field; read them back with :meth:`field`.

    Use as a context manager around the forward pass, after :meth:`watch` on the input and
    :meth:`attach` on the model. A field is ``AxisFields``, :data:`GLOBAL`, or ``None`` (unknown: an
    operation the tracker does not model, such as a transposed convolution).
    """

    def watch(self, x: torch.Tensor) -> None:
        """Mark ``x`` as the input: each of its pixels sees itself."""
        self.label(x, (shapes.INPUT_FIELD, shapes.INPUT_FIELD))

    def field(self, tensor: torch.Tensor) -> AxisFields | _Global | None:
        return self.labels.get(id(tensor))

    # ---------------------------------------------------------------------------------------------
    # modules: layers whose window the functions inside them do not show (locally connected, Lp pool)

    def attach(self, model: nn.Module) -> Callable[[], None]:
        """Hook every module that has a window; returns a function that removes the hooks."""
        handles = []
        for name, module in model.named_modules():
            try:
                steps = size_steps_of(name, module)
            except TypeError:
                continue
            windows = (steps[0].window, steps[1].window)
            handles.append(module.register_forward_hook(self._window_hook(windows)))
        return lambda: [handle.remove() for handle in handles]

    def _window_hook(self, windows: tuple[shapes.Window, shapes.Window]) -> Callable[..., None]:
        def hook(_module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            source = self.field(inputs[0]) if inputs and isinstance(inputs[0], torch.Tensor) else None
            if isinstance(output, torch.Tensor) and isinstance(source, tuple):
                self.label(output, (source[0].then(windows[0]), source[1].then(windows[1])))

        return hook

    # ---------------------------------------------------------------------------------------------
    # functions

    def on_call(self, call: Call) -> None:
        """Every output of a function sees what :meth:`_propagate` makes of its inputs' fields."""
        field = self._propagate(call.name, call.args, call.kwargs, call.inputs, call.outputs[0])
        for out in call.outputs:  # an in-place op's output is its input: it takes the new field
            self.label(out, field)

    def _propagate(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        inputs: list[torch.Tensor],
        output: torch.Tensor,
    ) -> AxisFields | _Global | None:
        fields = [self.field(t) for t in inputs]
        if any(f is None for f in fields):
            return None
        if any(isinstance(f, _Global) for f in fields):
            return GLOBAL
        first: AxisFields = fields[0]  # type: ignore[assignment]
        if _spatial(output) is None:
            return GLOBAL  # flatten, linear, global means: every output sees everything
        window_args = self._window_args(name, args, kwargs)
        if window_args is not None:
            windows = _windows(*window_args)
            return (first[0].then(windows[0]), first[1].then(windows[1]))
        if name == "pad":
            pad = _bind(("input", "pad"), args, kwargs)["pad"]
            left, top = (pad[0] if len(pad) > 0 else 0), (pad[2] if len(pad) > 2 else 0)
            return (
                shapes.ReceptiveField(first[0].size, first[0].jump, first[0].start - top * first[0].jump),
                shapes.ReceptiveField(first[1].size, first[1].jump, first[1].start - left * first[1].jump),
            )
        if name == "__getitem__":
            return self._sliced(first, args[1], inputs[0], output)
        if name in _MERGING:
            same = [f for t, f in zip(inputs, fields, strict=True) if _spatial(t) == _spatial(output)]
            if len(same) > 1:
                return tuple(shapes.merge_receptive_fields([f[a] for f in same]) for a in range(2))  # type: ignore[return-value,index]
            return same[0] if same else None  # type: ignore[return-value]
        if _spatial(output) == _spatial(inputs[0]):
            return first  # element-wise, normalisation, dropout: same positions, same field
        if name.startswith("adaptive_") and _spatial(output) == (1, 1):
            return GLOBAL
        return None

    @staticmethod
    def _window_args(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
        if name == "conv2d":
            bound = _bind(_CONV_PARAMS, args, kwargs)
            return (tuple(bound["weight"].shape[-2:]), bound.get("stride"), bound.get("padding"), bound.get("dilation"))
        if name in ("max_pool2d", "max_pool2d_with_indices"):
            bound = _bind(_MAX_POOL_PARAMS, args, kwargs)
            return (bound["kernel_size"], bound.get("stride"), bound.get("padding"), bound.get("dilation"))
        if name == "avg_pool2d":
            bound = _bind(_AVG_POOL_PARAMS, args, kwargs)
            return (bound["kernel_size"], bound.get("stride"), bound.get("padding"), 1)
        if name == "lp_pool2d":
            bound = _bind(_LP_POOL_PARAMS, args, kwargs)
            return (bound["kernel_size"], bound.get("stride"), 0, 1)
        return None

    @staticmethod
    def _sliced(field: AxisFields, index: Any, source: torch.Tensor, output: torch.Tensor) -> AxisFields | None:
        """``x[:, :, a::s, b::t]``: a 1x1 window with stride s, starting at a."""
        index = index if isinstance(index, tuple) else (index,)
        spatial = list(index[2:4]) if len(index) >= 4 else []
        if len(spatial) != 2 or not all(isinstance(i, slice) for i in spatial):
            return field if _spatial(output) == _spatial(source) else None
        result = []
        for axis, piece in enumerate(spatial):
            step, start = piece.step or 1, piece.start or 0
            f = field[axis]
            shifted = shapes.ReceptiveField(f.size, f.jump, f.start + start * f.jump)
            result.append(shifted.then(shapes.Window(1, step)))
        return (result[0], result[1])
