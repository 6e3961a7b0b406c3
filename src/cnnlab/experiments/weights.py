"""Fully connected, locally connected, convolution: how many weights, and what they buy.

The lecture: a fully connected network has "too many weights for each neuron"; a locally connected one is
"much more efficient, as each neuron only has a small number of pixels it relies on"; with shared weights
all positions "extract the same feature", which is the convolution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import bars_beside, outcome, save_figure
from cnnlab.inspection.layer_comparison import compare_layers

__all__ = ["weights_experiment"]

CLAIM = "fully connected layers need the most weights, locally connected far fewer, shared (convolution) fewest"
INPUT_SIZES = (8, 16, 32, 64, 128, 224)
MODELS = ("mlp", "locally_connected_net", "lenet5_modern")
LABELS = {"mlp": "MLP (FC)", "locally_connected_net": "LC net", "lenet5_modern": "LeNet-5 (conv)"}  # in the figure
PRESETS = {"quick": {"epochs": 6, "seeds": (0,)}, "full": {"epochs": 30, "seeds": (0, 1, 2)}}


def _arithmetic() -> list[dict[str, int]]:
    """Weights and MACs of a 6-map, 5x5 layer on a 1-channel input of each size (LeNet-5's C1 at 32)."""
    rows = []
    for size in INPUT_SIZES:
        fully, local, conv = compare_layers((1, size, size), 6, 5).layers
        rows.append({
            "input": size, "fc_weights": fully.weights, "lc_weights": local.weights, "conv_weights": conv.weights,
            "fc_macs": fully.macs, "lc_macs": local.macs, "conv_macs": conv.macs,
        })  # fmt: skip
    return rows


def _figure(arithmetic: list[dict[str, Any]], accuracy: dict[str, dict[str, Any]], out: Path) -> Path:
    figure, left = bars_beside((1100, 420), {LABELS[m]: a["runs"] for m, a in accuracy.items()}, margin=5,
                               title="the same digits, the same budget",
                               notes={LABELS[m]: f"{a['params']:,} params" for m, a in accuracy.items()})  # fmt: skip
    sizes = [row["input"] for row in arithmetic]
    for key, label in (("fc", "fully connected"), ("lc", "locally connected"), ("conv", "convolution")):
        left.plot(sizes, [row[f"{key}_weights"] for row in arithmetic], "o-", label=label)
    left.set(xscale="log", yscale="log", xlabel="input size (pixels per side)", ylabel="weights",
             title="one layer of 6 maps, 5x5 windows")  # fmt: skip
    left.set_xticks(sizes, [str(s) for s in sizes])
    left.grid(alpha=0.3)
    left.legend()
    return save_figure(figure, out, "weights")


@register("weights", CLAIM, lecture=30, about="FC vs locally connected vs convolution: weights, MACs, accuracy")
def weights_experiment(settings: Settings) -> ExperimentResult:
    """Weights and MACs of FC vs LC vs conv over input sizes, and the accuracy of the three networks."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    arithmetic = _arithmetic()
    found = train_variants(settings, {model: Variant(model, model) for model in MODELS}, seeds, lambda run: run,
                           epochs=preset["epochs"], data=settings.data or "mnist5k")  # fmt: skip
    accuracy = {model: {"test_top1": sum(r.summary.test_top1 for r in runs) / len(runs),
                        "params": runs[0].summary.params, "runs": [r.summary.test_top1 for r in runs]}
                for model, runs in found.items()}  # fmt: skip
    ordered = all(row["fc_weights"] > row["lc_weights"] > row["conv_weights"] for row in arithmetic)
    conv, fc = accuracy["lenet5_modern"], accuracy["mlp"]
    held = ordered and conv["test_top1"] >= fc["test_top1"] - 0.005
    at32 = next(row for row in arithmetic if row["input"] == 32)
    verdict = (
        f"At 32x32 one layer needs {at32['fc_weights']:,} weights fully connected, {at32['lc_weights']:,} locally "
        f"connected and {at32['conv_weights']:,} as a convolution; the convolutional LeNet-5 ({conv['params']:,} "
        f"parameters) reached {conv['test_top1']:.1%} against the MLP's {fc['test_top1']:.1%} "
        f"({fc['params']:,} parameters): {outcome(held)}"
    )
    headers = ["", "fully connected", "locally connected", "convolution"]
    rows: list[list[object]] = [
        [f"weights, {r['input']}x{r['input']} input", r["fc_weights"], r["lc_weights"], r["conv_weights"]]
        for r in arithmetic
    ]
    rows.append(["MACs, 32x32 input", at32["fc_macs"], at32["lc_macs"], at32["conv_macs"]])
    rows.append(["network trained", *MODELS])
    rows.append(["its parameters", *(accuracy[m]["params"] for m in MODELS)])
    rows.append(["its test top-1", *(f"{accuracy[m]['test_top1']:.2%}" for m in MODELS)])
    figure = _figure(arithmetic, accuracy, settings.out)
    data = {
        "arithmetic": arithmetic,
        "accuracy": accuracy,
        "seeds": list(seeds),
        "epochs": settings.epochs or preset["epochs"],
    }
    return ExperimentResult("weights", CLAIM, held, verdict, headers, rows, data, figure)
