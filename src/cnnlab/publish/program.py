"""A network as a plain list of operations: what the published page runs in JavaScript, without Python.

One forward pass (eval mode, no gradient, a zeros input) is traced: each call of a known layer (a convolution,
LeNet-5's sub-sampling, a pooling, ...) becomes one :class:`Operation` with that layer's own parameters, and
the functions a forward calls between layers (a residual ``+``, ``torch.cat``, ``flatten``, ``F.relu``) become
operations too. A batch norm right after a convolution or linear layer is folded into it. Anything else is
refused in one line (:class:`UnsupportedLayer`), never skipped: the page would give other numbers.

The :class:`Program` is the contract between Python and ``static/forward.js``; ``docs/publish.md`` describes
its JSON.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from cnnlab.inspection.tensor_labels import Call, TensorLabels, tensors_in
from cnnlab.publish._layers import (
    KNOWN_MODULES,
    Translation,
    Untranslatable,
    check_functional_dropout,
    fold_batch_norm,
    functional_pool,
    translate_module,
)

__all__ = ["FORMAT", "INPUT", "Operation", "Program", "UnsupportedLayer", "to_program"]

FORMAT = "cnnlab-program/1"
INPUT = "input"  # the name of the input tensor
LAB_HINT = "the served lab (cnnlab lab) runs any network"
# Operations that only reshape: their outputs are not maps to show.
RESHAPES = frozenset({"flatten", "reshape"})

# Functions a forward may call between layers, by the name PyTorch gives them, and the operation each is.
_ACTIVATIONS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh",
                "tanh_": "tanh"}  # fmt: skip
_ADDS = frozenset({"add", "add_", "__add__", "__radd__", "__iadd__"})
_CATS = frozenset({"cat", "concat", "concatenate"})
_NEGATIONS = frozenset({"neg", "__neg__", "negative"})
_PASS_THROUGH = frozenset({"contiguous", "clone", "detach"})
_POOLS = frozenset({"max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"})


class UnsupportedLayer(ValueError):
    """A layer or function the page cannot run, named in one line."""


@dataclass(frozen=True)
class Operation:
    """One step of a program.

    Attributes:
        op: its kind (``conv2d``, ``relu``, ``add``, ...; ``docs/publish.md`` lists them with their attributes).
        name: the module's name in ``named_modules()`` (``c1``, ``layer1.0.conv1``), or ``""`` for a function
            called between layers.
        inputs: the names of the tensors it reads.
        output: the name of the tensor it writes, unique in the program: the module's name (``relu#2`` for a
            module's second call; for a convolution with its batch norm folded in, the batch norm's name, since
            that is what it computes), or where a function was called (``layer1.0.add``).
        shape: the output's shape without the batch axis.
        attributes: plain ints, floats, booleans and lists.
        parameters: the names of its parameter tensors in :attr:`Program.parameters`, by role (``weight``).
    """

    op: str
    name: str
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "name": self.name, "inputs": list(self.inputs), "output": self.output,
                "shape": list(self.shape), "attributes": dict(self.attributes),
                "parameters": dict(self.parameters)}  # fmt: skip


def _encode(tensor: torch.Tensor) -> dict[str, Any]:
    """A tensor as JSON: its shape, dtype and the base64 of its little-endian bytes."""
    dtype = "float16" if tensor.dtype == torch.float16 else "float32"
    data = tensor.numpy().astype("<f2" if dtype == "float16" else "<f4").tobytes()
    return {"shape": list(tensor.shape), "dtype": dtype, "data": base64.b64encode(data).decode("ascii")}


@dataclass(frozen=True)
class Program:
    """A network as operations in the order they run, with its parameter tensors.

    Attributes:
        input_shape: ``(C, H, W)`` of the input tensor, named ``"input"``.
        operations: in order; each reads tensors written before it.
        parameters: every parameter tensor by name (float32, or float16 for a smaller page).
        output: the name of the network's output tensor (the logits).
    """

    input_shape: tuple[int, int, int]
    operations: tuple[Operation, ...]
    parameters: Mapping[str, torch.Tensor]
    output: str

    @property
    def layers(self) -> list[str]:
        """The output tensors that are the network's layers' maps, in order: those of operations made from modules,
        reshapes aside. Each is named after its module (``layer1.0.relu#2``: the second call)."""
        return [op.output for op in self.operations if op.name and op.op not in RESHAPES]

    @property
    def parameter_count(self) -> int:
        return sum(t.numel() for t in self.parameters.values())

    def to_json(self) -> dict[str, Any]:
        """The program as JSON-able values: what ``forward.js``'s ``run`` takes."""
        return {
            "format": FORMAT,
            "input": {"name": INPUT, "shape": list(self.input_shape)},
            "output": self.output,
            "layers": self.layers,
            "operations": [op.to_json() for op in self.operations],
            "parameters": {name: _encode(tensor) for name, tensor in self.parameters.items()},
        }


@dataclass
class _Step:
    """An operation as traced, before names are given to its parameters and batch norms are folded."""

    translation: Translation
    name: str
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, ...]


