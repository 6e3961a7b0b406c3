"""``cnnlab experiment``: check one of the lecture's claims on this machine, with a table and a figure."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cnnlab.cli._parser import INTERRUPTED, HelpFormatter, non_negative_int, positive_int

if TYPE_CHECKING:
    from cnnlab.training.loop import TrainingInterrupted

# The experiments and what each does are their registry's (each module declares its own line and its place in
# the lecture); the help fills them in here when it is shown.
LISTING = "  <the registered experiments>"
DESCRIPTION = f"""Run one of the lecture's claims as an experiment: it prints a table, writes results.json and a
figure (NAME.png, and NAME.svg whose text stays text, 18 pt on a 16:9 slide), and ends with its
verdict and the time it took. Each claim is measured on every seed against a stated
threshold: it held, did not hold, or was inconclusive (the seeds' 95% interval straddles the threshold).

experiments, in the lecture's order:
{LISTING}

--quick (default) runs in minutes on 2 CPU cores with the bundled digits; --full follows the papers'
recipes where data is available (e.g. --data cifar10 --data-dir ~/data for degradation).

examples:
  cnnlab experiment weights
  cnnlab experiment degradation --full --data cifar10 --data-dir ~/data --output runs/degradation"""


NAME = "experiment"
HELP = "check one of the lecture's claims (table, figure, verdict)"


class _ListingHelp(HelpFormatter):
    """Fills :data:`LISTING` in from the registry when the help is shown, not when the parser is built: the
    registry imports every experiment (and torch), which ``cnnlab --help`` must not wait for."""

    def _format_text(self, text: str) -> str:
        if LISTING in text:
            from cnnlab.experiments import EXPERIMENTS, list_experiments

            lines = [f"  {name:20}{EXPERIMENTS[name].about}" for name in list_experiments()]
            text = text.replace(LISTING, "\n".join(lines))
        return super()._format_text(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = _ListingHelp
    parser.add_argument("name", nargs="?", help="the experiment (see the list above)")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", dest="preset", action="store_const", const="quick", help="minutes on 2 cores")
    preset.add_argument("--full", dest="preset", action="store_const", const="full", help="the papers' recipes")
    parser.add_argument("--data", help="dataset for the training runs (default: the experiment's choice)")
    parser.add_argument("--data-dir", help="where torchvision's datasets are (or go, with --download)")
    parser.add_argument("--download", action="store_true", help="let torchvision download the dataset")
    parser.add_argument("--seeds", type=non_negative_int, nargs="+", help="seeds of the training runs")
    parser.add_argument("--epochs", type=positive_int, help="epochs of each training run (default: the preset's)")
    parser.add_argument("--output", "--out", help="output directory (default: experiments/NAME)")
    parser.add_argument("--list", action="store_true", help="list the experiments and their claims")
    parser.set_defaults(handler=run, prog=parser.prog, preset="quick")


def _progress_lines(bar: bool) -> Callable[[str], None]:
    """Each training run's epochs, on stderr (the table and the verdict are stdout's); through tqdm under a bar."""
    if not bar:
        return lambda line: print(line, file=sys.stderr, flush=True)
    from tqdm.auto import tqdm

    return lambda line: tqdm.write(line, file=sys.stderr)


def _interrupted(name: str, interrupted: TrainingInterrupted) -> str:
    """What stopped, and how to go on: an experiment's runs start again with it (it does not resume them)."""
    where = f" in its training run {interrupted.run.path.name}" if interrupted.run is not None else ""
    stopped = str(interrupted).split(":", 1)[0]  # "interrupted at epoch 2, step 3"
    return f"{name} {stopped}{where}; an experiment does not resume its runs: run the same command to start over"


def run(args: argparse.Namespace) -> int:
    from cnnlab.experiments import EXPERIMENTS, experiment, list_experiments
    from cnnlab.files import ensure_directory
    from cnnlab.training.loop import TrainingInterrupted

    if args.list or args.name is None:
        if args.name is None and not args.list:
            raise ValueError(f"which experiment? one of {', '.join(list_experiments())} (or --list)")
        for name in list_experiments():
            print(f"{name:20} {EXPERIMENTS[name].claim}")
        return 0
    out = Path(args.output).expanduser() if args.output else Path("experiments") / args.name
    if args.name in EXPERIMENTS:  # its folder, made now: a file or a read-only disk in the way said in files' words
        ensure_directory(out)
    progress = sys.stderr.isatty()
    try:
        result = experiment(args.name, preset=args.preset, out=out, data=args.data, data_dir=args.data_dir,
                            download=args.download, seeds=args.seeds, epochs=args.epochs, progress=progress,
                            log=_progress_lines(progress))  # fmt: skip
    except TrainingInterrupted as interrupted:  # Ctrl-C in one of its training runs, which saved a checkpoint
        print(f"{args.prog}: {_interrupted(args.name, interrupted)}", file=sys.stderr)
        return INTERRUPTED
    print(result)
    print(f"results: {out / 'results.json'}")
    if result.figure is not None:
        svg = Path(result.figure).with_suffix(".svg")
        also = f" and {svg} (text as text, for a slide)" if svg.is_file() else ""
        print(f"figure:  {result.figure}{also}")
    return 0
