"""Classifying images with a trained model, each prepared as the training images were."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cnnlab.data.preprocess import ImageSource, describe_source
from cnnlab.errors import SettingError, whole_number
from cnnlab.training.trained import TrainedModel

__all__ = ["Guess", "Prediction", "image_sources", "predict", "top_guesses"]


@dataclass(frozen=True)
class Guess:
    """One class and its probability ``softmax(logits / T)``."""

    label: str
    index: int
    probability: float


@dataclass(frozen=True)
class Prediction:
    """The most likely classes of one image, or why it could not be classified.

    Attributes:
        image: the file, or what the image was (``PIL image #1``, ``Tensor #2``).
        top: the classes, most likely first (empty when ``error``).
        input: the image as the model received it, uint8 ``(C, H, W)`` (before normalisation); ``None`` when
            ``error``.
        error: why the image could not be classified (unreadable, blank, not an image), or ``None``.
    """

    image: str
    top: tuple[Guess, ...]
    input: torch.Tensor | None
    error: str | None = None

    @property
    def label(self) -> str | None:
        """The most likely class (``None`` when the image could not be classified)."""
        return self.top[0].label if self.top else None

    @property
    def probability(self) -> float | None:
        """The most likely class's probability."""
        return self.top[0].probability if self.top else None

    def input_image(self) -> Image.Image:
        """:attr:`input` as a PIL image, to look at or save: what the network saw.

        Raises:
            ValueError: the image could not be classified.
        """
        if self.input is None:
            raise ValueError(f"{self.image} has no input to show: {self.error}")
        pixels = self.input.permute(1, 2, 0).numpy()
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels[:, :, :3]))

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"image": self.image, "error": self.error}
        return {
            "image": self.image,
            "predictions": [{"class": g.label, "index": g.index, "probability": g.probability} for g in self.top],
        }

    def __str__(self) -> str:
        if self.error is not None:
            return f"{self.image}\n  error: {self.error}"
        width = max(len(guess.label) for guess in self.top)
        return "\n".join([self.image, *(f"  {g.label:<{width}}  {g.probability:7.2%}" for g in self.top)])


def top_guesses(trained: TrainedModel, probabilities: torch.Tensor, k: int) -> list[tuple[Guess, ...]]:
    """The ``k`` most likely classes (all, when there are fewer) of each row of ``probabilities``
    (``(N, classes)``, from :meth:`~cnnlab.training.trained.TrainedModel.probabilities`), most likely first."""
    top = probabilities.topk(min(k, trained.num_classes), dim=1)
    return [
        tuple(Guess(trained.classes[i], i, p) for p, i in zip(values, indices, strict=True))
        for values, indices in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    ]


def image_sources(images: Sequence[ImageSource] | ImageSource) -> list[ImageSource]:
    """One image or a sequence of them, with every directory replaced by the image files under it.

    A single array or tensor is one image, not a batch. Directories are searched recursively, files kept by
    torchvision's image extensions (as ``ImageFolder`` does), in sorted order.

    Raises:
        ValueError: a directory without image files.
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS

    listed = list(images) if isinstance(images, list | tuple) else [images]
    sources: list[ImageSource] = []
    for source in listed:
        if isinstance(source, str | Path) and Path(source).expanduser().is_dir():
            folder = Path(source).expanduser()
            found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
            if not found:
                raise ValueError(f"no image files in {folder} (looked for {' '.join(IMG_EXTENSIONS)})")
            sources.extend(found)
        else:
            sources.append(source)
    return sources


BATCH = 256
"""Images classified at once: a directory of thousands is read and classified a batch at a time."""


def predict(
    trained: TrainedModel,
    images: Sequence[ImageSource] | ImageSource,
    *,
    k: int = 5,
    preprocess: str = "auto",
    strict: bool = True,
    progress: bool = False,
) -> list[Prediction]:
    """The ``k`` most likely classes of each image (all classes when there are fewer).

    Args:
        trained: the model.
        images: image files, directories of them, PIL images, or pixels as arrays or tensors (one, or a list).
        k: classes per image.
        preprocess: one of :data:`~cnnlab.data.facts.PREPROCESSING` (see
            :meth:`~cnnlab.data.preprocess.Preprocessing.image`).
        strict: raise on the first image that cannot be classified; otherwise its prediction says why
            (``Prediction.error``) and the others go on.
        progress: show a progress bar over the images.

    Raises:
        SettingError: ``k`` is not a positive whole number, an unknown ``preprocess`` or one the model cannot
            use (whatever ``strict`` says).
        TypeError: ``images`` is ``None``.
        ValueError: a directory without images, or (``strict``) an image that cannot be read or is not an image.
    """
    k = whole_number("k", k)
    if images is None:
        raise TypeError(
            "images: expected image files, directories of them, PIL images, arrays or tensors (one, or a list), "
            "got None"
        )
    sources = image_sources(images)
    names = [describe_source(source, index) for index, source in enumerate(sources)]
    predictions: list[Prediction] = []
    from tqdm.auto import tqdm

    with tqdm(total=len(sources), unit="image", disable=not progress, leave=False) as bar:
        for start in range(0, len(sources), BATCH):
            batch = list(zip(sources[start : start + BATCH], names[start : start + BATCH], strict=True))
            predictions += _predict_batch(trained, batch, k, preprocess, strict)
            bar.update(len(batch))
    return predictions


def _predict_batch(
    trained: TrainedModel, batch: list[tuple[ImageSource, str]], k: int, preprocess: str, strict: bool
) -> list[Prediction]:
    prepared: list[torch.Tensor | str] = []
    for source, name in batch:
        try:
            prepared.append(trained.preprocessing.image(source, preprocess, name))
        except SettingError:  # a wrong setting, the same for every image: said once, whatever ``strict`` says
            raise
        except ValueError as error:
            if strict:
                raise
            prepared.append(" ".join(str(error).split()))
    good = [tensor for tensor in prepared if isinstance(tensor, torch.Tensor)]
    if not good:
        return [Prediction(name, (), None, str(error)) for (_, name), error in zip(batch, prepared, strict=True)]
    ranked = iter(top_guesses(trained, trained.probabilities(torch.stack(good)), k))
    predictions = []
    for (_, name), item in zip(batch, prepared, strict=True):
        if isinstance(item, str):
            predictions.append(Prediction(name, (), None, item))
            continue
        predictions.append(Prediction(name, next(ranked), item))
    return predictions
