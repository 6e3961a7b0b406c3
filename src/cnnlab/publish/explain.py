"""One plain sentence per layer, in the lecture's words: what a layer of a program computes, with its numbers.

The published page shows a caption under each layer's maps, as CNN Explainer does: "Each of 6 filters of 5x5
weights slides over the 32x32 input and adds a bias: 6 feature maps of 28x28, 156 parameters." The sentences
are made here, in Python, from an operation's kind, attributes and shapes (one function per kind), so that the
served lab can say the same words.

:func:`layer_sentences` gives the sentence of each of a program's layers; a function called between layers
that is not a layer of its own (a residual ``+``, a concatenation) is told in the sentence of the layer that
reads it, since the page shows that layer's maps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from cnnlab.publish.program import RESHAPES, Operation, Program

__all__ = ["Context", "layer_sentences", "layer_title", "sentence"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Context:
    """What a sentence needs beyond the operation: its inputs' shapes, its parameter count, what comes next.

    Attributes:
        inputs: the shapes of the tensors it reads, in order.
        parameters: the numbers it holds (its weights and biases, a folded batch norm included).
        then: the kind of the operation that reads its output next (``scaled_tanh`` after LeNet's sub-sampling),
            or ``None``.
    """

    inputs: tuple[Shape, ...]
    parameters: int = 0
    then: str | None = None


def _size(shape: Sequence[int]) -> str:
    """``28x28`` for maps ``[C, 28, 28]``; ``120`` for a vector."""
    return "x".join(str(n) for n in shape[1:]) if len(shape) == 3 else str(math.prod(shape))


def _pair(value: object) -> str:
    """``5x5`` for ``[5, 5]``, ``2`` for ``[2, 2]`` read as a step, ``3x1`` for ``[3, 1]``."""
    values = list(value) if isinstance(value, list | tuple) else [value, value]
    return "x".join(str(v) for v in values)


def _same(value: object) -> int | None:
    """The one number of a pair whose two numbers agree (``[2, 2]`` -> 2), else ``None``."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    return int(values[0]) if len(set(values)) == 1 else None


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def _maps(shape: Sequence[int]) -> str:
    """``6 feature maps of 28x28`` or ``84 numbers``."""
    if len(shape) == 3:
        return f"{_count(shape[0], 'feature map')} of {_size(shape)}"
    return _count(math.prod(shape), "number")


def _input(context: Context) -> Shape:
    return context.inputs[0] if context.inputs else ()


def _window_steps(attributes: Mapping[str, object]) -> str:
    """``, moving 2 pixels at a time, with 1 pixel of zero padding`` (nothing for stride 1 and no padding)."""
    parts = []
    stride = _same(attributes.get("stride", 1))
    if stride is None:
        parts.append(f"moving {_pair(attributes['stride'])} pixels at a time")
    elif stride != 1:
        parts.append(f"moving {stride} pixels at a time")
    padding = _same(attributes.get("padding", 0))
    if padding is None or padding:
        shown = _pair(attributes["padding"]) if padding is None else str(padding)
        parts.append(f"with {shown} pixel{'' if padding == 1 else 's'} of zero padding")
    dilation = _same(attributes.get("dilation", 1))
    if dilation is None or dilation != 1:
        shown = _pair(attributes["dilation"]) if dilation is None else str(dilation)
        parts.append(f"its weights {shown} pixels apart (dilation)")
    return "".join(f", {part}" for part in parts)


def _conv2d(op: Operation, context: Context) -> str:
    source = _input(context)
    out_maps, kernel = op.shape[0], _pair(op.attributes.get("kernel", ()))
    groups = int(op.attributes.get("groups", 1))
    # The kernel's size is that of the weight; the program keeps it in the parameter's shape only, so the
    # caller passes it as the attribute "kernel" (see layer_sentences).
    depth = source[0] // groups if source else 0
    weights = f"{kernel} weights" if depth == 1 else f"{kernel}x{depth} weights (one {kernel} kernel per input map)"
    where = f"the {_size(source)} input" if depth == 1 and groups == 1 else f"the {_maps(source)}"
    grouped = f" in {groups} groups (each filter reads only its group's maps)" if groups > 1 else ""
    steps = _window_steps(op.attributes)
    bias = ("," if steps else "") + " and adds a bias" if op.parameters.get("bias") else ""
    norm = "; its batch normalisation is folded into the weights and the bias" if "batch_norm" in op.attributes else ""
    return (
        f"Each of {out_maps:,} filters of {weights} slides over {where}{grouped}{steps}"
        f"{bias}{norm}: {_maps(op.shape)}, {_count(context.parameters, 'parameter')}."
    )


def _sparse_conv2d(op: Operation, context: Context) -> str:
    source = _input(context)
    connections = [list(row) for row in op.attributes.get("connections", [])]
    reads: dict[int, int] = {}
    for row in connections:
        reads[len(row)] = reads.get(len(row), 0) + 1
    table = ", ".join(f"{maps} read {n}" for n, maps in sorted(reads.items()))
    kernel = _pair(op.attributes.get("kernel", ()))
    return (
        f"Sparse connectivity (LeNet-5's connection table): each of the {op.shape[0]} maps reads only some of "
        f"the {source[0] if source else '?'} maps below it ({table}), with a {kernel} kernel on each, and adds a "
        f"bias; different maps see different combinations, which breaks the symmetry and saves connections: "
        f"{_maps(op.shape)}, {_count(context.parameters, 'parameter')}."
    )


def _conv_transpose2d(op: Operation, context: Context) -> str:
    stride = _pair(op.attributes.get("stride", 1))
    kernel = _pair(op.attributes.get("kernel", ()))
    return (
        f"Upsampling by a transposed convolution: zeros are put between the pixels of the {_size(_input(context))} "
        f"input (stride {stride}) and {op.shape[0]} learned {kernel} kernels blur them: {_maps(op.shape)}, "
        f"{_count(context.parameters, 'parameter')}."
    )


def _locally_connected2d(op: Operation, context: Context) -> str:
    kernel = _pair(op.attributes.get("kernel", ()))
    return (
        f"A locally connected layer: like a convolution, each unit sees a {kernel} patch of the "
        f"{_size(_input(context))} input, but without shared weights: every position has weights of its own: "
        f"{_maps(op.shape)}, {_count(context.parameters, 'parameter')}."
    )


def _linear(op: Operation, context: Context) -> str:
    inputs = math.prod(_input(context))
    bias = " plus a bias" if op.parameters.get("bias") else ""
    norm = "; its batch normalisation is folded in" if "batch_norm" in op.attributes else ""
    return (
        f"Full connection: each of the {op.shape[0]:,} units computes a weighted sum of all {inputs:,} numbers "
        f"below it{bias}{norm}, as in an MLP: {_count(context.parameters, 'parameter')}."
    )


def _rbf(op: Operation, context: Context) -> str:
    inputs = math.prod(_input(context))
    return (
        f"The output (LeNet-5's Euclidean RBF units): each of the {op.shape[0]} classes has a fixed prototype of "
        f"{inputs} numbers, and its unit gives the squared distance between the {inputs} numbers below and that "
        f"prototype; the smallest distance is the network's answer."
    )


def _subsampling(op: Operation, context: Context) -> str:
    kernel = int(op.attributes.get("kernel", 2))
    squash = ", through the squashing function" if context.then == "scaled_tanh" else ""
    return (
        f"Sub-sampling, as LeNet-5 does it: each unit takes the average of a {kernel}x{kernel} region of its map "
        f"(the regions do not overlap), times a trainable coefficient, plus a trainable bias{squash}: the "
        f"{_size(_input(context))} maps become {_maps(op.shape)}, {_count(context.parameters, 'parameter')} (a "
        f"coefficient and a bias per map)."
    )


def _number(value: float) -> str:
    """``1.7159``, ``2/3`` for 0.666...: the paper's way of writing LeNet-5's constants."""
    fraction = Fraction(value).limit_denominator(12)
    if fraction.denominator != 1 and abs(float(fraction) - value) < 1e-9:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:g}"


