"""ReLU against tanh: how many epochs each needs to reach a training error, each at its own fastest learning rate.

AlexNet (Krizhevsky et al. 2012, Sec. 3.1, Fig. 1): "A four-layer convolutional neural network with ReLUs
reaches a 25% training error rate on CIFAR-10 six times faster than an equivalent network with tanh
neurons. ... The learning rates for each network were chosen independently to make training as fast as
possible. No regularization of any kind was employed. The magnitude of the effect demonstrated here varies
with network architecture". The lecture lists ReLU among AlexNet's ideas.

The protocol is the paper's. :func:`~cnnlab.models.twins.convnet4` is trained with ReLU and with tanh (the same
initial weights, PyTorch's default), with no regularisation (SGD with momentum 0.9 at a constant rate, no weight
decay, no augmentation). Each activation gets its own learning rate, the fastest of a grid, chosen on the run
itself: seed 0 is trained at every rate of the grid, the rate that reaches the threshold in the fewest epochs
(:func:`fastest_rate`) is kept, and the other seeds are trained at it (seed 0's run at that rate is reused): a
grid over every seed would cost the grid's size in seeds. The training error is the one the paper plots,
averaged over each epoch's batches as they were trained; the epoch at which it first reaches the threshold is
interpolated between epochs (epoch 0 is chance). The same comparison runs at two depths, the axis the paper
says matters: the four layers of the figure, and a deeper plain net (``extra_layers`` 3x3 convolutions before
the classifier, He-initialised so that they pass the signal on).

Measurable form: on each seed, the ratio of tanh's epochs to the threshold over ReLU's (> 1: ReLU is faster),
judged by its 95 % interval against 1 at each depth; the paper's ratio, six, is printed beside ours, not used
as the threshold (a different dataset and network). A run that never reaches the threshold counts as reaching
it at the last epoch: a bound that understates the lead of whichever network did reach it, so it can only
make a verdict harder to reach. The quick preset trains on 1,000 of the bundled digits for 6 epochs at a grid
of 0.03, 0.1 and 0.3, five seeds (a first run at 0.01, 0.03 and 0.1 on 1,500 digits chose 0.1, the grid's top,
for both four-layer nets, and 0.01 never); ``--full`` is the paper's setting, CIFAR-10 for 40 epochs at
0.003 to 0.1.

What the quick run showed on our machine (five seeds): on the digits tanh was faster at both depths. With four
layers both were fastest at 0.1; ReLU sat near chance for the first two epochs (PyTorch's default initialisation
shrinks a ReLU net's signal layer by layer) and reached 25% after 4.3 to 4.9 epochs (one seed never did), tanh
after 3.5 to 3.8: a ratio of 0.75 (interval 0.64 to 0.85). With eight layers ReLU never reached 25% within 6
epochs at any rate of the grid, tanh did in 3.3 to 4.2 at 0.03: at most 0.62 (0.55 to 0.69). Not six: the
effect varies with the architecture, as the paper says, and here runs the other way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

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
    seed_lines,
    verdict_of,
)
from cnnlab.experiments._verdict import judge
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["censored_ratio", "draw_relu", "epochs_to", "fastest_rate", "relu_experiment"]

CLAIM = "ReLUs train faster than tanh units (AlexNet: six times, to 25% CIFAR-10 training error, four layers)"
PRESETS = {
    "quick": {"epochs": 6, "seeds": (0, 1, 2, 3, 4), "threshold": 0.25, "data": "mnist5k", "images": 1000,
              "rates": (0.03, 0.1, 0.3), "extra_layers": (0, 4)},
    "full": {"epochs": 40, "seeds": (0, 1, 2, 3, 4), "threshold": 0.25, "data": "cifar10", "images": 0,
             "rates": (0.003, 0.01, 0.03, 0.1), "extra_layers": (0, 4)},
}  # fmt: skip
RECIPE = {"optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.0, "schedule": "constant",
          "augment": (), "batch_size": 64, "val_fraction": 0.0, "label_smoothing": 0.0}  # fmt: skip
ACTIVATIONS = ("relu", "tanh")
CHANCE = 0.9  # the training error before the first step, for ten classes
FASTER = 1.0  # the claim: tanh needs more epochs than ReLU (ratio above one)
PAPER_RATIO = 6.0  # AlexNet, Fig. 1: six times faster, four layers, CIFAR-10


def epochs_to(errors: Sequence[float], threshold: float, start: float = CHANCE) -> float | None:
    """The (fractional) epoch at which ``errors`` (one per epoch, from epoch 1) first fall to ``threshold``,
    linear between epochs and from ``start`` at epoch 0; ``None`` if they never do."""
    previous = start
    for epoch, error in enumerate(errors, start=1):
        if error <= threshold:
            if previous <= threshold:
                return float(epoch - 1)
            return epoch - 1 + (previous - threshold) / (previous - error)
        previous = error
    return None


def fastest_rate(curves: Mapping[float, Sequence[float]], threshold: float) -> float:
    """The learning rate whose training-error curve (one error per epoch) reaches ``threshold`` in the fewest
    epochs (:func:`epochs_to`): AlexNet's "chosen ... to make training as fast as possible" (Sec. 3.1).

    Ties go to the curve with the lower last error, then to the smaller rate. If no curve reaches the threshold,
    the rate whose curve ends lowest (the nearest to it) is chosen.

    Raises:
        ValueError: no curves, or an empty one.
    """
    if not curves or not all(curves.values()):
        raise ValueError("fastest_rate needs at least one non-empty curve")

    def key(rate: float) -> tuple[float, float, float]:
        reached = epochs_to(curves[rate], threshold)
        return (math.inf if reached is None else reached, curves[rate][-1], rate)

    return min(curves, key=key)


def censored_ratio(tanh: float | None, relu: float | None, budget: float) -> float:
    """tanh's epochs to the threshold over ReLU's; a run that never got there counts as getting there at the
    ``budget``'s end (understating the other's lead); ``nan`` when neither did, or both were there at once."""
    numerator, denominator = (budget if tanh is None else tanh), (budget if relu is None else relu)
    if (tanh is None and relu is None) or numerator == denominator == 0:
        return math.nan
    return numerator / denominator if denominator > 0 else math.inf


def _training_errors(settings: Settings, run_name: str, budget: int, **options: Any) -> list[float]:
    """A run's training error per epoch, as it trained; a run whose loss became NaN (too large a rate) is at
    chance from the epoch it broke in."""
    from cnnlab.training.loop import TrainingStopped

    try:
        rows = train_briefly("convnet4", settings, run_name, **options).metrics
    except TrainingStopped as stopped:  # a rate of the grid that diverges: as slow as it gets, not an error
        rows = stopped.run.metrics if stopped.run is not None else []
    errors = [1 - row.train_top1 for row in rows]
    return errors + [CHANCE] * (budget - len(errors))


def _one_depth(settings: Settings, preset: dict[str, Any], seeds: Sequence[int], extra: int) -> dict[str, Any]:
    """The grid on the first seed, then every seed at each activation's fastest rate, for one depth."""
    data = settings.data or preset["data"]
    epochs = settings.epochs or preset["epochs"]
    layers = 4 + extra
    shared = {"data": data, "epochs": preset["epochs"], "train_images": preset["images"], **RECIPE}
    found: dict[str, Any] = {}
    for activation in ACTIVATIONS:
        args = {"activation": activation, "in_channels": image_channels(data), "extra_layers": extra}

        def errors(rate: float, seed: int, args: dict[str, Any] = args, activation: str = activation) -> list[float]:
            name = f"convnet{layers}-{activation}-lr{rate:g}-seed{seed}"
            return _training_errors(settings, name, epochs, seed=seed, lr=rate, model_args=args, **shared)

        grid = {rate: errors(rate, seeds[0]) for rate in preset["rates"]}
        chosen = fastest_rate(grid, preset["threshold"])
        curves = [grid[chosen], *(errors(chosen, seed) for seed in seeds[1:])]
        crossings = [epochs_to(curve, preset["threshold"]) for curve in curves]
        found[activation] = {
            "grid_seed0": {str(rate): curve for rate, curve in grid.items()},
            "grid_epochs_to_threshold": {str(r): epochs_to(curve, preset["threshold"]) for r, curve in grid.items()},
            "chosen_lr": chosen,
            "training_error": curves,
            "epochs_to_threshold": crossings,
            "final_error": [curve[-1] for curve in curves],
        }  # fmt: skip
    ratios = [censored_ratio(t, r, epochs) for t, r in
              zip(found["tanh"]["epochs_to_threshold"], found["relu"]["epochs_to_threshold"], strict=True)]  # fmt: skip
    return {"layers": layers, "extra_layers": extra, "ratio": ratios, **found}


