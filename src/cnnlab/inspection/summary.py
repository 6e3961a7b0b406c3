"""Per-layer summary of a network: output shape, parameters, window, MACs, FLOPs, receptive field.

Runs one forward pass on meta tensors (shapes only, no arithmetic), so a summary of VGG-16 at 224x224
takes a fraction of a second. FLOPs are counted with the formulas of PyTorch's own FLOP counter
(``torch.utils.flop_counter``) for the convolutions and matrix products, two FLOPs for each
multiply-accumulate; element-wise operations (ReLU, batch norm, pooling) are not counted by it, and so
not by us. MACs and FLOPs are kept in separate columns, never confused.

The formulas are applied to the functions a forward pass calls (``conv2d``, ``linear``, ``bmm``, ...)
rather than through ``FlopCounterMode``, whose dispatch mode imports ``torch._dynamo`` on first use: a
second of start-up for a command that otherwise answers in two. The tests check that the totals equal
``FlopCounterMode``'s for every registered model.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import bmm_flop, conv_flop_count, mm_flop

from cnnlab.errors import whole_number, whole_numbers
from cnnlab.inspection.receptive_field import GLOBAL, ReceptiveFieldTracker
from cnnlab.inspection.tensor_labels import tensors_in
from cnnlab.layers.lenet import SparseConv2d
from cnnlab.models import ImageClassifier, create_model, get_spec
from cnnlab.models._base import size_steps_of

__all__ = ["LayerSummary", "ModelSummary", "meta_model", "summarize"]

_RANDOM_FILLS = {
    "normal_",
    "uniform_",
    "trunc_normal_",
    "bernoulli_",
    "exponential_",
    "random_",
    "cauchy_",
    "log_normal_",
}


class _SkipRandomFills(TorchFunctionMode):
    """Random initialisation of meta tensors is pointless, and its first call imports torch._dynamo (1.5 s)."""

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _RANDOM_FILLS:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def _same_shape(tensors: list[torch.Tensor], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...]:
    return tuple(tensors[0].shape)


def _cat_shape(tensors: list[torch.Tensor], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...]:
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    shape = list(tensors[0].shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return tuple(shape)


# Output shapes of common layers, for meta tensors: there PyTorch runs them through Python decompositions
# whose first call imports torch._dynamo (a second). Anything not listed simply runs.
def _adaptive_shape(tensors: list[torch.Tensor], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...]:
    size = args[1] if len(args) > 1 else kwargs["output_size"]
    size = (size, size) if isinstance(size, int) else tuple(size)
    x = tensors[0]
    return (*x.shape[:-2], *(x.shape[-2 + a] if s is None else s for a, s in enumerate(size)))


_META_SHAPES: dict[str, Callable[[list[torch.Tensor], tuple[Any, ...], dict[str, Any]], tuple[int, ...]]] = {
    "linear": lambda t, _args, _kwargs: (*t[0].shape[:-1], t[1].shape[0]),
    "cat": _cat_shape,
    "concat": _cat_shape,
    "adaptive_avg_pool2d": _adaptive_shape,
    **dict.fromkeys(
        ("batch_norm", "local_response_norm", "dropout", "relu", "relu6", "sigmoid", "tanh", "hardtanh", "gelu",
         "silu", "elu", "leaky_relu", "softmax", "log_softmax"),
        _same_shape,
    ),
}  # fmt: skip


class FlopCounter(TorchFunctionMode):
    """FLOPs of the convolutions and matrix products in a forward pass, by torch.utils.flop_counter's formulas."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        tensors = tensors_in((*args, *kwargs.values()))
        if tensors and tensors[0].is_meta and name.rstrip("_") in _META_SHAPES:
            in_place = name.endswith("_") or kwargs.get("inplace", False)
            shape = _META_SHAPES[name.rstrip("_")](tensors, args, kwargs)
            out = tensors[0] if in_place else tensors[0].new_empty(shape)
        else:
            out = func(*args, **kwargs)
        if name in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
            x, weight = tensors[0], tensors[1]
            self.total += conv_flop_count(list(x.shape), list(weight.shape), list(out.shape), "transpose" in name)
        elif name == "linear":
            x, weight = tensors[0], tensors[1]
            self.total += mm_flop((x.numel() // x.shape[-1], x.shape[-1]), tuple(reversed(weight.shape)))
        elif name in ("bmm", "baddbmm"):
            a, b = tensors[-2], tensors[-1]
            self.total += bmm_flop(tuple(a.shape), tuple(b.shape))
        elif name in ("mm", "addmm", "matmul", "__matmul__"):
            a, b = tensors[-2], tensors[-1]
            rows = a.numel() // a.shape[-1] if a.dim() > 1 else 1
            cols = b.shape[-1] if b.dim() > 1 else 1
            batch = max(1, b.numel() // (b.shape[-1] * b.shape[-2])) if b.dim() > 2 and a.dim() <= 2 else 1
            self.total += mm_flop((rows, a.shape[-1]), (a.shape[-1], cols)) * batch
        return out


def meta_model(name: str, **kwargs: Any) -> ImageClassifier:
    """A registered model on the meta device: shapes without storage, built in milliseconds."""
    with torch.device("meta"), _SkipRandomFills():
        return create_model(name, **kwargs)


@dataclass(frozen=True)
class LayerSummary:
    """One call of one layer in the forward pass.

    ``rf`` and ``jump`` are per axis ``(height, width)``; ``rf`` is the input size for units that see
    the whole input (after flatten or global pooling), where ``jump`` is ``None``; both are ``None``
    where the field is not modelled.
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    window: str
    macs: int
    flops: int
    rf: tuple[int, int] | None
    jump: tuple[int, int] | None


@dataclass(frozen=True)
class ModelSummary:
    """A whole network: its layers in the order they run, and the totals."""

    model: str
    input: tuple[int, int, int]
    layers: list[LayerSummary]
    total_params: int
    trainable_params: int
    fixed_values: int
    total_macs: int
    total_flops: int
    notes: list[str] = field(default_factory=list)

    def table(self, *, flops: bool = True) -> tuple[list[str], list[list[Any]]]:
        """Headers and one row per layer call, as ``cnnlab summary`` and the run report show them.

        A field or jump is one number when square, ``HxW`` otherwise, and ``None`` where it is not modelled.
        """

        def pair(value: tuple[int, int] | None) -> str | None:
            if value is None:
                return None
            return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"

        counts = ["MACs", "FLOPs"] if flops else ["MACs"]
        headers = ["layer", "type", "output", "params", "window", *counts, "field", "jump"]
        rows = [
            [layer.name, layer.type, "x".join(map(str, layer.output_shape)), layer.params, layer.window, layer.macs,
             *([layer.flops] if flops else []), pair(layer.rf), pair(layer.jump)]
            for layer in self.layers
        ]  # fmt: skip
        return headers, rows

    @property
    def totals(self) -> str:
        """``lenet5 at 1x32x32: 60,000 trainable parameters, ...; 415,680 MACs = 831,360 FLOPs per image``."""
        shape = "x".join(map(str, self.input))
        fixed = f", plus {self.fixed_values:,} fixed values" if self.fixed_values else ""
        frozen = self.total_params - self.trainable_params
        frozen_text = f" ({frozen:,} frozen)" if frozen else ""
        return (
            f"{self.model} at {shape}: {self.trainable_params:,} trainable parameters{frozen_text}{fixed}; "
            f"{self.total_macs:,} MACs = {self.total_flops:,} FLOPs per image"
        )

    def render(self, fmt: str = "text") -> str:
        """The table in ``fmt`` (text, markdown, csv or json), as ``cnnlab summary --format`` prints it.

        Text and Markdown end with the totals and the notes; CSV is the table alone; JSON is :meth:`to_dict`.
        """
        from cnnlab.inspection.tables import render_table

        if fmt == "json":
            import json

            return json.dumps(self.to_dict(), indent=2)
        table = render_table(*self.table(), fmt)
        if fmt == "csv":
            return table
        return "\n".join([table, "", self.totals, *(f"note: {note}" for note in self.notes)])

    def __str__(self) -> str:
        return self.render("text")

    def html(self, *, flops: bool = True) -> str:
        """The table as HTML (no scripts, no styles beyond the table's own), with the totals and notes below."""
        from cnnlab.inspection.tables import render_table

        legend = (
            " Field: the receptive field of one unit, in input pixels; jump: the distance between neighbouring units."
        )
        paragraphs = [self.totals + "." + legend, *(f"Note: {note}" for note in self.notes)]
        text = "".join(f"<p>{html.escape(line)}</p>" for line in paragraphs)
        return f"<div>{render_table(*self.table(flops=flops), 'html')}{text}</div>"

    def _repr_html_(self) -> str:
        return self.html()

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON form: ``rf`` and ``jump`` are a number for square fields, else ``[h, w]``."""

        def scalar(pair: tuple[int, int] | None) -> int | list[int] | None:
            if pair is None:
                return None
            return pair[0] if pair[0] == pair[1] else list(pair)

        layers = []
        for layer in self.layers:
            row = asdict(layer)
            row["output_shape"] = list(layer.output_shape)
            row["rf"], row["jump"] = scalar(layer.rf), scalar(layer.jump)
            layers.append(row)
        data = asdict(self)
        data.update(input=list(self.input), layers=layers)
        return data


def _window_text(name: str, module: nn.Module) -> str:
    try:
        height, width = size_steps_of(name, module)
    except TypeError:
        return ""
    h, w = height.window, width.window
    text = f"{h.kernel}x{w.kernel}"
    text += f" s{h.stride}" if h.stride == w.stride else f" s{h.stride}x{w.stride}"
    if h.padding or w.padding:
        text += f" p{h.padding}" if h.padding == w.padding else f" p{h.padding}x{w.padding}"
    if h.dilation > 1 or w.dilation > 1:
        text += f" d{h.dilation}" if h.dilation == w.dilation else f" d{h.dilation}x{w.dilation}"
    return text


def _fixed_values(model: nn.Module) -> int:
    """Buffers that are part of the model's function (LeNet-5's RBF prototypes), not BN statistics."""
    count = 0
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._NormBase):
            continue
        count += sum(b.numel() for b in module.buffers(recurse=False) if b.is_floating_point())
    return count


def summarize(
    model: ImageClassifier | nn.Module | str,
    input_size: tuple[int, int, int] | None = None,
    *,
    depth: int | None = None,
) -> ModelSummary:
    """Summarize a model for one input of ``input_size`` ``(C, H, W)`` (default: the model's own).

    ``model`` is a registry name or any ``nn.Module`` (``cnnlab.summary`` takes a run too, and summarizes its
    model at the size it was trained on). A name is built on the meta device; a module is copied there, so its
    weights are untouched. Per layer: output shape, parameters, window, MACs,
    FLOPs and the receptive field; ``str()`` of the result is ``cnnlab summary``'s table, and Jupyter shows it as
    an HTML table.

    Args:
        model: what to summarize.
        input_size: ``(C, H, W)``.
        depth: one row per module ``depth`` levels down (``inception4a``, ``layer1.0``: whole blocks, their
            parameters and MACs summed) instead of one per layer; ``None``: every layer.

    Raises:
        TypeError: ``model`` is not a name or a module.
        SettingError: ``depth`` is not a positive whole number, ``input_size`` not three of them.
        ValueError: unknown model, or an input the model does not accept (the message says what fits).
    """
    if depth is not None:
        depth = whole_number("depth", depth)
    if input_size is not None:
        input_size = whole_numbers("input_size", input_size, "(C, H, W)", (1, 32, 32))  # type: ignore[assignment]
    if isinstance(model, str):
        get_spec(model)  # an unknown name: the registry's error suggests close names
        name = model
        model = meta_model(name)
    elif isinstance(model, nn.Module):
        spec = getattr(model, "spec", None)
        name = spec.name if spec is not None else type(model).__name__
        model = copy.deepcopy(model).to("meta")
    else:
        raise TypeError(
            f"cannot summarize an object of type {type(model).__name__!r}: expected a model name, a run or an nn.Module"
        )
    if input_size is None:
        spec = getattr(model, "spec", None)
        if spec is None:
            raise ValueError(f"{name} has no default input size; pass input_size=(C, H, W)")
        input_size = spec.input_size
    model.eval()
    if isinstance(model, ImageClassifier):
        model.check_input(torch.empty(1, *input_size, device="meta"))

    rows: list[LayerSummary] = []
    seen_params: set[int] = set()  # parameter ids: a module called twice, or shared weights, count once
    counter = FlopCounter()
    tracker = ReceptiveFieldTracker()

    def row_hooks(name: str, module: nn.Module) -> tuple[Callable[..., None], Callable[..., None]]:
        start: list[int] = []

        def before(_module: nn.Module, _inputs: Any) -> None:
            start.append(counter.total)

        def after(_module: nn.Module, _inputs: Any, output: Any) -> None:
            flops = counter.total - start.pop()
            fresh = [p for p in module.parameters() if id(p) not in seen_params]
            seen_params.update(id(p) for p in fresh)
            params = sum(p.numel() for p in fresh)
            out = output if isinstance(output, torch.Tensor) else None
            rf = jump = None
            field_ = tracker.field(out) if out is not None else None
            if field_ is GLOBAL:
                rf = input_size[1:]
            elif isinstance(field_, tuple):
                rf, jump = (field_[0].size, field_[1].size), (field_[0].jump, field_[1].jump)
            rows.append(
                LayerSummary(
                    name=name,
                    type=type(module).__name__,
                    output_shape=tuple(out.shape[1:]) if out is not None else (),
                    params=params,
                    window=_window_text(name, module),
                    macs=flops // 2,
                    flops=flops,
                    rf=rf,
                    jump=jump,
                )
            )

        return before, after

    # The tracker's hooks set the fields of layers whose window the functions inside them hide (a locally
    # connected layer is unfold + matmul); they must run before the hooks that read the fields into rows.
    detach_tracker = tracker.attach(model)
    handles = []
    for module_name, module in model.named_modules():
        if module_name and _is_row(module_name, module, depth):
            before, after = row_hooks(module_name, module)
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
    x = torch.empty(1, *input_size, device="meta")
    tracker.watch(x)
    try:
        with counter, tracker, torch.no_grad():
            model(x)
    except RuntimeError as error:  # a module of the user's that does not take this shape
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        shape = "x".join(map(str, input_size))
        raise ValueError(f"{name} does not take an input of {shape}: {first}") from None
    finally:
        for handle in handles:
            handle.remove()
        detach_tracker()

    parameters = list(model.parameters())
    return ModelSummary(
        model=name,
        input=tuple(input_size),  # type: ignore[arg-type]
        layers=rows,
        total_params=sum(p.numel() for p in parameters),
        trainable_params=sum(p.numel() for p in parameters if p.requires_grad),
        fixed_values=_fixed_values(model),
        total_macs=counter.total // 2,
        total_flops=counter.total,
        notes=_connection_notes(model, rows),
    )


def _is_row(name: str, module: nn.Module, depth: int | None) -> bool:
    """Whether ``module`` is a row of the table: every layer (a module without children), or with ``depth``,
    the modules that deep and the layers above it."""
    if isinstance(module, nn.Identity):
        return False
    leaf = not any(True for _ in module.children())
    if depth is None:
        return leaf
    level = name.count(".") + 1
    return level == depth or (leaf and level < depth)


def _connection_notes(model: nn.Module, rows: list[LayerSummary]) -> list[str]:
    """For each sparse convolution, its paper's count beside the MACs of the dense conv2d that computes it."""
    modules = dict(model.named_modules())
    notes = []
    for row in rows:
        module = modules.get(row.name)
        if not isinstance(module, SparseConv2d) or len(row.output_shape) != 3:
            continue
        positions = row.output_shape[1] * row.output_shape[2]
        connected = module.weight.numel() * positions  # one MAC per weight of a connected pair, per position
        if connected == row.macs:  # a full table: nothing to tell apart
            continue
        biases = module.out_channels * positions if module.bias is not None else 0
        notes.append(
            f"{row.name}: {row.macs:,} MACs as computed (one dense conv2d, zeros where its table has no "
            f"connection); its connections, as the paper counts them: {connected + biases:,} "
            f"({connected:,} multiply-accumulates and {biases:,} biases)"
        )
    return notes
