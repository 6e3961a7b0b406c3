"""1x1 convolutions and global average pooling let a network grow without its parameters exploding.

Network in Network (Lin et al. 2014, Sec. 3.2) replaces the fully connected layers with a 1x1 convolution to
one map per class and a global average over each map: "there is no parameter to optimize in the global
average pooling thus overfitting is avoided at this layer". GoogLeNet (Szegedy et al. 2015, Sec. 5) ends the
same way ("the use of average pooling before the classifier"), with one linear layer. The lecture: "Putting
fully connected layers in between convolutional layers" (1x1 convolutions) and "global average pooling as
final layer", so that networks can grow "without the number of parameters exploding".

Two checks. The zoo: the parameters of the classifier heads of AlexNet and VGG-16 (their fully connected
layers) against NiN's (the 1x1 convolution to the class maps) and GoogLeNet's (one linear layer after the
global pooling), from the same summary as ``cnnlab summary``. And a curve of accuracy against parameters:
:func:`~cnnlab.models.twins.head_twin` at a few widths (``width`` multiplies every layer's width), each with a
fully connected head (a hidden layer of 256 at width 1) and with a 1x1 convolution and global average pooling,
trained alike on the same seeds.

Measurable form: (1) the zoo's smallest fully connected head over its largest pooled one above 10 (exact);
(2) at the widest width, the fully connected twin's parameters over the pooled twin's above 5 (exact: "many
times fewer"); (3) at that width, the paired per-seed difference of test top-1, pooled minus fully connected,
above -0.5 point ("reaches the fully connected head's accuracy"), judged by its 95 % Student's t interval. The
widths are compared matched (the same convolutions, only the head differs): the pooled twin is the smaller by
about 7.6 times at every width, so no narrower fully connected twin is as small as a wider pooled one.

The quick preset trains widths 0.25, 0.5 and 1 for 6 epochs on 5 seeds (about 3 minutes on 2 idle cores; width 2
costs as much as the three together). At this budget the pooled head learns more slowly than the fully connected
one: at width 1 it trailed by about 6 points after 6 epochs and 2.6 after 12, and by 3.3 at width 2 after 6
(seed 0). NiN trained to convergence on CIFAR-10 with dropout, where global pooling beat the fully connected
head (Table 5: 10.41% against 11.59% test error); ``--full`` trains 20 epochs, widths 0.5 to 4.
"""

from __future__ import annotations

from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    counted,
    finish,
    for_slides,
    over_seeds,
    per_seed,
    plain_log_ticks,
    save_figure,
    seed_errorbar,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge, judge_exact
from cnnlab.inspection.summary import summarize
from cnnlab.models import create_model, get_spec
from cnnlab.viz.figure import Picture, new_picture

__all__ = [
    "classifier_head",
    "classifier_head_of_twin",
    "draw_global_pooling",
    "global_pooling_experiment",
    "judgements_of",
]

CLAIM = "1x1 convolutions and global average pooling keep the classifier's parameters from exploding"
PRESETS = {
    "quick": {"epochs": 6, "widths": (0.25, 0.5, 1.0), "seeds": tuple(range(5))},
    "full": {"epochs": 20, "widths": (0.5, 1.0, 2.0, 4.0), "seeds": tuple(range(5))},
}
ZOO = {"alexnet": "fc", "vgg16": "fc", "nin_imagenet": "gap", "googlenet": "gap"}
ZOO_SMALLER = 10  # the zoo's pooled heads must be at least this many times smaller than its fully connected ones
SMALLER = 5  # "many times fewer": the pooled twin's parameters against the fully connected twin's
COST_POINTS = -0.5  # "reaches the accuracy": the pooled twin may trail by at most half a point
HEADS = {"fully connected": "fc", "1x1 + global pooling": "gap"}  # each variant's label and head_twin's head
COLOURS = {"fully connected": "C3", "1x1 + global pooling": "C2"}
ZOO_NAMES = {"alexnet": "AlexNet", "vgg16": "VGG-16", "nin_imagenet": "NiN", "googlenet": "GoogLeNet"}  # figure
# Lin et al. 2014, Table 5: CIFAR-10 test error (%) of NiN's mlpconv layers under each head
PAPER_ERROR = {"fully connected": 11.59, "1x1 + global pooling": 10.41}


