"""``cnnlab.saliency``: which pixels of one image made a network answer what it answered, and the check that
keeps the answer honest.

Three methods (:mod:`cnnlab.inspection.saliency` computes them; their papers are cited there): ``gradient``
(Simonyan et al. 2014), ``gradcam`` (Selvaraju et al. 2017) and ``occlusion`` (Zeiler and Fergus 2014).
Adebayo et al. 2018 ("Sanity checks for saliency maps") showed that a map can look convincing and depend on
the image alone: the same picture comes out of a network with random weights. ``compare_random=True`` draws the
same method on the same architecture with fresh weights beside the map and gives Spearman's rank correlation of
the two: near 0, the map depends on what the network learned; near 1, it would look the same untrained.

Example:
    >>> import cnnlab
    >>> s = cnnlab.saliency("runs/lenet5", "seven.png", method="gradcam", compare_random=True)  # doctest: +SKIP
    >>> s.target_label, s.layer, s.correlation                                                  # doctest: +SKIP
    ('7', 'c3', 0.12)
    >>> s.save("seven-gradcam.png")                                                            # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import math
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnlab.data.preprocess import ImageSource
from cnnlab.errors import SettingError, is_whole_number, path_setting, text_setting, whole_number
from cnnlab.inspection import saliency as methods
from cnnlab.inspection.feature_maps import MapLayer, map_layers
from cnnlab.inspection.saliency import correlation_words
from cnnlab.subjects import Subject
from cnnlab.subjects import trained_model as subject
from cnnlab.viz.figure import Picture, png_bytes
from cnnlab.viz.slide import TitleMode

__all__ = ["FILL", "METHODS", "TWIN_SEED", "Saliency", "correlation_words", "random_twin", "saliency"]

METHODS = methods.METHODS

TWIN_SEED = 1
"""The seed of the random-weights twin (a model name's own random weights are seed 0: the twin differs)."""

FILL = "the training images' mean (0 after normalisation)"

_WHAT = {
    "gradient": "|d score / d pixel|, the largest over the channels",
    "gradcam": "Grad-CAM: the layer's maps weighed by the class score's mean gradient, through a ReLU",
    "occlusion": "the drop in the class's probability when a square hides the pixel",
}
_NAMES = {"gradient": "gradient", "gradcam": "Grad-CAM", "occlusion": "occlusion"}


@dataclass(frozen=True)
class Saliency:
    """One saliency map of one image, and what it explains.

    Attributes:
        map: ``(H, W)`` float32 at the network's input size (see :attr:`method` for what the values are).
        input: the image as the network received it, uint8 ``(H, W)`` gray or ``(H, W, 3)`` RGB.
        method: ``gradient``, ``gradcam`` or ``occlusion``.
        target: the class explained (its index); :attr:`target_label` is its name.
        probability: the network's probability of :attr:`target`, ``softmax(logits / T)``.
        predicted: the class the network chose, with :attr:`predicted_label` and :attr:`predicted_probability`.
        layer: the layer Grad-CAM read (``None`` for the other methods); :attr:`layer_map` is its map at that
            layer's resolution, before it is scaled up.
        window, stride: the occlusion square's side and step in pixels (``None`` for the other methods); the
            square is filled with :data:`FILL`.
        model: what was explained, in words (``lenet5 trained 20 epochs on mnist5k (run/best.pt)``).
        image: what the image was, in words.
        seconds: the time the map took.
        random: the same method on the same architecture with random weights (``compare_random=True``), else
            ``None``; :attr:`correlation` is Spearman's rank correlation of the two maps (``nan`` if a map is
            constant).
        random_weights: the network explained has random weights itself (a model name, not a run): its map,
            and the check, say nothing about learning.
    """

    map: np.ndarray
    input: np.ndarray
    method: str
    target: int
    target_label: str
    probability: float
    predicted: int
    predicted_label: str
    predicted_probability: float
    model: str
    image: str
    seconds: float
    layer: str | None = None
    layer_map: np.ndarray | None = None
    window: int | None = None
    stride: int | None = None
    random: Saliency | None = field(default=None, repr=False)
    correlation: float | None = None
    random_weights: bool = False

    @property
    def signed(self) -> bool:
        """Whether the map's values may be negative (occlusion: hiding a part may make the class more likely)."""
        return self.method == "occlusion"

    @property
    def what(self) -> str:
        """What the map's values are, in a line."""
        return _WHAT[self.method]

    @property
    def method_name(self) -> str:
        """``gradient``, ``Grad-CAM at c3`` or ``occlusion 8x8 by 2``."""
        if self.method == "gradcam":
            return f"Grad-CAM at {self.layer}"
        if self.method == "occlusion":
            return f"occlusion {self.window}x{self.window} by {self.stride}"
        return "gradient"

    def share_of_top(self, fraction: float = 0.1) -> float:
        """The share of the map's total (of its positive part, for occlusion) held by its top ``fraction`` of
        pixels: 0.1 for a map spread evenly, near 1 for one that points at a few pixels."""
        values = np.clip(self.map, 0, None).ravel()
        total = float(values.sum())
        if total <= 0:
            return math.nan
        top = max(1, round(fraction * values.size))
        return float(np.sort(values)[::-1][:top].sum()) / total

    def correlation_words(self) -> str:
        """What :attr:`correlation` says, in a phrase (see :func:`correlation_words`); ``""`` without a twin."""
        return "" if self.correlation is None else correlation_words(self.correlation)

    def lines(self) -> list[str]:
        """What ``str()`` prints, a line each."""
        found = [
            f"{self.method_name} saliency of {self.model}",
            f"image: {self.image}",
            f"explains class {self.target_label} (p = {self.probability:.3f}); "
            f"the network chose {self.predicted_label} (p = {self.predicted_probability:.3f})",
            f"map: {self.map.shape[0]}x{self.map.shape[1]}, {self.what}; from {float(self.map.min()):.3g} to "
            f"{float(self.map.max()):.3g}; the top 10 % of pixels hold {self.share_of_top():.0%} of it",
        ]
        if self.method == "occlusion":
            found.append(f"window {self.window}x{self.window}, stride {self.stride}, filled with {FILL}")
        if self.random is not None:
            found.append(
                f"random weights (same architecture, same method): Spearman rank correlation "
                f"{self.correlation:.2f}, {self.correlation_words()}"
            )
            if self.random_weights:
                found.append("(the network explained is untrained too: this compares two random networks)")
        found.append(f"time: {self.seconds:.2f} s")
        return found

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def figure(self, title: TitleMode = "short") -> Picture:
        """The input, the map and the map over the input, with the class and its probability; with the
        random-weights twin, a second row: the two maps' pixel ranks against each other, the twin's map and
        its overlay.

        ``title``: ``short`` (``Why 7? gradient``, and what the map's values are beneath), ``full`` (the model,
        its weights and the image named too) or ``none`` (no title; what the values are stays beneath).

        Raises:
            SettingError: an unknown ``title``.
        """
        from cnnlab.viz.saliency import MapPanel, plot_saliency
        from cnnlab.viz.slide import title_mode, titled

        title = title_mode(title)

        panel = MapPanel(self.map, _NAMES[self.method] if self.layer is None else f"Grad-CAM, {self.layer}",
                         self.signed, "over the input")  # fmt: skip
        twin = ranks_title = None
        if self.random is not None:
            twin = MapPanel(self.random.map, "random weights", self.signed,
                            f"p({self.target_label}) = {_p(self.random.probability)}")  # fmt: skip
            ranks_title = f"rank correlation {self.correlation:.2f}"
        picture = plot_saliency(
            self.input,
            panel,
            input_title=f"read as {self.predicted_label} (p = {_p(self.predicted_probability)})",
            title=titled(
                title, f"Why {self.target_label}? {self.method_name}" + ("" if twin is None else ", and random weights")
            ),
            caption=f"{self.what[:1].upper()}{self.what[1:]}"
            + ("" if twin is None else " (each map on its own colour scale)")
            + (f". {self.model}; {self.image}." if title == "full" else "."),
            twin=twin,
            ranks_title=ranks_title or "",
        )
        picture.about = self.lines()[2]
        return picture

    def save(self, out: str | Path, *, title: TitleMode = "short") -> Path:
        """Write the figure (``.png`` or ``.svg``, with ``title`` as :meth:`figure`'s) or the map itself
        (``.npy``, float32 ``(H, W)``) to ``out``."""
        from cnnlab.files import atomic_output

        out = path_setting("out", out).expanduser()
        if out.suffix.lower() != ".npy":
            return self.figure(title).save(out)
        with atomic_output(out) as temporary, open(temporary, "wb") as stream:
            np.save(stream, self.map.astype(np.float32))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything but the pixels, JSON-ready (the map's shape, range and the random twin's summary)."""
        found: dict[str, Any] = {
            "method": self.method,
            "model": self.model,
            "image": self.image,
            "target": self.target,
            "target_label": self.target_label,
            "probability": self.probability,
            "predicted": self.predicted,
            "predicted_label": self.predicted_label,
            "predicted_probability": self.predicted_probability,
            "shape": list(self.map.shape),
            "low": float(self.map.min()),
            "high": float(self.map.max()),
            "layer": self.layer,
            "window": self.window,
            "stride": self.stride,
            "seconds": self.seconds,
            "random_weights": self.random_weights,
        }
        if self.random is not None:
            found["random"] = {"probability": self.random.probability, "correlation": self.correlation}
        return found

    def _repr_html_(self) -> str:
        picture = base64.b64encode(png_bytes(self.figure())).decode("ascii")
        text = "<br>".join(html.escape(line) for line in self.lines())
        return f'<div><img src="data:image/png;base64,{picture}" alt="saliency map"><p>{text}</p></div>'


def _p(probability: float) -> str:
    """A probability in a title: two decimals, or one significant digit below 0.01 (``0.004``, not ``0.00``)."""
    return f"{probability:.2f}" if probability >= 0.01 or probability == 0 else f"{probability:.1g}"


def _method(method: object) -> str:
    if method not in METHODS:
        raise SettingError(f"<method> must be one of {', '.join(METHODS)}, got {method!r}")
    return str(method)


def _target(network: _Network, target: object, predicted: int) -> int:
    """The class index: the prediction for ``None``, an index, or a class's name."""
    if target is None:
        return predicted
    classes = network.classes
    if isinstance(target, str) and target in classes:
        return classes.index(target)
    if is_whole_number(target) and 0 <= int(target) < len(classes):
        return int(target)
    shown = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
    raise SettingError(
        f"<target>: {network.name} has {len(classes)} classes, 0-{len(classes) - 1} or a name ({shown}); got {target!r}"
    )


def _display(pixels: torch.Tensor) -> np.ndarray:
    array = pixels.cpu().numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def _occlusion_setting(name: str, value: object, fallback: int) -> int:
    return fallback if value is None else whole_number(name, value)


def _check_options(method: str, layer: object, window: object, stride: object) -> None:
    if layer is not None and method != "gradcam":
        raise SettingError(f"<layer> says which layer Grad-CAM reads; {method} reads none (use <method=gradcam>)")
    if (window is not None or stride is not None) and method != "occlusion":
        raise SettingError(f"<window> and <stride> set the occlusion square; {method} has none")
    if layer is not None:
        text_setting("layer", layer, "a layer name")


@dataclass(frozen=True)
class _Explained:
    map: np.ndarray
    layer: str | None = None
    layer_map: np.ndarray | None = None
    window: int | None = None
    stride: int | None = None


def _explain(model: nn.Module, network: _Network, target: int, method: str, layer: str | None, window: object,
             stride: object) -> _Explained:  # fmt: skip
    x = network.x
    if method == "gradient":
        return _Explained(methods.gradient_map(model, x, target).numpy().astype(np.float32))
    if method == "gradcam":
        assert layer is not None
        cam = methods.grad_cam(model, x, target, layer)
        return _Explained(cam.map.numpy().astype(np.float32), layer, cam.layer_map.numpy().astype(np.float32))
    height, width = x.shape[2:]
    default = methods.default_occlusion(height, width)
    square = methods.Occlusion(_occlusion_setting("window", window, default.window),
                               _occlusion_setting("stride", stride, default.stride))  # fmt: skip
    if square.window > min(height, width):
        raise SettingError(
            f"<window>: the occlusion square of {square.window} does not fit {network.name}'s {height}x{width} "
            f"input (at most {min(height, width)})"
        )
    if square.stride > square.window:
        raise SettingError(
            f"<stride>: a step of {square.stride} past a square of {square.window} leaves pixels never hidden "
            f"(at most {square.window})"
        )
    drops = methods.occlusion_map(model, x, target, square, temperature=network.temperature)
    return _Explained(drops.numpy().astype(np.float32), window=square.window, stride=square.stride)


_LAYERS: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], list[MapLayer]]] = weakref.WeakKeyDictionary()