def _scaled_tanh(op: Operation, context: Context) -> str:
    amplitude = float(op.attributes.get("amplitude", 1.0))
    slope = float(op.attributes.get("slope", 1.0))
    return (
        f"The squashing function: each value x becomes {_number(amplitude)} tanh({_number(slope)} x) (LeNet-5, "
        f"Appendix A), between -{_number(amplitude)} and {_number(amplitude)}: {_maps(op.shape)}, no parameters."
    )


def _relu(op: Operation, context: Context) -> str:
    return f"ReLU: negative values become 0 and positive ones pass unchanged: {_maps(op.shape)}, no parameters."


def _sigmoid(op: Operation, context: Context) -> str:
    return f"The sigmoid: each value x becomes 1 / (1 + e^-x), between 0 and 1: {_maps(op.shape)}."


def _tanh(op: Operation, context: Context) -> str:
    return f"The tanh activation: each value x becomes tanh x, between -1 and 1: {_maps(op.shape)}."


def _neg(op: Operation, context: Context) -> str:
    return "Each value changes sign: the smallest distance becomes the largest score."


def _affine(op: Operation, context: Context) -> str:
    return (
        f"Batch normalisation: each of the {op.shape[0]} maps is scaled and shifted by numbers learned in training "
        f"(its mean and variance over the training images folded in): {_maps(op.shape)}, "
        f"{_count(context.parameters, 'parameter')}."
    )


