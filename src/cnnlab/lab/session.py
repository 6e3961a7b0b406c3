"""What the lab serves: the runs and models it was started with, and what each computes for an image.

Everything here is a plain call that returns JSON-ready data; :mod:`cnnlab.lab.app` puts it on HTTP. An image
arrives as the bytes of a file and is prepared exactly as :func:`cnnlab.training.prediction.predict` prepares
it (the same function does it), so the lab's numbers are ``cnnlab predict``'s.
"""

from __future__ import annotations

import base64
import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from cnnlab.data.preprocess import decode_image
from cnnlab.errors import whole_number
from cnnlab.inspection.feature_maps import (
    MapLayer,
    capture_with_output,
    field_box,
    map_layers,
    one_per_resolution,
)
from cnnlab.inspection.receptive_field import GLOBAL
from cnnlab.training.prediction import Guess, predict, top_guesses
from cnnlab.training.trained import TrainedModel

__all__ = ["LabError", "LabModel", "Sample", "load_models", "samples"]


class LabError(ValueError):
    """A request the lab cannot answer, with the HTTP status that says why (400, 404, 413, 422)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _png(pixels: torch.Tensor) -> bytes:
    """uint8 ``(C, H, W)`` as PNG bytes (gray for one channel)."""
    array = pixels.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array[:, :, :3])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _field(layer: MapLayer) -> dict[str, Any] | None:
    """A layer's receptive field as the page draws it: per axis size, jump and first centre; ``None`` if unknown."""
    if layer.field is GLOBAL:
        return {"global": True}
    if not isinstance(layer.field, tuple):
        return None
    height, width = layer.field
    return {"size": [height.size, width.size], "jump": [height.jump, width.jump], "start": [height.start, width.start]}


class LabModel:
    """One loaded run (or registry model): its layers, and what it computes for an image.

    Inference runs one request at a time per model (the page's requests come from a thread pool): a forward
    pass with hooks on the layers is not something two threads should share.
    """

    def __init__(self, name: str, trained: TrainedModel, source: str) -> None:
        self.name, self.trained, self.source = name, trained, source
        self.layers = [layer for layer in map_layers(trained.model, trained.input_size) if layer.has_maps]
        self.by_name = {layer.name: layer for layer in self.layers}
        self.default_layers = [layer.name for layer in one_per_resolution(self.layers)]
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        """``GET /api/models``: what the page needs to draw this model's controls."""
        trained = self.trained
        return {
            "name": self.name,
            "label": trained.label,
            "source": self.source,
            "input_shape": list(trained.input_size),
            "classes": list(trained.classes),
            "gray": trained.preprocessing.gray,
            "digits": trained.preprocessing.digit_layout is not None,
            "random_weights": trained.random_weights,
            "default_layers": self.default_layers,
            "layers": [
                {
                    "name": layer.name,
                    "type": layer.type,
                    "output_shape": list(layer.output_shape),
                    "params": layer.params,
                    "macs": layer.macs,
                    "field": _field(layer),
                    "shown": layer.shown,
                }
                for layer in self.layers
            ],
        }

    def prepare(self, data: bytes) -> torch.Tensor:
        """The upload as the network receives it, uint8 ``(C, H, W)``: decoded, then prepared as ``predict`` does.

        Raises:
            LabError: 400, not an image (or a blank digit) with the reason.
        """
        try:
            return self.trained.preprocessing.image(decode_image(data, name="the upload"), name="the upload")
        except ValueError as error:
            raise LabError(str(error), 400) from None

    def _k(self, k: int) -> int:
        try:
            whole_number("k", k)
        except ValueError as error:
            raise LabError(str(error), 422) from None
        return min(k, self.trained.num_classes)

    def predict(self, data: bytes, k: int = 5) -> dict[str, Any]:
        """``POST /api/predict``: the top ``k`` classes, as :func:`~cnnlab.training.prediction.predict` gives them."""
        k = self._k(k)
        try:
            image = decode_image(data, name="the upload")
            with self._lock:
                (prediction,) = predict(self.trained, image, k=k)  # cnnlab predict's very path
        except ValueError as error:
            raise LabError(str(error).replace("PIL image #0", "the upload"), 400) from None
        return {"model": self.name, "top": _top(prediction.top)}

    def _layers(self, names: Sequence[str] | None) -> list[str]:
        if names is None:
            return self.default_layers
        if list(names) == ["all"]:
            return [layer.name for layer in self.layers if layer.shown]
        unknown = [name for name in names if name not in self.by_name]
        if unknown:
            shown = ", ".join(layer.name for layer in self.layers if layer.shown)
            raise LabError(f"{self.name} has no layer with feature maps called {unknown[0]!r}; it has {shown}", 404)
        return list(names)

    def inspect(self, data: bytes, layers: Sequence[str] | None = None, k: int = 5) -> dict[str, Any]:
        """``POST /api/inspect``: the prediction, the input as the network received it, and the feature maps
        of ``layers`` (default: one layer per map size; ``["all"]``: every layer ``cnnlab show`` offers).

        Each layer's maps are quantised to bytes 0..255 between their lowest and highest value (``low``,
        ``high``), channel by channel, row by row: ``data`` is their base64.
        """
        k, names = self._k(k), self._layers(layers)
        pixels = self.prepare(data)
        trained = self.trained
        with self._lock:
            logits, kept = capture_with_output(trained.model, trained.normalization.apply(pixels[None]), names)
        (guesses,) = top_guesses(trained, trained.probabilities_of(logits), k)
        return {
            "model": self.name,
            "top": _top(guesses),
            "input": {"shape": list(pixels.shape), "png": base64.b64encode(_png(pixels)).decode("ascii")},
            "layers": [_activation(name, kept[name][0]) for name in names],
        }

    def field(self, layer: str, y: int, x: int) -> dict[str, Any]:
        """``GET /api/field``: where unit ``(y, x)`` of ``layer``'s maps looks in the input.

        Raises:
            LabError: 404 for an unknown layer, 422 for a unit outside the map or a layer without a field.
        """
        if layer not in self.by_name:
            self._layers([layer])
        try:
            box = field_box(self.by_name[layer], (y, x), self.trained.input_size[1:])
        except ValueError as error:
            raise LabError(str(error), 422) from None
        return {
            "model": self.name,
            "layer": layer,
            "unit": [y, x],
            "size": list(box.size),
            "centre": list(box.centre),
            "box": [box.top, box.left, box.bottom, box.right],
            "clipped": list(box.clipped),
            "outside": list(box.outside),
        }