@for_slides
def draw_relu(
    depths: dict[str, dict[str, Any]],
    threshold: float,
    judgements: list[Any],
    held: bool | None = None,
    condition: str = "",
) -> Picture:
    """For each depth, tanh's and ReLU's training error per epoch at their fastest rates (a line per seed, log
    scale), beside tanh's epochs over ReLU's to the threshold (a dot per seed, the 95 % interval)."""
    from matplotlib.ticker import MaxNLocator

    figure = new_picture(*CANVAS)
    axes = figure.subplots(1, len(depths) + 1, gridspec_kw={"width_ratios": [1.2] * len(depths) + [1]})
    for axis, (label, depth) in zip(axes, depths.items(), strict=False):
        lines = {f"{a}, lr {depth[a]['chosen_lr']:g}": [(range(len(c) + 1), [100 * CHANCE, *(100 * e for e in c)])
                                                        for c in depth[a]["training_error"]]
                 for a in ACTIVATIONS}  # fmt: skip
        seed_lines(axis, lines, styles={list(lines)[1]: "--"})
        axis.axhline(100 * threshold, color="0.4", linewidth=1, linestyle=":")
        axis.set(yscale="log", xlabel="epoch", ylabel="training error (%, log)", title=label)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        plain_log_ticks(axis)
    bars = axes[-1]
    for index, (depth, judgement) in enumerate(zip(depths.values(), judgements, strict=True)):
        ratios = [r for r in depth["ratio"] if math.isfinite(r)]
        if ratios:
            bars.bar(index, statistics.fmean(ratios), color=f"C{index}", alpha=0.7)
            bars.scatter([index] * len(ratios), ratios, color="k", s=18, zorder=3)
        if judgement.interval is not None and math.isfinite(judgement.interval.low):
            bars.errorbar(index, judgement.interval.mean, capsize=6, color="k", fmt="none",
                          yerr=[[judgement.interval.mean - judgement.interval.low],
                                [judgement.interval.high - judgement.interval.mean]])  # fmt: skip
    bars.scatter([0], [PAPER_RATIO], marker="*", s=200, color="C3", zorder=4)
    bars.annotate("AlexNet", (0, PAPER_RATIO), xytext=(10, 0), textcoords="offset points", va="center", color="C3")
    bars.axhline(FASTER, color="0.4", linewidth=1, linestyle=":")
    bars.set_xticks(range(len(depths)), [label.split()[0] for label in depths])
    bars.set(yscale="log", xlabel="layers", ylabel="tanh's epochs / ReLU's", title="> 1: ReLU faster")
    plain_log_ticks(bars)
    bars.grid(alpha=0.3, axis="y")
    footnote(figure, f"Dotted: the {threshold:.0%} training error both must reach; the ratio's I: 95% interval.")
    return finish(figure, held, condition)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _rows(depths: dict[str, dict[str, Any]], threshold: float) -> list[list[Any]]:
    rows = []
    for label, depth in depths.items():
        for activation in ACTIVATIONS:
            result = depth[activation]
            crossings = result["epochs_to_threshold"]
            mean = statistics.fmean(crossings) if None not in crossings else None
            grid = " ".join(f"{rate}: {_cell(e)}" for rate, e in result["grid_epochs_to_threshold"].items())
            rows.append([label, activation, grid, f"{result['chosen_lr']:g}", _cell(mean),
                         per_seed(crossings, ".2f"), per_seed(result["final_error"], ".1%")])  # fmt: skip
        rows.append([label, "tanh / ReLU", "", "", "", per_seed(depth["ratio"], ".2f"), f"paper: {PAPER_RATIO:g}x"])
    return rows