def _layers(model: nn.Module, size: tuple[int, ...]) -> list[MapLayer]:
    """:func:`map_layers`, once per network and input size: a lab explaining every stroke asks again and again (a
    meta-device copy of LeNet-5 costs more than its Grad-CAM)."""
    known = _LAYERS.setdefault(model, {})
    if size not in known:
        known[size] = map_layers(model, size)
    return known[size]


def _cam_layer(network: _Network, layer: str | None) -> str:
    layers = _layers(network.model, tuple(network.x.shape[1:]))
    if layer is not None:
        return methods.check_cam_layer(layers, layer, network.name).name
    chosen = methods.default_cam_layer(layers)
    if chosen is None:
        raise ValueError(f"{network.name} has no layer with maps of 2x2 or more: Grad-CAM needs one (try gradient)")
    return chosen.name


def random_twin(what: Subject | nn.Module) -> nn.Module:
    """The network of ``what`` with fresh weights, as ``compare_random=True`` builds it: a registry model's own
    builder, with the run's options, under :data:`TWIN_SEED` (the paper's initialisation); any other module a
    copy with each layer's ``reset_parameters``. Build it once and pass it as ``twin=`` to explain many images
    against the same random network (the lab does)."""
    from cnnlab.models import create_model

    if isinstance(what, nn.Module):
        return methods.randomised_twin(what, None, TWIN_SEED)
    trained = subject(what)
    channels = trained.input_size[0]
    options = {**trained.config.model_args, "num_classes": trained.num_classes, "in_channels": channels}
    return methods.randomised_twin(trained.model, lambda: create_model(trained.name, **options), TWIN_SEED)


