"""All of cnnlab's size arithmetic: feature-map sizes, "same" padding and receptive fields.

Pure integers, no torch import, so ``cnnlab shape`` answers instantly and every other module (models,
summaries, the CLI) asks this one instead of repeating a formula. Each function works on one spatial
axis; apply it to height and width separately.

The formulas are those of Dumoulin & Visin, "A guide to convolution arithmetic for deep learning"
(arXiv:1603.07285), in the form PyTorch evaluates them:

* convolution (Relationship 15): ``o = floor((i + 2p - d(k-1) - 1) / s) + 1``, which for ``d = 1`` is
  the lecture's ``o = floor((i - k + 2p) / s) + 1``;
* pooling: the same, with PyTorch's ceil mode;
* transposed convolution (Relationship 14): ``o = (i - 1)s - 2p + d(k-1) + output_padding + 1``.

Every function checks its arguments where PyTorch would refuse them and raises a ``ValueError`` that
names the offending value and the reason, instead of returning a size PyTorch would never produce.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CHAIN_KINDS",
    "INPUT_FIELD",
    "ChainStep",
    "ReceptiveField",
    "SizeExplanation",
    "Window",
    "chain_spelling",
    "check_pool_window",
    "conv_output_size",
    "effective_kernel_size",
    "explain_conv",
    "explain_pool",
    "explain_same_padding",
    "explain_transposed",
    "merge_receptive_fields",
    "pool_output_size",
    "receptive_fields",
    "same_padding",
    "size_chain",
    "transposed_output_size",
]


# --------------------------------------------------------------------------------------------------
# argument checks


def _check_int(name: str, value: object, minimum: int) -> int:
    # bool is an int subclass; `kernel=True` is always a mistake. NumPy's integers are Integral: accepted.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        kind = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value}")
    return int(value)


def effective_kernel_size(k: int, d: int = 1) -> int:
    """Span of a kernel of size ``k`` with dilation ``d``: ``d(k-1) + 1`` input pixels."""
    _check_int("kernel", k, 1)
    _check_int("dilation", d, 1)
    return d * (k - 1) + 1


def _kernel_words(k: int, d: int) -> str:
    if d == 1:
        return f"kernel {k}"
    return f"dilated kernel {effective_kernel_size(k, d)} (k={k}, d={d})"


# --------------------------------------------------------------------------------------------------
# output sizes


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output size of a convolution along one axis.

    Args:
        i: input size.
        k: kernel size.
        s: stride.
        p: zero padding added to both sides.
        d: dilation.

    Returns:
        ``floor((i + 2p - d(k-1) - 1) / s) + 1``, as ``torch.nn.Conv2d`` computes it.

    Raises:
        ValueError: an argument is not an integer in range, or the (dilated) kernel is larger than the
            padded input, which PyTorch refuses.
    """
    _check_int("input size", i, 1)
    _check_int("stride", s, 1)
    _check_int("padding", p, 0)
    k_eff = effective_kernel_size(k, d)
    padded = i + 2 * p
    if k_eff > padded:
        raise ValueError(f"{_kernel_words(k, d)} is larger than the padded input {padded} (i={i}, p={p})")
    return (padded - k_eff) // s + 1


def check_pool_window(k: int, s: int | None = None, p: int = 0, d: int = 1) -> int:
    """Check a pooling window's arguments as PyTorch does; returns the stride (``None`` -> ``k``).

    Raises:
        ValueError: an argument is out of range, or the padding is more than half the window.
    """
    effective_kernel_size(k, d)
    s = k if s is None else _check_int("stride", s, 1)
    _check_int("padding", p, 0)
    # PyTorch checks both p <= k // 2 and p <= k_eff // 2; the first is the stricter one.
    if p > k // 2:
        raise ValueError(f"padding {p} is more than half the pooling window {k} (at most {k // 2})")
    return s


