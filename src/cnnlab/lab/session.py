"""What the lab serves: the runs and models it was started with, and what each computes for an image.

Everything here is a plain call that returns JSON-ready data; :mod:`cnnlab.lab.app` puts it on HTTP. An image
arrives as the bytes of a file and is prepared exactly as :func:`cnnlab.training.prediction.predict` prepares
it (the same function does it), so the lab's numbers are ``cnnlab predict``'s; an upload over
:data:`DECODED_SIDE` pixels on a side is first reduced to that while it is decoded (see :func:`decode_upload`).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import io
import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from cnnlab.data.preprocess import ImageTooLarge, decode_image
from cnnlab.errors import whole_number
from cnnlab.inspection.feature_maps import (
    MapLayer,
    capture_with_output,
    field_box,
    map_layers,
    one_per_resolution,
)
from cnnlab.inspection.receptive_field import GLOBAL
from cnnlab.inspection.saliency import default_cam_layer, readable_cam_layers
from cnnlab.training.prediction import Guess, predict, top_guesses
from cnnlab.training.trained import TrainedModel

if TYPE_CHECKING:
    from cnnlab.attribution import Saliency
    from cnnlab.publish.program import Program

__all__ = [
    "DECODED_SIDE",
    "MAX_DECODED_PIXELS",
    "MAX_LAYERS",
    "MAX_MAP_VALUES",
    "LabError",
    "LabModel",
    "Sample",
    "decode_upload",
    "load_models",
    "published_page",
    "samples",
]

MAX_DECODED_PIXELS = 4096 * 4096
"""The most pixels the lab decodes of one upload (16.8 megapixels, a 4096x4096 image; a big JPEG counts at the
1/2 to 1/8 scale it is decoded at). :data:`cnnlab.data.preprocess.MAX_PIXELS`, the library's limit against
decompression bombs, is 40 megapixels: decoded as RGBA, that is 160 MB, several times over while an image
is prepared, for each of many requests at once."""

DECODED_SIDE = 1024
"""An upload longer than this on a side is reduced to it while it is decoded: the networks take 32 to 299
pixels, and a digit cropped from a 1024-pixel image still has ten times the pixels it is scaled to."""

DECODING_AT_ONCE = 2
"""Uploads decoded at the same time, whatever the number of requests: the memory of decoding is bounded by
this times what one :data:`MAX_DECODED_PIXELS` image costs (about 130 MB for RGBA)."""

MAX_LAYERS = 256
"""The most layers one ``inspect`` may name (after repeats are dropped); ``all`` is every shown layer."""

MAX_MAP_VALUES = 2**24
"""The most feature-map values one ``inspect`` answers (16.8 million bytes, about 22 MB of JSON)."""

_SALIENCY_FIELDS = ("method", "method_name", "what", "target", "target_label", "probability", "predicted",
                    "predicted_label", "predicted_probability", "layer", "window", "stride", "signed",
                    "seconds")  # fmt: skip
"""What ``POST /api/saliency`` answers of :class:`cnnlab.attribution.Saliency` as it is."""

_decoding = threading.BoundedSemaphore(DECODING_AT_ONCE)


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (gives freed heap memory back to the system), or ``None`` where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_trim = _malloc_trim()


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


def decode_upload(data: bytes) -> Image.Image:
    """An upload's bytes as an image, decoded with bounded memory, as :func:`~cnnlab.data.preprocess.decode_image`
    decodes it, reduced to :data:`DECODED_SIDE` on its longer side.

    At most :data:`DECODING_AT_ONCE` uploads are decoded at a time, none over :data:`MAX_DECODED_PIXELS`, and
    the memory a big one took is given back to the system after (glibc keeps freed memory for the process
    otherwise, and a lab that once decoded four big images at once would hold their gigabytes for good).

    Raises:
        LabError: 413, more pixels than the lab decodes; 400, not an image (the reason in one line).
        TypeError: ``data`` is not bytes.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"the upload: expected the bytes of an image file, got {type(data).__name__}")
    try:
        with _decoding:
            return decode_image(data, name="the upload", max_pixels=MAX_DECODED_PIXELS, max_side=DECODED_SIDE)
    except ImageTooLarge as error:
        raise LabError(f"{error}: make it smaller first", 413) from None
    except ValueError as error:
        raise LabError(str(error), 400) from None
    finally:
        if _trim is not None:
            _trim(0)


