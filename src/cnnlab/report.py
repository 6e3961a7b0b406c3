"""A training run's report: one self-contained HTML page, to open in any browser.

Results first: the headline numbers (test top-1, test loss, time), the training curves, the confusion matrix on
the test split, the test images the model gets most wrong (highest loss), with their true and predicted classes,
each beside its occlusion map of the predicted class (which parts of the image made the network read it so);
then the first layer's filters, the feature maps of a test image, the network's summary table, and last the run
and its configuration (folded). On a wide screen the sections sit in two columns. The pictures are inlined (data
URIs): the file needs nothing else, loads nothing from anywhere, and can be mailed or archived on its own.

:meth:`cnnlab.Run.report` writes it; the page is built here from the run directory's record, the trained model
and its configuration, with the pictures of :mod:`cnnlab.show` and :mod:`cnnlab.viz`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from cnnlab.inspection.tables import render_table
from cnnlab.run_directory import RunDirectory
from cnnlab.viz.report import Headline, Section, details, facts_html, image_tag, paragraph, render_report, scrolling

if TYPE_CHECKING:
    from cnnlab.inspection.mistakes import Examination, Mistake
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.trained import TrainedModel

__all__ = ["SECTIONS", "build_report"]

_FILTER_TILE = 160  # pixels per kernel on the page: each weight of a 5x5 kernel is a 32-pixel square

SECTIONS = ("curves", "confusion", "worst", "filters", "feature-maps", "summary", "config")
"""The ids of the page's sections, in order (``report.html#confusion`` opens at the confusion matrix): the results
first, the configuration last."""


def _pixels(image: torch.Tensor, trained: TrainedModel) -> np.ndarray:
    """A normalised model input ``(C, H, W)`` back to a picture: ``(H, W)`` or ``(H, W, 3)`` in 0..1."""
    mean = np.asarray(trained.normalization.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(trained.normalization.std, dtype=np.float32)[:, None, None]
    array = np.clip(image.float().numpy() * std + mean, 0, 1)
    return array[0] if array.shape[0] == 1 else array[:3].transpose(1, 2, 0)


def _config_section(config: TrainConfig, facts: Sequence[tuple[str, str]]) -> Section:
    """Where, when and how the run was trained: the facts, then the configuration's table folded under a line."""
    used = config.used_settings().items()
    rows = [[key, value if isinstance(value, str) else json.dumps(value)] for key, value in used]
    unused = sorted(config.unused_settings())
    text = "The resolved configuration the run was trained with."
    if unused:
        text += f" Left out, as they change nothing in this run: {', '.join(unused)} (config.json has them all)."
    table = paragraph(text, "note") + scrolling(render_table(["setting", "value"], rows, "html"))
    body = facts_html(facts) + details(f"configuration: {len(rows)} settings", table)
    return Section("config", "Run and configuration", body)


def _summary_section(trained: TrainedModel) -> Section:
    from cnnlab.inspection.summary import summarize

    table = summarize(trained.model, trained.input_size).html(flops=False)
    return Section("summary", "Network summary", scrolling(table))


def _curves_section(run: RunDirectory, config: TrainConfig) -> Section:
    from cnnlab.viz.curves import curves_caption, plot_curves, plot_learning_rate

    rows = run.metrics
    if not rows:
        return Section("curves", "Training curves", paragraph(f"{run.path} has no finished epoch.", "note"))
    picture = plot_curves([(run.name, rows)])
    caption = curves_caption([(run.name, rows)])
    rates = plot_learning_rate(rows)
    rate_caption = f"The learning rate at the end of each epoch ({config.optimizer}, {config.schedule} schedule)."
    body = image_tag(picture, "loss and accuracy per epoch", caption) + image_tag(
        rates, "learning rate per epoch", rate_caption
    )
    return Section("curves", "Training curves", body)


