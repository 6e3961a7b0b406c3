"""Pictures of what a network computes, of its weights, its receptive fields and its training.

Each function returns a :class:`~cnnlab.viz.figure.Picture` (a matplotlib ``Figure``): Jupyter shows it
inline, ``picture.save("x.svg")`` writes it. What a picture is of may be

* a :class:`~cnnlab.run.Run`, a run directory or a checkpoint: its trained weights, fed as training fed them;
* a model name from :func:`cnnlab.list_models`: the model with seeded random weights (the picture says so);
* a :class:`~cnnlab.training.trained.TrainedModel`

(resolved by :func:`cnnlab.subjects.trained_model`, as everywhere else).

Images may be files, PIL images, arrays or tensors; without one, a real image is used: a bundled MNIST
digit for models of gray images, scikit-learn's sample photo for colour ones.

Example:
    >>> import cnnlab
    >>> cnnlab.show.feature_maps("lenet5", layers=["c1", "c3"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from cnnlab.data.preprocess import ImageSource, describe_source, fit_image
from cnnlab.data.samples import SAMPLE_DIGIT, SAMPLE_PHOTO, sample_digit, sample_photo
from cnnlab.errors import SettingError, is_whole_number, names_setting, text_setting, whole_number
from cnnlab.inspection import feature_maps as layer_maps
from cnnlab.inspection.feature_maps import MapLayer
from cnnlab.run_directory import RunDirectory
from cnnlab.subjects import Subject
from cnnlab.subjects import trained_model as subject
from cnnlab.training.trained import TrainedModel
from cnnlab.viz.curves import plot_curves
from cnnlab.viz.feature_maps import SCALES, Panel, draw_panels, feature_map_panel, plot_filters
from cnnlab.viz.figure import Picture
from cnnlab.viz.receptive_field import plot_receptive_field
from cnnlab.viz.slide import TitleMode, title_mode, titled

if TYPE_CHECKING:
    from cnnlab.training.evaluation import Evaluation

__all__ = [
    "SCALES",
    "Picture",
    "Subject",
    "confusion",
    "connectivity",
    "curves",
    "feature_maps",
    "filters",
    "image_name",
    "input_image",
    "layers",
    "receptive_field",
    "subject",
]


def input_image(trained: TrainedModel, image: ImageSource | None = None) -> tuple[torch.Tensor, str]:
    """The image a picture shows, uint8 ``(C, H, W)`` as the model receives it, and what it is.

    ``image`` is prepared as :meth:`Run.predict <cnnlab.run.Run.predict>` prepares it (digits rebuilt the
    MNIST way for digit models); without one, a bundled MNIST digit for models of gray images, else
    scikit-learn's sample photo of a Chinese temple.

    Raises:
        ValueError: a missing or unreadable image.
    """
    if image is not None:
        return trained.preprocessing.image(image), f"image {describe_source(image)}"
    channels, height, width = trained.input_size
    pixels, about = sample_digit() if trained.preprocessing.gray else sample_photo()
    return fit_image(pixels, channels, (height, width)), about


def image_name(trained: TrainedModel, image: ImageSource | None = None) -> str:
    """A short name of the image a picture shows, safe in a file name: a file's stem (``cat`` for
    ``photos/cat.jpg``), ``mnist5k-test-685`` or ``china`` for the bundled defaults, else ``image``.

    Pictures of several images kept side by side are told apart by it (``cnnlab show feature-maps``
    writes each image's maps to a folder of this name).
    """
    if image is None:
        return f"mnist5k-test-{SAMPLE_DIGIT}" if trained.preprocessing.gray else Path(SAMPLE_PHOTO).stem
    path = image if isinstance(image, str | os.PathLike) else getattr(image, "filename", "")  # PIL's opened file
    stem = Path(path).stem if path else ""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return slug or "image"


def _display(pixels: torch.Tensor) -> np.ndarray:
    """uint8 ``(C, H, W)`` as matplotlib shows it: ``(H, W)`` for one channel, ``(H, W, 3)`` for three."""
    array = pixels.cpu().numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def layers(what: Subject) -> list[MapLayer]:
    """Every named module with its output shape and receptive field, in the order its outputs appear.

    ``MapLayer.shown`` marks those that ``layers=["all"]`` draws.
    """
    trained = subject(what)
    return layer_maps.map_layers(trained.model, trained.input_size)


def _feature_map_panels(
    what: Subject, image: ImageSource | None, names: Sequence[str] | None, scale: str, title: TitleMode
) -> list[Panel]:
    if scale not in SCALES:
        raise SettingError(f"<scale> must be one of {', '.join(SCALES)}, got {scale!r}")
    title = title_mode(title)
    wanted = None if names is None else names_setting("layers", names, "layer names")
    trained = subject(what)
    every = layer_maps.map_layers(trained.model, trained.input_size)
    if wanted is None:
        chosen = layer_maps.one_per_resolution(every)
    else:
        chosen = layer_maps.choose_layers(every, list(wanted), trained.name)
    if not chosen:
        raise ValueError(f"{trained.name} has no feature maps to show (its layers output vectors)")
    pixels, about = input_image(trained, image)
    captured = layer_maps.capture(trained.model, trained.preprocessing.normalize(pixels), [c.name for c in chosen])
    return [
        feature_map_panel(
            captured[layer.name][0].float().numpy(),
            name=layer.name,
            title=title,
            label=f"{layer.name} ({layer.type}{f', first of {layer.calls} calls' if layer.calls > 1 else ''})",
            caption=f"{trained.label}\non {about}",
            scale=scale,
            image=_display(pixels),
        )
        for layer in chosen
    ]


def feature_maps(
    what: Subject,
    *,
    image: ImageSource | None = None,
    layers: Sequence[str] | None = None,
    scale: str = "layer",
    title: TitleMode = "short",
) -> Picture:
    """Every feature map of some layers for one image: a tile per channel, a panel per layer, the input beside.

    ``picture.grids`` names each panel's layer, its maps' shape and the grid;
    :func:`~cnnlab.viz.feature_maps.split_panels` draws each panel as a picture of its own. Maps with negative
    values are drawn on a diverging scale centred on zero, others on a sequential one from zero.

    Args:
        what: a run, a trained model or a model name.
        image: the image (default: a bundled digit or sample photo).
        layers: module names as in ``named_modules()`` (a list, or one name: ``"c1"``), or ``"all"`` for every
            convolution, pooling layer and block (see :func:`layers`); default: the first convolution, then one
            layer per map size.
        scale: ``layer`` (one colour scale for the layer) or ``channel`` (each map stretched to its own range).
        title: ``short`` (``c1: 6 maps of 28x28``), ``full`` (with the layer's type, the values' range, the run,
            its checkpoint and weights, and the image) or ``none``.

    Raises:
        TypeError: ``what`` is not a run, a trained model or a model name.
        SettingError: ``layers`` is neither a name nor a list of them, an unknown ``scale`` or ``title``.
        ValueError: an unknown layer (the message lists the valid ones), a layer without feature maps, an
            unreadable image.
    """
    picture = draw_panels(_feature_map_panels(what, image, layers, scale, title))
    picture.about = ", ".join(f"{grid.name} {grid.shape_text}" for grid in picture.grids)
    return picture


def filters(
    what: Subject, *, layer: str | None = None, tile_pixels: int | None = None, title: TitleMode = "short"
) -> Picture:
    """The kernels of a convolution (default: the first), on one scale centred on zero.

    A first layer on colour images shows one RGB tile per filter, each stretched to its own range, as
    AlexNet's paper shows them; any other layer a grid of 2-D kernels, a row per filter and a column per
    input channel. ``tile_pixels`` sets the largest a kernel is drawn (default: 120 pixels; smaller where the
    slide-sized picture has no room). ``title``: ``short`` (``c1: 6 filters of 1x5x5``), ``full`` (with the
    layer's type and the run's weights) or ``none``.

    Raises:
        SettingError: ``layer`` is not a name, ``tile_pixels`` not a positive whole number, an unknown ``title``.
        ValueError: no convolution, or an unknown one (the message lists them).
    """
    if layer is not None:
        text_setting("layer", layer, "a layer name")
    if tile_pixels is not None:
        tile_pixels = whole_number("tile_pixels", tile_pixels)
    title = title_mode(title)
    trained = subject(what)
    found = layer_maps.kernel_layers(trained.model)
    if not found:
        raise ValueError(f"{trained.name} has no convolution kernels to show")
    name = layer or next(iter(found))
    if name not in found:
        raise ValueError(f"{trained.name} has no convolution {name!r}; layers with kernels: {', '.join(found)}")
    weight, note = layer_maps.kernels(found[name])
    caption = f"{trained.label}; {note}" if note else trained.label
    rgb = name == next(iter(found)) and trained.input_size[0] == 3
    label = f"{name} ({type(found[name]).__name__})"
    picture = plot_filters(
        weight.float().numpy(), name=name, title=title, label=label, caption=caption, rgb=rgb, tile_pixels=tile_pixels
    )
    picture.about = f"{name} {picture.grids[0].shape_text}"
    return picture


def receptive_field(
    what: Subject,
    *,
    layer: str,
    unit: tuple[int, int],
    image: ImageSource | None = None,
    title: TitleMode = "short",
) -> Picture:
    """The input region that unit ``(y, x)`` of ``layer``'s maps sees, drawn on the image the network is given.

    Its size, jump and place come from the same receptive-field arithmetic as :func:`cnnlab.summary`
    (branches and shortcuts included). Where the field reaches past the image, into the zero padding, the
    picture shows the whole field dashed and says how far. ``picture.about`` says where the field is.
    ``title``: ``short`` (``inception4a, unit (6, 4): a 171x171 field``), ``full`` (with the layer's type and
    maps, the run's weights and the image) or ``none``.

    Raises:
        SettingError: ``layer`` is not a name, ``unit`` not two whole numbers, an unknown ``title``.
        ValueError: an unknown layer, a layer without a modelled field, a unit outside the layer's maps.
    """
    text_setting("layer", layer, "a layer name")
    title = title_mode(title)
    if not (isinstance(unit, list | tuple) and len(unit) == 2 and all(is_whole_number(v) for v in unit)):
        raise SettingError(f"<unit>: expected (y, x), 2 whole numbers such as (0, 0), got {unit!r}")
    y, x = int(unit[0]), int(unit[1])  # a unit outside the maps is said below, with the maps' size
    trained = subject(what)
    every = layer_maps.map_layers(trained.model, trained.input_size)
    chosen = layer_maps.choose_layers(every, [layer], trained.name)[0]
    _, height, width = trained.input_size
    box = layer_maps.field_box(chosen, (y, x), (height, width))
    pixels, about = input_image(trained, image)
    top, left, bottom, right = box.clipped
    where = f"rows {top:g}-{bottom:g}, columns {left:g}-{right:g} of the {height}x{width} input"
    notes = [f"rows {top:g}-{bottom:g}", f"columns {left:g}-{right:g}", f"of the {height}x{width} input"]
    past = ""
    if box.extends_past_input:
        edges = [
            f"{amount:g} px past the {edge}"
            for amount, edge in zip(box.outside, ("top", "left", "bottom", "right"), strict=True)
            if amount > 0
        ]
        past = f"; the field reaches {', '.join(edges)}: zero padding"
        notes.append(f"\nreaches {', '.join(edges)}: zero padding (dashed)")
    note = f", first of {chosen.calls} calls" if chosen.calls > 1 else ""
    maps = f"{chosen.output_shape[1]}x{chosen.output_shape[2]}"
    full = f"{chosen.name} ({chosen.type}{note}), unit ({y}, {x}) of {maps}: a {box.size[0]}x{box.size[1]} field"
    short = f"{chosen.name}, unit ({y}, {x}): a {box.size[0]}x{box.size[1]} field"
    if title == "none":  # the field's size is the title's: a picture without one says it beside the image
        notes.insert(0, f"a {box.size[0]}x{box.size[1]} field")
    if title == "full":
        notes.append(f"\n{trained.label}, on {about}")
    picture = plot_receptive_field(_display(pixels), box, title=titled(title, short, full), caption="\n".join(notes))
    picture.about = f"{full}: {where}{past}"
    return picture


def connectivity(inputs: int = 8, kernel: int = 3) -> Picture:
    """Who connects to whom in a fully connected, a locally connected and a convolutional layer (one axis).

    A line is a weight, one colour one shared weight: ``inputs x outputs`` lines, then ``outputs x kernel``
    of as many colours, then ``kernel`` colours reused at every position. At most
    :data:`MAX_CONNECTIVITY_INPUTS` inputs: more are lines no one can tell apart (and ``inputs**2`` of them).

    Raises:
        SettingError: ``inputs`` or ``kernel`` is not a positive whole number, or too many inputs.
        ValueError: a kernel larger than the inputs.
    """
    from cnnlab.viz.connectivity import plot_connectivity

    inputs, kernel = whole_number("inputs", inputs), whole_number("kernel", kernel)
    if inputs > MAX_CONNECTIVITY_INPUTS:
        raise SettingError(f"<inputs>: at most {MAX_CONNECTIVITY_INPUTS} inputs are drawn, got {inputs}")
    return plot_connectivity(inputs, kernel)


MAX_CONNECTIVITY_INPUTS = 64
"""The most inputs :func:`connectivity` draws: 64 are 64 x 64 lines in the fully connected panel, each a few
pixels apart in its third of a 1,200-pixel picture."""


def _as_run(what: RunDirectory | str | os.PathLike, argument: str) -> RunDirectory:
    if isinstance(what, RunDirectory):
        return what
    if not isinstance(what, str | os.PathLike) or not str(what):
        raise TypeError(f"{argument}: expected a run (cnnlab.Run) or its directory, got {what!r}")
    return RunDirectory(what)


def curves(
    *runs: RunDirectory | str | os.PathLike | Sequence[RunDirectory | str | os.PathLike],
    title: TitleMode = "short",
    aspect: float | None = None,
) -> Picture:
    """Loss and top-1 accuracy per epoch of one or more runs: training dashed, validation solid where the run
    held out a validation split (the legend names only the lines drawn).

    ``curves(a, b)`` and ``curves([a, b])`` are the same picture. ``title``: ``short`` (each plot named),
    ``full`` (the runs' names above too) or ``none``; ``aspect``: width / height (default 16:9).

    Raises:
        TypeError: something that is not a run or a path.
        ValueError: no run, a path that is not a run, or a run with no finished epoch.
    """
    listed = [run for given in runs for run in (given if isinstance(given, list | tuple) else [given])]
    if not listed:
        raise ValueError("curves of which run? Give one or more runs or run directories")
    opened = [_as_run(run, "runs") for run in listed]
    for run in opened:
        if not run.metrics:
            raise ValueError(f"{run.path} has no metrics yet: no epoch of it has finished")
    labels = [run.name for run in opened]
    if len(set(labels)) < len(labels):  # same names in different places: the paths tell them apart
        labels = [str(run.path) for run in opened]
    runs_metrics = [(label, run.metrics) for label, run in zip(labels, opened, strict=True)]
    picture = plot_curves(runs_metrics, title=title, aspect=aspect or 16 / 9)
    picture.about = ", ".join(labels)
    return picture


def confusion(
    what: Evaluation | RunDirectory | str | os.PathLike,
    *,
    split: str = "test",
    title: TitleMode = "short",
    aspect: float | None = None,
) -> Picture:
    """The confusion matrix with the count in every cell and each class's accuracy beside its row.

    ``what`` is an :class:`~cnnlab.training.evaluation.Evaluation`, or a run to evaluate on ``split`` first.
    ``title``: ``short`` (the split and its top-1), ``full`` (the model, split, top-1 and checkpoint) or
    ``none``; ``aspect``: width / height (default 4:3, the matrix being square).
    """
    from cnnlab.training.evaluation import Evaluation, evaluate_model
    from cnnlab.viz.confusion import plot_confusion

    evaluation = what if isinstance(what, Evaluation) else evaluate_model(subject(_as_run(what, "what")), split=split)
    short = f"{evaluation.dataset} {evaluation.split}: top-1 {evaluation.top1:.1%}"
    checkpoint = f" ({Path(evaluation.checkpoint).name}, epoch {evaluation.epoch})" if evaluation.checkpoint else ""
    picture = plot_confusion(evaluation.confusion, evaluation.classes, title=title, short_title=short,
                             full_title=evaluation.title + checkpoint, aspect=aspect or 4 / 3)  # fmt: skip
    picture.about = evaluation.title
    return picture
