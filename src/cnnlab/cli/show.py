"""``cnnlab show``: pictures of what a network computes, of its weights, fields and training."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.cli._parser import CommandParser, add_aspect_argument, add_title_argument, positive_int
from cnnlab.data.facts import SPLITS
from cnnlab.errors import SettingError
from cnnlab.inspection import SALIENCY_METHODS as METHODS

if TYPE_CHECKING:
    from cnnlab.inspection.feature_maps import MapLayer
    from cnnlab.training.trained import TrainedModel
    from cnnlab.viz.figure import Picture

DESCRIPTION = """Pictures (PNG, or SVG with --format svg) of what a network computes. RUN_OR_MODEL is a run
directory or checkpoint (trained weights) or a model name from `cnnlab models` (random weights, and the
picture says so). Without --image, a real image is used: a bundled MNIST digit for models of gray images,
scikit-learn's sample photo china.jpg for colour ones. Layers are named as in the model's named_modules();
--list-layers prints them with their output shapes and receptive fields.

Files go to --out, by default RUN/pictures for a run and pictures/MODEL for a model name.

examples:
  cnnlab show feature-maps runs/lenet5-mnist5k-20261125-045010
  cnnlab show feature-maps googlenet --layers inception3a inception4e --image cat.jpg
  cnnlab show feature-maps resnet20 --list-layers
  cnnlab show filters alexnet
  cnnlab show receptive-field googlenet --layer inception4a --unit 7,7
  cnnlab show curves runs/lenet5-a runs/lenet5-b
  cnnlab show confusion runs/lenet5-mnist5k-20261125-045010
  cnnlab show saliency runs/lenet5-mnist5k-20261125-045010 --method occlusion --compare-random"""

FEATURE_MAPS = """One PNG per layer, <OUT>/<layer>.png (the module name as it is, dots kept): every feature map
of the layer for one image, a tile per channel in channel order, the image on the left; maps of 1x1
(LeNet-5's C5, a global pooling) as a bar per channel. Maps with negative values (a convolution before its
ReLU or tanh) are coloured on a diverging scale centred on zero (red positive, blue negative), others on a
sequential one from zero. Each picture is sized for a 16:9 slide; --title short (the default: "c1: 6 maps of
28x28") or full (with the layer's type, the values' range, the run, its checkpoint and weights, the image).
The default --output is RUN/pictures/feature-maps/IMAGE (or pictures/MODEL/feature-maps/IMAGE), IMAGE being
the image file's name without its suffix (mnist5k-test-685 or china for the bundled ones), so each image keeps
its pictures.

--layers picks modules by name (several names, or one comma-separated list). Without it: an overview,
the first convolution and then one layer per map size. `--layers all` is every convolution and pooling
layer plus every block that holds two or more of them (a residual block, an Inception module): not the
activations, normalisations and dropouts, whose maps are those of the layer before through a function,
nor modules called several times in one pass (LeNet-5's shared squashing function), which can still be
named; a named module called several times shows its first call.

examples:
  cnnlab show feature-maps runs/lenet5-mnist5k-20261125-045010 --layers all
  cnnlab show feature-maps googlenet --layers inception3a,inception4e --scale channel
  cnnlab show feature-maps resnet20 --list-layers"""

FILTERS = """The kernels of a convolution, <OUT>/filters-<layer>.png: a first layer on colour images as one RGB
tile per filter (each stretched to its own range), any other as a grid of 2-D kernels, a column per filter
and a row per input channel (the other way round if there are more input channels than filters; at most 48
filters x 32 channels), coloured on one scale centred on zero (red positive, blue negative). The default
layer is the first one with kernels. --title short (the default) names the layer and its kernels; full adds
the layer's type and the run's weights; none leaves the title out.

examples:
  cnnlab show filters runs/lenet5-mnist5k-20261125-045010
  cnnlab show filters alexnet --layer features.conv2"""

RECEPTIVE_FIELD = """The input region that one unit of a layer's maps sees, drawn on the image the network is given,
<OUT>/receptive-field-<layer>-<y>-<x>.png. Its size, jump and place come from the same receptive-field
arithmetic as `cnnlab summary` (branches and shortcuts included: a unit sees the union of its branches'
fields). Where the field reaches past the image, into the zero padding, the picture shows the whole
field dashed and says how far.

examples:
  cnnlab show receptive-field lenet5 --layer c3 --unit 4,4
  cnnlab show receptive-field googlenet --layer inception4a --unit 0,0 --image cat.jpg"""

CURVES = """Loss and top-1 accuracy per epoch (training dashed, validation solid where a run held out a \
validation split), one colour per run, as each run recorded them; accuracy from 0 to 100 %.

examples:
  cnnlab show curves runs/lenet5-a
  cnnlab show curves runs/lenet5-a runs/lenet5-b --output comparison"""

CONFUSION = """The confusion matrix of a trained model on its test split (or --split), with the count in every \
cell and each class's accuracy beside its row: `cnnlab evaluate`'s picture.

examples:
  cnnlab show confusion runs/lenet5-mnist5k-20261125-045010 --split val"""


SALIENCY = """Which pixels of one image made the network answer what it answered, as input | map | map over
the input, <OUT>/saliency-<method>-<IMAGE>.png (-<CLASS> added with --target), and the map itself beside it
as .npy (float32, the input's height x width), for numbers rather than colours. IMAGE is the image file's
name without its suffix (mnist5k-test-685 or china for the bundled ones).

methods:
  gradient   |d class score / d pixel|, the largest over the channels (Simonyan et al. 2014)
  gradcam    a layer's maps weighed by the class score's mean gradient, through a ReLU, scaled up
             (Selvaraju et al. 2017); --layer picks the layer (default: the last convolution or block
             whose maps are 2x2 or more: c3 on LeNet-5, whose c5 is 1x1); --list-layers lists them
  occlusion  the drop in the class's probability when a --window square, moved --stride pixels at a
             time, hides the pixel; the square holds the training images' mean (Zeiler and Fergus 2014)
  all        the three, a file each

The class explained is the one the network chose, or --target (a class name or index). --compare-random
draws the same method on the same architecture with random weights in a second row and prints Spearman's
rank correlation of the two maps (Adebayo et al. 2018's sanity check): near 0, the map shows what the
network learned; near 1, it would look the same untrained.

examples:
  cnnlab show saliency runs/lenet5-mnist5k-20261125-045010 --compare-random
  cnnlab show saliency runs/lenet5-mnist5k-20261125-045010 --image seven.png --method gradcam --layer c1
  cnnlab show saliency runs/lenet5-mnist5k-20261125-045010 --method occlusion --window 6 --stride 1 --target 1
  cnnlab show saliency resnet20 --method all --image cat.jpg
  cnnlab show saliency googlenet --list-layers"""


NAME = "show"
HELP = "pictures: feature maps, filters, receptive fields, curves, confusion, saliency"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=lambda _args: _print_help(parser), prog=parser.prog)
    pictures = parser.add_subparsers(title="pictures", metavar="PICTURE", parser_class=CommandParser)
    _add_feature_maps(pictures)
    _add_filters(pictures)
    _add_receptive_field(pictures)
    _add_curves(pictures)
    _add_confusion(pictures)
    _add_saliency(pictures)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _output_options(parser: argparse.ArgumentParser, where: str) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--output", "--out", metavar="DIR", help=f"directory for the pictures (default: {where})")
    group.add_argument("--format", choices=("png", "svg"), default="png", help="picture file format")
    add_title_argument(group)


def _model_options(parser: argparse.ArgumentParser, image: bool = True) -> None:
    parser.add_argument("subject", metavar="RUN_OR_MODEL", help="a run directory, a .pt checkpoint or a model name")
    if image:
        parser.add_argument("--image", metavar="FILE", help="the image (default: a bundled digit or sample photo)")
    parser.add_argument("--list-layers", action="store_true", help="print the layers with their shapes and stop")


def _add_feature_maps(pictures: Any) -> None:
    parser = pictures.add_parser(
        "feature-maps", help="every feature map of chosen layers for one image", description=FEATURE_MAPS
    )
    _model_options(parser)
    parser.add_argument(
        "--layers",
        nargs="+",
        metavar="NAME",
        help="layer names, or 'all' (default: the first convolution, then one layer per map size)",
    )
    parser.add_argument(
        "--scale",
        choices=("layer", "channel"),
        default="layer",
        help="one colour scale for the layer, or each map stretched to its own range",
    )
    _output_options(parser, "RUN/pictures/feature-maps/IMAGE or pictures/MODEL/feature-maps/IMAGE")
    parser.set_defaults(handler=run_feature_maps, prog=parser.prog)


def _add_filters(pictures: Any) -> None:
    parser = pictures.add_parser("filters", help="the kernels of a convolution", description=FILTERS)
    _model_options(parser, image=False)
    parser.add_argument("--layer", metavar="NAME", help="a convolution (default: the first)")
    _output_options(parser, "RUN/pictures or pictures/MODEL")
    parser.set_defaults(handler=run_filters, prog=parser.prog)


def _add_receptive_field(pictures: Any) -> None:
    parser = pictures.add_parser(
        "receptive-field", help="the input region one unit sees, on the image", description=RECEPTIVE_FIELD
    )
    _model_options(parser)
    parser.add_argument("--layer", metavar="NAME", help="the layer whose unit is drawn (required)")
    parser.add_argument("--unit", type=_unit, metavar="Y,X", help="row and column of the unit in the layer's maps")
    _output_options(parser, "RUN/pictures or pictures/MODEL")
    parser.set_defaults(handler=run_receptive_field, prog=parser.prog)


def _run_picture(
    pictures: Any,
    name: str,
    summary: str,
    description: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    several: bool,
) -> Any:
    """The parser of a picture of what a run recorded (no model, no image): ``RUN``, or ``RUN...`` if ``several``."""
    parser = pictures.add_parser(name, help=summary, description=description)
    if several:
        parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories (or checkpoints in them)")
    else:
        parser.add_argument("run", metavar="RUN", help="a run directory or a .pt checkpoint")
    parser.set_defaults(handler=handler, prog=parser.prog)
    return parser


def _add_curves(pictures: Any) -> None:
    summary = "training and validation loss and accuracy of one or more runs"
    parser = _run_picture(pictures, "curves", summary, CURVES, run_curves, several=True)
    _output_options(parser, "RUN/pictures for one run, pictures for several")
    add_aspect_argument(parser)


def _add_confusion(pictures: Any) -> None:
    summary = "confusion matrix with counts and per-class accuracy"
    parser = _run_picture(pictures, "confusion", summary, CONFUSION, run_confusion, several=False)
    parser.add_argument("--split", choices=SPLITS, default="test", help="which part of the dataset")
    _output_options(parser, "RUN/pictures")
    add_aspect_argument(parser)


def _add_saliency(pictures: Any) -> None:
    parser = pictures.add_parser(
        "saliency", help="which pixels of an image decided the network's answer", description=SALIENCY
    )
    _model_options(parser)
    parser.add_argument("--method", choices=(*METHODS, "all"), default="gradient", help="how the map is made")
    parser.add_argument(
        "--target", metavar="CLASS", help="the class to explain, a name or an index (default: the one chosen)"
    )
    parser.add_argument("--layer", metavar="NAME", help="the layer Grad-CAM reads (default: the last of 2x2 or more)")
    parser.add_argument("--window", type=positive_int, metavar="N", help="occlusion's square (default: side / 4)")
    parser.add_argument("--stride", type=positive_int, metavar="N", help="occlusion's step (default: side / 16)")
    parser.add_argument(
        "--compare-random", action="store_true", help="also with random weights, and the maps' rank correlation"
    )
    _output_options(parser, "RUN/pictures or pictures/MODEL")
    parser.set_defaults(handler=run_saliency, prog=parser.prog)


def _unit(text: str) -> tuple[int, int]:
    parts = text.replace(" ", "").split(",")
    try:
        y, x = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected Y,X (row and column, e.g. 3,5), got {text!r}") from None
    return y, x


def _out_dir(args: argparse.Namespace, default: Path) -> Path:
    folder = Path(args.output).expanduser() if args.output else default
    if folder.exists() and not folder.is_dir():
        raise SettingError(f"<output> {folder} is a file; it names the directory the pictures go to")
    return folder


def _default_dir(trained: TrainedModel) -> Path:
    """``RUN/pictures`` for a run, ``pictures/MODEL`` (in the working directory) for a model name."""
    from cnnlab.run import Run

    if trained.checkpoint is None:
        return Path("pictures") / trained.name
    return Run(trained.checkpoint).pictures_dir


def _list_layers(trained: TrainedModel, layers: list[MapLayer]) -> int:
    from cnnlab.inspection.receptive_field import GLOBAL
    from cnnlab.inspection.tables import render_table

    def field(layer: MapLayer) -> tuple[str, str]:
        if layer.field is GLOBAL:
            return "all", "-"
        if not isinstance(layer.field, tuple):
            return "-", "-"
        size, jump = (layer.field[0].size, layer.field[1].size), (layer.field[0].jump, layer.field[1].jump)
        text = [str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}" for p in (size, jump)]
        return text[0], text[1]

    rows = [
        [layer.name, layer.type, layer.shape_text, *field(layer), "*" if layer.shown else "",
         layer.calls if layer.calls > 1 else ""]
        for layer in layers
    ]  # fmt: skip
    print(render_table(["layer", "type", "output", "field", "jump", "all", "calls"], rows))
    print(
        f"\n{trained.name} at {'x'.join(map(str, trained.input_size))}: {len(layers)} modules; "
        f"* marks the {sum(layer.shown for layer in layers)} that --layers all shows"
    )
    return 0


def _size(picture: Picture) -> str:
    return f"{picture.size[0]}x{picture.size[1]} px"


def _names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name for value in values for name in value.split(",") if name]


def run_feature_maps(args: argparse.Namespace) -> int:
    from cnnlab import show
    from cnnlab.viz.feature_maps import split_panels

    trained = show.subject(args.subject)
    if args.list_layers:
        return _list_layers(trained, show.layers(trained))
    picture = show.feature_maps(
        trained, image=args.image, layers=_names(args.layers), scale=args.scale, title=args.title
    )
    folder = _out_dir(args, _default_dir(trained) / "feature-maps" / show.image_name(trained, args.image))
    for grid, single in zip(picture.grids, split_panels(picture), strict=True):
        path = single.save(folder / f"{grid.name}.{args.format}")
        drawn = "as bars" if grid.bars else f"in {grid.rows}x{grid.cols}"
        print(f"{path}  {grid.shape_text}: {grid.tiles} maps {drawn}, {_size(single)}")
    return 0


def run_filters(args: argparse.Namespace) -> int:
    from cnnlab import show
    from cnnlab.inspection.feature_maps import kernel_layers, kernels
    from cnnlab.inspection.tables import render_table

    trained = show.subject(args.subject)
    if args.list_layers:
        found = kernel_layers(trained.model)
        rows = [[name, type(m).__name__, "x".join(map(str, kernels(m)[0].shape))] for name, m in found.items()]
        print(render_table(["layer", "type", "kernels"], rows))
        return 0
    picture = show.filters(trained, layer=args.layer, title=args.title)
    grid = picture.grids[0]
    path = picture.save(_out_dir(args, _default_dir(trained)) / f"filters-{grid.name}.{args.format}")
    print(f"{path}  {grid.shape_text}: {grid.tiles} tiles in {grid.rows}x{grid.cols}, {_size(picture)}")
    return 0


def run_receptive_field(args: argparse.Namespace) -> int:
    from cnnlab import show

    trained = show.subject(args.subject)
    if args.list_layers:
        return _list_layers(trained, show.layers(trained))
    if args.layer is None or args.unit is None:
        raise ValueError("--layer NAME and --unit Y,X say which unit to draw (--list-layers lists the layers)")
    picture = show.receptive_field(trained, layer=args.layer, unit=args.unit, image=args.image, title=args.title)
    y, x = args.unit
    folder = _out_dir(args, _default_dir(trained))
    path = picture.save(folder / f"receptive-field-{args.layer}-{y}-{x}.{args.format}")
    print(f"{path}\n{picture.about}")
    return 0


def run_curves(args: argparse.Namespace) -> int:
    from cnnlab import show
    from cnnlab.run import Run

    runs = [Run(text) for text in args.runs]
    picture = show.curves(*runs, title=args.title, aspect=args.aspect)
    # One run's go to its pictures/, as every picture of it does: its own curves.png is the training's record,
    # which a reader leaves as it is (a run being trained writes it; a read-only run cannot be written).
    default = runs[0].pictures_dir if len(runs) == 1 else Path("pictures")
    print(picture.save(_out_dir(args, default) / f"curves.{args.format}"))
    return 0


def run_confusion(args: argparse.Namespace) -> int:
    from cnnlab import show
    from cnnlab.run import Run

    run = Run(args.run)
    folder = _out_dir(args, run.pictures_dir)
    evaluation = run.evaluate(split=args.split)
    name = run.confusion_path(evaluation.dataset, evaluation.split, f".{args.format}").name
    path = show.confusion(evaluation, title=args.title, aspect=args.aspect).save(folder / name)
    print(f"{path}\n{evaluation.title}")
    return 0


def _target(trained: TrainedModel, text: str | None) -> int | str | None:
    """A class as typed: its name if the model has a class of that name (MNIST's ``7``), else an index if it is
    a number (CIFAR-10's ``3``), else the text, which the library refuses in its words."""
    if text is None or text in trained.classes:
        return text
    return int(text) if text.strip().lstrip("-").isdigit() else text


def _list_cam_layers(trained: TrainedModel) -> int:
    from cnnlab import show
    from cnnlab.inspection.saliency import default_cam_layer, readable_cam_layers
    from cnnlab.inspection.tables import render_table

    layers = show.layers(trained)
    chosen = default_cam_layer(layers)
    usable = readable_cam_layers(layers)
    rows = [[layer.name, layer.type, layer.shape_text, "*" if layer is chosen else ""] for layer in usable]
    if not rows:
        print(f"{trained.name} has no layer with maps of 2x2 or more: Grad-CAM needs one (try --method gradient)")
        return 0
    print(render_table(["layer", "type", "output", "default"], rows))
    print(
        f"\nGrad-CAM reads a layer whose maps are 2x2 or more, from a module called once per pass; "
        f"{len(rows)} of {trained.name}'s {len(layers)} modules are convolutions, pooling layers or blocks that "
        f"can be read (activations and normalisations after them can be named too)"
    )
    return 0


def _saliency_name(method: str, image: str, target: str | None, suffix: str) -> str:
    label = "" if target is None else "-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", target).strip("-.") or "class")
    return f"saliency-{method}-{image}{label}{suffix}"


def run_saliency(args: argparse.Namespace) -> int:
    import cnnlab
    from cnnlab import show

    trained = show.subject(args.subject)
    if args.list_layers:
        return _list_cam_layers(trained)
    chosen = METHODS if args.method == "all" else (args.method,)
    target = _target(trained, args.target)
    folder = _out_dir(args, _default_dir(trained))
    image = show.image_name(trained, args.image)
    for number, method in enumerate(chosen):
        options = {
            "layer": args.layer if method == "gradcam" or len(chosen) == 1 else None,
            "window": args.window if method == "occlusion" or len(chosen) == 1 else None,
            "stride": args.stride if method == "occlusion" or len(chosen) == 1 else None,
        }
        found = cnnlab.saliency(trained, args.image, method, target, compare_random=args.compare_random, **options)
        path = found.save(folder / _saliency_name(method, image, args.target, f".{args.format}"), title=args.title)
        values = found.save(path.with_suffix(".npy"))
        print(("\n" if number else "") + f"{path}\n{values}\n{found}")
    return 0