def _confusion_section(trained: TrainedModel, result: Examination, dataset: str) -> Section:
    from cnnlab.viz.confusion import plot_confusion

    title = f"{trained.name} on {dataset} test: top-1 {result.top1:.2%} of {result.count:,}"
    short = f"{dataset} test: top-1 {result.top1:.1%}"
    picture = plot_confusion(result.confusion.tolist(), trained.classes, short_title=short, full_title=title)
    caption = (
        f"Rows: true class, with its accuracy; columns: predicted class; colour: the share of the row. {picture.about}."
    )
    body = image_tag(picture, title, caption) + scrolling(_per_class_table(result.confusion, trained.classes))
    return Section("confusion", "Confusion matrix", body)


def _per_class_table(confusion: torch.Tensor, classes: Sequence[str]) -> str:
    """Each class's test images, how many were right, its accuracy and what it was most often taken for."""
    counts = np.asarray(confusion, dtype=np.int64)
    rows = []
    for index, name in enumerate(classes):
        images, correct = int(counts[index].sum()), int(counts[index, index])
        others = counts[index].copy()
        others[index] = 0
        mistaken = f"{classes[int(others.argmax())]} ({int(others.max())})" if others.max() > 0 else "-"
        accuracy = f"{correct / images:.2%}" if images else "-"
        rows.append([name, images, correct, accuracy, mistaken])
    return render_table(["class", "test images", "correct", "accuracy", "most often taken for"], rows, "html")


def _filters_section(trained: TrainedModel) -> Section:
    from cnnlab.inspection.feature_maps import kernel_layers
    from cnnlab.show import filters

    if not kernel_layers(trained.model):
        return Section("filters", "First-layer filters", paragraph(f"{trained.name} has no convolutions.", "note"))
    picture = filters(trained, tile_pixels=_FILTER_TILE)
    grid = picture.grids[0]
    return Section("filters", "First-layer filters", image_tag(picture, f"the {grid.tiles} kernels of {grid.name}"))


def _feature_maps_section(trained: TrainedModel, image: torch.Tensor, label: int) -> Section:
    from cnnlab.inspection.feature_maps import capture, map_layers, one_per_resolution
    from cnnlab.viz.examples import plot_examples
    from cnnlab.viz.feature_maps import plot_feature_maps

    layers = one_per_resolution(map_layers(trained.model, trained.input_size))
    shown = plot_examples([_pixels(image, trained)], [f"class {trained.classes[label]}"], title="the test image")
    parts = [image_tag(shown, "the test image the feature maps are of")]
    if not layers:
        parts.append(paragraph(f"{trained.name} has no layers with feature maps of 2x2 or more.", "note"))
    maps = capture(trained.model, image.unsqueeze(0), [layer.name for layer in layers])
    for layer in layers:
        picture = plot_feature_maps(
            maps[layer.name][0].float().numpy(), name=layer.name, label=f"{layer.name} ({layer.type})"
        )
        parts.append(image_tag(picture, f"{picture.grids[0].tiles} feature maps of {layer.name}"))
    intro = paragraph(
        "The first convolution, then one layer for each map size, deeper layers last; every layer: "
        'cnnlab.show.feature_maps(run, layers=["all"]).',
        "note",
    )
    return Section("feature-maps", "Feature maps of a test image", intro + "\n".join(parts))


WORST_METHOD = "occlusion"
"""The saliency method of the worst images' maps. Looked at on LeNet-5's worst test digits beside Grad-CAM:
Grad-CAM reads C3's 10x10 maps (C5's are 1x1), whose units see 14 pixels, and scaled up to 32x32 it often
lights the background beside the digit; occlusion's 8x8 square is about a stroke, its map sits on the strokes,
and its values are drops of the probability the caption gives (12 maps: 0.2 s)."""


def _worst_maps(trained: TrainedModel, worst: Sequence[Mistake]) -> list[np.ndarray]:
    """Each image's occlusion map of the class the network chose (the wrong one, for a mistake)."""
    from cnnlab.inspection.saliency import default_occlusion, occlusion_map

    square, model = default_occlusion(*trained.input_size[1:]), trained.model.eval()
    maps = [occlusion_map(model, m.image[None], m.predicted, square, temperature=trained.logit_temperature)
            for m in worst]  # fmt: skip
    return [found.numpy().astype(np.float32) for found in maps]


