"""1x1 convolutions and global average pooling keep the classifier's parameters from exploding.

Network in Network (Lin et al. 2014, Sec. 3.2) replaces the fully connected layers with a 1x1 convolution to
one map per class and a global average over each map: "there is no parameter to optimize in the global
average pooling thus overfitting is avoided at this layer". GoogLeNet (Szegedy et al. 2015, Sec. 5) ends the
same way ("the use of average pooling before the classifier"), with one linear layer. The lecture: "Putting
fully connected layers in between convolutional layers" (1x1 convolutions) and "global average pooling as
final layer".

Two checks. The zoo: the parameters of the classifier heads of AlexNet and VGG-16 (their fully connected
layers) against NiN's (the 1x1 convolution to the class maps) and GoogLeNet's (one linear layer after the
global pooling), from the same summary as ``cnnlab summary``. And two twins trained alike:
:func:`~cnnlab.models.twins.head_twin` with a fully connected head (a hidden layer of 256) against the same
convolutions with a 1x1 convolution and global average pooling. The claim holds when the pooled heads are
far smaller (a tenth of the fully connected ones or less) and the pooled twin's accuracy is within a point
of the fully connected one's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import bars_beside, outcome, over_seeds, per_seed, save_figure
from cnnlab.inspection.summary import summarize
from cnnlab.models import create_model, get_spec

__all__ = ["classifier_head", "global_pooling_experiment"]

CLAIM = "1x1 convolutions and global average pooling keep the classifier's parameters from exploding"
PRESETS = {"quick": {"epochs": 6, "seeds": (0, 1, 2)}, "full": {"epochs": 20, "seeds": (0, 1, 2, 3, 4)}}
ZOO = {"alexnet": "fc", "vgg16": "fc", "nin_imagenet": "gap", "googlenet": "gap"}
SMALLER = 10  # the pooled heads must be at least this many times smaller
TOLERANCE = 0.01  # the pooled twin may trail the fully connected one by this much
HEADS = {"fully connected": "fc", "1x1 + global pooling": "gap"}  # each variant's label and head_twin's head
VARIANTS = {label: Variant("head_twin", f"head-twin-{head}", {"model_args": {"head": head}})
            for label, head in HEADS.items()}  # fmt: skip


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


def _figure(zoo: dict[str, dict[str, int]], twins: dict[str, dict[str, Any]], out: Path) -> Path:
    figure, left = bars_beside(
        (1100, 420), {label: twin["runs"] for label, twin in twins.items()}, colours=["C3", "C2"],
        title="head_twin on the digits (dots: seeds)",
        notes={label: f"{twin['params']:,} params" for label, twin in twins.items()},
    )  # fmt: skip
    names = list(zoo)
    colours = ["C3" if ZOO[name] == "fc" else "C2" for name in names]
    bars = left.bar(names, [zoo[n]["head"] for n in names], color=colours)
    for bar, name in zip(bars, names, strict=True):
        share = zoo[name]["head"] / zoo[name]["params"]
        left.annotate(f"{share:.0%} of all", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                      va="bottom", fontsize=8)  # fmt: skip
    left.set(yscale="log", ylabel="classifier-head parameters", title="the zoo: FC heads (red) and pooled (green)")
    left.grid(alpha=0.3, axis="y")
    return save_figure(figure, out, "global-pooling")


@register("global-pooling", CLAIM, lecture=120,
          about="fully connected heads against 1x1 convolutions and global average pooling")  # fmt: skip
def global_pooling_experiment(settings: Settings) -> ExperimentResult:
    """Classifier-head parameters in the zoo, and a fully connected head against 1x1 + global pooling, trained."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    zoo = {name: classifier_head(name) for name in ZOO}
    runs = train_variants(settings, VARIANTS, seeds, lambda run: run, epochs=preset["epochs"],
                          data=settings.data or "mnist5k")  # fmt: skip
    twins = {label: {"params": runs[label][0].summary.params, "head": classifier_head_of_twin(head),
                     **over_seeds([run.summary.test_top1 for run in runs[label]])}
             for label, head in HEADS.items()}  # fmt: skip
    fc, gap = twins["fully connected"], twins["1x1 + global pooling"]
    largest_pooled = max(zoo[n]["head"] for n in ZOO if ZOO[n] == "gap")
    smallest_fc = min(zoo[n]["head"] for n in ZOO if ZOO[n] == "fc")
    smaller = largest_pooled * SMALLER <= smallest_fc and gap["head"] * SMALLER <= fc["head"]
    held = smaller and gap["mean"] >= fc["mean"] - TOLERANCE
    verdict = (
        f"AlexNet's and VGG-16's fully connected heads hold {zoo['alexnet']['head']:,} and {zoo['vgg16']['head']:,} "
        f"parameters, NiN's and GoogLeNet's pooled ones {zoo['nin_imagenet']['head']:,} and "
        f"{zoo['googlenet']['head']:,}; on the digits the pooled twin ({gap['params']:,} parameters, head "
        f"{gap['head']:,}) reached {gap['mean']:.2%} against {fc['mean']:.2%} for the fully connected one "
        f"({fc['params']:,}, head {fc['head']:,}), mean of {len(seeds)} seed(s): {outcome(held)}"
    )
    headers = ["network", "head", "parameters", "head parameters", "share", "test top-1 (mean)", "seeds"]
    rows: list[list[object]] = [
        [name, "fully connected" if ZOO[name] == "fc" else "1x1 / global pooling", zoo[name]["params"],
         zoo[name]["head"], f"{zoo[name]['head'] / zoo[name]['params']:.1%}", "-", "-"]
        for name in ZOO
    ]  # fmt: skip
    for label, twin in twins.items():
        share = f"{twin['head'] / twin['params']:.1%}"
        rows.append([f"head_twin ({label})", label, twin["params"], twin["head"], share, f"{twin['mean']:.2%}",
                     per_seed(twin["runs"])])  # fmt: skip
    figure = _figure(zoo, twins, settings.out)
    data = {"zoo": zoo, "twins": twins, "seeds": list(seeds), "epochs": settings.epochs or preset["epochs"]}
    return ExperimentResult("global-pooling", CLAIM, held, verdict, headers, rows, data, figure)


def classifier_head_of_twin(head: str) -> int:
    """The parameters of :func:`~cnnlab.models.twins.head_twin`'s head: its linear layers, or its 1x1 convolutions."""
    model = create_model("head_twin", head=head)
    parts = (model.fc1, model.fc2) if head == "fc" else (model.mlpconv, model.classes)
    return sum(p.numel() for part in parts for p in part.parameters())
