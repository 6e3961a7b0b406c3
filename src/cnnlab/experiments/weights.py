"""Fully connected, locally connected, convolution: how many weights, and what they buy.

The lecture: a fully connected network has "too many weights for each neuron"; a locally connected one is
"much more efficient, as each neuron only has a small number of pixels it relies on"; with shared weights
all positions "extract the same feature", which is the convolution.
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.experiments._base import ExperimentResult, Settings, register, train_briefly
from cnnlab.inspection.layer_comparison import compare_layers
from cnnlab.viz.figure import new_picture, save

__all__ = ["weights_experiment"]

CLAIM = "fully connected layers need the most weights, locally connected far fewer, shared (convolution) fewest"
INPUT_SIZES = (8, 16, 32, 64, 128, 224)
MODELS = ("mlp", "locally_connected_net", "lenet5_modern")
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


def _figure(arithmetic: list[dict[str, int]], accuracy: dict[str, dict[str, float]], out: Path) -> Path:
    figure = new_picture(1100, 420)
    left, right = figure.subplots(1, 2)
    sizes = [row["input"] for row in arithmetic]
    for key, label in (("fc", "fully connected"), ("lc", "locally connected"), ("conv", "convolution")):
        left.plot(sizes, [row[f"{key}_weights"] for row in arithmetic], "o-", label=label)
    left.set(xscale="log", yscale="log", xlabel="input size (pixels per side)", ylabel="weights",
             title="one layer of 6 maps, 5x5 windows")  # fmt: skip
    left.set_xticks(sizes, [str(s) for s in sizes])
    left.grid(alpha=0.3)
    left.legend()
    names = list(accuracy)
    bars = right.bar(range(len(names)), [100 * accuracy[n]["test_top1"] for n in names], color=["C0", "C1", "C2"])
    for bar, name in zip(bars, names, strict=True):
        right.annotate(f"{accuracy[name]['params']:,} params", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                       ha="center", va="bottom", fontsize=8)  # fmt: skip
    low = min(100 * accuracy[n]["test_top1"] for n in names)
    right.set(ylim=(max(0, low - 5), 100.5), ylabel="test top-1 (%)", title="the same digits, the same budget")
    right.set_xticks(range(len(names)), ["MLP (FC)", "LC net", "LeNet-5 (conv)"])
    right.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return save(figure, out / "weights.png")


@register("weights", CLAIM)
def weights_experiment(settings: Settings) -> ExperimentResult:
    """Weights and MACs of FC vs LC vs conv over input sizes, and the accuracy of the three networks."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    arithmetic = _arithmetic()
    accuracy: dict[str, dict[str, float]] = {}
    for model in MODELS:
        runs = [train_briefly(model, settings, f"{model}-seed{seed}", seed=seed, epochs=preset["epochs"],
                              data=settings.data or "mnist5k") for seed in seeds]  # fmt: skip
        accuracy[model] = {
            "test_top1": sum(r.summary.test_top1 for r in runs) / len(runs),
            "params": runs[0].summary.params,
            "runs": [r.summary.test_top1 for r in runs],
        }
    ordered = all(row["fc_weights"] > row["lc_weights"] > row["conv_weights"] for row in arithmetic)
    conv, fc = accuracy["lenet5_modern"], accuracy["mlp"]
    held = ordered and conv["test_top1"] >= fc["test_top1"] - 0.005
    at32 = next(row for row in arithmetic if row["input"] == 32)
    verdict = (
        f"At 32x32 one layer needs {at32['fc_weights']:,} weights fully connected, {at32['lc_weights']:,} locally "
        f"connected and {at32['conv_weights']:,} as a convolution; the convolutional LeNet-5 ({conv['params']:,} "
        f"parameters) reached {conv['test_top1']:.1%} against the MLP's {fc['test_top1']:.1%} "
        f"({fc['params']:,} parameters): the claim {'held' if held else 'did not hold'} on this run."
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