def _describe(name: str, module: nn.Module) -> str:
    return f"{name!r} ({type(module).__name__})" if name else f"the model ({type(module).__name__})"


class _Tracer(TensorLabels[str]):
    """Follows one forward pass: each tensor is labelled with its name in the program."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.names = {module: name for name, module in model.named_modules()}
        self.steps: list[_Step] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.used: Counter[str] = Counter()
        self.taken: Counter[str] = Counter()
        self.callers: list[tuple[str, nn.Module]] = []  # the modules whose own code is running (functions' callers)
        self.inside = 0  # how deep in a known layer the pass is: its own functions are not the program's
        self.pending: list[str] = []

    def hooks(self) -> list[Any]:
        handles = []
        for module in self.names:
            handles.append(module.register_forward_pre_hook(self._before))
            handles.append(module.register_forward_hook(self._after))
        return handles

    def new_name(self, base: str) -> str:
        self.taken[base] += 1
        return base if self.taken[base] == 1 else f"{base}#{self.taken[base]}"

    def name_of(self, tensor: torch.Tensor, where: str) -> str:
        if id(tensor) not in self.labels:
            raise UnsupportedLayer(f"{where} reads a tensor that is not computed from the input; {LAB_HINT}")
        return self.labels[id(tensor)]

    def _before(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        name = self.names[module]
        if self.inside:
            self.inside += 1
        elif isinstance(module, KNOWN_MODULES):
            where = _describe(name, module)
            self.pending = [self.name_of(t, where) for t in tensors_in(inputs)]
            self.inside = 1
        elif any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False)):
            raise UnsupportedLayer(
                f"{_describe(name, module)} has parameters but no JavaScript translation, so the page cannot "
                f"run it; {LAB_HINT}"
            )
        else:
            self.callers.append((name, module))

    def _after(self, module: nn.Module, _inputs: tuple[Any, ...], output: Any) -> None:
        if self.inside > 1:
            self.inside -= 1
            return
        if self.inside == 0:
            self.callers.pop()
            return
        self.inside = 0
        name = self.names[module]
        translation = self._untranslatable(translate_module, _describe(name, module), module)
        self._record(translation, name, self.pending, tensors_in(output), _describe(name, module), name)

    def _record(
        self, translation: Translation | None, name: str, inputs: list[str], outputs: list[torch.Tensor],
        where: str, base: str,
    ) -> None:  # fmt: skip
        if len(outputs) != 1 or not inputs:
            raise UnsupportedLayer(f"{where} does not map one tensor to one tensor; {LAB_HINT}")
        if translation is None:  # the identity: the output is the input
            self.label(outputs[0], inputs[0])
            return
        shape = tuple(outputs[0].shape[1:])
        if translation.op == "adaptive_avg_pool2d":
            translation = replace(translation, attributes={"output_size": list(_spatial(outputs[0]))})
        output = self.new_name(base)
        self.steps.append(_Step(translation, name, tuple(inputs), output, shape))
        self.shapes[output] = shape
        self.used.update(inputs)
        self.label(outputs[0], output)

    def watching(self) -> bool:
        return self.inside == 0

    def on_call(self, call: Call) -> None:
        caller, module = self.callers[-1] if self.callers else ("", None)
        where = f"{call.name} (called by {_describe(caller, module)})" if module is not None else call.name
        if call.name in _PASS_THROUGH or call.name == "dropout":
            if call.name == "dropout":
                self._untranslatable(check_functional_dropout, where, call.args, call.kwargs)
            self._record(None, "", [self.name_of(call.inputs[0], where)], call.outputs, where, "")
            return
        translation = self._translate_function(call, where)
        inputs = [self.name_of(t, where) for t in tensors_in(call.args) + tensors_in(list(call.kwargs.values()))]
        base = f"{caller}.{translation.op}" if caller else translation.op
        self._record(translation, "", inputs, call.outputs, where, base)

    def _untranslatable(self, check: Callable[..., Any], where: str, *args: Any) -> Any:
        try:
            return check(*args)
        except Untranslatable as error:
            raise UnsupportedLayer(f"{where} with {error} cannot run on the page; {LAB_HINT}") from None

    def _translate_function(self, call: Call, where: str) -> Translation:
        name, args, kwargs = call.name, call.args, call.kwargs
        tensors = tensors_in(args) + tensors_in(list(kwargs.values()))
        out_shape = tuple(call.outputs[0].shape)
        if name in _ACTIVATIONS and len(tensors) == 1:
            return Translation(_ACTIVATIONS[name])
        if name in _NEGATIONS and len(tensors) == 1:
            return Translation("neg")
        plain_sum = len(tensors) == 2 and len(args) == 2 and not kwargs
        if name in _ADDS and plain_sum and all(tuple(t.shape) == out_shape for t in tensors):  # no broadcasting
            return Translation("add")
        if name in _CATS:  # along the first axis after the batch: the channels of maps, the units of vectors
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            if dim in (1, 1 - len(out_shape)):
                return Translation("concat", {"axis": 0})
        if name == "flatten" and len(tensors) == 1:
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            if start == 1 and end in (-1, tensors[0].dim() - 1):
                return Translation("flatten")
        if name in ("view", "reshape") and len(tensors) == 1 and out_shape[:1] == tuple(tensors[0].shape[:1]):
            return Translation("reshape")
        if name in _POOLS and len(tensors) == 1:
            return self._untranslatable(functional_pool, where, name, args, kwargs)
        raise UnsupportedLayer(f"{where} has no JavaScript translation, so the page cannot run it; {LAB_HINT}")


def _spatial(tensor: torch.Tensor) -> tuple[int, int]:
    """The output size of a global or adaptive average: the last two axes (``(1, 1)`` for a pooled vector)."""
    return (int(tensor.shape[-2]), int(tensor.shape[-1])) if tensor.dim() == 4 else (1, 1)


def _trace(model: nn.Module, input_size: tuple[int, int, int]) -> tuple[_Tracer, str]:
    tracer = _Tracer(model)
    handles = tracer.hooks()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(1, *input_size, dtype=next(model.parameters(), torch.zeros(())).dtype)
            with tracer:
                tracer.label(x, INPUT)
                out = model(x)
                outputs = tensors_in(out)
                if len(outputs) != 1:
                    raise UnsupportedLayer(f"the model returns {len(outputs)} tensors, the page runs one; {LAB_HINT}")
                output = tracer.name_of(outputs[0], "the model's output")
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return tracer, output


def _fold(steps: list[_Step], used: Counter[str], output: str) -> list[_Step]:
    """Each batch norm that alone reads a convolution's or linear layer's output, folded into that layer."""
    by_output = {step.output: step for step in steps}
    folded: list[_Step] = []
    for step in steps:
        source = by_output.get(step.inputs[0])
        foldable = (
            step.translation.attributes.get("batch_norm")
            and source is not None
            and source.translation.op in ("conv2d", "linear")
            and used[source.output] == 1
            and source.output != output
            and source is folded[-1]
        )
        if foldable:
            layer = fold_batch_norm(source.translation, step.translation)
            folded[-1] = _Step(replace(layer, attributes={**layer.attributes, "batch_norm": step.name}),
                               source.name, source.inputs, step.output, step.shape)  # fmt: skip
        else:
            folded.append(step)
    return folded


def _parameter_names(steps: list[_Step], dtype: torch.dtype) -> tuple[list[Operation], dict[str, torch.Tensor]]:
    """Operations with named parameters: ``<module>.<role>`` (a module called twice reuses its tensors)."""
    parameters: dict[str, torch.Tensor] = {}
    operations = []
    for step in steps:
        names = {}
        for role, value in step.translation.parameters.items():
            tensor = value.to(dtype).contiguous()
            base = f"{step.name}.{role}"
            name, count = base, 1
            while name in parameters and not torch.equal(parameters[name], tensor):
                count += 1
                name = f"{base}#{count}"
            parameters[name] = tensor
            names[role] = name
        attributes = {k: v for k, v in step.translation.attributes.items() if not (k == "batch_norm" and v is True)}
        operations.append(Operation(step.translation.op, step.name, step.inputs, step.output, step.shape,
                                    attributes, names))  # fmt: skip
    return operations, parameters


def to_program(model: nn.Module, input_size: tuple[int, int, int], *, half: bool = False) -> Program:
    """``model`` as a :class:`Program` for inputs of ``input_size`` ``(C, H, W)``, traced in eval mode.

    Args:
        model: any ``nn.Module`` built of known layers (its mode is restored afterwards).
        input_size: the input's ``(C, H, W)``.
        half: store the parameters as float16 (half the page's size; the page computes in float32).

    Raises:
        UnsupportedLayer: a module or function without a JavaScript translation, named in one line.
    """
    if len(input_size) != 3 or not all(isinstance(n, int) and n > 0 for n in input_size):
        raise ValueError(f"input_size must be (C, H, W) of positive whole numbers, got {input_size!r}")
    tracer, output = _trace(model, input_size)
    if output == INPUT:
        raise UnsupportedLayer(f"the model returns its input unchanged: nothing to publish; {LAB_HINT}")
    steps = _fold(tracer.steps, tracer.used + Counter([output]), output)
    operations, parameters = _parameter_names(steps, torch.float16 if half else torch.float32)
    return Program(tuple(input_size), tuple(operations), parameters, output)  # type: ignore[arg-type]