def _top(guesses: Sequence[Guess]) -> list[dict[str, Any]]:
    """The classes and their probabilities as the API answers them (``docs/lab-api.md``)."""
    return [{"class": guess.label, "probability": guess.probability} for guess in guesses]


def _activation(name: str, maps: torch.Tensor) -> dict[str, Any]:
    values = maps.float()
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255 if high > low else torch.zeros_like(values)
    quantised = scaled.round().clamp(0, 255).to(torch.uint8).contiguous().numpy()
    return {
        "name": name,
        "shape": list(values.shape),
        "low": low,
        "high": high,
        "data": base64.b64encode(quantised.tobytes()).decode("ascii"),
    }


def load_models(subjects: Sequence[Any]) -> list[LabModel]:
    """A :class:`LabModel` for each run, run directory, checkpoint or model name, named uniquely for the API.

    Raises:
        ValueError: a subject that is neither a run nor a model name (the message suggests close names).
    """
    from cnnlab.subjects import trained_model

    models: list[LabModel] = []
    for what in subjects:
        trained = trained_model(what)
        if trained.checkpoint is None:
            name, source = trained.name, "random weights"
        else:
            folder = trained.checkpoint.parent  # the run's directory
            name, source = folder.name or trained.name, str(os.fspath(trained.checkpoint))
        taken = {model.name for model in models}
        unique, count = name, 1
        while unique in taken:
            count += 1
            unique = f"{name}-{count}"
        models.append(LabModel(unique, trained, source))
    return models


@dataclass(frozen=True)
class Sample:
    """An image that ships with cnnlab's dependencies, to try a model on without a file of one's own."""

    name: str
    label: str
    data: bytes
    media_type: str


def samples() -> list[Sample]:
    """The first mnist5k test digit of each class (PNG, as the dataset holds it) and scikit-learn's photos (JPEG)."""
    from cnnlab.data.samples import SAMPLE_PHOTOS, digit_per_class, sample_digit, sample_photo

    found = []
    for index in digit_per_class():
        pixels, about = sample_digit(index)
        found.append(Sample(f"digit-{index}", about, _png(pixels), "image/png"))
    for photo in SAMPLE_PHOTOS:
        pixels, about = sample_photo(photo)
        image = Image.fromarray(pixels.permute(1, 2, 0).numpy()).resize((320, 320), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        found.append(Sample(photo.removesuffix(".jpg"), about, buffer.getvalue(), "image/jpeg"))
    return found
