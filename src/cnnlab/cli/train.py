"""``cnnlab train``: train a model with its paper's recipe, any part of it overridden by flags or a file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from cnnlab.cli._parser import INTERRUPTED
from cnnlab.data.facts import DATASET_NAMES

DESCRIPTION = """Train a network. Each model brings its paper's recipe (optimiser, schedule, weight decay, batch,
augmentation); a JSON config file (-c) overrides the recipe and flags override both. The resolved
configuration is saved in the run directory with the metrics, checkpoints, curves and a summary.

examples:
  cnnlab train lenet5                               LeNet-5 on the bundled MNIST digits, no download
  cnnlab train resnet20 --data cifar10 --data-dir ~/data --download
  cnnlab train lenet5 --epochs 5 --opt sgd --lr 0.05 --print-config
  cnnlab train --resume runs/lenet5-mnist5k-20261125-101500
  torchrun --nproc_per_node=2 -m cnnlab train lenet5  data-parallel over 2 processes"""


def _comma_list(text: str) -> tuple[str, ...]:
    """``shift,affine`` -> ("shift", "affine"); ``none`` -> ()."""
    return () if text.strip().lower() == "none" else tuple(part.strip() for part in text.split(",") if part.strip())


def _setting(name: str) -> Callable[[str], Any]:
    """argparse type for the setting ``name``: parsed as its field's type and checked by the config's own rule."""
    from cnnlab.training.config import TrainConfig, setting_problem

    kind = {f.name: str(f.type) for f in fields(TrainConfig)}[name]
    kinds: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "tuple[str, ...]": _comma_list}
    convert = kinds.get(kind, str)

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = text  # the config's rule words the error
        problem = setting_problem(name, value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


NAME = "train"
HELP = "train a model (LeNet-5 on the bundled digits by default)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cnnlab.training.config import OPTIMIZERS, SCHEDULES

    parser.add_argument("model", nargs="?", help="model name (see `cnnlab models`); optional with --resume")
    # Each flag's destination is the TrainConfig field it sets; its values are checked by the field's rule.
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=_setting("data"), help=f"{', '.join(DATASET_NAMES)} or folder:PATH "
                      "(default: mnist5k)")  # fmt: skip
    data.add_argument("--data-dir", type=_setting("data_dir"), help="where torchvision's datasets are (or go)")
    data.add_argument("--download", action="store_true", default=None, help="let torchvision download the dataset")
    data.add_argument("--val-fraction", type=_setting("val_fraction"), help="held out for validation")
    data.add_argument("--fold-val-epochs", type=_setting("fold_val_epochs"), metavar="N",
                      help="train on the validation images too in the last N epochs (0: never)")  # fmt: skip
    data.add_argument("--train-images", type=_setting("train_images"), metavar="N",
                      help="train on N of the training images, balanced over the classes (default: all)")  # fmt: skip
    data.add_argument(
        "--augment", type=_setting("augment"), help="comma list of shift,affine,elastic,crop,flip,pca, or none"
    )
    data.add_argument("--augment-off-epochs", type=_setting("augment_off_epochs"), metavar="N",
                      help="train the last N epochs without augmentation (0: never)")  # fmt: skip
    data.add_argument("--elastic-alpha", type=_setting("elastic_alpha"), metavar="PIXELS",
                      help="elastic distortion's scale (Simard et al.: 34)")  # fmt: skip
    data.add_argument("--elastic-sigma", type=_setting("elastic_sigma"), metavar="PIXELS",
                      help="elastic distortion's smoothness (Simard et al.: 4)")  # fmt: skip
    optim = parser.add_argument_group("optimisation (defaults: the model's recipe)")
    optim.add_argument("--epochs", type=_setting("epochs"), help="passes over the training data")
    optim.add_argument("-b", "--batch-size", type=_setting("batch_size"), help="images per step, over all processes")
    optim.add_argument("--lr", type=_setting("lr"), help="peak learning rate")
    optim.add_argument("--opt", dest="optimizer", choices=OPTIMIZERS, help="optimiser")
    optim.add_argument("--momentum", type=_setting("momentum"), help="momentum")
    optim.add_argument("--weight-decay", "--wd", type=_setting("weight_decay"), help="weight decay")
    optim.add_argument("--clip-grad", dest="grad_clip", type=_setting("grad_clip"), metavar="NORM",
                       help="clip the gradient norm at NORM (0: off)")  # fmt: skip
    optim.add_argument("--sched", dest="schedule", choices=("paper", *SCHEDULES),
                       help="learning-rate schedule (paper: the recipe's)")  # fmt: skip
    optim.add_argument("--warmup-epochs", type=_setting("warmup_epochs"), help="linear warm-up")
    optim.add_argument("--label-smoothing", type=_setting("label_smoothing"), help="label smoothing")
    optim.add_argument("--model-ema", action=argparse.BooleanOptionalAction, default=None,
                       help="keep a moving average of the weights (it picks the best epoch and is tested)")  # fmt: skip
    optim.add_argument("--model-ema-decay", type=_setting("model_ema_decay"), metavar="DECAY",
                       help="the average's decay per step (e.g. 0.999)")  # fmt: skip
    speed = parser.add_argument_group("speed and reproducibility")
    speed.add_argument("--amp", action="store_true", default=None, help="mixed precision")
    speed.add_argument("--channels-last", action="store_true", default=None, help="NHWC memory format")
    speed.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    speed.add_argument("--seed", type=_setting("seed"), help="random seed (default 0)")
    speed.add_argument("--deterministic", action="store_true", default=None, help="deterministic kernels")
    speed.add_argument("--device", type=_setting("device"), help="auto (default), cpu, cuda, cuda:N")
    speed.add_argument("--threads", type=_setting("threads"),
                       help="CPU threads for the model (default 1: these networks are small, and one thread is "
                            "many times faster on a busy machine; 0: one per core)")  # fmt: skip
    speed.add_argument("-j", "--workers", type=_setting("workers"), help="data-loading processes for image folders")
    run = parser.add_argument_group("run")
    run.add_argument("--output", "--output-dir", type=_setting("output"), metavar="DIR",
                     help="run directory (default: runs/MODEL-DATA-TIME)")  # fmt: skip
    run.add_argument("--resume", metavar="DIR", help="continue this run from its last checkpoint")
    run.add_argument("--overwrite", action="store_true", help="replace the run that --output already holds")
    run.add_argument(
        "-c", "--config", dest="config_file", metavar="FILE", help="JSON settings that override the recipe"
    )
    run.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_command, prog=parser.prog)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (``None``: not given), by TrainConfig field."""
    from cnnlab.training.config import TrainConfig

    settings = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name in vars(args)}
    if settings.get("schedule") == "paper":
        settings["schedule"] = None
    return {key: value for key, value in settings.items() if value is not None and key != "model"}


