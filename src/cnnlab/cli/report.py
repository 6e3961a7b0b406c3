"""``cnnlab report``: one self-contained HTML page about a training run, to open in any browser."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

    from cnnlab.inspection.mistakes import Examination
    from cnnlab.training.inference import TrainedModel
    from cnnlab.viz.report import Section

DESCRIPTION = """Write one HTML file about a training run: its configuration, the network's summary table, the
training curves, the confusion matrix on the test split, the first layer's filters, the feature maps of a
test image, and the test images the model gets most wrong (highest loss), with their true and predicted
classes. The pictures are inlined (data URIs): the file needs nothing else, loads nothing from anywhere,
and can be mailed or archived on its own.

examples:
  cnnlab report runs/lenet5-mnist5k-20261125-045010
  cnnlab report runs/resnet20-cifar10-20261125-101500 --out resnet20.html --worst 24"""

SECTIONS = ("config", "summary", "curves", "confusion", "filters", "feature-maps", "worst")
"""The ids of the page's sections, in order (``report.html#confusion`` opens at the confusion matrix)."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="a run's report as one self-contained HTML page", description=DESCRIPTION
    )
    parser.add_argument("run", metavar="RUN", help="a run directory or a .pt checkpoint")
    parser.add_argument("--out", metavar="FILE", help="the HTML file (default: RUN/report.html)")
    parser.add_argument("--worst", type=_count, default=12, help="how many of the worst-classified images to show")
    parser.set_defaults(handler=run, prog=parser.prog)


def _count(text: str) -> int:
    from cnnlab.cli._parser import positive_int

    return positive_int(text)


