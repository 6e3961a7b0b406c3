"""``cnnlab draw``: a drawing of a network's architecture, every number from its summary."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.cli._parser import add_aspect_argument, add_title_argument, chw_shape

DESCRIPTION = """Draw a network: RUN_OR_MODEL is a model name from `cnnlab models`, a run directory or a
checkpoint. Every shape and window in the drawing is the one `cnnlab summary` prints.

  blocks  the papers' style (LeNet-5's Fig. 2): feature maps as stacks of sheets (one per map, a box beyond
          16), the input's sheet showing a digit or photo, labelled "C1: feature maps 6@28x28", arrows
          labelled with the operation ("5x5 convolution", "2x2 subsampling"); runs of same-shape blocks are
          one box marked "x3"; a ResNet is drawn stage by stage with one residual block opened below, its
          shortcut into the sum (--open identity, the default, or downsampling)
  graph   modules as nodes in rows, each with its output shape, runs of same-kind blocks one node
          ("Inception 4a-4e x5"), and one block opened beside it (an Inception module's branches and
          concatenation, a residual block with its shortcut); --aux adds GoogLeNet's auxiliary classifiers;
          needs Graphviz's dot

The default style is graph for networks whose blocks run three or more branches side by side (Inception)
and blocks for the others. The file is SVG (text stays text: labels can be edited), PNG or PDF, by the
--output suffix; the default is RUN/pictures/architecture-STYLE.svg, or pictures/MODEL/ for a model name.

Every drawing is sized for a 16:9 slide: its text is at least 18 pt once it fills one (long networks run in
rows). --aspect 16:9 gives the picture exactly that shape.

examples:
  cnnlab draw lenet5
  cnnlab draw resnet20 --open downsampling
  cnnlab draw googlenet --aux --aspect 16:9
  cnnlab draw googlenet --output googlenet.png
  cnnlab draw resnet50 --style graph
  cnnlab draw vgg16 --input 3x32x32 --output vgg16-cifar.pdf"""

NAME = "draw"
HELP = "a drawing of a network's architecture (SVG, PNG, PDF)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subject", metavar="RUN_OR_MODEL", help="a model name, a run directory or a checkpoint")
    parser.add_argument("--input", type=chw_shape, metavar="CxHxW", help="input size (default: the model's)")
    parser.add_argument("--style", choices=("blocks", "graph"), help="blocks or graph (default: by the network)")
    parser.add_argument("--output", "--out", metavar="FILE", help="a .svg, .png or .pdf file")
    parser.add_argument(
        "--open", choices=("identity", "downsampling", "none"), dest="open_block",
        help="which residual block is drawn opened with its shortcut: the first with an identity shortcut "
             "(default, for networks with residual blocks), the first that down-samples (its 1x1 projection or "
             "zero-padding shortcut), or none")  # fmt: skip
    parser.add_argument(
        "--aux", action="store_true", help="draw the auxiliary classifiers (GoogLeNet's heads on 4a and 4d)"
    )
    add_title_argument(parser)
    add_aspect_argument(parser)
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    from cnnlab.api import draw

    drawing = draw(args.subject, args.input, style=args.style, open_block=args.open_block, aux=args.aux,
                   title=args.title, aspect=args.aspect)  # fmt: skip
    out = Path(args.output).expanduser() if args.output else _default_out(args.subject, drawing.model, drawing.style)
    if out.is_dir():
        out = out / f"architecture-{drawing.style}.svg"
    path = drawing.save(out)
    print(drawing)
    print(path)
    return 0


def _default_out(subject: str, model: str, style: str) -> Path:
    from cnnlab.run import Run

    name = f"architecture-{style}.svg"
    if Path(subject).expanduser().exists():
        return Run(subject).pictures_dir / name
    return Path("pictures") / model / name
