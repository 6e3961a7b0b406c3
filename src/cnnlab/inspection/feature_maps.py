"""The layers of a network that have feature maps: their names, shapes and receptive fields, and their values.

:func:`map_layers` runs one forward pass on meta tensors (no arithmetic, any size of network) with a
:class:`ReceptiveFieldTracker` and a forward hook on every module, so it knows each module's output
shape and receptive field, blocks and branches included; :func:`capture` runs the real model on an
image and keeps the outputs of the modules asked for.

Layers are named as in ``model.named_modules()`` (``features.conv1``, ``layer2.0``, ``inception4a``).
Which of them :func:`shown_layers` calls ``all`` is a choice made here, once:

* every convolution and pooling layer (anything with a window: ``Conv2d``, ``SparseConv2d``,
  ``LocallyConnected2d``, max/average/learned pooling, LeNet-5's subsampling), and
* every *block*: a module that is not a plain container (``Sequential``, ``ModuleList``) and holds two
  or more such layers (a residual block, an Inception module), whose output merges its branches;

with a 4-D output of at least one channel, called once per forward pass. Activations, normalisation
and dropout are left out (their maps are those of the layer before, through a function), and so are
modules called several times (LeNet-5's one ``squash``), which can still be asked for by name.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnlab.inspection.receptive_field import GLOBAL, AxisFields, ReceptiveFieldTracker
from cnnlab.layers.lenet import SparseConv2d
from cnnlab.layers.locally_connected import LocallyConnected2d
from cnnlab.models._base import size_steps_of

__all__ = [
    "FieldBox",
    "MapLayer",
    "capture",
    "capture_with_output",
    "choose_layers",
    "field_box",
    "kernel_layers",
    "kernels",
    "map_layers",
    "one_per_resolution",
    "shown_layers",
]

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass(frozen=True)
class MapLayer:
    """One named module and what its first call produces.

    Attributes:
        name: the module's name in ``named_modules()``.
        type: its class name.
        output_shape: the output without the batch dimension (``()`` for a non-tensor output).
        calls: how often one forward pass calls it.
        field: receptive field per axis, ``GLOBAL`` for units that see everything, ``None`` if unknown.
        windowed: a convolution or pooling layer.
        block: a module holding two or more windowed layers (a residual block, an Inception module).
        params: the parameters of the module and everything in it.
        macs: multiply-accumulates of its first call, for one image (as :func:`~cnnlab.inspection.summary.summarize`
            counts them).
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    calls: int
    field: Any
    windowed: bool
    block: bool
    params: int = 0
    macs: int = 0

    @property
    def has_maps(self) -> bool:
        """Whether the output is a stack of 2-D feature maps ``(C, H, W)``."""
        return len(self.output_shape) == 3

    @property
    def shown(self) -> bool:
        """Whether ``--layers all`` shows it (see the module's docstring)."""
        return self.has_maps and self.calls == 1 and (self.windowed or self.block)

    @property
    def shape_text(self) -> str:
        return "x".join(str(s) for s in self.output_shape) or "-"


def _is_windowed(name: str, module: nn.Module) -> bool:
    try:
        size_steps_of(name, module)
    except TypeError:
        return False
    return True


def _windowed_below(model: nn.Module) -> dict[str, int]:
    """How many windowed layers each module holds (itself included)."""
    counts: dict[str, int] = {}
    for name, module in model.named_modules():
        counts[name] = sum(_is_windowed(n, m) for n, m in module.named_modules(prefix=name))
    return counts