def _local_response_norm(op: Operation, context: Context) -> str:
    size = op.attributes.get("size", "n")
    return (
        f"Local response normalisation (AlexNet): each value is divided by a power of the sum of the squares of "
        f"the {size} neighbouring maps at the same place, so strongly active maps damp their neighbours: "
        f"{_maps(op.shape)}, no parameters."
    )


def _pooling(kind: str, what: str, learned: bool = False) -> Callable[[Operation, Context], str]:
    def explain(op: Operation, context: Context) -> str:
        kernel = _pair(op.attributes.get("kernel", ()))
        weights = _count(context.parameters, "parameter") if learned else "no parameters"
        return (
            f"{kind}: each unit keeps {what} of a {kernel} window of its map{_window_steps(op.attributes)}; "
            f"the {_size(_input(context))} maps become {_maps(op.shape)}, {weights}."
        )

    return explain


def _adaptive_avg_pool2d(op: Operation, context: Context) -> str:
    source = _input(context)
    if list(op.attributes.get("output_size", [])) == [1, 1]:
        return (
            f"Global average pooling: each of the {source[0] if source else '?'} maps of {_size(source)} becomes "
            f"its average, one number per map (as in NiN and GoogLeNet), no parameters."
        )
    return f"Average pooling to a fixed grid: the {_size(source)} maps become {_maps(op.shape)}, no parameters."


def _add(op: Operation, context: Context) -> str:
    return (
        "Residual addition: the block's input, passed on by the shortcut, is added to what its weighted layers "
        "computed, so those layers learn only a correction (ResNet)"
    )


def _concat(op: Operation, context: Context) -> str:
    channels = " + ".join(str(shape[0]) for shape in context.inputs)
    return f"Concatenation: the {len(context.inputs)} branches' maps are stacked ({channels} = {op.shape[0]} maps)"


def _reshape(op: Operation, context: Context) -> str:
    return f"The {_maps(_input(context))} are laid out as one vector of {math.prod(op.shape):,} numbers"


def _shortcut_pad(op: Operation, context: Context) -> str:
    stride = op.attributes.get("stride", 2)
    added = int(op.attributes.get("before", 0)) + int(op.attributes.get("after", 0))
    return (
        f"ResNet's shortcut where the maps shrink (option A): every {'second' if stride == 2 else f'{stride}th'} "
        f"pixel of the block's input, with {added} maps of zeros added to match the {op.shape[0]} maps, no "
        f"parameters: {_maps(op.shape)}."
    )


_GATED = "a mix of the largest value and the average that a learned gate chooses for each window"

_SENTENCES: dict[str, Callable[[Operation, Context], str]] = {
    "conv2d": _conv2d,
    "sparse_conv2d": _sparse_conv2d,
    "conv_transpose2d": _conv_transpose2d,
    "locally_connected2d": _locally_connected2d,
    "linear": _linear,
    "rbf": _rbf,
    "subsampling": _subsampling,
    "scaled_tanh": _scaled_tanh,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "neg": _neg,
    "affine": _affine,
    "local_response_norm": _local_response_norm,
    "max_pool2d": _pooling("Max pooling", "the largest value"),
    "avg_pool2d": _pooling("Mean pooling", "the average"),
    "mixed_pool2d": _pooling("Learned pooling (mixed)", "a learned mix of the largest value and the average", True),
    "gated_pool2d": _pooling("Learned pooling (gated)", _GATED, True),
    "lp_pool2d": _pooling("Lp pooling", "a learned power mean (p = 1: the average of |x|; large p: the largest)", True),
    "adaptive_avg_pool2d": _adaptive_avg_pool2d,
    "add": _add,
    "concat": _concat,
    "flatten": _reshape,
    "reshape": _reshape,
    "shortcut_pad": _shortcut_pad,
}

_SHORT: dict[str, str] = {
    "conv2d": "convolution", "sparse_conv2d": "convolution, connection table", "conv_transpose2d":
    "transposed convolution", "locally_connected2d": "locally connected", "linear": "full connection", "rbf":
    "RBF output", "subsampling": "sub-sampling", "scaled_tanh": "squashing function", "relu": "ReLU", "sigmoid":
    "sigmoid", "tanh": "tanh", "neg": "sign change", "affine": "batch normalisation", "local_response_norm":
    "local response normalisation", "max_pool2d": "max pooling", "avg_pool2d": "mean pooling", "mixed_pool2d":
    "mixed pooling", "gated_pool2d": "gated pooling", "lp_pool2d": "Lp pooling", "adaptive_avg_pool2d":
    "average pooling", "add": "residual addition", "concat": "concatenation", "flatten": "flatten", "reshape":
    "reshape", "shortcut_pad": "shortcut",
}  # fmt: skip


