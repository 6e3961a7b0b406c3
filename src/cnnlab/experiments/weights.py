"""Fully connected, locally connected, convolution: how many weights, and what they buy.

The lecture: a fully connected network has "too many weights for each neuron"; a locally connected one is
"much more efficient, as each neuron only has a small number of pixels it relies on"; with shared weights
all positions "extract the same feature", which is the convolution.

Measurable form: the weights of one layer of 6 maps with 5x5 windows, at every input size from 8x8 to 224x224:
fully connected over locally connected above 1 and locally connected over convolution above 1 (exact, the
smallest ratio over the sizes); and what the sharing costs once trained: the paired per-seed difference of test
top-1, ``lenet5_modern`` (convolution) minus ``mlp`` (fully connected), above -0.5 point, judged by its 95 %
interval. The quick preset trains 8 seeds (about 18 s each on 2 idle cores); on one seed a difference of a
point or two could not be told from the seeds' spread.

Beside our accuracy, the figure marks LeCun et al. 1998's on full MNIST (Fig. 9: 60,000 digits, 20 passes):
LeNet-5 0.95% test error; the fully connected 28x28-300-100-10 network (``mlp``'s layers) 3.05%.

The networks trained are not the layer compared: the locally connected network (``locally_connected_net``) has
*more* parameters than the MLP (423,038 against 338,610), against the first panel's message. It is LeNet-5 with
its weights unshared: it keeps LeNet-5's 6 maps of 28x28 and 16 of 10x10, and every position of a map has a 5x5
window of its own (C1 122,304 weights, C3 241,600), where the MLP's hidden layers are 300 and 100 units wide. Per
output the LC layer is far cheaper (25 weights against 1,024); it has 15 times the MLP's outputs. The figure and
the verdict say so, with the numbers (:func:`parameter_story`).
"""

from __future__ import annotations

from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    accuracy_bars,
    counted,
    finish,
    footnote,
    for_slides,
    over_seeds,
    plain_log_ticks,
    save_figure,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge, judge_exact
from cnnlab.inspection.layer_comparison import compare_layers
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["draw_weights", "parameter_story", "weights_experiment"]

CLAIM = "fully connected layers need the most weights, locally connected far fewer, shared (convolution) fewest"
INPUT_SIZES = (8, 16, 32, 64, 128, 224)
MODELS = ("mlp", "locally_connected_net", "lenet5_modern")
LABELS = {"mlp": "MLP (FC)", "locally_connected_net": "LC net", "lenet5_modern": "LeNet-5 (conv)"}  # in the figure
PRESETS = {"quick": {"epochs": 6, "seeds": tuple(range(8))}, "full": {"epochs": 30, "seeds": tuple(range(8))}}
COST_POINTS = -0.5  # sharing the weights may cost at most half a point of test top-1 against the fully connected net
# LeCun et al. 1998, Fig. 9: test error (%) on full MNIST of LeNet-5 and of the 28x28-300-100-10 network
PAPER_ERROR = {"mlp": 3.05, "lenet5_modern": 0.95}


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


def parameter_story() -> dict[str, Any]:
    """Why the locally connected network has more parameters than the MLP, in numbers read off the two networks.

    Returns:
        ``lc_layers``: each locally connected layer's ``name``, ``maps``, ``positions`` (its map's side) and
        ``params``; ``mlp_hidden``: the widths of the MLP's hidden layers; ``lc_outputs`` and ``mlp_outputs``:
        the units of their hidden layers in all.
    """
    from torch import nn

    from cnnlab.layers.locally_connected import LocallyConnected2d
    from cnnlab.models import create_model

    layers = []
    for name, module in create_model("locally_connected_net").named_children():
        if isinstance(module, LocallyConnected2d):
            side, _, maps = module.weight.shape[:3]  # (H_out, W_out, C_out, C_in, kH, kW)
            layers.append({"name": name.upper(), "maps": int(maps), "positions": int(side),
                           "params": sum(p.numel() for p in module.parameters())})  # fmt: skip
    hidden = [m.out_features for m in create_model("mlp").modules() if isinstance(m, nn.Linear)][:-1]
    return {
        "lc_layers": layers,
        "mlp_hidden": hidden,
        "lc_outputs": sum(layer["maps"] * layer["positions"] ** 2 for layer in layers),
        "mlp_outputs": sum(hidden),
    }


def _story_line(story: dict[str, Any], params: dict[str, int]) -> str:
    """The LC network's extra parameters in a sentence (the figure's footnote and the verdict's)."""
    shared = [layer for layer in story["lc_layers"] if layer["positions"] > 1]  # C5's one position shares nothing
    maps = " and ".join(f"{layer['maps']} maps of {layer['positions']}x{layer['positions']}" for layer in shared)
    weights = ", ".join(f"{layer['name']} {layer['params']:,}" for layer in shared)
    hidden = " and ".join(f"{units:,}" for units in story["mlp_hidden"])
    return (
        f"Why the LC net has more parameters than the MLP ({params['locally_connected_net']:,} vs "
        f"{params['mlp']:,}): it keeps LeNet-5's {maps}, with 5x5 weights of its own at every position "
        f"({weights}); the MLP's hidden layers have {hidden} units."
    )