@dataclass(frozen=True)
class _Network:
    """What a map is made of, whether a run or a plain module was given: the network, one normalised input, its
    classes, and how a twin with random weights is built."""

    model: nn.Module
    name: str
    label: str
    classes: tuple[str, ...]
    temperature: float
    x: torch.Tensor  # (1, C, H, W), normalised as the network takes it
    shown: np.ndarray  # the input as a picture, uint8 (H, W) or (H, W, 3)
    about: str
    twin: Callable[[], nn.Module]
    twin_label: str
    random_weights: bool = False

    def probabilities(self, model: nn.Module) -> torch.Tensor:
        with torch.no_grad():
            scores = methods.class_scores(model(self.x)).float()
        return torch.softmax(scores / self.temperature, dim=1)[0]


def _of_subject(what: Subject, image: ImageSource | None) -> _Network:
    from cnnlab.show import input_image

    trained = subject(what)
    pixels, about = input_image(trained, image)
    x = trained.normalization.apply(pixels[None])
    return _Network(trained.model.eval(), trained.name, trained.label, trained.classes, trained.logit_temperature,
                    x, _display(pixels), about, lambda: random_twin(trained),
                    f"{trained.name}, random weights (seed {TWIN_SEED})", trained.random_weights)  # fmt: skip


def _of_module(module: nn.Module, image: object) -> _Network:
    """A module of one's own: its input is a float tensor ``(C, H, W)`` (or ``(1, C, H, W)``), normalised as the
    module expects; its classes are its outputs' indices; its twin has each layer's ``reset_parameters``."""
    if not isinstance(image, torch.Tensor) or not image.is_floating_point() or image.dim() not in (3, 4):
        raise SettingError(
            "<image>: a module of one's own takes its input as a float tensor (C, H, W), normalised as the module "
            f"expects; got {type(image).__name__ if not isinstance(image, torch.Tensor) else tuple(image.shape)}"
        )
    x = (image if image.dim() == 4 else image[None]).detach().float()
    if x.shape[0] != 1:
        raise SettingError(f"<image>: one image (C, H, W), got a batch of {x.shape[0]}")
    module = module.eval()
    with torch.no_grad():
        count = methods.class_scores(module(x)).shape[1]
    low, high = float(x.min()), float(x.max())
    scaled = ((x[0] - low) / (high - low) * 255 if high > low else torch.zeros_like(x[0])).round().to(torch.uint8)
    name = type(module).__name__
    return _Network(module, name, f"a {name}, its weights as given", tuple(str(i) for i in range(count)), 1.0, x,
                    _display(scaled), f"a {'x'.join(map(str, x.shape[1:]))} tensor (shown from its lowest to its "
                    "highest value)", lambda: random_twin(module),
                    f"{name}, every layer's reset_parameters (seed {TWIN_SEED})")  # fmt: skip