def _why_not_grad_cam(trained: TrainedModel) -> str:
    """Why the maps are occlusion's, in the words of this network's Grad-CAM layer."""
    from cnnlab.inspection.feature_maps import map_layers
    from cnnlab.inspection.saliency import default_cam_layer

    layer = default_cam_layer(map_layers(trained.model, trained.input_size))
    if layer is None:
        return f"{trained.name} has no feature maps of 2x2 or more for Grad-CAM to read"
    shape = "x".join(map(str, layer.output_shape[1:]))
    return (
        f"{trained.name}'s Grad-CAM reads {layer.name}'s {shape} maps, which scaled up to the input spread over "
        f"the background beside the strokes; occlusion's square is about a stroke, and its values are drops of "
        f"the probability the caption gives"
    )


def _worst_section(trained: TrainedModel, result: Examination) -> Section:
    from cnnlab.inspection.saliency import default_occlusion
    from cnnlab.viz.mistakes import plot_mistake_maps

    wrong = sum(1 for m in result.worst if m.predicted != m.label)
    if not result.worst:
        empty = "The test split is empty." if result.count == 0 else "No images were asked for (worst=0)."
        return Section("worst", "Worst-classified test images", paragraph(empty, "note"))
    captions = [  # two lines, so that three rows of them fit a slide at 18 points
        f"{trained.classes[m.label]} read as {trained.classes[m.predicted]} ({m.probability:.0%})\n"
        f"#{m.index}, loss {m.loss:.2f}"
        for m in result.worst
    ]
    square = default_occlusion(*trained.input_size[1:])
    hidden = f"square of {square.window}x{square.window} pixels"
    title = f"the {len(result.worst)} test images with the highest loss ({wrong} misclassified)"
    picture = plot_mistake_maps(
        [_pixels(m.image, trained) for m in result.worst],
        _worst_maps(trained, result.worst),
        captions,
        title=title,
        scale_label=f"drop in p(predicted class) when a {hidden} hides the pixel",
        signed=True,
    )
    intro = paragraph(
        f"Each image beside its occlusion map (Zeiler and Fergus 2014) of the class the network chose, the wrong "
        f"one for a mistake: a {hidden} (filled with the training mean) is moved over the image {square.stride} "
        f"pixels at a time, and each pixel is coloured by how much hiding it lowers that class's probability. Red "
        f"marks the strokes that made the network read the image so; blue, what spoke against it. All maps share "
        f"one scale. Occlusion rather than Grad-CAM: {_why_not_grad_cam(trained)}. One map, any method: "
        f'cnnlab.saliency(run, image, method="occlusion", target=...).',
        "note",
    )
    picture_tag = image_tag(picture, f"worst-classified test images with {WORST_METHOD} maps",
                            "Under each pair: the true class read as the predicted one (its probability), the test "
                            "image's index and its loss.")  # fmt: skip
    return Section("worst", "Worst-classified test images", intro + picture_tag, wide=True)