class LabModel:
    """One loaded run (or registry model): its layers, and what it computes for an image.

    Inference runs one request at a time per model (the page's requests come from a thread pool): a forward
    pass with hooks on the layers is not something two threads should share.
    """

    def __init__(self, name: str, trained: TrainedModel, source: str) -> None:
        self.name, self.trained, self.source = name, trained, source
        found = map_layers(trained.model, trained.input_size)
        self.layers = [layer for layer in found if layer.has_maps or len(layer.output_shape) == 1]
        self.by_name = {layer.name: layer for layer in self.layers}
        # the layers Grad-CAM reads (maps of 2x2 or more; convolutions, pooling, blocks), for the page's picker
        self.cam_layers = [layer.name for layer in readable_cam_layers(found)]
        chosen = default_cam_layer(found)
        self.cam_layer = None if chosen is None else chosen.name
        self._all_layer_names = {layer.name for layer in found}
        self._twin: torch.nn.Module | None = None  # the random-weights twin, built on the first request that asks
        self._twin_lock = threading.Lock()
        last = self.layers[-1].name if self.layers else None
        self.shown = {layer.name for layer in self.layers if layer.shown or _a_last_step(layer, last)}
        self.default_layers = _default_layers(self.layers, self.shown)
        self._lock = threading.Lock()
        self._explained: dict[str, tuple[str, str | None]] | None = None
        self._program: Program | None = None  # the page's translation of the network, once explained() ran
        self._program_json: dict[str, Any] | None = None
        self.publish_error: str | None = None
        """Why the published page cannot run this network (one line), or ``None``; known once :meth:`explained`
        ran."""

    def explained(self) -> dict[str, tuple[str, str | None]]:
        """Each layer's title and plain sentence, as the published page words them (:mod:`cnnlab.publish.explain`):
        a module's own, a convolution's with its batch norm folded in, a block's its last step's. Where the page
        cannot run the network (:attr:`publish_error` says why), a title of name and type, and no sentence."""
        with self._lock:
            if self._explained is None:
                self._explained = self._explain()
        return self._explained

    def _explain(self) -> dict[str, tuple[str, str | None]]:
        from cnnlab.publish import to_program
        from cnnlab.publish.explain import layer_sentences

        plain: dict[str, tuple[str, str | None]] = {layer.name: (f"{layer.name} · {layer.type}", None)
                                                    for layer in self.layers}  # fmt: skip
        try:
            program = to_program(self.trained.model, self.trained.input_size)
        except ValueError as error:  # UnsupportedLayer: a module the page cannot run
            self.publish_error = " ".join(str(error).split())
            return plain
        self._program = program
        told = layer_sentences(program)
        steps = [(op.name, op.output) for op in program.operations if op.output in told]
        by_module: dict[str, tuple[str, str]] = {}
        for module, tensor in steps:
            by_module.setdefault(module, told[tensor])  # a convolution's is its folded batch norm's
        found: dict[str, tuple[str, str | None]] = {}
        for layer in self.layers:
            if layer.name in told or layer.name in by_module:
                found[layer.name] = told.get(layer.name) or by_module[layer.name]
                continue
            inside = [tensor for module, tensor in steps if module.startswith(f"{layer.name}.")]
            found[layer.name] = (plain[layer.name][0], told[inside[-1]][1] if inside else None)
        return found

    def program(self) -> dict[str, Any]:
        """``GET /api/program``: the network as the published page runs it, :func:`cnnlab.publish.to_program`'s
        ``Program.to_json()`` (operations and float32 weights): the page runs it in the browser (``forward.js``)
        to show a clicked unit's arithmetic (``explain_unit.js``). Made once, on first use.

        Raises:
            LabError: 422, a network the page cannot run (:attr:`publish_error` says why).
        """
        self.explained()
        if self._program is None:
            raise LabError(f"{self.name}: the page cannot run this network in the browser, so the lab shows no "
                           f"arithmetic for its units: {self.publish_error}", 422)  # fmt: skip
        with self._lock:
            if self._program_json is None:
                self._program_json = self._program.to_json()
        return self._program_json

    def describe(self) -> dict[str, Any]:
        """``GET /api/models``: what the page needs to draw this model's controls."""
        trained = self.trained
        explained = self.explained()
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
            "cam_layers": self.cam_layers,
            "cam_layer": self.cam_layer,
            "publish_error": self.publish_error,
            "normalization": {"mean": list(trained.normalization.mean), "std": list(trained.normalization.std)},
            "layers": [
                {
                    "name": layer.name,
                    "type": layer.type,
                    "output_shape": list(layer.output_shape),
                    "params": layer.params,
                    "macs": layer.macs,
                    "field": _field(layer),
                    "shown": layer.name in self.shown,
                    "title": explained[layer.name][0],
                    "sentence": explained[layer.name][1],
                }
                for layer in self.layers
            ],
        }

    def prepare(self, data: bytes, centre: bool = True) -> torch.Tensor:
        """The upload as the network receives it, uint8 ``(C, H, W)``: decoded, then prepared as ``predict`` does
        (``centre=False``: a digit left where it was drawn, :meth:`~cnnlab.data.preprocess.Preprocessing.as_drawn`).

        Raises:
            LabError: 400, not an image (or a blank digit) with the reason; 413, too many pixels.
        """
        image = decode_upload(data)
        preprocessing = self.trained.preprocessing
        try:
            if centre:
                return preprocessing.image(image, name="the upload")
            return preprocessing.as_drawn(image, name="the upload")
        except ValueError as error:
            raise LabError(str(error), 400) from None

    def _k(self, k: int) -> int:
        try:
            whole_number("k", k)
        except ValueError as error:
            raise LabError(str(error), 422) from None
        return min(k, self.trained.num_classes)

    def predict(self, data: bytes, k: int = 5, centre: bool = True) -> dict[str, Any]:
        """``POST /api/predict``: the top ``k`` classes, as :func:`~cnnlab.training.prediction.predict` gives them
        (``centre=False``: of the digit where it was drawn, as :meth:`inspect` gives them)."""
        k = self._k(k)
        if not centre:
            answer = self.inspect(data, [], k, centre=False)
            return {"model": answer["model"], "top": answer["top"]}
        image = decode_upload(data)
        try:
            with self._lock:
                (prediction,) = predict(self.trained, image, k=k)  # cnnlab predict's very path
        except ValueError as error:
            raise LabError(str(error).replace("PIL image #0", "the upload"), 400) from None
        return {"model": self.name, "top": _top(prediction.top)}

    def _layers(self, names: Sequence[str] | None) -> list[str]:
        """The layers asked for, each once, in the order first named; refused if their maps are too many."""
        if names is None:
            return self.default_layers
        if isinstance(names, str) or not all(isinstance(name, str) for name in names):
            raise TypeError(f"layers: expected a list of layer names (strings), got {names!r:.80}")
        names = list(dict.fromkeys(names))  # a name given twice is answered once
        if names == ["all"]:
            names = [layer.name for layer in self.layers if layer.name in self.shown]
        elif len(names) > MAX_LAYERS:
            raise LabError(f"layers: {len(names):,} different names; one request may ask for at most {MAX_LAYERS}",
                           422)  # fmt: skip
        unknown = [name for name in names if name not in self.by_name]
        if unknown:
            shown = ", ".join(layer.name for layer in self.layers if layer.name in self.shown)
            raise LabError(f"{self.name} has no layer with feature maps called {unknown[0]!r}; it has {shown}", 404)
        values = sum(math.prod(self.by_name[name].output_shape) for name in names)
        if values > MAX_MAP_VALUES:
            raise LabError(
                f"the maps of those {len(names)} layers hold {values:,} values; one answer carries at most "
                f"{MAX_MAP_VALUES:,}: ask for fewer layers",
                422,
            )
        return names

    def inspect(
        self, data: bytes, layers: Sequence[str] | None = None, k: int = 5, centre: bool = True
    ) -> dict[str, Any]:
        """``POST /api/inspect``: the prediction, the input as the network received it, and the feature maps
        of ``layers`` (default: one layer per map size; ``["all"]``: every layer ``cnnlab show`` offers; a name
        given twice is answered once; at most :data:`MAX_LAYERS` names and :data:`MAX_MAP_VALUES` values).

        Each layer's maps are quantised to bytes 0..255 between their lowest and highest value (``low``,
        ``high``), channel by channel, row by row: ``data`` is their base64. ``centre=False`` leaves a digit
        where it was drawn (:meth:`prepare`).
        """
        k, names = self._k(k), self._layers(layers)
        pixels = self.prepare(data, centre)
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
        for name, value in (("y", y), ("x", x)):
            try:
                whole_number(name, value, minimum=0)
            except ValueError as error:
                raise LabError(str(error), 422) from None
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
            "outside": [value + 0.0 for value in box.outside],  # no -0.0 (max(-0.0, 0.0) is -0.0)
        }

    def saliency_request(
        self, method: object, target: object = None, layer: object = None
    ) -> tuple[str, int | None, str | None]:
        """A saliency request's method, class index and Grad-CAM layer, checked before any image is read.

        ``target`` is a class index or name (a query's text: ``"7"``, ``"cat"``), ``None`` for the predicted class.

        Raises:
            LabError: 422, an unknown method, a class outside the model's, a layer the method does not read or
                Grad-CAM cannot (maps of 1x1, a vector); 404, no layer of that name.
        """
        from cnnlab.attribution import METHODS

        if method not in METHODS:
            raise LabError(f"method: expected one of {', '.join(METHODS)}, got {method!r:.40}", 422)
        if layer is not None and layer != "":
            if method != "gradcam":
                raise LabError(f"layer: only Grad-CAM (method=gradcam) reads a layer; {method} reads none", 422)
            if layer not in self._all_layer_names:
                raise LabError(f"{self.name} has no layer {layer!r:.60}; Grad-CAM can read "
                               f"{', '.join(self.cam_layers) or 'none of its layers'}", 404)  # fmt: skip
            if layer not in self.cam_layers:
                raise LabError(f"Grad-CAM cannot read {layer} of {self.name} ({_why_not_cam(self.by_name.get(layer))}"
                               f"); it can read {', '.join(self.cam_layers) or 'none of its layers'}", 422)  # fmt: skip
        else:
            layer = None
        return str(method), self._class_index(target), None if layer is None else str(layer)

    def _class_index(self, target: object) -> int | None:
        """A class given by index or name (``"7"`` is the class named 7 where there is one, else index 7)."""
        classes = self.trained.classes
        if target is None or target == "":
            return None
        if isinstance(target, str) and target in classes:
            return classes.index(target)
        index = int(target) if isinstance(target, str) and target.isdecimal() and target.isascii() else target
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(classes):
            return index
        shown = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
        raise LabError(f"target: {self.name} has {len(classes)} classes, 0-{len(classes) - 1} or a name ({shown}); "
                       f"got {target!r:.40}", 422)  # fmt: skip

    def twin(self) -> torch.nn.Module:
        """The same network with random weights, as :func:`cnnlab.saliency`'s ``compare_random`` builds it
        (:func:`cnnlab.attribution.random_twin`): built once, on first use, then kept for every request."""
        from cnnlab.attribution import random_twin

        with self._twin_lock:
            if self._twin is None:
                self._twin = random_twin(self.trained)
        return self._twin

    def saliency(
        self,
        data: bytes,
        method: str = "gradient",
        target: int | str | None = None,
        layer: str | None = None,
        compare_random: bool = False,
        centre: bool = True,
    ) -> dict[str, Any]:
        """``POST /api/saliency``: which pixels of the upload made the network answer ``target`` (default: the
        class it chose), by :func:`cnnlab.saliency`, on exactly the input :meth:`inspect` shows (``centre`` as
        there). ``compare_random``: the same method on the random-weights twin (:meth:`twin`), and the rank
        correlation of the two maps, as ``cnnlab.saliency(..., compare_random=True)`` gives them.

        The map is quantised to bytes as :meth:`inspect`'s maps are; ``signed`` says it may be negative
        (occlusion), to be drawn on a scale centred on 0.

        Raises:
            LabError: as :meth:`saliency_request`; 400 or 413 for the image, as :meth:`prepare`.
        """
        from cnnlab.attribution import saliency as explain

        method, index, layer = self.saliency_request(method, target, layer)
        if not isinstance(compare_random, bool):
            raise TypeError(f"compare_random: expected True or False, got {compare_random!r:.40}")
        pixels = self.prepare(data, centre)
        try:
            with self._lock:
                twin = self.twin() if compare_random else None
                found = explain(self.trained, pixels, method, index, layer, compare_random=compare_random, twin=twin)
        except ValueError as error:  # a network Grad-CAM cannot read (no maps of 2x2 or more)
            raise LabError(" ".join(str(error).split()), 422) from None
        return self._saliency_answer(found, pixels)

    def _saliency_answer(self, found: Saliency, pixels: torch.Tensor) -> dict[str, Any]:
        from cnnlab.attribution import FILL

        answer: dict[str, Any] = {
            "model": self.name,
            **{key: getattr(found, key) for key in _SALIENCY_FIELDS},
            "fill": FILL if found.method == "occlusion" else None,
            "input": {"shape": list(pixels.shape), "png": base64.b64encode(_png(pixels)).decode("ascii")},
            "map": _quantised(torch.from_numpy(found.map)),
            "cam_layers": self.cam_layers,
            "random": None,
        }
        if found.random is not None:
            rho = found.correlation
            answer["random"] = {
                "probability": found.random.probability,
                "predicted_label": found.random.predicted_label,
                "predicted_probability": found.random.predicted_probability,
                "map": _quantised(torch.from_numpy(found.random.map)),
                "correlation": None if rho is None or math.isnan(rho) else rho,
                "correlation_words": found.correlation_words(),
            }
        return answer