def classifier_head(name: str) -> dict[str, int]:
    """A registered model's parameters, and those of its classifier head: its fully connected layers and any
    convolution that makes one map per class (NiN's), from the summary."""
    summary = summarize(name)  # on meta tensors: VGG-16's 138 million parameters are never allocated
    classes = get_spec(name).num_classes
    head = sum(
        row.params for row in summary.layers
        if row.type == "Linear" or (row.type == "Conv2d" and row.output_shape[0] == classes)
    )  # fmt: skip
    return {"params": summary.trainable_params, "head": head}


def classifier_head_of_twin(head: str, width: float = 1.0) -> dict[str, int]:
    """:func:`~cnnlab.models.twins.head_twin`'s parameters at ``width``, and its head's: its linear layers, or its
    1x1 convolutions."""
    model = create_model("head_twin", head=head, width=width)
    parts = (model.fc1, model.fc2) if head == "fc" else (model.mlpconv, model.classes)
    return {"params": sum(p.numel() for p in model.parameters()),
            "head": sum(p.numel() for part in parts for p in part.parameters())}  # fmt: skip


def judgements_of(zoo: dict[str, dict[str, int]], curve: dict[str, list[dict[str, Any]]]) -> list[Judgement]:
    """The claim's three parts: the zoo's heads, and the widest twins' parameters and paired accuracies."""
    largest_pooled = max(zoo[n]["head"] for n in ZOO if ZOO[n] == "gap")
    smallest_fc = min(zoo[n]["head"] for n in ZOO if ZOO[n] == "fc")
    fc, gap = curve["fully connected"][-1], curve["1x1 + global pooling"][-1]
    width = f"{fc['width']:g}"
    return [
        judge_exact("the zoo's smallest fully connected head over its largest pooled one (parameters)",
                    smallest_fc / largest_pooled, ZOO_SMALLER, spec=",.1f"),
        judge_exact(f"fully connected over pooled twin's parameters at width {width}", fc["params"] / gap["params"],
                    SMALLER, spec=",.1f"),
        judge(f"pooled minus fully connected twin at width {width}, test top-1 per seed (points)",
              [100 * (a - b) for a, b in zip(gap["runs"], fc["runs"], strict=True)], COST_POINTS, spec="+.2f"),
    ]  # fmt: skip


def _zoo_panel(axis: Any, zoo: dict[str, dict[str, int]]) -> None:
    names = list(zoo)
    colours = ["C3" if ZOO[name] == "fc" else "C2" for name in names]
    bars = axis.bar(range(len(names)), [zoo[n]["head"] for n in names], color=colours)
    for bar, name in zip(bars, names, strict=True):
        share = zoo[name]["head"] / zoo[name]["params"]
        axis.annotate(f"{share:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                      va="bottom")  # fmt: skip
    axis.set_xticks(range(len(names)), [ZOO_NAMES.get(name, name) for name in names], rotation=30, ha="right",
                    rotation_mode="anchor")  # fmt: skip
    axis.set(yscale="log", ylabel="head parameters", title="the zoo's heads (% of all)")
    plain_log_ticks(axis)
    axis.set_ylim(top=axis.get_ylim()[1] * 8)  # room for the shares above the tallest bars
    axis.grid(alpha=0.3, axis="y")


def _curve_panel(axis: Any, curve: dict[str, list[dict[str, Any]]], title: str) -> None:
    for label, points in curve.items():
        params = [point["params"] for point in points]
        axis.plot(params, [100 * point["mean"] for point in points], "o-", color=COLOURS[label], label=label)
        for point in points:
            seed_errorbar(axis, point["params"], point["runs"], scale=100)
            axis.annotate(f"x{point['width']:g}", (point["params"], 100 * point["mean"]), textcoords="offset points",
                          xytext=(0, -8), ha="center", va="top", color=COLOURS[label])  # fmt: skip
        axis.axhline(100 - PAPER_ERROR[label], color=COLOURS[label], ls=":", lw=1.5)
    # from 0: the narrow pooled twins are far below the others, and the gap between heads is read from the dots
    axis.set(xscale="log", ylim=(0, 100), xlabel="parameters (log scale)", ylabel="test top-1 (%)", title=title)
    plain_log_ticks(axis, "x")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", title="dotted: NiN on CIFAR-10")


@for_slides
def draw_global_pooling(
    zoo: dict[str, dict[str, int]],
    curve: dict[str, list[dict[str, Any]]],
    title: str,
    held: bool | None = None,
    condition: str = "",
) -> Picture:
    """The zoo's classifier heads (log scale), beside head_twin's test top-1 against its parameters for each head
    (from 0, a dot per seed, 95 % interval over two seeds or more; x2: the width)."""
    figure = new_picture(*CANVAS)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [2, 3]})
    _zoo_panel(left, zoo)
    _curve_panel(right, curve, title)
    return finish(figure, held, condition)