def _print_config(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from cnnlab.run import Run
    from cnnlab.training.config import load_config_file, resolve_config

    if args.resume is not None:
        config = Run(args.resume).config.replace(output=str(Run(args.resume).path), **settings)
    else:
        file_settings = load_config_file(args.config_file) if args.config_file else None
        config = resolve_config(args.model, file_settings, **settings)
    print(json.dumps(config.to_dict(), indent=2))
    return 0


def _printer(progress: bool) -> Callable[[str], None]:
    """Lines to stdout; through tqdm while its bar is drawn on stderr, so that the bar stays whole."""
    if not progress:
        return print
    from tqdm.auto import tqdm

    return lambda line: tqdm.write(line, file=sys.stdout)


def run_command(args: argparse.Namespace) -> int:
    from cnnlab.run import train
    from cnnlab.training.loop import TrainingInterrupted, TrainingStopped

    if args.model is None and args.resume is None:
        raise ValueError("which model? e.g. `cnnlab train lenet5` (see `cnnlab models`), or --resume DIR")
    settings = _settings(args)
    if args.print_config:
        return _print_config(args, settings)
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        run = train(args.model, config_file=args.config_file, resume=args.resume, progress=progress,
                    log=_printer(progress), overwrite=args.overwrite, **settings)  # fmt: skip
    except TrainingStopped as stopped:
        print(f"{args.prog}: {stopped}", file=sys.stderr)
        return 1
    except TrainingInterrupted as interrupted:
        where = interrupted.run.path if interrupted.run is not None else args.output
        print(f"{args.prog}: {interrupted}; continue with: cnnlab train --resume {where}", file=sys.stderr)
        return INTERRUPTED
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 reports
        return 0
    print(run.summary)
    print(f"run:        {run.path}")
    print(f"curves:     {run.curves_path}")
    print(f"checkpoint: {run.checkpoint_path('best')}")
    return 0
