"""Evaluating a trained model on a split of its dataset (or another one), prepared as its run prepared it."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from cnnlab.data.datasets import load_dataset
from cnnlab.data.facts import SPLITS, is_folder_name
from cnnlab.data.folder import FolderLoader, evaluation_loader, load_folder_dataset
from cnnlab.data.loader import BatchLoader, fit_to_model
from cnnlab.errors import SettingError
from cnnlab.models import get_spec
from cnnlab.training.data import carve_splits
from cnnlab.training.metrics import evaluate
from cnnlab.training.trained import TrainedModel

__all__ = ["ClassAccuracy", "Evaluation", "EvaluationData", "evaluate_model", "evaluation_data"]


@dataclass(frozen=True)
class EvaluationData:
    """One split of a dataset, fitted to a trained model, as batches."""

    dataset: str
    split: str
    loader: BatchLoader | FolderLoader
    classes: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def _check_classes(trained: TrainedModel, name: str, count: int, what: str) -> None:
    if count != trained.num_classes:
        raise ValueError(
            f"{name} has {count} classes and the {trained.name} of {trained.checkpoint} was trained on "
            f"{trained.num_classes}: evaluate on a {what} with the same classes"
        )


def _no_validation(trained: TrainedModel) -> ValueError:
    return ValueError(f"the run of {trained.checkpoint} held out no validation split (val_fraction 0)")


def evaluation_data(
    trained: TrainedModel,
    data: str | None = None,
    data_dir: str | None = None,
    split: str = "test",
    batch_size: int = 500,
    download: bool = False,
) -> EvaluationData:
    """The ``split`` of the run's dataset (or of ``data``), prepared the way the run prepared it.

    The images are fitted to the model with :func:`cnnlab.data.loader.fit_to_model`, the validation part is
    carved with the run's seed and ``val_fraction`` (so ``train`` is what the run trained on and ``val``
    what it selected the best epoch on), and the normalisation is the checkpoint's.

    Args:
        trained: the model.
        data: another dataset with as many classes (default: the run's).
        data_dir: where torchvision's datasets are (default: the run's).
        split: one of :data:`SPLITS`.
        batch_size: images per batch.
        download: let torchvision fetch a missing dataset.

    Raises:
        ValueError: unknown or missing dataset, a different number of classes, no validation split.
    """
    if split not in SPLITS:
        raise SettingError(f"<split> must be one of {', '.join(SPLITS)}, got {split!r}")
    config = trained.config
    name = data or config.data
    if is_folder_name(name):
        return _folder_evaluation_data(trained, name, split, batch_size)
    dataset = load_dataset(name, data_dir if data_dir is not None else config.data_dir, download)
    _check_classes(trained, name, dataset.num_classes, "dataset")
    notes = []
    if dataset.classes != trained.classes:
        notes.append(f"{name}'s class names differ from the run's; classes are matched by index")
    model = trained.model
    dataset, fit_notes = fit_to_model(
        dataset, model.in_channels, model.accepts_size, get_spec(trained.name).input_size[1:]
    )
    notes.extend(fit_notes)
    if split != "test":
        dataset = carve_splits(config, dataset)
    chosen = {"train": dataset.train, "val": dataset.val, "test": dataset.test}[split]
    if chosen is None:
        raise _no_validation(trained)
    loader = BatchLoader(chosen, batch_size, trained.normalization)
    return EvaluationData(name, split, loader, dataset.classes, [*notes, *_folded_note(trained, split)])


def _folded_note(trained: TrainedModel, split: str) -> list[str]:
    """Say so when the validation images were trained on before this checkpoint (``fold_val_epochs``)."""
    config = trained.config
    if split != "val" or trained.epoch <= config.epochs - config.folded_epochs:
        return []
    return [f"these validation images were trained on in the run's last {config.folded_epochs} epochs"]


def _folder_evaluation_data(trained: TrainedModel, name: str, split: str, batch_size: int) -> EvaluationData:
    """An image folder's split, decoded and resized as the run evaluated it (resize + centre crop)."""
    config = trained.config
    folder = load_folder_dataset(name)
    _check_classes(trained, name, folder.num_classes, "folder")
    if split != "test" and config.val_fraction:
        folder = folder.with_validation(config.val_fraction, seed=config.seed)
    chosen = {"train": folder.train, "val": folder.val, "test": folder.test}[split]
    if chosen is None:
        raise _no_validation(trained)
    channels, height, width = trained.input_size
    loader = evaluation_loader(chosen, channels, (height, width), trained.normalization, batch_size)
    return EvaluationData(name, split, loader, folder.classes, [folder.layout, *_folded_note(trained, split)])