def pool_output_size(i: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """Output size of max or average pooling along one axis, as PyTorch computes it.

    Args:
        i: input size.
        k: window size.
        s: stride; ``None`` means the window size (non-overlapping pooling), as in PyTorch.
        p: implicit padding on both sides (``-inf`` for max pooling); at most ``k // 2``.
        d: dilation (max pooling only).
        ceil_mode: round the division up, as ``nn.MaxPool2d(ceil_mode=True)``; PyTorch then drops a
            last window that would start in the right padding.

    Returns:
        The number of windows.

    Raises:
        ValueError: an argument is out of range, the padding exceeds half the window (PyTorch refuses),
            or not even one window fits.
    """
    _check_int("input size", i, 1)
    s = check_pool_window(k, s, p, d)
    k_eff = effective_kernel_size(k, d)
    padded = i + 2 * p
    span = padded - k_eff
    o = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= i + p:
        o -= 1  # the last window would start in the right padding
    if o < 1:
        raise ValueError(f"pooling {_kernel_words(k, d)} is larger than the padded input {padded} (i={i}, p={p})")
    return o


def transposed_output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0) -> int:
    """Output size of a transposed convolution along one axis.

    ``o = (i - 1)s - 2p + d(k-1) + output_padding + 1``: Dumoulin & Visin's Relationship 14, where
    ``output_padding`` is their ``a``. A convolution maps ``s`` different input sizes to the same
    output size; ``output_padding`` picks which one the transposed convolution gives back.

    Raises:
        ValueError: an argument is out of range, ``output_padding`` is not smaller than the stride or
            the dilation, or the padding removes the whole output.
    """
    _check_int("input size", i, 1)
    _check_int("stride", s, 1)
    _check_int("padding", p, 0)
    _check_int("output_padding", output_padding, 0)
    k_eff = effective_kernel_size(k, d)
    if output_padding >= max(s, d):
        raise ValueError(f"output_padding {output_padding} must be smaller than the stride {s} or the dilation {d}")
    o = (i - 1) * s + k_eff + output_padding - 2 * p
    if o < 1:
        raise ValueError(
            f"padding {p} crops the whole output: (i-1)s + d(k-1) + 1 + output_padding = "
            f"{o + 2 * p} is not more than 2p = {2 * p}"
        )
    return o


def same_padding(k: int, s: int = 1, d: int = 1) -> int:
    """Symmetric padding that keeps the size: ``o = i`` for stride 1, ``o = ceil(i / s)`` otherwise.

    That padding is ``d(k-1) / 2``; it exists only when the effective kernel ``d(k-1) + 1`` is odd.

    Raises:
        ValueError: the effective kernel is even, so no symmetric padding keeps the size (PyTorch's
            ``padding="same"`` then pads one more pixel on the bottom/right).
    """
    _check_int("stride", s, 1)
    k_eff = effective_kernel_size(k, d)
    total = k_eff - 1
    if total % 2:
        raise ValueError(
            f"{_kernel_words(k, d)} is even, so no symmetric padding keeps the size: it needs {total} "
            f"pixels in all ({total // 2} before, {total - total // 2} after)"
        )
    return total // 2


# --------------------------------------------------------------------------------------------------
# the formulas with the numbers filled in (for `cnnlab shape` and for teaching)


@dataclass(frozen=True)
class SizeExplanation:
    """A size computation written out: the formula lines, the result and what the division left over.

    ``header`` names the computation and its arguments (``convolution: i=32, k=5, s=1, p=0, d=1``); ``str()``
    is the formula and the notes, ``text`` the header above them, as ``cnnlab shape`` prints it.
    """

    output: int
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()
    header: str = ""

    def __str__(self) -> str:
        return "\n".join(self.lines + self.notes)

    @property
    def text(self) -> str:
        return f"{self.header}\n{self}" if self.header else str(self)


def _coverage_note(i: int, k_eff: int, s: int, p: int, o: int) -> str:
    """Whether the windows cover the padded input exactly, and which pixels are left out if not."""
    numerator = i - k_eff + 2 * p
    remainder = numerator - (o - 1) * s  # padded pixels after the end of the last window
    if remainder == 0:
        return f"{numerator} / {s} is exact: the windows cover every pixel of the padded input."
    if remainder < 0:
        return (
            f"ceil mode: the last window reaches {-remainder} pixel(s) past the padded input and pools "
            "only what is there, so no pixel is left out."
        )
    real = max(0, remainder - p)
    lost = f"{real} of them real input pixel(s)" if real else "all of them padding, so no real pixel is lost"
    return (
        f"{numerator} / {s} is not exact (remainder {remainder}): the windows never cover the last "
        f"{remainder} pixel(s) of the padded input, {lost}."
    )


def _dilation_line(k: int, d: int) -> list[str]:
    if d == 1:
        return []
    return [f"k_eff = d*(k - 1) + 1 = {d}*({k} - 1) + 1 = {effective_kernel_size(k, d)}"]