@for_slides
def draw_weights(
    arithmetic: list[dict[str, Any]],
    accuracy: dict[str, dict[str, Any]],
    story: dict[str, Any],
    held: bool | None = None,
    condition: str = "",
) -> Picture:
    """The weights of one layer against the input size, beside each network's test top-1 (from 0, a dot per seed,
    95 % intervals over two seeds or more), with the LC network's extra parameters explained underneath."""
    figure = new_picture(*CANVAS)
    left, bars = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.1]})
    runs = {LABELS[m]: a["runs"] for m, a in accuracy.items()}
    accuracy_bars(bars, runs, title="the networks trained",
                  notes={LABELS[m]: f"{a['params']:,} par." for m, a in accuracy.items()})  # fmt: skip
    paper = [(index, 100 - PAPER_ERROR[m]) for index, m in enumerate(accuracy) if m in PAPER_ERROR]
    bars.scatter(*zip(*paper, strict=True), marker="D", s=60, facecolors="none", edgecolors="C3", linewidths=2,
                 zorder=5, label="LeCun 1998, full MNIST")  # fmt: skip
    bars.legend(loc="lower center")
    sizes = [row["input"] for row in arithmetic]
    for key, label in (("fc", "fully connected"), ("lc", "locally connected"), ("conv", "convolution")):
        left.plot(sizes, [row[f"{key}_weights"] for row in arithmetic], "o-", label=label)
    left.set(xscale="log", yscale="log", xlabel="input side (pixels)", ylabel="weights (log scale)",
             title="one layer: 6 maps, 5x5 windows")  # fmt: skip
    left.set_xticks(sizes, [str(s) for s in sizes])
    left.minorticks_off()
    plain_log_ticks(left)
    left.grid(alpha=0.3)
    left.legend()
    footnote(figure, _story_line(story, {m: a["params"] for m, a in accuracy.items()}))
    return finish(figure, held, condition)


def _accuracy(runs: list[Any]) -> dict[str, Any]:
    """A network's parameters and test top-1 over the seeds (``test_top1``: their mean)."""
    seeded = over_seeds([run.summary.test_top1 for run in runs])
    return {"test_top1": seeded["mean"], "params": runs[0].summary.params, **seeded}


def judgements_of(arithmetic: list[dict[str, int]], accuracy: dict[str, dict[str, Any]]) -> list[Judgement]:
    """The claim's parts: the weights' order at every input size (exact), and conv minus FC accuracy per seed."""
    conv, fc = accuracy["lenet5_modern"]["runs"], accuracy["mlp"]["runs"]
    return [
        judge_exact("fully connected over locally connected weights, smallest over the input sizes",
                    min(r["fc_weights"] / r["lc_weights"] for r in arithmetic), 1.0, spec=",.1f"),
        judge_exact("locally connected over convolution weights, smallest over the input sizes",
                    min(r["lc_weights"] / r["conv_weights"] for r in arithmetic), 1.0, spec=",.1f"),
        judge("LeNet-5 (conv) minus MLP (FC), test top-1 per seed (points)",
              [100 * (a - b) for a, b in zip(conv, fc, strict=True)], COST_POINTS, spec="+.2f"),
    ]  # fmt: skip


@register("weights", CLAIM, lecture=30, about="FC vs locally connected vs convolution: weights, MACs, accuracy")
def weights_experiment(settings: Settings) -> ExperimentResult:
    """Weights and MACs of FC vs LC vs conv over input sizes, and the accuracy of the three networks."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    arithmetic = _arithmetic()
    story = parameter_story()
    found = train_variants(settings, {model: Variant(model, model) for model in MODELS}, seeds, lambda run: run,
                           epochs=preset["epochs"], data=settings.data or "mnist5k")  # fmt: skip
    accuracy = {model: _accuracy(runs) for model, runs in found.items()}
    judgements = judgements_of(arithmetic, accuracy)
    conv, fc = accuracy["lenet5_modern"], accuracy["mlp"]
    at32 = next(row for row in arithmetic if row["input"] == 32)
    epochs = settings.epochs or preset["epochs"]
    condition = (
        f"{settings.data or 'mnist5k'}, {counted(epochs, 'epoch')} of each network's recipe, "
        f"{counted(len(seeds), 'seed')}; the paper trained on 60,000 digits for 20 passes"
    )
    held, verdict = verdict_of(
        f"At 32x32 one layer needs {at32['fc_weights']:,} weights fully connected, {at32['lc_weights']:,} locally "
        f"connected and {at32['conv_weights']:,} as a convolution; the convolutional LeNet-5 ({conv['params']:,} "
        f"parameters) reached {conv['test_top1']:.2%} against the MLP's {fc['test_top1']:.2%} "
        f"({fc['params']:,} parameters), mean of {counted(len(seeds), 'seed')}; on full MNIST LeCun et al. (Fig. 9) "
        f"report {100 - PAPER_ERROR['lenet5_modern']:.2f}% and {100 - PAPER_ERROR['mlp']:.2f}%. "
        f"{_story_line(story, {m: a['params'] for m, a in accuracy.items()})}",
        judgements,
        condition,
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
    rows.append(["spread over seeds", *(f"{accuracy[m]['spread']:.2%}" for m in MODELS)])
    paper = (f"{100 - PAPER_ERROR[m]:.2f}%" if m in PAPER_ERROR else "-" for m in MODELS)
    rows.append(["paper, full MNIST (Fig. 9)", *paper])
    figure = save_figure(draw_weights(arithmetic, accuracy, story, held, condition), settings.out, "weights")
    data = {
        "arithmetic": arithmetic,
        "accuracy": accuracy,
        "seeds": list(seeds),
        "epochs": epochs,
        "paper_error_percent": PAPER_ERROR,
        "parameters_explained": story,
    }
    return ExperimentResult("weights", CLAIM, held, verdict, headers, rows, data, figure, judgements)
