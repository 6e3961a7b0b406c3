"""``cnnlab animate``: the size arithmetic as a moving picture, one frame per output position."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.cli._parser import add_title_argument, non_negative_int, non_negative_size, positive_size

DESCRIPTION = """Animate a sliding window: the input grid with its padding, the window over it (a dilated one
with its gaps), the kernel beside it as its own grid, and the output cell it fills, one frame per output
position, with the formula and its numbers (what `cnnlab shape` prints) under the frames. Frames are
landscape, their text readable on a 16:9 slide, and the last one stays 2 s. Any size is N or HxW.

  conv        a convolution
  pool        max or mean pooling (--mode), with --ceil-mode
  transposed  a transposed convolution drawn as the lecture builds it: zeros inserted between the inputs,
              the border added, the flipped kernel sliding over that with stride 1

--values prints a small integer input, kernel and bias in the cells, writes each output's running sum
under the grids (3·1 + 2·2 + ... + 1 = 8; max(...) or mean(...) for pooling), and every output number is
PyTorch's. --title short (default) names the operation and its sizes; full adds how it is drawn and the
formula's first line; none leaves the title to the slide.
The file is a GIF (default), an MP4 (needs imageio-ffmpeg) or a self-contained HTML player, chosen by the
--output suffix; the default name spells the arguments. The player draws the animation in the page, with
play, a step slider and sliders for input, kernel, stride, padding and dilation that recompute it (no server).

examples:
  cnnlab animate conv -i 5 -k 3 -s 2 -p 1 --values
  cnnlab animate conv -i 7 -k 3 -d 2 --output dilation.html
  cnnlab animate transposed -i 3 -k 3 -s 2 -p 1 --output-padding 1
  cnnlab animate pool -i 5 -k 2 --ceil-mode --mode mean --values"""

NAME = "animate"
HELP = "a sliding window as a GIF, MP4 or HTML animation"

KINDS_HELP = {
    "conv": ("a convolution", "Animate a convolution, one frame per output position."),
    "pool": ("max or mean pooling", "Animate max or mean pooling, one frame per output position."),
    "transposed": (
        "a transposed convolution, as zero insertion",
        "Animate a transposed convolution as the lecture builds it: zeros between the inputs, the border "
        "d(k - 1) - p added, the flipped kernel sliding with stride 1.",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=lambda _args: parser.print_help() or 0)
    kinds = parser.add_subparsers(title="what to animate", metavar="KIND")
    for kind, (help_line, description) in KINDS_HELP.items():
        command = kinds.add_parser(kind, help=help_line, description=description)
        command.add_argument("-i", "--input", type=positive_size, required=True, help="input size i: N or HxW")
        command.add_argument("-k", "--kernel", type=positive_size, required=True, help="kernel size k: N or HxW")
        stride_help = "stride s (default: the kernel)" if kind == "pool" else "stride s (default: 1)"
        command.add_argument("-s", "--stride", type=positive_size, default=None, help=stride_help)
        command.add_argument("-p", "--padding", type=non_negative_size, default=0, help="zero padding p per side")
        command.add_argument("-d", "--dilation", type=positive_size, default=1, help="dilation d")
        if kind == "transposed":
            command.add_argument(
                "-o", "--output-padding", type=non_negative_size, default=0,
                help="extra rows/columns at the bottom/right",
            )  # fmt: skip
        if kind == "pool":
            command.add_argument("--mode", choices=("max", "mean"), default="max", help="max or mean pooling")
            command.add_argument("--ceil-mode", action="store_true", help="round up, as ceil_mode=True in PyTorch")
        command.add_argument(
            "--values", action="store_true",
            help="numbers in the cells, a bias, and each output's running sum (PyTorch's outputs)",
        )  # fmt: skip
        command.add_argument("--seed", type=non_negative_int, default=0, help="seed of the numbers with --values")
        add_title_argument(command)
        command.add_argument(
            "--seconds-per-frame",
            type=_seconds,
            default=0.6,
            metavar="S",
            help="how long each frame shows (the last at least 2 s)",
        )
        command.add_argument(
            "--output", "--out", metavar="FILE",
            help="a .gif, .mp4 or .html file (default: a GIF named after the arguments, here)",
        )  # fmt: skip
        command.set_defaults(handler=run, kind=kind, prog=command.prog)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.02 <= value <= 60:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected seconds between 0.02 and 60, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from cnnlab.viz.animation import animate

    animation = animate(
        args.kind, input=args.input, kernel=args.kernel, stride=args.stride, padding=args.padding,
        dilation=args.dilation, output_padding=getattr(args, "output_padding", 0),
        mode=getattr(args, "mode", "max"), ceil_mode=getattr(args, "ceil_mode", False),
        values=args.values, seed=args.seed, title=args.title,
    )  # fmt: skip
    out = Path(args.output).expanduser() if args.output else Path(f"{animation.name}.gif")
    if out.is_dir():
        out = out / f"{animation.name}.gif"
    path = animation.save(out, seconds_per_frame=args.seconds_per_frame)
    print(animation.formula)
    print(f"{path}  ({len(animation.positions)} frames, {path.stat().st_size / 1e3:.0f} kB)")
    return 0