def _why_not_cam(layer: MapLayer | None) -> str:
    """Why Grad-CAM cannot read a layer of the network, in a few words."""
    if layer is None or not layer.has_maps:
        return "it outputs no feature maps"
    if min(layer.output_shape[1:]) < 2:
        return f"its maps are {'x'.join(map(str, layer.output_shape[1:]))}: one position says nothing about where"
    if layer.calls != 1:
        return f"it runs {layer.calls} times in one pass"
    return "not a convolution, pooling or block"


def _as_bars(layer: MapLayer) -> bool:
    """A vector, or maps of 1x1: a number per unit, drawn as bars."""
    return len(layer.output_shape) == 1 or tuple(layer.output_shape[1:]) == (1, 1)


def _a_last_step(layer: MapLayer, last: str | None) -> bool:
    """A step at the end of the network the lab shows as bars: called once, with weights (a full connection, an
    RBF output) or pooling (global average pooling), and the network's output."""
    if not _as_bars(layer) or layer.calls != 1:
        return False
    return layer.params > 0 or "pool" in layer.type.lower() or layer.name == last


def _default_layers(layers: Sequence[MapLayer], shown: set[str]) -> list[str]:
    """One layer per map size (:func:`~cnnlab.inspection.feature_maps.one_per_resolution`), then every shown
    layer after the last of those whose units are drawn as bars: the overview goes to the network's output."""
    chosen = [layer.name for layer in one_per_resolution([layer for layer in layers if layer.has_maps])]
    order = [layer.name for layer in layers]
    after = order.index(chosen[-1]) + 1 if chosen else 0
    return chosen + [layer.name for layer in layers[after:] if layer.name in shown and _as_bars(layer)]