def _pixels(image: torch.Tensor, trained: TrainedModel) -> np.ndarray:
    """A normalised model input ``(C, H, W)`` back to a picture: ``(H, W)`` or ``(H, W, 3)`` in 0..1."""
    import numpy as np

    mean = np.asarray(trained.normalization.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(trained.normalization.std, dtype=np.float32)[:, None, None]
    array = np.clip(image.float().numpy() * std + mean, 0, 1)
    return array[0] if array.shape[0] == 1 else array[:3].transpose(1, 2, 0)


def _config_section(trained: TrainedModel, run_dir: Path) -> Section:
    from cnnlab.viz.report import Section, paragraph, table_html

    file = run_dir / "config.json"
    config = json.loads(file.read_text()) if file.is_file() else trained.config.to_dict()
    rows = [[key, json.dumps(value) if not isinstance(value, str) else value] for key, value in config.items()]
    note = paragraph(f"The resolved configuration the run was trained with ({file.name}).", "note")
    return Section("config", "Configuration", note + table_html(["setting", "value"], rows))


def _summary_section(trained: TrainedModel) -> Section:
    from cnnlab.inspection.summary import summarize
    from cnnlab.viz.report import Section, paragraph, table_html

    summary = summarize(trained.model, trained.input_size)
    headers, rows = summary.table(flops=False)
    shape = "x".join(map(str, summary.input))
    total = paragraph(
        f"{summary.model} at {shape}: {summary.trainable_params:,} trainable parameters; "
        f"{summary.total_macs:,} MACs per image. Field: the receptive field of one unit, in input "
        "pixels; jump: the distance between neighbouring units."
    )
    notes = "".join(paragraph(f"Note: {note}") for note in summary.notes)
    return Section("summary", "Network summary", table_html(headers, rows) + total + notes)


def _curves_section(run_dir: Path, folder: Path) -> Section:
    from cnnlab.viz.curves import plot_curves, read_metrics
    from cnnlab.viz.report import Section, image_tag, paragraph

    metrics = run_dir / "metrics.csv"
    if not metrics.is_file():
        return Section("curves", "Training curves", paragraph(f"{run_dir} has no metrics.csv.", "note"))
    rows = read_metrics(metrics)
    path = plot_curves([(run_dir.name, rows)], folder / "curves.png")
    caption = f"{len(rows)} epoch(s); training dashed, validation solid."
    return Section("curves", "Training curves", image_tag(path, "loss and accuracy per epoch", caption))


def _confusion_section(trained: TrainedModel, result: Examination, dataset: str, folder: Path) -> Section:
    from cnnlab.viz.confusion import plot_confusion
    from cnnlab.viz.report import Section, image_tag

    title = f"{trained.name} on {dataset} test: top-1 {result.top1:.2%} of {result.count:,}"
    path = plot_confusion(result.confusion.tolist(), trained.classes, title, folder / "confusion.png")
    caption = "Rows: true class, with its accuracy; columns: predicted class; counts in the cells."
    return Section("confusion", "Confusion matrix", image_tag(path, title, caption))


def _filters_section(trained: TrainedModel, folder: Path) -> Section:
    from cnnlab.inspection.feature_maps import kernel_layers, kernels
    from cnnlab.viz.feature_maps import plot_filters
    from cnnlab.viz.report import Section, image_tag, paragraph

    layers = kernel_layers(trained.model)
    if not layers:
        return Section("filters", "First-layer filters", paragraph(f"{trained.name} has no convolutions.", "note"))
    name, module = next(iter(layers.items()))
    weight, note = kernels(module)
    grid = plot_filters(
        weight.float().numpy(),
        folder / "filters.png",
        name=f"{name} ({type(module).__name__})",
        caption=note,
        rgb=trained.input_size[0] == 3,
    )
    return Section("filters", "First-layer filters", image_tag(grid.path, f"the {grid.tiles} kernels of {name}"))


def _feature_maps_section(trained: TrainedModel, image: torch.Tensor, label: int, folder: Path) -> Section:
    from cnnlab.inspection.feature_maps import capture, map_layers, one_per_resolution
    from cnnlab.viz.examples import plot_examples
    from cnnlab.viz.feature_maps import plot_feature_maps
    from cnnlab.viz.report import Section, image_tag, paragraph

    layers = one_per_resolution(map_layers(trained.model, trained.input_size))
    shown = plot_examples(
        [_pixels(image, trained)], [f"class {trained.classes[label]}"], folder / "input.png", title="the test image"
    )
    parts = [image_tag(shown.path, "the test image the feature maps are of")]
    if not layers:
        parts.append(paragraph(f"{trained.name} has no layers with feature maps of 2x2 or more.", "note"))
    maps = capture(trained.model, image.unsqueeze(0), [layer.name for layer in layers])
    for index, layer in enumerate(layers):
        grid = plot_feature_maps(
            maps[layer.name][0].float().numpy(), folder / f"maps-{index}.png", name=f"{layer.name} ({layer.type})"
        )
        parts.append(image_tag(grid.path, f"{grid.tiles} feature maps of {layer.name}"))
    intro = (
        '<p class="note">The first convolution, then one layer for each map size, deeper layers last; '
        "<code>cnnlab show feature-maps RUN --layers all</code> draws every layer.</p>"
    )
    return Section("feature-maps", "Feature maps of a test image", intro + "\n".join(parts))


def _worst_section(trained: TrainedModel, result: Examination, folder: Path) -> Section:
    from cnnlab.viz.examples import plot_examples
    from cnnlab.viz.report import Section, image_tag, paragraph

    wrong = sum(1 for m in result.worst if m.predicted != m.label)
    if not result.worst:
        return Section("worst", "Worst-classified test images", paragraph("The test split is empty.", "note"))
    captions = [
        f"#{m.index}: true {trained.classes[m.label]}\npredicted {trained.classes[m.predicted]} "
        f"({m.probability:.0%})\nloss {m.loss:.2f}"
        for m in result.worst
    ]
    title = f"the {len(result.worst)} test images with the highest loss ({wrong} misclassified)"
    images = [_pixels(m.image, trained) for m in result.worst]
    grid = plot_examples(images, captions, folder / "worst.png", title=title)
    return Section("worst", "Worst-classified test images", image_tag(grid.path, "worst-classified test images"))


def build_report(path: str | Path, worst: int = 12) -> str:
    """The HTML page of a run (a run directory or a checkpoint in one)."""
    from cnnlab.inspection.mistakes import examine
    from cnnlab.training.inference import evaluation_data, load_trained_model
    from cnnlab.viz.report import render_report

    trained = load_trained_model(path)
    run_dir = trained.checkpoint.parent
    data = evaluation_data(trained)
    result = examine(trained.model, data.loader, trained.num_classes, worst, trained.logit_temperature)
    first_images, first_labels = next(iter(data.loader))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sections = [
            _config_section(trained, run_dir),
            _summary_section(trained),
            _curves_section(run_dir, folder),
            _confusion_section(trained, result, data.dataset, folder),
            _filters_section(trained, folder),
            _feature_maps_section(trained, first_images[0], int(first_labels[0]), folder),
            _worst_section(trained, result, folder),
        ]
    facts = [
        ("run", str(run_dir)),
        ("checkpoint", f"{trained.checkpoint.name}, epoch {trained.epoch}"),
        ("model", f"{trained.name}, input {'x'.join(map(str, trained.input_size))}"),
        ("data", f"{data.dataset}: {result.count:,} test images, {trained.num_classes} classes"),
        ("test top-1", f"{result.top1:.2%} (loss {result.loss:.4f})"),
        *(("note", note) for note in data.notes),
    ]
    return render_report(f"{trained.name} on {trained.config.data}: run report", facts, sections)


def run(args: argparse.Namespace) -> int:
    from cnnlab.training.inference import resolve_checkpoint

    checkpoint = resolve_checkpoint(args.run)
    out = Path(args.out).expanduser() if args.out else checkpoint.parent / "report.html"
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; it names the HTML file to write")
    page = build_report(args.run, args.worst)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"{out}  ({out.stat().st_size / 1e6:.1f} MB; open it in a browser)")
    return 0