def sentence(op: Operation, context: Context) -> str:
    """The plain sentence of what ``op`` computes (its kind's function; any kind of ``docs/publish.md``).

    Raises:
        ValueError: a kind this module does not know (a new kind needs its sentence here too).
    """
    if op.op not in _SENTENCES:
        raise ValueError(f"no sentence for the operation kind {op.op!r}")
    return _SENTENCES[op.op](op, context)


def _display_name(tensor: str) -> str:
    """``C1`` for LeNet's ``c1`` (the paper's names), ``squash #2`` for a module's second call, else the name."""
    name, _, call = tensor.partition("#")
    short = name.upper() if len(name) <= 3 and name[:1].isalpha() and name[1:].isdigit() else name
    return f"{short} #{call}" if call else short


def layer_title(op: Operation, tensor: str | None = None) -> str:
    """``C1 · convolution 5x5, 6 maps``: the layer's name and, short, what it is."""
    kind = _SHORT.get(op.op, op.op)
    kernel = op.attributes.get("kernel")
    if op.op in ("conv2d", "sparse_conv2d", "conv_transpose2d", "locally_connected2d") or op.op.endswith("pool2d"):
        if op.op == "adaptive_avg_pool2d" and list(op.attributes.get("output_size", [])) == [1, 1]:
            kind = "global average pooling"
        elif kernel:
            kind += f" {_pair(kernel)}"
    elif op.op == "subsampling":
        kind += f" {_pair(kernel or 2)}"
    if len(op.shape) == 3 and op.op not in ("relu", "scaled_tanh", "sigmoid", "tanh", "affine", "neg"):
        kind += f", {_count(op.shape[0], 'map')}"
    elif len(op.shape) == 1 and op.op in ("linear", "rbf"):
        kind += f", {_count(op.shape[0], 'unit')}"
    name = _display_name(tensor or op.output)
    if "batch_norm" in op.attributes and op.name:  # the tensor is the batch norm's: say both
        name = f"{_display_name(op.name)} + {name}"
    return f"{name} · {kind}"


def with_kernel(op: Operation, program: Program) -> Operation:
    """``op`` with its kernel's size as the attribute ``kernel`` where only its weight's shape says it."""
    if "kernel" in op.attributes or "weight" not in op.parameters:
        return op
    shape = tuple(program.parameters[op.parameters["weight"]].shape)
    if op.op in ("conv2d", "conv_transpose2d", "sparse_conv2d", "locally_connected2d"):
        return Operation(op.op, op.name, op.inputs, op.output, op.shape, {**op.attributes, "kernel": list(shape[-2:])},
                         op.parameters)  # fmt: skip
    return op


def _lowered(text: str) -> str:
    """``the squashing ...`` for ``The squashing ...``; ``ReLU`` stays ``ReLU``."""
    word = text.split(" ", 1)[0]
    return text if word[1:] != word[1:].lower() else text[:1].lower() + text[1:]


def _parameters(op: Operation, program: Program) -> int:
    return sum(program.parameters[name].numel() for name in op.parameters.values())


def layer_sentences(program: Program) -> dict[str, tuple[str, str]]:
    """``{tensor: (title, sentence)}`` for each of ``program.layers``.

    A function called between layers (a residual ``+``, a concatenation; reshapes aside) is not a layer the
    page shows: its sentence begins the sentence of the layer that reads it ("Residual addition: ...; then
    ReLU: ...").
    """
    shapes: dict[str, Shape] = {"input": tuple(program.input_shape)}
    readers: dict[str, str] = {}
    made_by: dict[str, Operation] = {}
    for op in program.operations:
        shapes[op.output] = tuple(op.shape)
        made_by[op.output] = op
        for name in op.inputs:
            readers.setdefault(name, op.op)
    layers = set(program.layers)
    found: dict[str, tuple[str, str]] = {}
    for original in program.operations:
        if original.output not in layers:
            continue
        op = with_kernel(original, program)
        context = Context(tuple(shapes[name] for name in op.inputs), _parameters(op, program), readers.get(op.output))
        text = sentence(op, context)
        before = [made_by[name] for name in op.inputs if name in made_by]
        functions = [f for f in before if not f.name and f.op not in RESHAPES]
        if functions:
            first = functions[0]
            told = sentence(first, Context(tuple(shapes[name] for name in first.inputs)))
            text = f"{told.rstrip('.')}; then {_lowered(text)}"
        found[op.output] = (layer_title(op), text)
    return found