def _top(guesses: Sequence[Guess]) -> list[dict[str, Any]]:
    """The classes and their probabilities as the API answers them (``docs/lab-api.md``)."""
    return [{"class": guess.label, "probability": guess.probability} for guess in guesses]


def _activation(name: str, maps: torch.Tensor) -> dict[str, Any]:
    return {"name": name, **_quantised(maps)}


def _quantised(values: torch.Tensor) -> dict[str, Any]:
    """Values as the API answers them: shape, lowest, highest, and bytes 0..255 between those two (base64)."""
    values = values.float()
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255 if high > low else torch.zeros_like(values)
    quantised = scaled.round().clamp(0, 255).to(torch.uint8).contiguous().numpy()
    return {
        "shape": list(values.shape),
        "low": low,
        "high": high,
        "data": base64.b64encode(quantised.tobytes()).decode("ascii"),
    }


def load_models(subjects: Sequence[Any] | str | os.PathLike[str]) -> list[LabModel]:
    """A :class:`LabModel` for each run, run directory, checkpoint or model name (or for the one given), named
    uniquely for the API.

    Raises:
        ValueError: a subject that is neither a run nor a model name (the message suggests close names).
    """
    from cnnlab.subjects import trained_model

    if isinstance(subjects, str | os.PathLike):
        subjects = [subjects]  # one subject, not its letters
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


