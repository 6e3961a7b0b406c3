"""``cnnlab evaluate``: top-1, top-5, per-class accuracy and a confusion matrix of a trained model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnnlab.training.inference import EvaluationData, TrainedModel
    from cnnlab.training.metrics import Evaluation

DESCRIPTION = """Evaluate a trained model: top-1 and top-5 accuracy, the accuracy of every class, and a confusion
matrix drawn to a PNG next to the run (or in --out). RUN_OR_CKPT is a run directory (its best.pt, else its
last.pt) or a checkpoint file.

By default the model is evaluated on the test split of the dataset it was trained on, fitted and
normalised exactly as in training; --split val and --split train are the parts the run carved with its
own seed and validation fraction. --data evaluates on another dataset with the same number of classes,
fitted to the model the way training fits data (channels converted, small sizes padded, others resized).

examples:
  cnnlab evaluate runs/lenet5-mnist5k-20261125-101500
  cnnlab evaluate runs/lenet5-mnist5k-20261125-101500/last.pt --split val --format json
  cnnlab evaluate runs/lenet5-mnist5k-20261125-101500 --data digits --out /tmp/eval"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix of a run",
                                   description=DESCRIPTION)  # fmt: skip
    parser.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory or a .pt checkpoint")
    data = parser.add_argument_group("data (default: the run's own)")
    data.add_argument("--data", help="another dataset with the same number of classes (mnist5k, digits, mnist, ...)")
    data.add_argument("--data-dir", help="where torchvision's datasets are (default: the run's)")
    data.add_argument("--download", action="store_true", help="let torchvision download --data into --data-dir")
    data.add_argument("--split", choices=("test", "val", "train"), default="test", help="which part of the dataset")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out", metavar="DIR", help="where the confusion matrix goes (default: next to the checkpoint)"
    )
    output.add_argument("--format", choices=("text", "json"), default="text", help="how results are printed")
    parser.set_defaults(handler=run, prog=parser.prog)


def confusion_png_name(dataset: str, split: str) -> str:
    """``confusion-mnist5k-test.png``: one file per dataset and split, so evaluations do not overwrite."""
    safe = dataset.replace(":", "-").replace("/", "_")
    return f"confusion-{safe}-{split}.png"


def _report(trained: TrainedModel, data: EvaluationData, result: Evaluation, png: Path) -> dict[str, Any]:
    totals = result.confusion.sum(dim=1).tolist()
    per_class = [
        {"class": name, "images": int(total), "accuracy": accuracy if total else None}
        for name, total, accuracy in zip(trained.classes, totals, result.per_class_accuracy, strict=True)
    ]
    return {
        "model": trained.name,
        "checkpoint": str(trained.checkpoint),
        "epoch": trained.epoch,
        "dataset": data.dataset,
        "split": data.split,
        "images": result.count,
        "top1": result.top1,
        "top5": result.top5,
        "loss": result.loss,
        "per_class": per_class,
        "confusion": result.confusion.tolist(),
        "confusion_png": str(png),
        "notes": data.notes,
    }


def _print_text(report: dict[str, Any]) -> None:
    from cnnlab.inspection.tables import render_table

    for note in report["notes"]:
        print(f"note: {note}")
    print(f"{report['model']} ({report['checkpoint']}, epoch {report['epoch']}) on {report['images']:,} "
          f"{report['dataset']} {report['split']} images")  # fmt: skip
    print(f"top-1 {report['top1']:.2%}   top-5 {report['top5']:.2%}   loss {report['loss']:.4f}")
    print()
    rows = [
        [row["class"], row["images"], "-" if row["accuracy"] is None else f"{row['accuracy']:.2%}"]
        for row in report["per_class"]
    ]
    print(render_table(["class", "images", "accuracy"], rows))
    print()
    print(f"confusion matrix: {report['confusion_png']}")


def run(args: argparse.Namespace) -> int:
    from cnnlab.training.inference import evaluation_data, load_trained_model
    from cnnlab.training.metrics import evaluate
    from cnnlab.viz.confusion import plot_confusion

    folder = Path(args.out).expanduser() if args.out else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file; it names the directory the confusion matrix goes to")
    trained = load_trained_model(args.run)
    data = evaluation_data(trained, args.data, args.data_dir, args.split, download=args.download)
    result = evaluate(trained.model, data.loader, trained.num_classes, logit_temperature=trained.logit_temperature)
    folder = folder or trained.checkpoint.parent
    title = f"{trained.name} on {data.dataset} {data.split}: top-1 {result.top1:.2%} of {result.count:,}"
    png = folder / confusion_png_name(data.dataset, data.split)
    plot_confusion(result.confusion.tolist(), trained.classes, title, png)
    report = _report(trained, data, result, png)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
    return 0
