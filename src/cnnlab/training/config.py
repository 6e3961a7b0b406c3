"""The training configuration: one frozen dataclass, resolved from a recipe, a config file and flags.

Precedence, lowest first: the model's paper recipe (:mod:`cnnlab.training.recipes`), then a JSON config
file (``-c``), then the command-line flags. The resolved configuration is saved in the run directory as
``config.json`` and in every checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainConfig", "load_config_file"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "multistep", "cosine", "onecycle", "plateau", "exponential")
AUGMENTATIONS = ("shift", "affine", "elastic", "crop", "flip", "pca")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; the defaults are overridden by the model's recipe.

    Attributes:
        model: registry name.
        data: ``mnist5k``, ``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100`` or ``folder:PATH``.
        data_dir: where torchvision's datasets are (or go, with ``download``).
        download: let torchvision fetch a missing dataset.
        epochs: passes over the training split.
        batch_size: images per optimisation step, summed over all processes under torchrun.
        lr: peak learning rate.
        optimizer: one of :data:`OPTIMIZERS`.
        momentum: SGD momentum / RMSProp momentum.
        weight_decay: L2 penalty (decoupled for AdamW).
        schedule: one of :data:`SCHEDULES`; ``step`` divides by ``1/gamma`` every ``step_epochs`` epochs,
            ``multistep`` at ``milestones``, ``exponential`` by ``gamma`` every ``step_epochs`` epochs,
            ``plateau`` when the validation accuracy stops improving for ``patience`` epochs.
        step_epochs, milestones, gamma, patience: the schedule's parameters (epochs and factors).
        warmup_epochs: linear warm-up from ``lr / 10`` (may be fractional).
        rmsprop_alpha, rmsprop_eps: RMSProp's decay and epsilon (Szegedy et al. 2016 use 0.9 and 1.0).
        grad_clip: clip the gradient norm at this value (0: off).
        label_smoothing: epsilon of label smoothing (Szegedy et al. 2016, Sec. 7).
        logit_temperature: divide the logits by this before the softmax (for RBF outputs, see the lenet5 recipe).
        val_fraction: share of the training split held out for validation (model selection, plateau).
        augment: batched augmentations, in order: ``shift``, ``affine``, ``elastic`` (digits), ``crop``, ``flip``,
            ``pca``.
        crop_padding: pixels of padding for ``shift``/``crop``.
        normalization: ``dataset`` (per-channel mean/std of the training split) or ``lenet`` (LeNet-5's -0.1/1.175).
        amp: mixed precision (bfloat16 on CPU, float16 with loss scaling on CUDA).
        channels_last: NHWC memory format (faster convolutions on many devices).
        compile: ``torch.compile`` the model.
        seed: seeds data order, augmentation and initialisation.
        deterministic: deterministic kernels, for bit-exact reruns and resumes.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        threads: intra-op CPU threads (0: PyTorch's default, one per core). With fewer threads than cores,
            the next batches are made in a background thread on the spare core.
        workers: data-loading processes for image folders.
        output: run directory (default: ``runs/<model>-<data>-<time>``).
        model_args: extra builder options (e.g. ``{"aux_logits": true}``).
        recipe: where the defaults came from, for the record.
    """

    model: str
    data: str = "mnist5k"
    data_dir: str | None = None
    download: bool = False
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    step_epochs: int = 30
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    patience: int = 5
    warmup_epochs: float = 0.0
    rmsprop_alpha: float = 0.9
    rmsprop_eps: float = 1.0
    grad_clip: float = 0.0
    label_smoothing: float = 0.0
    logit_temperature: float = 1.0
    val_fraction: float = 0.1
    augment: tuple[str, ...] = ()
    crop_padding: int = 4
    normalization: str = "dataset"
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    threads: int = 0
    workers: int = 2
    output: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    recipe: str = ""

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
            (self.lr > 0, f"learning rate must be positive, got {self.lr}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"),
            (self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (0 <= self.label_smoothing < 1, f"label smoothing must be in [0, 1), got {self.label_smoothing}"),
            (self.logit_temperature > 0, f"logit temperature must be positive, got {self.logit_temperature}"),
            (0 <= self.val_fraction < 1, f"validation fraction must be in [0, 1), got {self.val_fraction}"),
            (self.warmup_epochs >= 0, f"warm-up epochs must be >= 0, got {self.warmup_epochs}"),
            (self.grad_clip >= 0, f"gradient clipping must be >= 0, got {self.grad_clip}"),
            (self.normalization in ("dataset", "lenet"), f"normalization is dataset or lenet: {self.normalization!r}"),
            (self.workers >= 0, f"workers must be >= 0, got {self.workers}"),
            (self.threads >= 0, f"threads must be >= 0, got {self.threads}"),
            (0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma}"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        unknown = [a for a in self.augment if a not in AUGMENTATIONS]
        if unknown:
            raise ValueError(f"unknown augmentation {', '.join(unknown)}; expected some of {', '.join(AUGMENTATIONS)}")

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["milestones"], data["augment"] = list(self.milestones), list(self.augment)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a (JSON) dictionary; unknown keys are an error that names them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        for key in ("milestones", "augment"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The key/value pairs of a JSON config file (``--print-config`` writes one)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config file {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a JSON object of settings")
    return data
