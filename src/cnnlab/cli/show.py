"""``cnnlab show``: pictures of what a network computes, of its weights, fields and training."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.cli._parser import CommandParser

if TYPE_CHECKING:
    from cnnlab.cli._subject import Subject
    from cnnlab.inspection.feature_maps import MapLayer
    from cnnlab.viz._figure import GridPicture

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
  cnnlab show confusion runs/lenet5-mnist5k-20261125-045010"""

FEATURE_MAPS = """One PNG per layer, <OUT>/<layer>.png (the module name as it is, dots kept): every feature map
of the layer for one image, a tile per channel in channel order, with the layer's name, shape and value
range. The default --out is RUN/pictures/feature-maps (or pictures/MODEL/feature-maps).

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
tile per filter (each stretched to its own range), any other as a grid of 2-D kernels, a row per filter
and a column per input channel (at most 48 x 32), coloured on one scale centred on zero. The default
layer is the first one with kernels.

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


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "show", help="pictures: feature maps, filters, receptive fields, curves, confusion", description=DESCRIPTION
    )
    parser.set_defaults(handler=lambda _args: _print_help(parser), prog=parser.prog)
    pictures = parser.add_subparsers(title="pictures", metavar="PICTURE", parser_class=CommandParser)
    _add_feature_maps(pictures)
    _add_filters(pictures)
    _add_receptive_field(pictures)
    _add_curves(pictures)
    _add_confusion(pictures)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _output_options(parser: argparse.ArgumentParser, where: str) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--out", metavar="DIR", help=f"directory for the pictures (default: {where})")
    group.add_argument("--format", choices=("png", "svg"), default="png", help="picture file format")


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
    _output_options(parser, "RUN/pictures/feature-maps or pictures/MODEL/feature-maps")
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


def _add_curves(pictures: Any) -> None:
    parser = pictures.add_parser(
        "curves",
        help="training and validation loss and accuracy of one or more runs",
        description="Loss and top-1 accuracy per epoch (training dashed, validation solid), one colour per run, "
        "from each run's metrics.csv.\n\nexamples:\n  cnnlab show curves runs/lenet5-a\n"
        "  cnnlab show curves runs/lenet5-a runs/lenet5-b --out comparison",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories (or checkpoints in them)")
    _output_options(parser, "RUN/pictures for one run, pictures for several")
    parser.set_defaults(handler=run_curves, prog=parser.prog)


def _add_confusion(pictures: Any) -> None:
    parser = pictures.add_parser(
        "confusion",
        help="confusion matrix with counts and per-class accuracy",
        description="The confusion matrix of a trained model on its test split (or --split), with the count in "
        "every cell and each class's accuracy beside its row: `cnnlab evaluate`'s picture.\n\nexamples:\n"
        "  cnnlab show confusion runs/lenet5-mnist5k-20261125-045010 --split val",
    )
    parser.add_argument("run", metavar="RUN", help="a run directory or a .pt checkpoint")
    parser.add_argument("--split", choices=("test", "val", "train"), default="test", help="which part of the dataset")
    _output_options(parser, "RUN/pictures")
    parser.set_defaults(handler=run_confusion, prog=parser.prog)


def _unit(text: str) -> tuple[int, int]:
    parts = text.replace(" ", "").split(",")
    try:
        y, x = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected Y,X (row and column, e.g. 3,5), got {text!r}") from None
    return y, x


def _out_dir(args: argparse.Namespace, default: Path) -> Path:
    folder = Path(args.out).expanduser() if args.out else default
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file; it names the directory the pictures go to")
    return folder


def _list_layers(subject: Subject, layers: list[MapLayer]) -> int:
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
        [
            layer.name,
            layer.type,
            layer.shape_text,
            *field(layer),
            "*" if layer.shown else "",
            layer.calls if layer.calls > 1 else "",
        ]
        for layer in layers
    ]
    print(render_table(["layer", "type", "output", "field", "jump", "all", "calls"], rows))
    print(
        f"\n{subject.name} at {'x'.join(map(str, subject.input_size))}: {len(layers)} modules; "
        f"* marks the {sum(layer.shown for layer in layers)} that --layers all shows"
    )
    return 0


def _pixels(grid: GridPicture) -> str:
    return f"{grid.size[0]}x{grid.size[1]} px"


def _names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name for value in values for name in value.split(",") if name]


def run_feature_maps(args: argparse.Namespace) -> int:
    from cnnlab.cli._subject import load_subject
    from cnnlab.inspection.feature_maps import capture, choose_layers, map_layers, one_per_resolution
    from cnnlab.viz.feature_maps import plot_feature_maps

    subject = load_subject(args.subject)
    layers = map_layers(subject.model, subject.input_size)
    if args.list_layers:
        return _list_layers(subject, layers)
    names = _names(args.layers)
    chosen = one_per_resolution(layers) if names is None else choose_layers(layers, names, subject.name)
    if not chosen:
        raise ValueError(f"{subject.name} has no feature maps to show (its layers output vectors)")
    folder = _out_dir(args, subject.default_out / "feature-maps")
    pixels, about = subject.image(args.image)
    maps = capture(subject.model, subject.model_input(pixels), [layer.name for layer in chosen])
    for layer in chosen:
        note = f", first of {layer.calls} calls" if layer.calls > 1 else ""
        grid = plot_feature_maps(
            maps[layer.name][0].float().numpy(),
            folder / f"{layer.name}.{args.format}",
            name=f"{layer.name} ({layer.type}{note})",
            caption=f"{subject.label}\non {about}",
            scale=args.scale,
        )
        print(f"{grid.path}  {layer.shape_text}: {grid.tiles} maps in {grid.rows}x{grid.cols}, {_pixels(grid)}")
    return 0


def run_filters(args: argparse.Namespace) -> int:
    from cnnlab.cli._subject import load_subject
    from cnnlab.inspection.feature_maps import kernel_layers, kernels
    from cnnlab.inspection.tables import render_table
    from cnnlab.viz.feature_maps import plot_filters

    subject = load_subject(args.subject)
    layers = kernel_layers(subject.model)
    if args.list_layers:
        rows = [[name, type(m).__name__, "x".join(map(str, kernels(m)[0].shape))] for name, m in layers.items()]
        print(render_table(["layer", "type", "kernels"], rows))
        return 0
    if not layers:
        raise ValueError(f"{subject.name} has no convolution kernels to show")
    name = args.layer or next(iter(layers))
    if name not in layers:
        raise ValueError(f"{subject.name} has no convolution {name!r}; layers with kernels: {', '.join(layers)}")
    weight, note = kernels(layers[name])
    folder = _out_dir(args, subject.default_out)
    first = name == next(iter(layers))
    caption = f"{subject.label}; {note}" if note else subject.label
    rgb = first and subject.input_size[0] == 3
    out = folder / f"filters-{name}.{args.format}"
    grid = plot_filters(
        weight.float().numpy(), out, name=f"{name} ({type(layers[name]).__name__})", caption=caption, rgb=rgb
    )
    shape = "x".join(map(str, weight.shape))
    print(f"{grid.path}  {shape}: {grid.tiles} tiles in {grid.rows}x{grid.cols}, {_pixels(grid)}")
    return 0


def run_receptive_field(args: argparse.Namespace) -> int:
    from cnnlab.cli._subject import display_image, load_subject
    from cnnlab.inspection.feature_maps import choose_layers, field_box, map_layers
    from cnnlab.viz.receptive_field import plot_receptive_field

    subject = load_subject(args.subject)
    layers = map_layers(subject.model, subject.input_size)
    if args.list_layers:
        return _list_layers(subject, layers)
    if args.layer is None or args.unit is None:
        raise ValueError("--layer NAME and --unit Y,X say which unit to draw (--list-layers lists the layers)")
    layer = choose_layers(layers, [args.layer], subject.name)[0]
    _, height, width = subject.input_size
    box = field_box(layer, args.unit, (height, width))
    folder = _out_dir(args, subject.default_out)
    pixels, about = subject.image(args.image)
    y, x = args.unit
    top, left, bottom, right = box.clipped
    where = f"rows {top:g}-{bottom:g}, columns {left:g}-{right:g} of the {height}x{width} input"
    past = ""
    if box.extends_past_input:
        edges = [
            f"{amount:g} px past the {edge}"
            for amount, edge in zip(box.outside, ("top", "left", "bottom", "right"), strict=True)
            if amount > 0
        ]
        past = f"; the field reaches {', '.join(edges)}: zero padding"
    note = f", first of {layer.calls} calls" if layer.calls > 1 else ""
    title = (
        f"{layer.name} ({layer.type}{note}), unit ({y}, {x}) of {layer.output_shape[1]}x{layer.output_shape[2]}: "
        f"a {box.size[0]}x{box.size[1]} field"
    )
    out = folder / f"receptive-field-{layer.name}-{y}-{x}.{args.format}"
    caption = f"{where}{past}\n{subject.label}, on {about}"
    path = plot_receptive_field(display_image(pixels), box, out, title=title, caption=caption)
    print(f"{path}\n{title}: {where}{past}")
    return 0


def _run_dir(text: str) -> Path:
    path = Path(text).expanduser()
    folder = path.parent if path.is_file() else path
    if not (folder / "metrics.csv").is_file():
        what = "does not exist" if not path.exists() else "has no metrics.csv"
        raise ValueError(f"{text} {what}: expected a cnnlab run directory")
    return folder


def run_curves(args: argparse.Namespace) -> int:
    from cnnlab.viz.curves import plot_curves, read_metrics

    folders = [_run_dir(text) for text in args.runs]
    labels = [folder.name for folder in folders]
    if len(set(labels)) < len(labels):  # same names in different places: the paths tell them apart
        labels = [str(folder) for folder in folders]
    default = folders[0] / "pictures" if len(folders) == 1 else Path("pictures")
    out = _out_dir(args, default) / f"curves.{args.format}"
    path = plot_curves(
        [(label, read_metrics(folder / "metrics.csv")) for label, folder in zip(labels, folders, strict=True)], out
    )
    print(path)
    return 0


def run_confusion(args: argparse.Namespace) -> int:
    from cnnlab.cli.evaluate import confusion_png_name
    from cnnlab.training.inference import evaluation_data, load_trained_model
    from cnnlab.training.metrics import evaluate
    from cnnlab.viz.confusion import plot_confusion

    trained = load_trained_model(args.run)
    folder = _out_dir(args, trained.checkpoint.parent / "pictures")
    data = evaluation_data(trained, split=args.split)
    result = evaluate(trained.model, data.loader, trained.num_classes, logit_temperature=trained.logit_temperature)
    title = f"{trained.name} on {data.dataset} {data.split}: top-1 {result.top1:.2%} of {result.count:,}"
    name = Path(confusion_png_name(data.dataset, data.split)).with_suffix(f".{args.format}")
    path = plot_confusion(result.confusion.tolist(), trained.classes, title, folder / name)
    print(f"{path}\n{title}")
    return 0