def published_page(models: Sequence[LabModel]) -> tuple[bytes, str]:
    """ "Download this page": the published page (:func:`cnnlab.publish.page.page_bytes`) of the networks it can
    run, built in memory, and its file's name (``cnnlab-NAME.html``). A network the page cannot run is left out
    (its ``publish_error`` says why).

    Raises:
        LabError: 422, the page can run none of them, or it would be too big to hand out.
    """
    from cnnlab.publish.page import page_bytes

    for model in models:
        model.explained()  # tries the page's translation once: publish_error says why it failed
    kept = [model for model in models if model.publish_error is None]
    if not kept:
        reasons = "; ".join(f"{model.name}: {model.publish_error}" for model in models)
        raise LabError(f"the published page can run none of these networks ({reasons}); use the served lab", 422)
    try:
        page = page_bytes([(model.name, model.trained) for model in kept])
    except ValueError as error:
        raise LabError(" ".join(str(error).split()), 422) from None
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(model.name for model in kept)).strip("-.")[:80] or "page"
    return page, f"cnnlab-{stem}.html"


@dataclass(frozen=True)
class Sample:
    """An image that ships with cnnlab's dependencies, to try a model on without a file of one's own."""

    name: str
    label: str
    data: bytes
    media_type: str
    aliases: tuple[str, ...] = ()
    """Other names it answers to (a digit's former name, its index in the test set: ``digit-268`` is ``digit-3``)."""


def samples() -> list[Sample]:
    """The first mnist5k test digit of each class, named by its class (``digit-3``; PNG, as the dataset holds it),
    and scikit-learn's photos (JPEG)."""
    from cnnlab.data.samples import SAMPLE_PHOTOS, digit_per_class, sample_digit, sample_photo

    found = []
    for digit, index in enumerate(digit_per_class()):
        pixels, about = sample_digit(index)
        found.append(Sample(f"digit-{digit}", about, _png(pixels), "image/png", aliases=(f"digit-{index}",)))
    for photo in SAMPLE_PHOTOS:
        pixels, about = sample_photo(photo)
        image = Image.fromarray(pixels.permute(1, 2, 0).numpy()).resize((320, 320), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        found.append(Sample(photo.removesuffix(".jpg"), about, buffer.getvalue(), "image/jpeg"))
    return found
