"""What a picture is of: a trained run (or checkpoint) or a registry model with random weights, and its image.

``cnnlab show`` takes either: a run brings its weights and the preprocessing it was trained with; a model
name brings freshly initialised weights (seeded, so that two pictures agree), which the pictures say.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from cnnlab.models import ImageClassifier
    from cnnlab.training.inference import TrainedModel

__all__ = ["Subject", "display_image", "load_subject"]

# Stand-in preprocessing for untrained models: LeNet-5's for gray ones, ImageNet's usual statistics for colour.
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Subject:
    """A model to look inside, with what is needed to feed it an image.

    Attributes:
        trained: the model and its preprocessing (for a registry model, a stand-in: LeNet-5's
            normalisation for single-channel models, ImageNet's mean and deviation for colour ones).
        random_weights: whether the weights are a fresh initialisation rather than a run's.
    """

    trained: TrainedModel
    random_weights: bool

    @property
    def model(self) -> ImageClassifier:
        return self.trained.model

    @property
    def name(self) -> str:
        return self.trained.name

    @property
    def input_size(self) -> tuple[int, int, int]:
        return self.trained.input_size

    @property
    def label(self) -> str:
        """``googlenet, random weights`` or ``lenet5 trained 30 epochs (runs/x/best.pt)``."""
        if self.random_weights:
            return f"{self.name}, random weights (untrained)"
        epochs = f" {self.trained.epoch} epoch{'s' if self.trained.epoch != 1 else ''}" if self.trained.epoch else ""
        checkpoint = self.trained.checkpoint
        return f"{self.name} trained{epochs} on {self.trained.config.data} ({checkpoint.parent.name}/{checkpoint.name})"

    @property
    def default_out(self) -> Path:
        """``RUN/pictures`` for a run, ``pictures/MODEL`` (in the working directory) for a model name."""
        if self.random_weights:
            return Path("pictures") / self.name
        return self.trained.checkpoint.parent / "pictures"

    def image(self, path: str | None) -> tuple[torch.Tensor, str]:
        """The image to show, uint8 ``(C, H, W)`` fitted to the model, and what it is.

        ``path`` is read and fitted as ``cnnlab predict`` does (digits rebuilt the MNIST way for digit
        models); without one, a bundled MNIST digit for models of digits or gray images, else
        scikit-learn's sample photo of a Chinese temple.

        Raises:
            ValueError: a missing or unreadable image file.
        """
        from cnnlab.data.samples import sample_digit, sample_photo
        from cnnlab.training.inference import fit_image, load_image

        channels, height, width = self.input_size
        if path is not None:
            return load_image(path, self.trained), f"image {path}"
        pixels, about = sample_digit() if self.trained.gray_data else sample_photo()
        return fit_image(pixels, channels, (height, width)), about

    def model_input(self, pixels: torch.Tensor) -> torch.Tensor:
        """A batch of one, normalised as the model was trained (or as its stand-in preprocessing says)."""
        return self.trained.normalization.apply(pixels.unsqueeze(0))


def display_image(pixels: torch.Tensor) -> np.ndarray:
    """uint8 ``(C, H, W)`` as matplotlib shows it: ``(H, W)`` for one channel, ``(H, W, 3)`` for three."""
    array = pixels.cpu().numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def _random_model(name: str) -> TrainedModel:
    from cnnlab.data import Normalization
    from cnnlab.models import create_model
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.inference import TrainedModel

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = create_model(name).eval()
    size = model.spec.input_size
    gray = size[0] == 1
    # The config only steers how an image file is fitted: digits the MNIST way for gray models.
    config = TrainConfig(model=name, data="mnist5k" if gray else "photos")
    normalization = Normalization.lenet() if gray else Normalization(_IMAGENET_MEAN, _IMAGENET_STD)
    classes = tuple(str(i) for i in range(model.num_classes))
    return TrainedModel(model, name, Path(name), config, classes, size, normalization)


def load_subject(text: str) -> Subject:
    """A run directory or checkpoint (trained weights), else a registry model name (random weights).

    Raises:
        ValueError: neither an existing path nor a model name (close model names are suggested).
    """
    from cnnlab.models import list_models
    from cnnlab.training.inference import load_trained_model

    if Path(text).expanduser().exists():
        return Subject(load_trained_model(text), random_weights=False)
    names = list_models()
    if text in names:
        return Subject(_random_model(text), random_weights=True)
    close = difflib.get_close_matches(text, names, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else " (`cnnlab models` lists the models)"
    raise ValueError(f"{text} is neither a run directory, a checkpoint nor a model name{hint}")
