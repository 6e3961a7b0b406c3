"""The training configuration: one frozen dataclass, resolved from a recipe, a config file and settings.

Precedence, lowest first: the model's paper recipe (beside the model, in its spec), then a JSON config
file, then the settings given to :func:`cnnlab.train` (or the command line's flags). The resolved
configuration is saved in the run directory and in every checkpoint.

Every setting is defined here once: its field, its type and default, and in :data:`RULES` what values it
takes. The command line builds its flags' checks and choices from these tables. Imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from cnnlab.data.facts import AUGMENTATION, BUNDLED_DATASETS
from cnnlab.errors import SettingError, expected_whole_number, is_whole_number

__all__ = [
    "AUGMENTATIONS",
    "NORMALIZATIONS",
    "OPTIMIZERS",
    "RULES",
    "SCHEDULES",
    "TrainConfig",
    "load_config_file",
    "resolve_config",
    "setting_problem",
]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "multistep", "cosine", "onecycle", "plateau", "exponential")
AUGMENTATIONS = ("shift", "affine", "elastic", "crop", "flip", "pca")
NORMALIZATIONS = ("dataset", "lenet")


def _finite(value: float) -> bool:
    return math.isfinite(value)


Rule = tuple[Callable[[Any], bool], str]


def _whole(minimum: int, note: str = "") -> Rule:
    """A whole number >= ``minimum`` (the field's type says it is whole), worded as everywhere in cnnlab."""
    return (lambda v: v >= minimum, expected_whole_number(minimum) + (f" ({note})" if note else ""))


# What each setting accepts, as "expected ..., got ..." says it. Non-finite numbers (nan, inf) are refused
# everywhere: no setting means anything with them.
RULES: dict[str, Rule] = {
    "epochs": _whole(1),
    "batch_size": _whole(1),
    "lr": (lambda v: v > 0, "a positive learning rate"),
    "optimizer": (lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    "momentum": (lambda v: 0 <= v < 1, "a momentum in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, "a weight decay >= 0"),
    "schedule": (lambda v: v in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
    "step_epochs": _whole(1),
    "milestones": (lambda v: all(m >= 1 for m in v), "positive epoch numbers"),
    "gamma": (lambda v: 0 < v <= 1, "a factor in (0, 1]"),
    "patience": _whole(0),
    "warmup_epochs": (lambda v: v >= 0, "a number of epochs >= 0"),
    "rmsprop_alpha": (lambda v: 0 <= v < 1, "a decay in [0, 1)"),
    "rmsprop_eps": (lambda v: v > 0, "a positive epsilon"),
    "grad_clip": (lambda v: v >= 0, "a gradient norm >= 0 (0: off)"),
    "label_smoothing": (lambda v: 0 <= v < 1, "a smoothing in [0, 1)"),
    "model_ema_decay": (lambda v: 0 <= v < 1, "a decay in [0, 1)"),
    "fold_val_epochs": _whole(0),
    "augment_off_epochs": _whole(0),
    "logit_temperature": (lambda v: v > 0, "a positive temperature"),
    "val_fraction": (lambda v: 0 <= v < 1, "a fraction in [0, 1)"),
    "train_images": _whole(0, "0: all"),
    "augment": (lambda v: all(a in AUGMENTATIONS for a in v), f"some of {', '.join(AUGMENTATIONS)}"),
    "crop_padding": _whole(0),
    "elastic_alpha": (lambda v: v >= 0, "a displacement in pixels >= 0"),
    "elastic_sigma": (lambda v: v > 0, "a positive width in pixels"),
    "normalization": (lambda v: v in NORMALIZATIONS, f"one of {', '.join(NORMALIZATIONS)}"),
    "seed": _whole(0),
    "device": (lambda v: bool(v), "auto, cpu, cuda or cuda:N"),
    "threads": _whole(0, "0: one per core"),
    "workers": _whole(0),
    "model": (lambda v: bool(v), "a model name"),
    "data": (lambda v: bool(v), "a dataset name"),
}  # fmt: skip


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
        model_ema: keep an exponential moving average of the weights (:mod:`cnnlab.training.ema`), validated,
            checkpointed and tested beside the raw weights; the run's best checkpoint is chosen by, and its
            results are of, the average.
        model_ema_decay: the average's decay per step (timm's ``--model-ema-decay``).
        val_fraction: share of the training split held out for validation (model selection, plateau).
        fold_val_epochs: train on the validation images too for the last N epochs, a protocol fixed before
            training: the epochs before are validated as usual, these are not, and the run's result is its final
            weights (0: never; at most all epochs but the first, so that one is validated).
        train_images: train on only this many of the remaining training images, as equal a number of each class
            as there are, drawn with the seed (0: all); for learning curves and small-data experiments.
        augment: batched augmentations, in order: ``shift``, ``affine``, ``elastic`` (digits), ``crop``, ``flip``,
            ``pca``.
        augment_off_epochs: the last N epochs train on the images as they are, without ``augment`` (as YOLOv8's
            ``close_mosaic`` and timm's ``mixup_off_epoch`` end training on undistorted images); in-memory
            datasets only (0: augment every epoch).
        crop_padding: pixels of padding for ``shift``/``crop``.
        elastic_alpha, elastic_sigma: the ``elastic`` distortion's scale and smoothness in pixels (Simard et al.
            2003 use 34 and 4 for 28x28 digits): how far, and how smoothly, the pixels move.
        normalization: ``dataset`` (per-channel mean/std of the training split) or ``lenet`` (LeNet-5's -0.1/1.175).
        amp: mixed precision (bfloat16 on CPU, float16 with loss scaling on CUDA).
        channels_last: NHWC memory format (faster convolutions on many devices).
        compile: ``torch.compile`` the model.
        seed: seeds data order, augmentation and initialisation.
        deterministic: deterministic kernels, for bit-exact reruns and resumes.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        threads: intra-op CPU threads for the run (default 1; 0: PyTorch's default, one per core, which was
            the default before 2026-12-06). The lab's networks are small: one thread is at most about a fifth
            slower on an idle machine and many times faster on a busy one (numbers at the field). With fewer
            threads than cores, the next batches are made in a background thread on the spare core.
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
    model_ema: bool = False
    model_ema_decay: float = 0.999
    val_fraction: float = 0.1
    fold_val_epochs: int = 0
    train_images: int = 0
    augment: tuple[str, ...] = ()
    augment_off_epochs: int = 0
    crop_padding: int = AUGMENTATION.crop_padding
    elastic_alpha: float = AUGMENTATION.elastic.alpha
    elastic_sigma: float = AUGMENTATION.elastic.sigma
    normalization: str = "dataset"
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    # One thread, measured on the 2-core machine (2026-12-06), images/s of `cnnlab train plain20 --data digits
    # --epochs 2` (each epoch) and `cnnlab train lenet5 --epochs 1`, --threads 1 against 2. Load under 2, two
    # runs each: plain20 3,200-4,600 against 4,100-5,100, lenet5 6,200-6,500 against 3,800-5,300. Under other
    # engineers' work (load 2.5-7.5), three runs each: plain20 1,400-3,100 against 56-600, lenet5 780-1,200
    # against 87-180 (5-20x slower with two). With two busy loops added: plain20 670-760 against 18-22 (30x).
    threads: int = 1
    workers: int = 2
    output: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    recipe: str = ""

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            problem = setting_problem(item.name, value)
            if problem is not None:
                raise SettingError(f"<{item.name}>: {problem}")
            object.__setattr__(self, item.name, _coerce(item.type, value))

    def replace(self, **changes: Any) -> TrainConfig:
        unknown = sorted(set(changes) - _FIELD_NAMES)
        if unknown:
            raise _unknown_settings(unknown)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["milestones"], data["augment"] = list(self.milestones), list(self.augment)
        return data

    @property
    def folded_epochs(self) -> int:
        """How many final epochs train on the validation images too (:attr:`fold_val_epochs`, at most all but one)."""
        if not self.val_fraction:
            return 0
        return min(self.fold_val_epochs, self.epochs - 1)

    def unused_settings(self) -> frozenset[str]:
        """The settings that change nothing in this configuration, given the others.

        RMSProp's constants without RMSProp, momentum with Adam, a schedule's parameters under another
        schedule, the crop padding without shifts or crops, where torchvision keeps its datasets for the
        bundled ones, data-loading processes for data held in memory, and empty builder options.
        """
        schedule_uses = {
            "step_epochs": ("step", "exponential"),
            "milestones": ("multistep",),
            "gamma": ("step", "multistep", "exponential", "plateau"),
            "patience": ("plateau",),
        }
        unused = {name for name, schedules in schedule_uses.items() if self.schedule not in schedules}
        if self.optimizer != "rmsprop":
            unused |= {"rmsprop_alpha", "rmsprop_eps"}
        if self.optimizer in ("adam", "adamw"):
            unused.add("momentum")
        if not {"shift", "crop"} & set(self.augment):
            unused.add("crop_padding")
        if "elastic" not in self.augment:
            unused |= {"elastic_alpha", "elastic_sigma"}
        if not self.augment:
            unused.add("augment_off_epochs")
        if self.data in BUNDLED_DATASETS:
            unused |= {"data_dir", "download"}
        if not self.data.startswith("folder:"):
            unused.add("workers")
        if not self.model_args:
            unused.add("model_args")
        if not self.model_ema:
            unused.add("model_ema_decay")
        if not self.val_fraction:
            unused.add("fold_val_epochs")
        return frozenset(unused)

    def used_settings(self) -> dict[str, Any]:
        """:meth:`to_dict` without the :meth:`unused_settings`: what this run's training depended on."""
        unused = self.unused_settings()
        return {key: value for key, value in self.to_dict().items() if key not in unused}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a (JSON) dictionary; unknown keys are an error that names them."""
        if not isinstance(data, dict):
            raise TypeError(f"data: expected a dict of settings, got {data!r}")
        unknown = sorted(set(data) - _FIELD_NAMES)
        if unknown:
            raise _unknown_settings(unknown)
        return cls(**data)

    @classmethod
    def saved(cls, data: dict[str, Any]) -> TrainConfig:
        """A run's configuration as its ``config.json`` or checkpoint holds it.

        Every field is there but those added since the run: a run from before ``threads`` existed ran with
        PyTorch's default, one thread per core (``threads=0``), and reads back so.
        """
        return cls.from_dict({"threads": 0, **data})


_FIELD_NAMES = frozenset(f.name for f in fields(TrainConfig))
_FIELD_TYPES = {f.name: str(f.type) for f in fields(TrainConfig)}


def _unknown_settings(names: list[str]) -> SettingError:
    import difflib

    close = difflib.get_close_matches(names[0], _FIELD_NAMES, n=1)
    hint = f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(sorted(_FIELD_NAMES))}"
    return SettingError(f"unknown setting{'s' if len(names) > 1 else ''} {', '.join(names)}{hint}")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)  # NumPy's numbers too


def _type_problem(kind: str, value: Any) -> str | None:
    """Whether ``value`` fits the field type ``kind`` (as written in the dataclass), else what was expected."""
    if kind == "int":
        ok, expected = is_whole_number(value), "a whole number"
    elif kind == "float":
        ok, expected = _is_number(value) and _finite(value), "a finite number"
    elif kind == "bool":
        ok, expected = isinstance(value, bool), "true or false"
    elif kind == "str":
        ok, expected = isinstance(value, str), "a string"
    elif kind == "str | None":  # the paths (output, data_dir): a pathlib.Path too
        ok, expected = value is None or isinstance(value, str | os.PathLike), "a path (a str or a pathlib.Path)"
    elif kind == "tuple[int, ...]":
        ok = isinstance(value, list | tuple) and all(is_whole_number(v) for v in value)
        expected = "a list of whole numbers"
    elif kind == "tuple[str, ...]":
        ok, expected = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value), "a list of names"
    elif kind == "dict[str, Any]":
        ok, expected = isinstance(value, dict) and all(isinstance(k, str) for k in value), "an object of settings"
    else:  # a field type this function does not know: a mistake here, not the user's
        raise TypeError(f"TrainConfig has a field of type {kind} that setting_problem cannot check")
    return None if ok else f"expected {expected}, got {value!r}"


def setting_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the setting ``name`` (``"expected ..., got ..."``), or ``None``.

    Raises:
        SettingError: ``name`` is not a setting.
    """
    if name not in _FIELD_NAMES:
        raise _unknown_settings([name])
    kind, rule = _FIELD_TYPES[name], RULES.get(name)
    value = _one_as_list(kind, value)
    problem = _type_problem(kind, value)
    whole = kind == "int" and rule is not None  # its rule says which whole numbers, for 2.5 or "ten" too
    if problem is not None and not whole:
        return problem
    if rule is not None and (problem is not None or not rule[0](value)):
        return f"expected {rule[1]}, got {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    """A value as the user wrote it: ``shift, rotate`` for a list, ``'sgdd'`` for a string."""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "nothing"
    return repr(value)


def _one_as_list(kind: str, value: Any) -> Any:
    """One item where a list is meant is a list of one: ``augment="shift"`` (never its letters), ``milestones=30``."""
    one = isinstance(value, str) if kind == "tuple[str, ...]" else is_whole_number(value)
    return (value,) if kind.startswith("tuple") and one else value


def _coerce(kind: str, value: Any) -> Any:
    """JSON's lists as tuples, whole numbers as floats where a float is meant, NumPy's numbers as Python's and paths
    as strings (so that the configuration is saved as JSON and compares equal to the same one written otherwise)."""
    value = _one_as_list(kind, value)
    if kind == "str | None" and value is not None:
        return os.fspath(value)
    if kind == "tuple[int, ...]":
        return tuple(int(v) for v in value)
    if kind.startswith("tuple"):
        return tuple(value)
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    return value


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a JSON config file (a resolved configuration, as the run directory keeps it, is one).

    Raises:
        ValueError: a missing or unreadable file, not a JSON object, an unknown setting or a bad value (the
            message names the file and the key).
    """
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"config file {path} is a directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config file {path} is not valid JSON: {error}") from None
    except OSError as error:
        raise ValueError(f"config file {path} cannot be read: {error.strerror or error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a JSON object of settings")
    for key, value in data.items():
        try:
            problem = setting_problem(key, value)
        except SettingError as error:
            raise ValueError(f"config file {path}: {error}") from None
        if problem is not None:
            raise ValueError(f"config file {path}: {key}: {problem}")
    return data


def resolve_config(model: str, file_settings: dict[str, Any] | None = None, **settings: Any) -> TrainConfig:
    """The model's recipe, overridden by a config file's settings, overridden by ``settings`` (``None``: not given).

    The recipe is the model's spec's (:attr:`cnnlab.models.ModelSpec.recipe`); one without a ``recipe`` name of its
    own is recorded under the model's family.

    Raises:
        ValueError: an unknown model (close names are suggested), an unknown setting or a bad value.
    """
    from cnnlab.models import get_spec  # here, not above: the models import torch, this module nothing heavy

    spec = get_spec(model)
    values = {"recipe": spec.family, **spec.recipe, **(file_settings or {})}
    values.update({key: value for key, value in settings.items() if value is not None})
    values["model"] = model
    return TrainConfig.from_dict(values)
