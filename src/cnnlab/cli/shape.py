"""``cnnlab shape``: feature-map sizes with the formula filled in (no torch, instant)."""

from __future__ import annotations

import argparse

from cnnlab.cli._parser import non_negative_int, positive_int
from cnnlab.inspection.tables import render_table
from cnnlab.layers import shapes

DESCRIPTION = """Feature-map size arithmetic, one spatial axis at a time, as PyTorch computes it.

  convolution  o = floor((i - k + 2p) / s) + 1   (dilation d: k -> d(k - 1) + 1)
  transposed   o = (i - 1)s - 2p + d(k - 1) + output_padding + 1
  same         p = d(k - 1) / 2 keeps o = i (stride 1) or o = ceil(i / s)"""

CHAIN_HELP = """Sizes and receptive fields through a chain of layers.

Each layer is KIND:KERNEL[/STRIDE[/PADDING[/DILATION]]] with KIND conv or pool (a pool's stride
defaults to its kernel). "size" is how many input pixels one unit sees, "jump" the distance in input
pixels between neighbouring units, "start" the centre of the first unit's field.

example (LeNet-5): cnnlab shape chain -i 32 conv:5 pool:2 conv:5 pool:2 conv:5"""


def _window_args(parser: argparse.ArgumentParser, stride_default: int | None = 1) -> None:
    parser.add_argument("-i", "--input", type=positive_int, required=True, help="input size i (pixels)")
    parser.add_argument("-k", "--kernel", type=positive_int, required=True, help="kernel size k")
    if stride_default is None:
        parser.add_argument("-s", "--stride", type=positive_int, default=None, help="stride s (default: k)")
    else:
        parser.add_argument("-s", "--stride", type=positive_int, default=stride_default, help="stride s")
    parser.add_argument("-p", "--padding", type=non_negative_int, default=0, help="zero padding p on each side")
    parser.add_argument("-d", "--dilation", type=positive_int, default=1, help="dilation d")


NAME = "shape"
HELP = "feature-map sizes with the formula filled in"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)
    kinds = parser.add_subparsers(title="what to size", metavar="KIND")

    conv = kinds.add_parser("conv", help="convolution output size", description="Output size of a convolution.")
    _window_args(conv)
    conv.set_defaults(handler=_conv, prog=conv.prog)

    pool = kinds.add_parser("pool", help="pooling output size", description="Output size of max/mean pooling.")
    _window_args(pool, stride_default=None)
    pool.add_argument("--ceil-mode", action="store_true", help="round up, as ceil_mode=True in PyTorch")
    pool.set_defaults(handler=_pool, prog=pool.prog)

    transposed = kinds.add_parser(
        "transposed",
        help="transposed convolution output size",
        description="Output size of a transposed conv.",
    )
    _window_args(transposed)
    transposed.add_argument(
        "-o",
        "--output-padding",
        type=non_negative_int,
        default=0,
        help="extra rows/columns at the bottom/right",
    )
    transposed.set_defaults(handler=_transposed, prog=transposed.prog)

    same = kinds.add_parser("same", help="padding that keeps the size", description="'Same' padding.")
    same.add_argument("-k", "--kernel", type=positive_int, required=True, help="kernel size k")
    same.add_argument("-s", "--stride", type=positive_int, default=1, help="stride s")
    same.add_argument("-d", "--dilation", type=positive_int, default=1, help="dilation d")
    same.set_defaults(handler=_same, prog=same.prog)

    chain = kinds.add_parser("chain", help="sizes and receptive fields of a chain of layers", description=CHAIN_HELP)
    chain.add_argument("-i", "--input", type=positive_int, required=True, help="input size (pixels)")
    chain.add_argument("layers", nargs="+", type=_layer_spec, metavar="KIND:K[/S[/P[/D]]]", help="the layers")
    chain.set_defaults(handler=_chain, prog=chain.prog)


def _print(explanation: shapes.SizeExplanation) -> int:
    print(explanation.text)
    return 0


def _conv(args: argparse.Namespace) -> int:
    return _print(shapes.explain_conv(args.input, args.kernel, args.stride, args.padding, args.dilation))


def _pool(args: argparse.Namespace) -> int:
    i, k, s, p, d = args.input, args.kernel, args.stride, args.padding, args.dilation
    return _print(shapes.explain_pool(i, k, s, p, d, args.ceil_mode))


def _transposed(args: argparse.Namespace) -> int:
    i, k, s, p, d, a = args.input, args.kernel, args.stride, args.padding, args.dilation, args.output_padding
    return _print(shapes.explain_transposed(i, k, s, p, d, a))


def _same(args: argparse.Namespace) -> int:
    return _print(shapes.explain_same_padding(args.kernel, args.stride, args.dilation))


def _layer_spec(text: str) -> tuple[str, shapes.Window]:
    """``conv:3/2/1`` -> ("conv", Window(3, 2, 1))."""
    kind, _, numbers = text.partition(":")
    kind = kind.strip().lower()
    expected = f"expected KIND:KERNEL[/STRIDE[/PADDING[/DILATION]]] such as conv:3/1/1 or pool:2, got {text!r}"
    try:
        values = [int(v) for v in numbers.split("/")] if numbers else []
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if kind not in shapes.CHAIN_KINDS or not 1 <= len(values) <= 4:
        raise argparse.ArgumentTypeError(expected)
    if kind == "pool" and len(values) == 1:
        values.append(values[0])  # PyTorch's pooling stride defaults to the window
    try:
        window = shapes.Window(*values)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text}: {error}") from None
    return kind, window


def _chain(args: argparse.Namespace) -> int:
    rows: list[list[object]] = [["input", "", args.input, 1, 1, 0.0]]
    for index, step in enumerate(shapes.size_chain(args.input, args.layers), start=1):
        w, field = step.window, step.field
        window = f"k={w.kernel} s={w.stride} p={w.padding}" + (f" d={w.dilation}" if w.dilation > 1 else "")
        rows.append([f"{index} {step.kind}", window, step.output, field.size, field.jump, field.start])
    print(render_table(["layer", "window", "output", "field size", "jump", "start"], rows))
    return 0
