"""Classifying images with a trained model, each prepared as the training images were."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from cnnlab.data.preprocess import ImageSource, describe_source
from cnnlab.errors import SettingError
from cnnlab.training.trained import TrainedModel

__all__ = ["Guess", "Prediction", "predict"]


@dataclass(frozen=True)
class Guess:
    """One class and its probability ``softmax(logits / T)``."""

    label: str
    index: int
    probability: float


@dataclass(frozen=True)
class Prediction:
    """The most likely classes of one image.

    Attributes:
        image: the file, or what the image was (``PIL image #1``, ``Tensor #2``).
        top: the classes, most likely first.
        input: the image as the model received it, uint8 ``(C, H, W)`` (before normalisation).
    """

    image: str
    top: tuple[Guess, ...]
    input: torch.Tensor

    @property
    def label(self) -> str:
        """The most likely class."""
        return self.top[0].label

    @property
    def probability(self) -> float:
        """The most likely class's probability."""
        return self.top[0].probability

    def input_image(self) -> Image.Image:
        """:attr:`input` as a PIL image, to look at or save: what the network saw."""
        pixels = self.input.permute(1, 2, 0).numpy()
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels[:, :, :3]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "predictions": [{"class": g.label, "index": g.index, "probability": g.probability} for g in self.top],
        }

    def __str__(self) -> str:
        width = max(len(guess.label) for guess in self.top)
        return "\n".join([self.image, *(f"  {g.label:<{width}}  {g.probability:7.2%}" for g in self.top)])


def _as_list(images: Sequence[ImageSource] | ImageSource) -> list[ImageSource]:
    """One image or a sequence of them; a single array or tensor is one image, not a batch."""
    if isinstance(images, list | tuple):
        return list(images)
    return [images]  # type: ignore[list-item]


def predict(
    trained: TrainedModel, images: Sequence[ImageSource] | ImageSource, *, k: int = 5, preprocess: str = "auto"
) -> list[Prediction]:
    """The ``k`` most likely classes of each image (all classes when there are fewer).

    Args:
        trained: the model.
        images: image files, PIL images, or pixels as arrays or tensors (one of them, or a list).
        k: classes per image.
        preprocess: one of :data:`~cnnlab.data.facts.PREPROCESSING` (see
            :meth:`~cnnlab.data.preprocess.Preprocessing.image`).

    Raises:
        ValueError: ``k`` below 1, or an image that cannot be read or is not an image (every image is read
            before any is classified).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SettingError(f"<k>: expected a positive whole number, got {k!r}")
    sources = _as_list(images)
    if not sources:
        return []
    preprocessing = trained.preprocessing
    names = [describe_source(source, index) for index, source in enumerate(sources)]
    inputs = torch.stack(
        [preprocessing.image(source, preprocess, name) for source, name in zip(sources, names, strict=True)]
    )
    probabilities = trained.probabilities(inputs)
    top = probabilities.topk(min(k, trained.num_classes), dim=1)
    return [
        Prediction(
            name,
            tuple(Guess(trained.classes[i], i, p) for p, i in zip(values.tolist(), indices.tolist(), strict=True)),
            pixels,
        )
        for name, values, indices, pixels in zip(names, top.values, top.indices, inputs, strict=True)
    ]