def explain_conv(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> SizeExplanation:
    """The convolution size formula with the numbers filled in."""
    o = conv_output_size(i, k, s, p, d)
    k_eff = effective_kernel_size(k, d)
    lines = [*_dilation_line(k, d), f"o = floor(({i} - {k_eff} + 2*{p}) / {s}) + 1 = {o}"]
    header = f"convolution: i={i}, k={k}, s={s}, p={p}, d={d}"
    return SizeExplanation(o, tuple(lines), (_coverage_note(i, k_eff, s, p, o),), header)


def explain_pool(
    i: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False
) -> SizeExplanation:
    """The pooling size formula with the numbers filled in, including PyTorch's ceil-mode rule."""
    o = pool_output_size(i, k, s, p, d, ceil_mode)
    s = k if s is None else s
    header = f"pooling: i={i}, k={k}, s={s}, p={p}, d={d}, ceil_mode={ceil_mode}"
    k_eff = effective_kernel_size(k, d)
    numerator = i - k_eff + 2 * p
    rounding = "ceil" if ceil_mode else "floor"
    raw = (numerator + (s - 1 if ceil_mode else 0)) // s + 1
    lines = [*_dilation_line(k, d), f"o = {rounding}(({i} - {k_eff} + 2*{p}) / {s}) + 1 = {raw}"]
    notes: list[str] = []
    if raw != o:
        notes.append(
            f"The last window would start at {(raw - 1) * s}, in the right padding (>= i + p = {i + p}), "
            f"so PyTorch drops it: o = {o}."
        )
    notes.append(_coverage_note(i, k_eff, s, p, o))
    return SizeExplanation(o, tuple(lines), tuple(notes), header)


def explain_transposed(i: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0) -> SizeExplanation:
    """The transposed-convolution size formula, and the same size seen as zero insertion + convolution."""
    o = transposed_output_size(i, k, s, p, d, output_padding)
    k_eff = effective_kernel_size(k, d)
    stretched = (i - 1) * s + 1
    border = k_eff - 1 - p
    lines = (
        f"o = (i - 1)*s - 2*p + d*(k - 1) + output_padding + 1"
        f" = ({i} - 1)*{s} - 2*{p} + {d}*({k} - 1) + {output_padding} + 1 = {o}",
    )
    notes = (
        f"As the lecture does it: insert s - 1 = {s - 1} zero(s) between inputs ({i} -> {stretched}), "
        f"pad d*(k - 1) - p = {border} on each side"
        + (f" (+{output_padding} bottom/right)" if output_padding else "")
        + f", then convolve with stride 1 with the flipped {k}x{k} kernel: "
        f"{stretched} + 2*{border}{f' + {output_padding}' if output_padding else ''} - {k_eff} + 1 = {o}.",
    )
    header = f"transposed convolution: i={i}, k={k}, s={s}, p={p}, d={d}, output_padding={output_padding}"
    return SizeExplanation(o, lines, notes, header)


def explain_same_padding(k: int, s: int = 1, d: int = 1) -> SizeExplanation:
    """The padding that keeps the size, with the reason."""
    p = same_padding(k, s, d)
    k_eff = effective_kernel_size(k, d)
    lines = (f"p = (d*(k - 1)) / 2 = ({d}*({k} - 1)) / 2 = {p}",)
    kept = "o = i" if s == 1 else f"o = ceil(i / {s})"
    notes = (f"With this padding every input size i gives {kept} (effective kernel {k_eff}).",)
    return SizeExplanation(p, lines, notes, f"same padding: k={k}, s={s}, d={d}")


# --------------------------------------------------------------------------------------------------
# receptive fields


@dataclass(frozen=True)
class Window:
    """A sliding-window layer along one axis (convolution or pooling): what a receptive field needs."""

    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    def __post_init__(self) -> None:
        effective_kernel_size(self.kernel, self.dilation)
        _check_int("stride", self.stride, 1)
        _check_int("padding", self.padding, 0)

    @property
    def effective_kernel(self) -> int:
        return effective_kernel_size(self.kernel, self.dilation)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of one feature map, along one axis, in input pixels.

    Attributes:
        size: how many input pixels one unit sees (padding included).
        jump: distance in input pixels between two neighbouring units (the product of the strides).
        start: centre of the first unit's field, in input pixel coordinates (pixel ``j`` is centred
            at ``j``); negative when padding puts it left of the image.
    """

    size: int
    jump: int
    start: float

    def then(self, window: Window) -> ReceptiveField:
        """The field of a layer applied on top of this one."""
        reach = window.effective_kernel - 1
        return ReceptiveField(
            size=self.size + reach * self.jump,
            jump=self.jump * window.stride,
            start=self.start + (reach / 2 - window.padding) * self.jump,
        )

    @property
    def first_unit_span(self) -> tuple[float, float]:
        """Input coordinates of the first and last pixel the first unit sees."""
        half = (self.size - 1) / 2
        return (self.start - half, self.start + half)


INPUT_FIELD = ReceptiveField(size=1, jump=1, start=0.0)
"""The input itself: each pixel sees itself."""


def receptive_fields(windows: Iterable[Window], field: ReceptiveField = INPUT_FIELD) -> list[ReceptiveField]:
    """The receptive field after each layer of a chain, starting from ``field`` (the input by default).

    Raises:
        TypeError: ``windows`` is not a sequence of :class:`Window`.
    """
    if isinstance(windows, Window | str) or not isinstance(windows, Iterable):
        raise TypeError(f"windows: expected a sequence of Window, got {windows!r}")
    fields = []
    for window in windows:
        if not isinstance(window, Window):
            raise TypeError(f"windows: expected a sequence of Window, got an item {window!r}")
        field = field.then(window)
        fields.append(field)
    return fields


def merge_receptive_fields(fields: Sequence[ReceptiveField]) -> ReceptiveField:
    """The field of a unit that combines parallel branches (concatenation or residual addition).

    The unit sees the union of what its branches see, so the largest span wins; the branches must
    have the same jump, since they produce maps that line up pixel by pixel.

    Raises:
        ValueError: no fields, or branches with different jumps.
    """
    if not fields:
        raise ValueError("merge_receptive_fields needs at least one field")
    jumps = {f.jump for f in fields}
    if len(jumps) != 1:
        raise ValueError(f"branches with different jumps {sorted(jumps)} cannot be merged pixel by pixel")
    first = min(f.first_unit_span[0] for f in fields)
    last = max(f.first_unit_span[1] for f in fields)
    size = round(last - first) + 1
    return ReceptiveField(size=size, jump=fields[0].jump, start=(first + last) / 2)


@dataclass(frozen=True)
class ChainStep:
    """One layer of a chain: what it is, the feature-map size it outputs and its units' receptive field."""

    kind: str
    window: Window
    output: int
    field: ReceptiveField


