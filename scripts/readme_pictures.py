"""Draw the README's pictures with the commands the README shows, so that they stay true.

Trains LeNet-5 with its default recipe (about 20 s on 2 cores), then runs ``cnnlab show`` on the run and
on GoogLeNet, then the quick degradation and learned-features experiments (about 4 and 3 minutes), and copies
the pictures to ``docs/images/``:

    lenet5-c1.png                    C1's six feature maps of a test digit
    lenet5-c3.png                    C3's sixteen maps, each combining several of S2's
    googlenet-receptive-field.png    what one unit of inception4a sees of scikit-learn's sample photo
    lenet5-saliency.png              occlusion's map of the run's test 7 beside the random-weights twin's
                                     (the command draws all three methods and prints each rank correlation)
    degradation.png                  plain-20/56 against ResNet-20/56: training and validation error
    learned-features.png             LeCun et al. 1998's Figure 9 on the bundled digits, beside the paper's numbers
    lenet5-architecture.png          LeNet-5 drawn as its paper's Fig. 2: stacked sheets, the digit, every number
                                     from its summary
    resnet20-architecture.png        ResNet-20 stage by stage, its identity block opened: the shortcut into the +
    googlenet-architecture.png       GoogLeNet as a graph in rows, its Inception stacks collapsed, one module
                                     opened, its two auxiliary classifiers
    conv-padding-strides.gif         a 3x3 convolution, stride 2, padding 1, PyTorch's numbers in the cells
    transposed-padding-strides.gif   its transposed counterpart, as zero insertion
    dilation.gif                     a 3x3 kernel with dilation 2

Run from the repository root:

    .venv/bin/python scripts/readme_pictures.py [--epochs N] [--seeds S...] [--out docs/images] [--only NAME...]

``--epochs`` and ``--seeds`` shorten the training runs (for a check that the script works, not for the README).
``--only`` draws the pictures named (``--only lenet5-saliency.png``), with the commands that draw them, after
the training run: one new picture without the experiments' minutes.

Each picture is then held to the slide standard (``docs/pictures.md``): the same command writes it as SVG (an
experiment writes its SVG beside its PNG; an animation's frames are read by ``Animation.slide_check()``), and the
script prints its smallest text in points once it fills a 16:9 slide. It fails if one is under 18 points.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import shutil
import tempfile
from pathlib import Path

import cnnlab as cnnlab_library
from cnnlab.cli.main import main as cnnlab
from cnnlab.viz.slide import MIN_FONT_PT, SlideCheck, read_svg

# picture -> (the file the command draws, under {out}; the command, or None when an earlier one drew it)
PICTURES = {
    "lenet5-c1.png": ("c1.png", ["show", "feature-maps", "{run}", "--layers", "c1", "c3", "--out", "{out}"]),
    "lenet5-c3.png": ("c3.png", None),
    "googlenet-receptive-field.png": (
        "receptive-field-inception4a-6-4.png",
        ["show", "receptive-field", "googlenet", "--layer", "inception4a", "--unit", "6,4", "--out", "{out}"],
    ),
    "lenet5-saliency.png": (
        "saliency-occlusion-mnist5k-test-685.png",
        ["show", "saliency", "{run}", "--method", "all", "--compare-random", "--out", "{out}"],
    ),
    "degradation.png": ("degradation/degradation.png", ["experiment", "degradation", "--out", "{out}/degradation"]),
    "learned-features.png": (
        "learned-features/learned-features.png",
        ["experiment", "learned-features", "--out", "{out}/learned-features"],
    ),
    "lenet5-architecture.png": ("lenet5.png", ["draw", "lenet5", "--out", "{out}/lenet5.png"]),
    "resnet20-architecture.png": ("resnet20.png", ["draw", "resnet20", "--out", "{out}/resnet20.png"]),
    "googlenet-architecture.png": ("googlenet.png", ["draw", "googlenet", "--aux", "--out", "{out}/googlenet.png"]),
    "conv-padding-strides.gif": ("c.gif", shlex.split("animate conv -i 5 -k 3 -s 2 -p 1 --values --out {out}/c.gif")),
    "transposed-padding-strides.gif": (
        "t.gif", shlex.split("animate transposed -i 3 -k 3 -s 2 -p 1 --values --out {out}/t.gif")),
    "dilation.gif": ("d.gif", shlex.split("animate conv -i 7 -k 3 -d 2 --out {out}/d.gif")),
}  # fmt: skip
TRAINING_COMMANDS = ("train", "experiment")  # the commands that --epochs and --seeds shorten

# The GIFs' settings, as cnnlab.animate takes them (their frames are Pillow's: no SVG to read back).
ANIMATIONS = {
    "conv-padding-strides.gif": {"kind": "conv", "input": 5, "kernel": 3, "stride": 2, "padding": 1, "values": True},
    "transposed-padding-strides.gif": {"kind": "transposed", "input": 3, "kernel": 3, "stride": 2, "padding": 1,
                                       "values": True},
    "dilation.gif": {"kind": "conv", "input": 7, "kernel": 3, "dilation": 2},
}  # fmt: skip


def run(*args: str, quiet: bool = False) -> None:
    """``cnnlab ARGS``, shown and with its output, or with neither when ``quiet`` (a picture drawn again as SVG
    to be measured: its output would repeat the first one's)."""
    if not quiet:
        print("$ cnnlab", " ".join(args))
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        if cnnlab(list(args)) != 0:
            raise SystemExit(f"cnnlab {' '.join(args)} failed")


def _drawn_by(name: str) -> str:
    """The picture whose command draws ``name`` too: the last one before it with a command (``lenet5-c3.png`` is
    drawn by ``lenet5-c1.png``'s)."""
    names = list(PICTURES)
    return [other for other in names[: names.index(name)] if PICTURES[other][1] is not None][-1]


def svg_twin(command: list[str], svg: Path) -> list[str] | None:
    """``command`` writing SVG into ``svg`` (a folder; a file for ``draw``), or None for one that writes its SVG
    beside its PNG already (an experiment)."""
    if command[0] == "draw":
        return [*command[: command.index("--out")], "--out", str(svg / "drawing.svg")]
    if command[0] == "show":
        return [*command[: command.index("--out")], "--out", str(svg), "--format", "svg"]
    return None


def slide_check(name: str, command: list[str], drawn: Path, work: Path) -> SlideCheck:
    """``name`` read back against the slide standard, from the SVG its command writes."""
    if name in ANIMATIONS:
        return cnnlab_library.animate(**ANIMATIONS[name]).slide_check()  # type: ignore[arg-type]
    folder = work / "svg" / Path(name).stem
    twin = svg_twin(command, folder)
    if twin is None:
        return read_svg(drawn.with_suffix(".svg"))
    run(*twin, quiet=True)
    written = sorted(folder.rglob(f"{Path(drawn.name).stem}.svg")) or sorted(folder.rglob("*.svg"))
    return read_svg(written[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the recipe's, 22)")
    parser.add_argument("--seeds", nargs="+", default=None, help="the experiment's seeds (default: its preset's)")
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="where the pictures go")
    parser.add_argument("--only", nargs="+", choices=list(PICTURES), metavar="NAME", help="draw these pictures only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run_dir = work / "lenet5"  # the pictures name the run by its folder: keep it short
        shorter = ["--epochs", str(args.epochs)] if args.epochs else []
        run("train", "lenet5", "--no-progress", "--output", str(run_dir), *shorter)
        if args.seeds:
            shorter += ["--seeds", *args.seeds]
        pictures = work / "pictures"
        checks: dict[str, SlideCheck] = {}
        for name, (drawn, command) in PICTURES.items():
            if args.only and name not in args.only:
                continue
            if command is None and args.only and _drawn_by(name) not in args.only:  # its drawer was left out
                command = PICTURES[_drawn_by(name)][1]
            if command is not None:
                extra = shorter if command[0] in TRAINING_COMMANDS else []
                run(*(part.format(run=run_dir, out=pictures) for part in command), *extra)
            shutil.copyfile(pictures / drawn, args.out / name)
            print(f"{args.out / name}")
            drawer = command or PICTURES[_drawn_by(name)][1]
            assert drawer is not None
            formatted = [part.format(run=run_dir, out=pictures) for part in drawer]
            checks[name] = slide_check(name, formatted, pictures / drawn, work)
    print(f"\nOn a 16:9 slide (docs/pictures.md asks for text of {MIN_FONT_PT:g} pt or more):")
    for name, check in checks.items():
        print(f"  {name:<32} {check}")
    if failed := [name for name, check in checks.items() if not check.passes]:
        raise SystemExit(f"under {MIN_FONT_PT:g} pt on a slide: {', '.join(failed)}")


if __name__ == "__main__":
    main()