@dataclass(frozen=True)
class ClassAccuracy:
    """One class's share of correct top-1 answers (``None``: the split has no image of it)."""

    name: str
    images: int
    accuracy: float | None


@dataclass(frozen=True)
class Evaluation:
    """A trained model on one split: top-1, top-5, loss, per-class accuracy and the confusion matrix.

    Attributes:
        model: the registry name.
        checkpoint: the checkpoint file (``None``: random weights).
        epoch: epochs trained when the checkpoint was written.
        dataset, split: what was evaluated.
        classes: class names, by index.
        images: how many images.
        top1, top5, loss: the results, with probabilities ``softmax(logits / T)`` as in training.
        confusion: ``confusion[true][predicted]`` counts.
        notes: what was done to fit the data to the model.
    """

    model: str
    checkpoint: str | None
    epoch: int
    dataset: str
    split: str
    classes: tuple[str, ...]
    images: int
    top1: float
    top5: float
    loss: float
    confusion: list[list[int]]
    notes: tuple[str, ...] = ()

    @property
    def per_class(self) -> list[ClassAccuracy]:
        """Each class's accuracy, in class order."""
        rows = []
        for index, (name, counts) in enumerate(zip(self.classes, self.confusion, strict=True)):
            total = sum(counts)
            rows.append(ClassAccuracy(name, total, counts[index] / total if total else None))
        return rows

    @property
    def title(self) -> str:
        """``lenet5 on mnist5k test: top-1 98.80% of 1,000``: the heading of its pictures."""
        return f"{self.model} on {self.dataset} {self.split}: top-1 {self.top1:.2%} of {self.images:,}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "checkpoint": self.checkpoint,
            "epoch": self.epoch,
            "dataset": self.dataset,
            "split": self.split,
            "images": self.images,
            "top1": self.top1,
            "top5": self.top5,
            "loss": self.loss,
            "per_class": [{"class": c.name, "images": c.images, "accuracy": c.accuracy} for c in self.per_class],
            "confusion": self.confusion,
            "notes": list(self.notes),
        }

    def _heading(self) -> str:
        weights = self.checkpoint if self.checkpoint is not None else "random weights"
        return f"{self.model} ({weights}, epoch {self.epoch}) on {self.images:,} {self.dataset} {self.split} images"

    def _class_rows(self) -> list[list[Any]]:
        return [[c.name, c.images, "-" if c.accuracy is None else f"{c.accuracy:.2%}"] for c in self.per_class]

    def __str__(self) -> str:
        from cnnlab.inspection.tables import render_table

        lines = [f"note: {note}" for note in self.notes]
        lines.append(self._heading())
        lines.append(f"top-1 {self.top1:.2%}   top-5 {self.top5:.2%}   loss {self.loss:.4f}")
        lines.append("")
        lines.append(render_table(["class", "images", "accuracy"], self._class_rows()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from cnnlab.inspection.tables import render_table

        notes = "".join(f"<p>note: {html.escape(note)}</p>" for note in self.notes)
        numbers = f"<p>top-1 {self.top1:.2%} &nbsp; top-5 {self.top5:.2%} &nbsp; loss {self.loss:.4f}</p>"
        parts = [f"<div><strong>{html.escape(self._heading())}</strong>", notes, numbers]
        parts.append(render_table(["class", "images", "accuracy"], self._class_rows(), "html"))
        if len(self.classes) <= 20:
            rows = [[name, *counts] for name, counts in zip(self.classes, self.confusion, strict=True)]
            parts.append("<p>Confusion matrix (rows: true class, columns: predicted):</p>")
            parts.append(render_table(["true \\ predicted", *self.classes], rows, "html"))
        parts.append("</div>")
        return "".join(parts)


def evaluate_model(
    trained: TrainedModel,
    *,
    data: str | None = None,
    data_dir: str | None = None,
    split: str = "test",
    download: bool = False,
    progress: bool = False,
) -> Evaluation:
    """Evaluate ``trained`` on ``split`` of its run's dataset (or of ``data``): see :func:`evaluation_data`.

    ``progress`` shows a bar over the batches.
    """
    prepared = evaluation_data(trained, data, data_dir, split, download=download)
    scores = evaluate(
        trained.model, prepared.loader, trained.num_classes, logit_temperature=trained.logit_temperature,
        progress=progress,
    )  # fmt: skip
    return Evaluation(
        model=trained.name,
        checkpoint=str(trained.checkpoint) if trained.checkpoint is not None else None,
        epoch=trained.epoch,
        dataset=prepared.dataset,
        split=prepared.split,
        classes=trained.classes,
        images=scores.count,
        top1=scores.top1,
        top5=scores.top5,
        loss=scores.loss,
        confusion=scores.confusion.tolist(),
        notes=tuple(prepared.notes),
    )