def saliency(
    what: Subject | nn.Module,
    image: ImageSource | None = None,
    method: str = "gradient",
    target: int | str | None = None,
    layer: str | None = None,
    *,
    window: int | None = None,
    stride: int | None = None,
    compare_random: bool = False,
    twin: nn.Module | None = None,
) -> Saliency:
    """Which pixels of ``image`` made ``what`` answer ``target`` (default: the class it chose).

    Args:
        what: a run (``cnnlab.Run``), its directory or a checkpoint, a trained model, a model name (random
            weights: the map then says nothing learned), or any classifier ``nn.Module`` (torchvision's, one's own).
        image: a file, a PIL image, an array or a tensor, prepared as ``cnnlab predict`` prepares it (default: a
            bundled MNIST digit for gray models, scikit-learn's sample photo for colour ones). For an ``nn.Module``,
            a float tensor ``(C, H, W)`` normalised as the module expects, used as it is.
        method: ``gradient``, ``gradcam`` or ``occlusion``.
        target: the class to explain, its index or its name.
        layer: the layer Grad-CAM reads (default: the last convolution or block whose maps are 2x2 or more).
        window, stride: occlusion's square and step in pixels (default: a quarter and a sixteenth of the
            input's shorter side, 8 and 2 on 32x32).
        compare_random: also draw the map of the same architecture with random weights, and give the rank
            correlation of the two (Adebayo et al. 2018's sanity check).
        twin: the random-weights network to compare with (:func:`random_twin`'s, built once), instead of one
            built for this call; only with ``compare_random``.

    Raises:
        TypeError: ``what`` is not a run, a trained model, a model name or a module.
        SettingError: an unknown ``method``, a ``target`` outside the classes, ``layer`` without Grad-CAM,
            ``window`` or ``stride`` without occlusion or not a positive whole number, a window larger than the
            input.
        ValueError: an unknown layer, or one Grad-CAM cannot read (maps of 1x1, a vector, a shared module),
            each with the layers it can; a missing or unreadable image.
    """
    method = _method(method)
    _check_options(method, layer, window, stride)
    if not isinstance(compare_random, bool):
        raise SettingError(f"<compare_random>: expected True or False, got {compare_random!r}")
    if twin is not None and not (compare_random and isinstance(twin, nn.Module)):
        raise SettingError(f"<twin>: a network (nn.Module) to compare with, given with <compare_random=True>; got "
                           f"{type(twin).__name__}{'' if compare_random else ' without compare_random'}")  # fmt: skip
    network = _of_module(what, image) if isinstance(what, nn.Module) else _of_subject(what, image)
    if twin is not None:
        given = twin.eval()
        network = replace(network, twin=lambda: given)
    probabilities = network.probabilities(network.model)
    chosen = _target(network, target, int(probabilities.argmax()))
    cam_layer = _cam_layer(network, layer) if method == "gradcam" else None
    found = _explained(network, network.model, probabilities, chosen, method, cam_layer, window, stride)
    if not compare_random:
        return replace(found, random_weights=network.random_weights)
    random_model = network.twin()
    twin = _explained(network, random_model, network.probabilities(random_model), chosen, method, cam_layer,
                      found.window, found.stride, label=network.twin_label)  # fmt: skip
    rho = methods.rank_correlation(found.map, twin.map)
    return replace(found, random=twin, correlation=rho, random_weights=network.random_weights)


def _explained(network: _Network, model: nn.Module, probabilities: torch.Tensor, target: int, method: str,
               layer: str | None, window: object, stride: object, label: str | None = None) -> Saliency:  # fmt: skip
    """The map of ``model`` (the network's own, or its twin) for class ``target``, timed, with the probabilities
    it gives."""
    started = time.perf_counter()
    explained = _explain(model, network, target, method, layer, window, stride)
    seconds = time.perf_counter() - started
    predicted = int(probabilities.argmax())
    return Saliency(
        explained.map,
        network.shown,
        method,
        target,
        network.classes[target],
        float(probabilities[target]),
        predicted,
        network.classes[predicted],
        float(probabilities[predicted]),
        label or network.label,
        network.about,
        seconds,
        layer=explained.layer,
        layer_map=explained.layer_map,
        window=explained.window,
        stride=explained.stride,
    )