def build_report(
    run: RunDirectory, trained: TrainedModel, config: TrainConfig, *, worst: int = 12, progress: bool = False
) -> str:
    """The HTML page of a run, about one of its checkpoints: ``trained``, the model read from it.

    ``config`` is the run's configuration; ``progress`` shows a bar over the steps (the test split's evaluation,
    then each section).
    """
    from tqdm.auto import tqdm

    from cnnlab.inspection.mistakes import examine
    from cnnlab.training.evaluation import evaluation_data

    with tqdm(total=len(SECTIONS) + 1, desc="report", unit="step", disable=not progress, leave=False) as bar:
        data = evaluation_data(trained)
        result = examine(trained.model, data.loader, trained.num_classes, worst, trained.logit_temperature)
        first_images, first_labels = next(iter(data.loader))
        bar.update()
        checkpoint = trained.checkpoint if trained.checkpoint is not None else run.checkpoint()
        facts = [
            ("run", str(run.path)),
            ("checkpoint", f"{checkpoint.name}, epoch {trained.epoch}"),
            ("model", f"{trained.name}, input {'x'.join(map(str, trained.input_size))}"),
            ("data", f"{data.dataset}: {result.count:,} test images, {trained.num_classes} classes"),
            ("test top-1", f"{result.top1:.2%} (loss {result.loss:.4f})"),
            *_weights(run, config, trained.weights),
            *_provenance(run),
            *(("note", note) for note in data.notes),
        ]
        makers = [
            lambda: _curves_section(run, config),
            lambda: _confusion_section(trained, result, data.dataset),
            lambda: _worst_section(trained, result),
            lambda: _filters_section(trained),
            lambda: _feature_maps_section(trained, first_images[0], int(first_labels[0])),
            lambda: _summary_section(trained),
            lambda: _config_section(config, facts),
        ]
        sections = []
        for section_id, make in zip(SECTIONS, makers, strict=True):
            bar.set_postfix_str(section_id)
            sections.append(make())
            bar.update()
    headline = _headline(run, trained, result, data.dataset, checkpoint.name)
    return render_report(f"{trained.name} on {trained.config.data}: run report", [], sections, headline)


def _headline(
    run: RunDirectory, trained: TrainedModel, result: Examination, dataset: str, checkpoint: str
) -> list[Headline]:
    """The numbers the page opens with: the test result, how long the run took, which weights they are of."""
    summary = run.summary
    if summary is not None and summary.wall_seconds is not None:
        time = Headline("wall time", f"{summary.wall_seconds:.1f} s", f"{summary.epochs} epochs on {summary.device}")
    else:  # not finished, or an older run: what the epochs so far recorded
        seconds = sum(row.seconds for row in run.metrics)
        time = Headline("time in epochs", f"{seconds:.1f} s", f"{len(run.metrics)} epochs, {run.status}")
    weights = "the weights' moving average" if trained.weights == "ema" else "the weights"
    return [
        Headline("test top-1", f"{result.top1:.2%}", f"of {result.count:,} {dataset} test images"),
        Headline("test loss", f"{result.loss:.4f}", "mean cross-entropy"),
        time,
        Headline("checkpoint", checkpoint, f"epoch {trained.epoch}, {weights}"),
    ]


def _weights(run: RunDirectory, config: TrainConfig, weights: str) -> list[tuple[str, str]]:
    """Which weights the report shows (the moving average, when the run kept one) and how the run chose them."""
    summary, facts = run.summary, []
    if weights == "ema":
        decay = config.model_ema_decay
        raw = summary.raw_test_top1 if summary is not None and summary.raw_test_top1 is not None else None
        beside = f"; the raw weights: {raw:.2%} test top-1" if raw is not None else ""
        facts.append(("weights", f"moving average of the weights (EMA, decay {decay:g}){beside}"))
    if summary is not None and summary.folded_epochs:
        facts.append(("validation", f"images trained on in the last {summary.folded_epochs} epochs: the result is "
                                    "the final weights"))  # fmt: skip
    return facts


def _provenance(run: RunDirectory) -> list[tuple[str, str]]:
    """When, how long, where and with what the run was trained, as far as its files say."""
    summary, rows = run.summary, run.metrics
    if summary is None:  # not finished: what the epochs so far recorded
        seconds = sum(row.seconds for row in rows)
        return [("status", f"{run.status} after {len(rows)} epoch(s), {seconds:.1f} s of epochs")]
    when = summary.finished.replace("T", " ") if summary.finished else "not recorded (an older run)"
    wall = f"{summary.wall_seconds:.1f} s" if summary.wall_seconds is not None else "not recorded"
    processes = f" x {summary.processes} processes" if summary.processes > 1 else ""
    versions = (
        f"torch {summary.torch_version}, cnnlab {summary.cnnlab_version}"
        if summary.torch_version
        else "not recorded (an older run)"
    )
    return [
        ("finished", when),
        ("wall time", f"{wall} ({summary.train_seconds:.1f} s in training steps, {summary.epochs} epochs)"),
        ("device", f"{summary.device}{processes}"),
        ("versions", versions),
    ]