@register("relu", CLAIM, lecture=90, about="epochs to a training error with ReLU and with tanh (AlexNet's Figure 1)")
def relu_experiment(settings: Settings) -> ExperimentResult:
    """Epochs to a training-error threshold for ReLU and tanh nets at two depths, each at its fastest rate."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    threshold, epochs = preset["threshold"], settings.epochs or preset["epochs"]
    data = settings.data or preset["data"]
    depths = {f"{4 + extra} layers": _one_depth(settings, preset, seeds, extra) for extra in preset["extra_layers"]}
    judgements = [judge(f"{label}: tanh's epochs to {threshold:.0%} training error over ReLU's, per seed",
                        depth["ratio"], FASTER, spec=".2f") for label, depth in depths.items()]  # fmt: skip
    found = "; ".join(
        f"{label}: ReLU at lr {d['relu']['chosen_lr']:g}, tanh at lr {d['tanh']['chosen_lr']:g}, tanh needed "
        f"{statistics.fmean(r for r in d['ratio'] if math.isfinite(r)):.2f} times ReLU's epochs"
        if any(math.isfinite(r) for r in d["ratio"]) else f"{label}: neither reached {threshold:.0%}"
        for label, d in depths.items()
    )  # fmt: skip
    condition = (
        f"{data}, {preset['images'] or 'all'} training images, {epochs} epochs of SGD with momentum 0.9 and no "
        f"regularisation, {len(seeds)} seeds; the paper: CIFAR-10's 50,000 images, a four-layer net, six times"
    )
    held, verdict = verdict_of(
        f"To {threshold:.0%} training error, each activation at the fastest rate of {list(preset['rates'])} on "
        f"seed 0: {found} (the paper: six times, four layers on CIFAR-10).",
        judgements,
        condition,
    )
    headers = ["depth", "activation", f"epochs to {threshold:.0%} per rate (seed 0)", "chosen lr",
               f"epochs to {threshold:.0%} (mean)", "per seed", "final training error"]  # fmt: skip
    figure = save_figure(draw_relu(depths, threshold, judgements, held, condition), settings.out, "relu")
    first = depths[next(iter(depths))]
    record = {
        "threshold": threshold, "seeds": list(seeds), "data": data, "epochs": epochs, "images": preset["images"],
        "learning_rates": {a: list(preset["rates"]) for a in ACTIVATIONS},
        "chosen_lr": {a: first[a]["chosen_lr"] for a in ACTIVATIONS},  # the four-layer net's, the paper's figure
        "paper_ratio": PAPER_RATIO, "depths": depths,
        "recipe": {k: list(v) if isinstance(v, tuple) else v for k, v in RECIPE.items()},
    }  # fmt: skip
    return ExperimentResult("relu", CLAIM, held, verdict, headers, _rows(depths, threshold), record, figure,
                            judgements)  # fmt: skip
