"""A model ready to use: its weights from a checkpoint (or a seeded initialisation) and its preprocessing.

Evaluation, prediction, export and the pictures must see images exactly as training did. A checkpoint
remembers what that takes: the class names, the input size ``[C, H, W]`` the model was trained on, the
normalisation ``(pixel / 255 - mean) / std`` and the run's configuration (dataset, split seed, logit
temperature). :class:`~cnnlab.data.preprocess.Preprocessing` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cnnlab.checkpoint import load_checkpoint
from cnnlab.data.facts import IMAGENET_MEAN, IMAGENET_STD
from cnnlab.data.loader import Normalization
from cnnlab.data.preprocess import Preprocessing
from cnnlab.models import ImageClassifier, create_model, get_spec
from cnnlab.training.config import TrainConfig

__all__ = ["WEIGHTS", "TrainedModel", "load_trained_model", "untrained_model"]


@dataclass(frozen=True)
class TrainedModel:
    """A model in eval mode with everything needed to feed it as it was trained.

    Attributes:
        model: the network, in eval mode, on the CPU.
        name: its registry name.
        checkpoint: the file it was read from (``None``: freshly initialised weights).
        config: the run's training configuration (for fresh weights: the recipe, as a stand-in).
        classes: class names, by output index.
        input_size: ``(C, H, W)`` the model was trained on.
        normalization: what turns uint8 pixels into the model's input.
        epoch: epochs trained when the checkpoint was written.
        weights: ``"ema"`` for the moving average of the weights (``model_ema``), else ``"raw"``.
    """

    model: ImageClassifier
    name: str
    checkpoint: Path | None
    config: TrainConfig
    classes: tuple[str, ...]
    input_size: tuple[int, int, int]
    normalization: Normalization
    epoch: int = 0
    weights: str = "raw"

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def random_weights(self) -> bool:
        """Whether the weights are a fresh (seeded) initialisation rather than a run's."""
        return self.checkpoint is None

    @property
    def logit_temperature(self) -> float:
        """Probabilities are ``softmax(logits / T)``: the temperature the model was trained at."""
        return self.config.logit_temperature

    @property
    def preprocessing(self) -> Preprocessing:
        """How an image becomes this model's input, as the training images did."""
        return Preprocessing(self.config.data, self.input_size, self.normalization)

    @property
    def label(self) -> str:
        """``googlenet, random weights (untrained)`` or ``lenet5 trained 30 epochs on mnist5k (run/best.pt)``."""
        if self.checkpoint is None:
            return f"{self.name}, random weights (untrained)"
        epochs = f" {self.epoch} epoch{'s' if self.epoch != 1 else ''}" if self.epoch else ""
        where = f"{self.checkpoint.parent.name}/{self.checkpoint.name}"
        average = ", moving average of the weights" if self.weights == "ema" else ""
        return f"{self.name} trained{epochs} on {self.config.data} ({where}{average})"

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """``softmax(logits / T)`` for uint8 images ``(N, C, H, W)`` already fitted to :attr:`input_size`."""
        return self.probabilities_of(self.model(self.normalization.apply(images)))

    def probabilities_of(self, logits: torch.Tensor) -> torch.Tensor:
        """``softmax(logits / T)`` of logits ``(N, classes)`` this model computed: the one place that says so."""
        return torch.softmax(logits.float() / self.logit_temperature, dim=1)

    def metadata(self) -> dict[str, Any]:
        """What another runtime needs to feed the model and read its output (written beside an export)."""
        return {
            "model": self.name,
            "classes": list(self.classes),
            **self.preprocessing.to_dict(),
            "logit_temperature": self.logit_temperature,
            "probabilities": "softmax(logits / logit_temperature)",
        }


_REQUIRED_KEYS = ("model", "config", "model_state", "classes", "input_size", "normalization")


WEIGHTS = ("auto", "ema", "raw")


def _state_dict(state: dict[str, Any], weights: str, checkpoint: Path) -> tuple[dict[str, Any], str]:
    """The weights to load and which they are: ``auto`` is the average when the run kept one (its results are)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    average = state.get("ema")
    if weights == "ema" and average is None:
        raise ValueError(f"{checkpoint} has no moving average of the weights (the run did not keep one: model_ema)")
    if weights != "raw" and average is not None:
        if not isinstance(average, dict) or "weights" not in average:
            raise ValueError(f"{checkpoint} has a damaged moving average of the weights")
        return average["weights"], "ema"
    return state["model_state"], "raw"


def load_trained_model(checkpoint: str | Path, weights: str = "auto") -> TrainedModel:
    """Rebuild the model of a checkpoint, with its weights, in eval mode.

    Args:
        checkpoint: a checkpoint file of a training run.
        weights: ``auto`` (the run's results: the moving average when the run kept one, ``model_ema``), ``ema``
            or ``raw`` (the weights as trained).

    Raises:
        ValueError: missing, corrupt or foreign file; a model this cnnlab does not have; weights that do
            not fit the model; ``ema`` weights that the checkpoint does not have.
    """
    checkpoint = Path(checkpoint)
    try:
        state = load_checkpoint(checkpoint)
    except ValueError:
        raise
    except Exception as error:  # torch's weights-only unpickler raises KeyError, IndexError ... on some junk
        raise ValueError(f"{checkpoint} is corrupt or not a checkpoint ({type(error).__name__}: {error})") from None
    missing = [key for key in _REQUIRED_KEYS if key not in state]
    if missing:
        raise ValueError(f"{checkpoint} lacks {', '.join(missing)}: not a checkpoint of a cnnlab training run")
    name = state["model"]
    try:
        get_spec(name)
    except ValueError as error:
        raise ValueError(f"{checkpoint} holds a model this cnnlab does not have: {error}") from None
    try:
        config = TrainConfig.saved(state["config"])
        classes = tuple(str(c) for c in state["classes"])
        channels, height, width = (int(v) for v in state["input_size"])
        normalization = Normalization(tuple(state["normalization"]["mean"]), tuple(state["normalization"]["std"]))
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{checkpoint} has a damaged description of its run ({error})") from None
    # The checkpoint's classes and channels are what the weights were trained with, whether the run chose the
    # channels in its model options or took the model's default.
    model = create_model(name, **{**config.model_args, "num_classes": len(classes), "in_channels": channels})
    chosen, kind = _state_dict(state, weights, checkpoint)
    try:
        model.load_state_dict(chosen)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise ValueError(f"{checkpoint}: the weights do not fit {name} ({first})") from None
    model.eval()
    epoch = int(state.get("epoch", 0))
    size = (channels, height, width)
    return TrainedModel(model, name, checkpoint, config, classes, size, normalization, epoch, kind)


def untrained_model(name: str, seed: int = 0) -> TrainedModel:
    """A registry model with seeded random weights and a stand-in preprocessing, to look inside before training.

    Gray models are fed as LeNet-5 was (MNIST's layout and normalisation), colour ones as ImageNet models are
    (ImageNet's mean and deviation). Seeded, so that two pictures of the same model agree.

    Raises:
        ValueError: an unknown model (close names are suggested).
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = create_model(name).eval()
    size = model.spec.input_size
    gray = size[0] == 1
    # The config only steers how an image is fitted: digits the MNIST way for gray models.
    config = TrainConfig(model=name, data="mnist5k" if gray else "photos")
    normalization = Normalization.lenet() if gray else Normalization(IMAGENET_MEAN, IMAGENET_STD)
    classes = tuple(str(i) for i in range(model.num_classes))
    return TrainedModel(model, name, None, config, classes, size, normalization)