@register("global-pooling", CLAIM, lecture=120,
          about="fully connected heads against 1x1 convolutions and global average pooling")  # fmt: skip
def global_pooling_experiment(settings: Settings) -> ExperimentResult:
    """Classifier-head parameters in the zoo, and accuracy against parameters of head_twin's two heads at a few
    widths, trained on the same seeds."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    widths, data = preset["widths"], settings.data or "mnist5k"
    zoo = {name: classifier_head(name) for name in ZOO}
    variants = {(label, width): Variant("head_twin", f"head-twin-{head}-x{width:g}",
                                        {"model_args": {"head": head, "width": width}})
                for label, head in HEADS.items() for width in widths}  # fmt: skip
    accuracy = train_variants(settings, variants, seeds, epochs=preset["epochs"], data=data)
    curve = {label: [{"width": width, **classifier_head_of_twin(head, width), **over_seeds(accuracy[label, width])}
                     for width in widths]
             for label, head in HEADS.items()}  # fmt: skip
    judgements = judgements_of(zoo, curve)
    fc, gap = curve["fully connected"][-1], curve["1x1 + global pooling"][-1]
    epochs = settings.epochs or preset["epochs"]
    condition = (
        f"{data}, {counted(epochs, 'epoch')} of the twins' recipe (AdamW, one-cycle, no batch norm), widths "
        f"{', '.join(f'{w:g}' for w in widths)}, {len(seeds)} seeds; NiN trained to convergence on CIFAR-10 with "
        "dropout"
    )  # fmt: skip
    held, verdict = verdict_of(
        f"AlexNet's and VGG-16's fully connected heads hold {zoo['alexnet']['head']:,} and {zoo['vgg16']['head']:,} "
        f"parameters, NiN's and GoogLeNet's pooled ones {zoo['nin_imagenet']['head']:,} and "
        f"{zoo['googlenet']['head']:,}. On the digits, at width {gap['width']:g} the pooled twin ({gap['params']:,} "
        f"parameters, head {gap['head']:,}) reached {gap['mean']:.2%} against {fc['mean']:.2%} for the fully "
        f"connected one ({fc['params']:,}, head {fc['head']:,}), mean of {counted(len(seeds), 'seed')}; "
        + "; ".join(f"at width {g['width']:g} {g['mean']:.2%} against {f['mean']:.2%}"
                    for f, g in zip(curve["fully connected"][:-1], curve["1x1 + global pooling"][:-1], strict=True))
        + ". On CIFAR-10 Lin et al. (Table 5) report 10.41% test error pooled against 11.59% fully connected.",
        judgements,
        condition,
    )  # fmt: skip
    headers = ["network", "head", "parameters", "head parameters", "share", "test top-1 (mean)", "seeds"]
    rows: list[list[object]] = [
        [name, "fully connected" if ZOO[name] == "fc" else "1x1 / global pooling", zoo[name]["params"],
         zoo[name]["head"], f"{zoo[name]['head'] / zoo[name]['params']:.1%}", "-", "-"]
        for name in ZOO
    ]  # fmt: skip
    for label, points in curve.items():
        rows += [[f"head_twin x{p['width']:g}", label, p["params"], p["head"], f"{p['head'] / p['params']:.1%}",
                  f"{p['mean']:.2%}", per_seed(p["runs"])] for p in points]  # fmt: skip
    title = f"head_twin, {counted(epochs, 'epoch')}, no batch norm"
    figure = save_figure(draw_global_pooling(zoo, curve, title, held, condition), settings.out, "global-pooling")
    record = {"zoo": zoo, "curve": curve, "widths": list(widths), "seeds": list(seeds), "epochs": epochs,
              "paper_error_percent": PAPER_ERROR}  # fmt: skip
    return ExperimentResult("global-pooling", CLAIM, held, verdict, headers, rows, record, figure, judgements)
