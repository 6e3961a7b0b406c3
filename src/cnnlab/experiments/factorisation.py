"""Stacks of 3x3 convolutions in place of 5x5 and 7x7 ones: the same field, fewer weights, more non-linearity.

VGG (Simonyan & Zisserman 2015, Sec. 2.3): "a stack of two 3x3 conv. layers (without spatial pooling in
between) has an effective receptive field of 5x5; three such layers have a 7x7 effective receptive field",
with three non-linear rectification layers instead of one, and 27 weights per pair of channels instead of 49;
Inception v2 (Szegedy et al. 2016, Sec. 3.1) replaces its 5x5 convolutions by two 3x3 for the same reason.
The lecture: "Smaller 3x3 filters on all convolutional layers" and "replacing 7x7 and 5x5 filters with
multiple 3x3 convolutions".

Three checks. The arithmetic: the field of each stack from :mod:`cnnlab.layers.shapes`, its weights and
multiply-accumulates per pair of channels and its non-linearities. The measurement: the field of each stack
found by back-propagation, as the input pixels whose gradient is not zero for one output unit (with weights
of one and no ReLU, so that no path cancels or dies). And the networks: :func:`~cnnlab.models.twins.kernel_twin`
with 5x5 and 7x7 layers against its 3x3-stack twin, their fields from the same summary as ``cnnlab summary``,
their parameters and MACs, and their accuracy over seeds with the same recipe.

Measurable form (the first three exact, no seed changes them): the largest difference between a stack's field
and its large kernel's side, computed and measured, and between the twins' fields, below one pixel; the 3x3
stacks' weights over the large kernels' (5x5 and 7x7 together) below 1; the stacked twin's parameters over the
large twin's below 1; and the stacked twin's test top-1 minus the large twin's, paired on each seed, above
:data:`AS_GOOD` (-0.5 point: "as good"), judged by the 95 % Student's t interval over the seeds. The paper's
number, beside ours: with each pair of net B's 3x3 layers replaced by one 5x5 layer, VGG's top-1 error on
ImageNet was "7% higher" (Sec. 4.1, centre crop; the paper does not say whether in points or relative).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    bars_beside,
    count_seeds,
    counted,
    finish,
    for_slides,
    over_seeds,
    per_seed,
    save_figure,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge, judge_exact
from cnnlab.inspection.summary import summarize
from cnnlab.layers import shapes
from cnnlab.models import create_model
from cnnlab.viz.figure import Picture

__all__ = ["draw_factorisation", "factorisation_experiment", "measured_field", "stack"]

CLAIM = "stacks of 3x3 convolutions see as far as 5x5 and 7x7 ones with fewer weights and more non-linearity"
PRESETS = {"quick": {"epochs": 6, "seeds": tuple(range(12))}, "full": {"epochs": 20, "seeds": (0, 1, 2, 3, 4)}}
KERNELS = (5, 7)
AS_GOOD = -0.5  # the stacked twin may trail the large-kernel one by half a point of test top-1 and be "as good"
SAME_FIELD = 1  # fields agree when they differ by less than one pixel (they are whole pixels: equal)
FEWER = 1.0  # a ratio of weights or parameters (stacks over large kernels) below this: fewer
VGG_SHALLOW_WORSE = 7.0  # VGG Sec. 4.1: a 5x5 layer per pair of net B's 3x3 gave a "7% higher" top-1 error
KERNELS_OF = {"5x5 + 7x7": "large", "3x3 stacks": "stacked"}  # each variant's label and kernel_twin's kernels
VARIANTS = {label: Variant("kernel_twin", f"kernel-twin-{kernels}", {"model_args": {"kernels": kernels}})
            for label, kernels in KERNELS_OF.items()}  # fmt: skip


def stack(kernel: int, layers: int) -> nn.Sequential:
    """``layers`` convolutions of ``kernel x kernel``, one channel, weights of one, no bias and no ReLU."""
    convolutions = [nn.Conv2d(1, 1, kernel, padding=kernel // 2, bias=False) for _ in range(layers)]
    for convolution in convolutions:
        nn.init.ones_(convolution.weight)
    return nn.Sequential(*convolutions)


def measured_field(network: nn.Module, size: int = 31) -> int:
    """The side of the input square whose pixels change the centre output unit of ``network``, by gradient."""
    x = torch.ones(1, 1, size, size, requires_grad=True)
    output = network(x)
    output[0, 0, output.shape[2] // 2, output.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    return int(rows.max() - rows.min() + 1)


def _arithmetic() -> list[dict[str, int]]:
    """For each large kernel: its field, weights and non-linearities, and those of its 3x3 stack."""
    rows = []
    for kernel in KERNELS:
        layers = (kernel - 1) // 2
        rows.append({
            "kernel": kernel,
            "stack_layers": layers,
            "field_large": shapes.receptive_fields([shapes.Window(kernel)])[-1].size,
            "field_stack": shapes.receptive_fields([shapes.Window(3)] * layers)[-1].size,
            "measured_large": measured_field(stack(kernel, 1)),
            "measured_stack": measured_field(stack(3, layers)),
            "weights_large": kernel * kernel,
            "weights_stack": 9 * layers,
            "nonlinearities_large": 1,
            "nonlinearities_stack": layers,
        })  # fmt: skip
    return rows


def _twin_costs(kernels: str) -> dict[str, Any]:
    """Parameters, MACs and the field at the end of each stage of one twin, from the summary."""
    summary = summarize(create_model("kernel_twin", kernels=kernels), (1, 32, 32))
    fields = {row.name: row.rf[0] for row in summary.layers if row.name in ("pool1", "pool2") and row.rf}
    return {"params": summary.trainable_params, "macs": summary.total_macs, "fields": fields}


def _field_error(arithmetic: list[dict[str, int]], large: dict[str, Any], stacked: dict[str, Any]) -> int:
    """The largest difference between fields that should be equal: each stack's (computed and measured) and its
    kernel's side, and the two twins' after each stage."""
    sides = [abs(row[key] - row["kernel"]) for row in arithmetic
             for key in ("field_large", "field_stack", "measured_large", "measured_stack")]  # fmt: skip
    twins = [abs(large["fields"][stage] - stacked["fields"][stage]) for stage in large["fields"]]
    return max(sides + twins)


def _judgements(arithmetic: list[dict[str, int]], large: dict[str, Any], stacked: dict[str, Any]) -> list[Judgement]:
    """Fields, weights and parameters (exact), then accuracy, paired per seed."""
    weights = sum(row["weights_stack"] for row in arithmetic) / sum(row["weights_large"] for row in arithmetic)
    return [
        judge_exact("largest difference between fields that should be equal (pixels)",
                    _field_error(arithmetic, large, stacked), SAME_FIELD, above=False, spec=".0f"),
        judge_exact("3x3 stacks' weights over one 5x5 and one 7x7 kernel's, per pair of channels", weights, FEWER,
                    above=False, spec=".2f"),
        judge_exact("stacked twin's parameters over the 5x5/7x7 twin's", stacked["params"] / large["params"], FEWER,
                    above=False, spec=".2f"),
        judge("3x3 stacks minus 5x5/7x7 twin, test top-1 per seed (points)",
              [100 * (a - b) for a, b in zip(stacked["runs"], large["runs"], strict=True)], AS_GOOD, spec="+.2f"),
    ]  # fmt: skip


@for_slides
def draw_factorisation(
    arithmetic: list[dict[str, int]], results: dict[str, dict[str, Any]], held: bool | None = None,
    condition: str = "",
) -> Picture:  # fmt: skip
    """The weights of one large kernel and of the 3x3 stack with the same field, beside the two twins' test top-1
    (from 0, a dot per seed, 95 % interval over two seeds or more); the verdict's line gives the paper's finding."""
    figure, left = bars_beside(CANVAS, {name: r["runs"] for name, r in results.items()}, title="kernel_twin",
                               notes={name: f"{r['params']:,} par." for name, r in results.items()})  # fmt: skip
    labels = [f"{row['kernel']}x{row['kernel']}" for row in arithmetic]
    positions = range(len(arithmetic))
    left.bar([p - 0.2 for p in positions], [row["weights_large"] for row in arithmetic], 0.4, label="one kernel")
    left.bar([p + 0.2 for p in positions], [row["weights_stack"] for row in arithmetic], 0.4, label="3x3 stack")
    for position, row in zip(positions, arithmetic, strict=True):
        left.annotate(f"{row['measured_large']}", (position - 0.2, row["weights_large"]), ha="center", va="bottom")
        left.annotate(f"{row['measured_stack']}", (position + 0.2, row["weights_stack"]), ha="center", va="bottom")
    left.set_xticks(list(positions), labels)
    left.set_ylim(0, 1.25 * max(row["weights_large"] for row in arithmetic))
    left.set(xlabel="kernel replaced (on the bars: the field measured)", ylabel="weights per channel pair",
             title="the same field, fewer weights")  # fmt: skip
    left.legend(loc="upper left")
    left.grid(alpha=0.3, axis="y")
    figure.axes[1].legend(loc="lower center")
    return finish(figure, held, condition)


@register("factorisation", CLAIM, lecture=110, about="stacks of 3x3 against 5x5 and 7x7: fields, weights, accuracy")
def factorisation_experiment(settings: Settings) -> ExperimentResult:
    """Fields, weights and non-linearities of 3x3 stacks against 5x5/7x7, and two twins trained over seeds."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    arithmetic = _arithmetic()
    accuracy = train_variants(settings, VARIANTS, seeds, epochs=preset["epochs"], data=settings.data or "mnist5k")
    results = {label: {**_twin_costs(kernels), **over_seeds(accuracy[label])} for label, kernels in KERNELS_OF.items()}
    large, stacked = results["5x5 + 7x7"], results["3x3 stacks"]
    judgements = _judgements(arithmetic, large, stacked)
    ahead = count_seeds(lambda seed: seed["3x3 stacks"] >= seed["5x5 + 7x7"], accuracy)
    epochs = settings.epochs or preset["epochs"]
    condition = (
        f"kernel_twin on {settings.data or 'mnist5k'}, {epochs} epochs, {len(seeds)} seeds; VGG trained 74 epochs "
        f"on ImageNet, where 5x5 layers in place of net B's 3x3 pairs gave a {VGG_SHALLOW_WORSE:.0f}% higher top-1 "
        "error"
    )
    held, verdict = verdict_of(
        f"Two 3x3 layers see 5x5 and three see 7x7 (computed and measured by gradient) with 18 and 27 weights per "
        f"pair of channels instead of 25 and 49, and 2 and 3 ReLUs instead of 1; the stacked twin "
        f"({stacked['params']:,} parameters, {stacked['macs']:,} MACs) reached {stacked['mean']:.2%} against "
        f"{large['mean']:.2%} for the 5x5/7x7 one ({large['params']:,}, {large['macs']:,}), mean of "
        f"{counted(len(seeds), 'seed')}, ahead or level in {ahead} of {len(seeds)}.",
        judgements,
        condition,
    )
    headers = ["", "5x5", "two 3x3", "7x7", "three 3x3"]
    five, seven = arithmetic
    rows: list[list[object]] = [
        ["field (computed)", five["field_large"], five["field_stack"], seven["field_large"], seven["field_stack"]],
        ["field (measured by gradient)", five["measured_large"], five["measured_stack"], seven["measured_large"],
         seven["measured_stack"]],
        ["weights per pair of channels", five["weights_large"], five["weights_stack"], seven["weights_large"],
         seven["weights_stack"]],
        ["non-linearities", 1, five["stack_layers"], 1, seven["stack_layers"]],
    ]  # fmt: skip
    rows += [
        ["kernel_twin (trained)", "5x5 + 7x7", "3x3 stacks", "", ""],
        ["  parameters", large["params"], stacked["params"], "", ""],
        ["  MACs per image", large["macs"], stacked["macs"], "", ""],
        ["  field after each stage", f"{large['fields']['pool1']}, {large['fields']['pool2']}",
         f"{stacked['fields']['pool1']}, {stacked['fields']['pool2']}", "", ""],
        ["  test top-1 (mean)", f"{large['mean']:.2%}", f"{stacked['mean']:.2%}", "", ""],
        ["  seeds", per_seed(large["runs"]), per_seed(stacked["runs"]), "", ""],
    ]  # fmt: skip
    figure = save_figure(draw_factorisation(arithmetic, results, held, condition), settings.out, "factorisation")
    data = {"arithmetic": arithmetic, "twins": results, "seeds": list(seeds), "epochs": epochs,
            "paper_5x5_top1_error_higher_percent": VGG_SHALLOW_WORSE}  # fmt: skip
    return ExperimentResult("factorisation", CLAIM, held, verdict, headers, rows, data, figure, judgements)
