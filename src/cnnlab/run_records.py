"""What a run records: one :class:`EpochMetrics` row per epoch (``metrics.csv``) and its :class:`RunSummary`
(``summary.json``), as typed values that read and write themselves.

:class:`~cnnlab.run.Run` owns the files these are written to; ``docs/run-directory.md`` is the written format.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["EpochMetrics", "RunSummary", "blank_if_nan"]


def blank_if_nan(value: float | None) -> float | str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _number_or_none(value: Any) -> float | None:
    if value in ("", None):
        return None
    number = float(value)
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch of training: a row of ``metrics.csv``.

    Attributes:
        epoch: 1 for the first epoch.
        lr: the learning rate at the epoch's last step.
        train_loss, train_top1, train_top5: averaged over the epoch's batches, as they were trained on
            (augmented, in training mode, while the weights changed).
        val_loss, val_top1, val_top5: on the validation split after the epoch (``None``: no validation split).
        images_per_s: training images per second over the epoch.
        seconds: the epoch's wall time, validation included.
        ema_val_loss, ema_val_top1: the moving average of the weights on the validation split (``None``: no
            average kept, or no validation).
    """

    epoch: int
    lr: float
    train_loss: float
    train_top1: float
    train_top5: float
    val_loss: float | None
    val_top1: float | None
    val_top5: float | None
    images_per_s: float
    seconds: float
    ema_val_loss: float | None = None
    ema_val_top1: float | None = None

    @classmethod
    def columns(cls) -> list[str]:
        """The columns of ``metrics.csv``, in order."""
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> EpochMetrics:
        """From a CSV row (strings; empty cells are ``None``) or a checkpoint's history (NaN is ``None``)."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = row.get(item.name)
            number = _number_or_none(raw)
            if item.name == "epoch":
                values[item.name] = int(number or 0)
            elif "val_" in item.name:
                values[item.name] = number
            else:
                values[item.name] = float("nan") if number is None else number
        return cls(**values)


@dataclass(frozen=True)
class RunSummary:
    """What a finished run achieved: ``summary.json``.

    Attributes:
        model, dataset: what was trained on what.
        params: trainable parameters.
        epochs: epochs trained.
        best_epoch: the epoch ``best.pt`` is from (the last one, without a validation split or when the
            validation images were trained on at the end).
        val_top1: the best checkpoint's validation top-1 (``None``: no validation split, or the validation
            images were trained on at the end: ``folded_epochs``).
        test_top1, test_top5, test_loss, test_images: the best checkpoint on the test split, with ``weights``.
        per_class_accuracy: test top-1 of each class, by class name.
        train_seconds: time spent in training steps (validation and start-up excluded).
        images_per_s: training images per second over the run.
        device: where it trained; processes: how many (torchrun).
        notes: what was done to fit the data to the model, and similar remarks.
        run_dir: the run directory.
        finished: when the run finished, ISO 8601 with the UTC offset (older runs: ``""``).
        wall_seconds: the run's wall time from loading its data to the end of the test evaluation, summed
            over its sessions when it was resumed (older runs: ``None``).
        torch_version, cnnlab_version: what it was trained with (older runs: ``""``).
        weights: ``"ema"`` when the results are of the moving average of the weights, else ``"raw"``.
        raw_test_top1: with ``weights="ema"``, the raw weights of the same checkpoint on the test split.
        folded_epochs: the final epochs that trained on the validation images too.
    """

    model: str
    dataset: str
    params: int
    epochs: int
    best_epoch: int
    val_top1: float | None
    test_top1: float
    test_top5: float
    test_loss: float
    test_images: int
    per_class_accuracy: dict[str, float]
    train_seconds: float
    images_per_s: float
    device: str
    processes: int
    notes: list[str] = field(default_factory=list)
    run_dir: str = ""
    finished: str = ""
    wall_seconds: float | None = None
    torch_version: str = ""
    cnnlab_version: str = ""
    weights: str = "raw"
    raw_test_top1: float | None = None
    folded_epochs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        """From ``summary.json``; keys this version does not know are ignored, missing ones are an error."""
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{key: value for key, value in data.items() if key in known})
        except TypeError as error:
            raise ValueError(f"summary.json lacks a field: {error}") from None

    def __str__(self) -> str:
        average = ""
        if self.weights == "ema":
            raw = f", raw weights {self.raw_test_top1:.2%}" if self.raw_test_top1 is not None else ""
            average = f" (moving average of the weights{raw})"
        return (
            f"test accuracy {self.test_top1:.2%} (top-5 {self.test_top5:.2%}) on {self.test_images:,} {self.dataset} "
            f"test images{average}; {self.epochs} epochs in {self.train_seconds:.0f} s"
        )