CHAIN_KINDS = ("conv", "pool")


def chain_spelling(kind: str, window: Window) -> str:
    """``conv:3/2/1``: a layer of a chain as ``KIND:KERNEL[/STRIDE[/PADDING[/DILATION]]]``, defaults left out.

    A pooling's stride defaults to its kernel, as in PyTorch.
    """
    values = [window.kernel, window.stride, window.padding, window.dilation]
    defaults = [None, window.kernel if kind == "pool" else 1, 0, 1]
    while len(values) > 1 and values[-1] == defaults[len(values) - 1]:
        values.pop()
    return f"{kind}:{'/'.join(map(str, values))}"


def size_chain(input_size: int, layers: Sequence[tuple[str, Window]]) -> list[ChainStep]:
    """Sizes and receptive fields through a chain of convolutions and poolings along one axis.

    Args:
        input_size: the input's size in pixels.
        layers: ``(kind, window)`` pairs, ``kind`` one of :data:`CHAIN_KINDS`.

    Raises:
        ValueError: an unknown kind, or a layer that does not fit its input (the message names the layer).
    """
    size, field = input_size, INPUT_FIELD
    steps = []
    for index, (kind, w) in enumerate(layers, start=1):
        if kind not in CHAIN_KINDS:
            raise ValueError(f"layer {index} is a {kind!r}; a chain has {' and '.join(CHAIN_KINDS)} layers")
        try:
            if kind == "conv":
                size = conv_output_size(size, w.kernel, w.stride, w.padding, w.dilation)
            else:
                size = pool_output_size(size, w.kernel, w.stride, w.padding, w.dilation)
        except ValueError as error:
            given = steps[-1].output if steps else input_size
            raise ValueError(f"layer {index} ({chain_spelling(kind, w)}) on a {given}-pixel input: {error}") from None
        field = field.then(w)
        steps.append(ChainStep(kind, w, size, field))
    return steps