def map_layers(model: nn.Module, input_size: tuple[int, int, int]) -> list[MapLayer]:
    """Every named module of ``model`` with the output shape and receptive field of its first call.

    The model is copied to the meta device, so its weights are untouched and nothing is computed.
    Modules are listed in the order their first call ends, as their outputs appear (the layers inside a
    block before the block); modules that the forward pass never calls (an auxiliary head in eval mode)
    are left out.
    """
    from cnnlab.inspection.summary import FlopCounter

    meta = copy.deepcopy(model).to("meta").eval()
    windowed = _windowed_below(meta)
    tracker = ReceptiveFieldTracker()
    counter = FlopCounter()
    order: list[str] = []
    calls: dict[str, int] = {}
    started: dict[str, int] = {}
    outputs: dict[str, tuple[tuple[int, ...], Any, int]] = {}

    def hooks(name: str) -> tuple[Any, Any]:
        def before(_module: nn.Module, _inputs: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            started.setdefault(name, counter.total)

        def after(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if name not in outputs:
                order.append(name)
                out = output if isinstance(output, torch.Tensor) else None
                shape = tuple(out.shape[1:]) if out is not None else ()
                macs = (counter.total - started[name]) // 2
                outputs[name] = (shape, tracker.field(out) if out is not None else None, macs)

        return before, after

    detach = tracker.attach(meta)  # first, so that fields are set before our hooks read them
    handles = []
    for name, module in meta.named_modules():
        if name:
            before, after = hooks(name)
            handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    x = torch.empty(1, *input_size, device="meta")
    tracker.watch(x)
    try:
        with counter, tracker, torch.no_grad():
            meta(x)
    finally:
        for handle in handles:
            handle.remove()
        detach()
    modules = dict(meta.named_modules())
    layers = []
    for name in order:
        module = modules[name]
        shape, field, macs = outputs.get(name, ((), None, 0))
        is_block = not isinstance(module, _CONTAINERS) and windowed[name] >= 2
        params = sum(p.numel() for p in module.parameters())
        layers.append(
            MapLayer(
                name,
                type(module).__name__,
                shape,
                calls[name],
                field,
                _is_windowed(name, module),
                is_block,
                params,
                macs,
            )
        )
    return layers


def shown_layers(layers: Sequence[MapLayer]) -> list[MapLayer]:
    """The layers ``--layers all`` stands for (see the module's docstring)."""
    return [layer for layer in layers if layer.shown]


def one_per_resolution(layers: Sequence[MapLayer], limit: int = 6) -> list[MapLayer]:
    """An overview: the first convolution, then one layer for each map size, from large to small maps.

    For each size the last block with maps of that size is taken, else the last shown layer (a block's
    output merges its branches; a lone branch inside a reduction block is a detail). Maps smaller than
    2x2 are left out (a 1x1 map is a number per channel, not a picture). When there are more sizes
    than ``limit`` allows, the first layer and the deepest ones are kept.
    """
    candidates = [layer for layer in shown_layers(layers) if min(layer.output_shape[1:]) >= 2]
    if not candidates:
        return []
    last: dict[tuple[int, ...], MapLayer] = {}
    for layer in candidates:
        size = layer.output_shape[1:]
        if layer.block or not (size in last and last[size].block):
            last[size] = layer
    by_size = sorted(last.values(), key=lambda layer: -layer.output_shape[1] * layer.output_shape[2])
    picked = [candidates[0], *(layer for layer in by_size if layer is not candidates[0])]
    if len(picked) > limit:
        picked = [picked[0], *picked[len(picked) - limit + 1 :]]
    return picked


def _unknown_layer(name: str, layers: Sequence[MapLayer], model_name: str) -> ValueError:
    names = [layer.name for layer in layers if layer.has_maps]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else "."
    if len(names) <= 40:
        return ValueError(f"{model_name} has no layer {name!r}{hint} Layers with feature maps: {', '.join(names)}")
    shown = [layer.name for layer in shown_layers(layers)]
    listed = ", ".join(shown[:40]) + (", ..." if len(shown) > 40 else "")
    return ValueError(
        f"{model_name} has no layer {name!r}{hint} Its convolutions, pools and blocks: {listed} "
        f"({len(names)} layers with feature maps in all)"
    )


def choose_layers(layers: Sequence[MapLayer], names: Sequence[str], model_name: str = "the model") -> list[MapLayer]:
    """The layers named in ``names`` (``all`` stands for :func:`shown_layers`), checked to have feature maps.

    Raises:
        ValueError: an unknown name (the message lists the valid ones), or a layer whose output is not
            a stack of feature maps (a vector after flattening).
    """
    by_name = {layer.name: layer for layer in layers}
    chosen: list[MapLayer] = []
    for name in names:
        if name == "all":
            chosen += [layer for layer in shown_layers(layers) if layer not in chosen]
            continue
        layer = by_name.get(name)
        if layer is None:
            raise _unknown_layer(name, layers, model_name)
        if not layer.has_maps:
            what = f"a vector of {layer.output_shape[0]:,}" if len(layer.output_shape) == 1 else "no tensor"
            raise ValueError(f"{name} ({layer.type}) outputs {what}, not feature maps")
        if layer not in chosen:
            chosen.append(layer)
    return chosen


@torch.no_grad()
def capture(model: nn.Module, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
    """The outputs of the modules ``names`` (their first call) when ``model`` runs on ``x``.

    Outputs are copied as they are produced, so a later in-place operation (``ReLU(inplace=True)``
    after a convolution) does not change what is kept.
    """
    return capture_with_output(model, x, names)[1]


@torch.no_grad()
def capture_with_output(
    model: nn.Module, x: torch.Tensor, names: Sequence[str]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """As :func:`capture`, with the model's own output of the same forward pass (one pass for both)."""
    modules = dict(model.named_modules())
    kept: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if name not in kept and isinstance(output, torch.Tensor):
                kept[name] = output.detach().clone()

        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in names]
    try:
        output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return output, kept


@dataclass(frozen=True)
class FieldBox:
    """The input region one unit sees, in pixel coordinates (pixel ``j`` covers ``j - 0.5 .. j + 0.5``).

    Attributes:
        centre: ``(y, x)`` of the field's centre.
        size: ``(height, width)`` of the field in pixels.
        top, left, bottom, right: the field's first and last rows and columns (may lie outside the image).
        clipped: ``(top, left, bottom, right)`` of the part inside the image.
        outside: pixels past each edge ``(top, left, bottom, right)``, all padding.
    """

    centre: tuple[float, float]
    size: tuple[int, int]
    top: float
    left: float
    bottom: float
    right: float
    clipped: tuple[float, float, float, float]
    outside: tuple[float, float, float, float]

    @property
    def extends_past_input(self) -> bool:
        return any(v > 0 for v in self.outside)


def field_box(layer: MapLayer, unit: tuple[int, int], input_hw: tuple[int, int]) -> FieldBox:
    """Where unit ``(y, x)`` of ``layer``'s maps looks in an input of ``input_hw``.

    The field's centre is ``start + unit * jump`` along each axis (``start``: the first unit's centre).

    Raises:
        ValueError: a layer without feature maps or without a modelled field, or a unit outside the map.
    """
    if not layer.has_maps:
        raise ValueError(f"{layer.name} outputs no feature maps: its units have no place in the input")
    if layer.field is GLOBAL or layer.field is None:
        raise ValueError(f"{layer.name} has no receptive field that cnnlab can compute (a {layer.type})")
    height, width = layer.output_shape[1:]
    y, x = unit
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(
            f"unit ({y}, {x}) is outside {layer.name}'s {height}x{width} map "
            f"(rows 0-{height - 1}, columns 0-{width - 1})"
        )
    fields: AxisFields = layer.field
    centre = (fields[0].start + y * fields[0].jump, fields[1].start + x * fields[1].jump)
    half = ((fields[0].size - 1) / 2, (fields[1].size - 1) / 2)
    top, bottom = centre[0] - half[0], centre[0] + half[0]
    left, right = centre[1] - half[1], centre[1] + half[1]
    last_row, last_col = input_hw[0] - 1, input_hw[1] - 1
    clipped = (max(top, 0.0), max(left, 0.0), min(bottom, last_row), min(right, last_col))
    outside = (max(-top, 0.0), max(-left, 0.0), max(bottom - last_row, 0.0), max(right - last_col, 0.0))
    return FieldBox(centre, (fields[0].size, fields[1].size), top, left, bottom, right, clipped, outside)


def kernel_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The layers with 2-D kernels (convolutions, LeNet-5's sparse C3, locally connected), by name, in order."""
    kinds = (nn.Conv2d, SparseConv2d, LocallyConnected2d)
    return {name: module for name, module in model.named_modules() if isinstance(module, kinds)}


def kernels(module: nn.Module) -> tuple[torch.Tensor, str]:
    """The ``(C_out, C_in, kH, kW)`` kernels of a layer of :func:`kernel_layers`, and where they come from.

    A sparse convolution gives its dense weight (zeros where the connection table has no kernel); a
    locally connected layer, which has a kernel per position, gives those of its centre position.
    """
    if isinstance(module, SparseConv2d):
        return module.dense_weight().detach(), "kernels left out by the connection table are zeros"
    if isinstance(module, LocallyConnected2d):
        rows, cols = module.weight.shape[:2]
        return module.weight[rows // 2, cols // 2].detach(), (
            f"unshared weights: the kernels of the centre position ({rows // 2}, {cols // 2}) of {rows}x{cols}"
        )
    return module.weight.detach(), ""
