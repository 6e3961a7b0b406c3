"""GoogLeNet's auxiliary classifiers: do they bring more gradient to the first layers, through the whole of training?

Szegedy et al. 2015, Sec. 5: "By adding auxiliary classifiers connected to these intermediate layers, we would
expect to encourage discrimination in the lower stages in the classifier, increase the gradient signal that
gets propagated back, and provide additional regularization"; their losses weigh 0.3. The lecture:
"Auxiliary classifiers only used during training to improve backwards flow of gradient". Inception-v3
(Szegedy et al. 2016, Sec. 4) found they "did not result in improved convergence early in the training" and
act as regularisers near its end; its batch-normalised side head was worth 0.4 point of top-1 (Table 3,
21.6% to 21.2%).

:func:`~cnnlab.models.twins.deep_aux_net` (a plain stack of 3x3 convolutions, no normalisation, no shortcut,
He-initialised) is trained with and without its two auxiliary classifiers, the same seeds and recipe, at two
depths: thirteen layers (four convolutions a group) and seven (two). Both arms start from the same weights (the
auxiliary heads are built last). At every optimiser step of every run, the gradient that training applied to
each convolution's weights is read (:func:`gradient_recorder`: a hook on the optimiser's step, before it
steps); at the first layer, that is the backward flow the claim is about, with the side losses in the one arm
and without them in the other.

Measurable form: on each seed, the ratio of the first layer's gradient norm with the auxiliary losses to the
one without, step by step, its geometric mean over the whole of training (a number per seed), judged by its
95 % interval against 1 at each depth. Test accuracy is reported beside it (the paired difference and its
interval), not judged: the claim is about the gradient's flow, and Inception-v3 found the accuracy effect small
and late. The quick preset trains on 2,000 of the bundled digits for 6 epochs, ten seeds.

What the quick run showed on our machine (ten seeds): the side losses did nothing to the first layer's gradient
in the first epoch (x0.93 at 13 layers, x1.00 at 7) and raised it in the last (x1.41, x1.40), the timing
Inception-v3 describes for accuracy; over the whole of training x1.18 (interval 0.98 to 1.37, inconclusive: one
seed's 0.65) at 13 layers and x1.22 (1.08 to 1.36, held) at 7. Test top-1 was 1.6 and 0.35 point lower with them
(intervals -3.45 to +0.17 and -0.84 to +0.14): no regularising gain after 6 epochs on 2,000 digits.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from cnnlab.data.facts import image_channels
from cnnlab.experiments._base import ExperimentResult, Settings, register, train_briefly
from cnnlab.experiments._scaffold import (
    CANVAS,
    finish,
    footnote,
    for_slides,
    per_seed,
    plain_log_ticks,
    save_figure,
    seed_errorbar,
    verdict_of,
)
from cnnlab.experiments._verdict import judge, t_interval
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["auxiliary_experiment", "draw_auxiliary", "geometric_mean_ratio", "gradient_recorder"]

CLAIM = "auxiliary classifiers increase the gradient reaching the first layers through training (GoogLeNet)"
PRESETS = {"quick": {"epochs": 6, "seeds": tuple(range(10)), "data": "mnist5k", "images": 2000, "per_group": (4, 2)},
           "full": {"epochs": 30, "seeds": (0, 1, 2, 3, 4), "data": "cifar10", "images": 0,
                    "per_group": (4, 2)}}  # fmt: skip
ARMS = {"without": False, "with": True}  # each arm's label and deep_aux_net's aux_logits
MORE = 1.0  # the claim: the first layer's gradient is larger with the side losses (ratio above one)
INCEPTION_V3_POINTS = 0.4  # Inception-v3, Table 3: the BN side head took top-1 error from 21.6% to 21.2%


@contextmanager
def gradient_recorder() -> Iterator[list[list[float]]]:
    """Record, at every optimiser step taken inside the block, the L2 norm of the gradient at each convolution's
    weights (every 4-D parameter, in the order the model made them: the first layer first).

    A global hook on ``torch.optim.Optimizer.step`` (PyTorch's ``register_optimizer_step_pre_hook``), called
    before the step: the gradient read is the one the training loss gave, with whatever losses the run adds.
    Yields the list the steps are appended to (a list of norms per step); the hook is gone after the block.
    """
    steps: list[list[float]] = []

    def record(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"] if p.ndim == 4]
        steps.append([0.0 if p.grad is None else float(p.grad.norm()) for p in params])

    handle = register_optimizer_step_pre_hook(record)
    try:
        yield steps
    finally:
        handle.remove()


def geometric_mean_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """The geometric mean of ``numerator[i] / denominator[i]`` (matched steps): a ratio of sizes that change by
    orders of magnitude through training, each step weighing the same.

    Raises:
        ValueError: sequences of different lengths, empty ones, or a value that is not positive.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("geometric_mean_ratio needs two sequences of one non-zero length")
    if min(*numerator, *denominator) <= 0:
        raise ValueError("geometric_mean_ratio needs positive values")
    return math.exp(statistics.fmean(math.log(a / b) for a, b in zip(numerator, denominator, strict=True)))


def _train_arm(settings: Settings, preset: dict[str, Any], seed: int, per_group: int, aux: bool) -> dict[str, Any]:
    """One run: its first layer's gradient norm at every step, each layer's mean over training, its test top-1."""
    data = settings.data or preset["data"]
    name = f"deep-aux-{1 + 3 * per_group}-{'with' if aux else 'without'}-seed{seed}"
    args = {"aux_logits": aux, "per_group": per_group, "in_channels": image_channels(data)}
    with gradient_recorder() as steps:
        run = train_briefly("deep_aux_net", settings, name, seed=seed, epochs=preset["epochs"], data=data,
                            train_images=preset["images"], model_args=args)  # fmt: skip
    return {"first_layer": [norms[0] for norms in steps],
            "by_layer": [statistics.fmean(column) for column in zip(*steps, strict=True)],
            "steps_per_epoch": len(steps) // max(1, len(run.metrics)), "test_top1": run.summary.test_top1}  # fmt: skip


def _one_depth(settings: Settings, preset: dict[str, Any], seeds: Sequence[int], per_group: int) -> dict[str, Any]:
    arms = {label: [_train_arm(settings, preset, s, per_group, aux) for s in seeds] for label, aux in ARMS.items()}
    pairs = list(zip(arms["with"], arms["without"], strict=True))
    per_epoch = arms["without"][0]["steps_per_epoch"]
    return {
        "layers": 1 + 3 * per_group,
        "per_group": per_group,
        "steps_per_epoch": per_epoch,
        "ratio": [geometric_mean_ratio(w["first_layer"], o["first_layer"]) for w, o in pairs],
        "ratio_first_epoch": [geometric_mean_ratio(w["first_layer"][:per_epoch], o["first_layer"][:per_epoch])
                              for w, o in pairs],
        "ratio_last_epoch": [geometric_mean_ratio(w["first_layer"][-per_epoch:], o["first_layer"][-per_epoch:])
                             for w, o in pairs],
        "test_top1": {label: [run["test_top1"] for run in runs] for label, runs in arms.items()},
        "first_layer_norms": {label: [run["first_layer"] for run in runs] for label, runs in arms.items()},
        "by_layer_seed0": {label: runs[0]["by_layer"] for label, runs in arms.items()},
    }  # fmt: skip


def _smooth(values: Sequence[float], window: int) -> list[float]:
    """A running geometric mean over ``window`` steps (the norms jump from batch to batch)."""
    logs = torch.tensor([math.log(max(v, 1e-30)) for v in values])
    window = max(1, min(window, len(values)))
    kernel = torch.ones(1, 1, window) / window
    return torch.nn.functional.conv1d(logs.view(1, 1, -1), kernel).exp().flatten().tolist()


@for_slides
def draw_auxiliary(depths: dict[str, dict[str, Any]], held: bool | None = None, condition: str = "") -> Picture:
    """For each depth, the first layer's gradient norm through training with and without the side losses (a line
    per seed, smoothed); beside them, the test top-1 with minus without (a dot per seed, 95 % interval)."""
    figure = new_picture(*CANVAS)
    axes = figure.subplots(1, len(depths) + 1, gridspec_kw={"width_ratios": [1.2] * len(depths) + [1]})
    for axis, (label, depth) in zip(axes, depths.items(), strict=False):
        window = max(1, depth["steps_per_epoch"] // 4)
        for index, (arm, runs) in enumerate(depth["first_layer_norms"].items()):
            for seed, norms in enumerate(runs):
                smooth = _smooth(norms, window)
                axis.plot(range(window, window + len(smooth)), smooth, color=f"C{index}", alpha=0.6,
                          label=f"{arm} side losses" if seed == 0 else None)  # fmt: skip
        for epoch in range(1, len(depth["first_layer_norms"]["without"][0]) // depth["steps_per_epoch"]):
            axis.axvline(epoch * depth["steps_per_epoch"], color="0.85", linewidth=0.6, zorder=0)
        ratios = t_interval(depth["ratio"])
        axis.set(yscale="log", xlabel="training step", ylabel="layer 1's gradient norm",
                 title=f"{label}: x{ratios.mean:.2f}")  # fmt: skip
        plain_log_ticks(axis)
        axis.grid(alpha=0.3)
    axes[0].legend(loc="best")  # one legend: the colours mean the same in every panel
    bars = axes[-1]
    for index, depth in enumerate(depths.values()):
        differences = [100 * (w - o) for w, o in zip(depth["test_top1"]["with"],
                                                       depth["test_top1"]["without"], strict=True)]  # fmt: skip
        bars.bar(index, statistics.fmean(differences), color=f"C{index + 2}", alpha=0.7)
        seed_errorbar(bars, index, differences)
    bars.axhline(INCEPTION_V3_POINTS, color="C3", linestyle="--", linewidth=1.5)
    bars.axhline(0, color="0.4", linewidth=0.8)
    bars.set_xticks(range(len(depths)), [label.split()[0] for label in depths])
    bars.set(xlabel="layers", ylabel="test top-1 gain (points)", title="with minus without")
    bars.grid(alpha=0.3, axis="y")
    footnote(figure, "Right: test top-1 with the side losses minus without, a dot per seed (I: 95% interval); "
                     f"dashed: Inception-v3's +{INCEPTION_V3_POINTS} point (Table 3, ImageNet).")  # fmt: skip
    return finish(figure, held, condition)


def _accuracy_line(depth: dict[str, Any]) -> tuple[str, list[float]]:
    with_aux, without = depth["test_top1"]["with"], depth["test_top1"]["without"]
    differences = [100 * (w - o) for w, o in zip(with_aux, without, strict=True)]
    interval = t_interval(differences)
    spread = f", 95% interval {interval.low:+.2f} to {interval.high:+.2f}" if math.isfinite(interval.low) else ""
    return (f"test top-1 {statistics.fmean(with_aux):.2%} with them, {statistics.fmean(without):.2%} without "
            f"({interval.mean:+.2f} points{spread})"), differences  # fmt: skip


@register("auxiliary", CLAIM, lecture=130,
          about="the first layer's gradient in training with and without GoogLeNet's side classifiers")  # fmt: skip
def auxiliary_experiment(settings: Settings) -> ExperimentResult:
    """deep_aux_net trained with and without auxiliary losses at two depths: the first layer's gradient at every
    step, and the test accuracy."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    epochs = settings.epochs or preset["epochs"]
    data = settings.data or preset["data"]
    depths = {f"{1 + 3 * g} layers": _one_depth(settings, preset, seeds, g) for g in preset["per_group"]}
    judgements = [judge(f"{label}: first layer's gradient norm with the side losses over without, geometric mean "
                        "over training, per seed", depth["ratio"], MORE, spec=".2f")
                  for label, depth in depths.items()]  # fmt: skip
    accuracy = {label: _accuracy_line(depth) for label, depth in depths.items()}
    found = "; ".join(
        f"{label}: x{statistics.fmean(d['ratio_first_epoch']):.2f} in the first epoch, "
        f"x{statistics.fmean(d['ratio_last_epoch']):.2f} in the last; {accuracy[label][0]}"
        for label, d in depths.items()
    )
    condition = (
        f"{data}, {preset['images'] or 'all'} training images, {epochs} epochs of the twins' recipe (AdamW, one "
        f"cycle), {len(seeds)} seeds, plain He-initialised stacks of 13 and 7 layers; GoogLeNet: 22 layers on "
        "ImageNet"
    )
    held, verdict = verdict_of(
        f"The side losses' effect on the first layer's gradient (mean of the seeds' ratios) and on test accuracy "
        f"(reported, not judged; Inception-v3: no help early, a regulariser late, +0.4 point): {found}.",
        judgements,
        condition,
    )
    headers = ["depth", "gradient ratio over training (per seed)", "first epoch", "last epoch",
               "test top-1 without / with", "with minus without (points)"]  # fmt: skip
    rows = [[label, per_seed(d["ratio"], ".2f"), per_seed(d["ratio_first_epoch"], ".2f"),
             per_seed(d["ratio_last_epoch"], ".2f"),
             f"{statistics.fmean(d['test_top1']['without']):.2%} / {statistics.fmean(d['test_top1']['with']):.2%}",
             per_seed(accuracy[label][1], "+.2f")] for label, d in depths.items()]  # fmt: skip
    figure = save_figure(draw_auxiliary(depths, held, condition), settings.out, "auxiliary")
    record = {"seeds": list(seeds), "data": data, "epochs": epochs, "images": preset["images"], "depths": depths,
              "accuracy_difference_points": {label: a[1] for label, a in accuracy.items()},
              "inception_v3_points": INCEPTION_V3_POINTS}  # fmt: skip
    return ExperimentResult("auxiliary", CLAIM, held, verdict, headers, rows, record, figure, judgements)
