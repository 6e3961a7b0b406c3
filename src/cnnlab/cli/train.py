"""``cnnlab train``: train a model with its paper's recipe, any part of it overridden by flags or a file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cnnlab.cli._parser import non_negative_int, positive_int

DESCRIPTION = """Train a network. Each model brings its paper's recipe (optimiser, schedule, weight decay, batch,
augmentation); a JSON config file (-c) overrides the recipe and flags override both. The resolved
configuration is saved in the run directory with the metrics, checkpoints, curves and a summary.

examples:
  cnnlab train lenet5                               LeNet-5 on the bundled MNIST digits, no download
  cnnlab train resnet20 --data cifar10 --data-dir ~/data --download
  cnnlab train lenet5 --epochs 5 --opt sgd --lr 0.05 --print-config
  cnnlab train --resume runs/lenet5-mnist5k-20261125-101500
  torchrun --nproc_per_node=2 -m cnnlab train lenet5  data-parallel over 2 processes"""


def _float(minimum: float, inclusive: bool, what: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum or (value == minimum and not inclusive) or value != value:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


def _augmentations(text: str) -> tuple[str, ...]:
    return () if text.strip().lower() == "none" else tuple(part.strip() for part in text.split(",") if part.strip())


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("train", help="train a model (LeNet-5 on the bundled digits by default)",
                                   description=DESCRIPTION)  # fmt: skip
    parser.add_argument("model", nargs="?", help="model name (see `cnnlab models`); optional with --resume")
    data = parser.add_argument_group("data")
    data.add_argument("--data", help="mnist5k (default), digits, mnist, fashion-mnist, cifar10, cifar100, folder:PATH")
    data.add_argument("--data-dir", help="where torchvision's datasets are (or go, with --download)")
    data.add_argument("--download", action="store_true", default=None, help="let torchvision download the dataset")
    data.add_argument("--val-fraction", type=_float(0, True, "a fraction in [0, 1)"), help="held out for validation")
    data.add_argument(
        "--augment", type=_augmentations, help="comma list of shift,affine,elastic,crop,flip,pca, or none"
    )
    optim = parser.add_argument_group("optimisation (defaults: the model's recipe)")
    optim.add_argument("--epochs", type=positive_int, help="passes over the training data")
    optim.add_argument("-b", "--batch-size", type=positive_int, help="images per step, over all processes")
    optim.add_argument("--lr", type=_float(0, False, "a positive learning rate"), help="peak learning rate")
    optim.add_argument("--opt", choices=("sgd", "adam", "adamw", "rmsprop"), help="optimiser")
    optim.add_argument("--momentum", type=_float(0, True, "a momentum in [0, 1)"), help="momentum")
    optim.add_argument("--wd", type=_float(0, True, "a weight decay >= 0"), help="weight decay")
    schedules = ("paper", "constant", "step", "multistep", "cosine", "onecycle", "plateau", "exponential")
    optim.add_argument("--sched", choices=schedules, help="learning-rate schedule (paper: the recipe's)")
    optim.add_argument("--warmup-epochs", type=_float(0, True, "a number of epochs >= 0"), help="linear warm-up")
    optim.add_argument("--label-smoothing", type=_float(0, True, "a smoothing in [0, 1)"), help="label smoothing")
    speed = parser.add_argument_group("speed and reproducibility")
    speed.add_argument("--amp", action="store_true", default=None, help="mixed precision")
    speed.add_argument("--channels-last", action="store_true", default=None, help="NHWC memory format")
    speed.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    speed.add_argument("--seed", type=non_negative_int, help="random seed (default 0)")
    speed.add_argument("--deterministic", action="store_true", default=None, help="deterministic kernels")
    speed.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    speed.add_argument("--threads", type=non_negative_int, help="CPU threads for the model (0: one per core)")
    speed.add_argument("--workers", type=non_negative_int, help="data-loading processes for image folders")
    run = parser.add_argument_group("run")
    run.add_argument("--output", help="run directory (default: runs/MODEL-DATA-TIME)")
    run.add_argument("--resume", metavar="DIR", help="continue this run from its last checkpoint")
    run.add_argument("-c", "--config", metavar="FILE", help="JSON settings that override the recipe")
    run.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_command, prog=parser.prog)


FLAG_TO_FIELD = {
    "data": "data", "data_dir": "data_dir", "download": "download", "val_fraction": "val_fraction",
    "augment": "augment", "epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "opt": "optimizer",
    "momentum": "momentum", "wd": "weight_decay", "sched": "schedule", "warmup_epochs": "warmup_epochs",
    "label_smoothing": "label_smoothing", "amp": "amp", "channels_last": "channels_last", "compile": "compile",
    "seed": "seed", "deterministic": "deterministic", "device": "device", "workers": "workers", "output": "output",
    "threads": "threads",
}  # fmt: skip


def run_command(args: argparse.Namespace) -> int:
    from cnnlab.training import TrainingInterrupted, TrainingStopped, resolve_config, train
    from cnnlab.training.config import load_config_file

    if args.resume is not None:
        extra = [flag for flag, field in FLAG_TO_FIELD.items() if getattr(args, flag) is not None and field != "epochs"]
        if extra:
            raise ValueError(
                "--resume continues a run with its own settings; only --epochs may change, "
                f"not --{extra[0].replace('_', '-')}"
            )
        config = None
        if args.model is not None:
            config = resolve_config(args.model)
    else:
        if args.model is None:
            raise ValueError("which model? e.g. `cnnlab train lenet5` (see `cnnlab models`), or --resume DIR")
        flags = {field: getattr(args, flag) for flag, field in FLAG_TO_FIELD.items()}
        if flags["schedule"] == "paper":
            flags["schedule"] = None
        file_settings = load_config_file(args.config) if args.config else None
        config = resolve_config(args.model, file_settings, **flags)
        if args.print_config:
            print(json.dumps(config.to_dict(), indent=2))
            return 0
    try:
        result = train(config, resume=args.resume, epochs=args.epochs if args.resume else None,
                       progress=not args.no_progress and sys.stderr.isatty())  # fmt: skip
    except TrainingStopped as stopped:
        print(f"{args.prog}: {stopped}", file=sys.stderr)
        return 1
    except TrainingInterrupted as interrupted:
        print(f"{args.prog}: {interrupted}", file=sys.stderr)
        return 130
    if result.summary.get("processes", 1) > 1 and int(__import__("os").environ.get("RANK", "0")) != 0:
        return 0
    s = result.summary
    run_dir = result.run_dir
    print(f"test accuracy {s['test_top1']:.2%} (top-5 {s['test_top5']:.2%}) on {s['test_images']:,} {s['dataset']} "
          f"test images; {s['epochs']} epochs in {s['train_seconds']:.0f} s")  # fmt: skip
    print(f"run:        {run_dir}")
    print(f"curves:     {run_dir / 'curves.png'}")
    print(f"checkpoint: {run_dir / 'best.pt'}")
    return 0
