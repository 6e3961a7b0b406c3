"""Deeper isn't always better: plain-20 and plain-56 against ResNet-20 and ResNet-56 under one recipe.

The lecture: "deeper isn't always better ... due to optimisation difficulties ... this led to ResNet, which had
residual connections jumping over weighted layers". He et al. 2016 (Sec. 4.2, Fig. 1 and Fig. 6) show it on
CIFAR-10: the 56-layer plain network ends with a *higher training error* than the 20-layer one, so the fault is
optimisation, not overfitting; the same networks with identity shortcuts (option A: exactly the parameters of
their plain twins) get better with depth.

Measurable form, on paired per-seed differences of final training error (the same seed for all four networks),
each judged by its 95 % Student's t interval: plain-56 minus plain-20 above 0 (the deeper plain net trains worse),
and ResNet-56 minus ResNet-20 below +0.5 point (with shortcuts the deeper net trains at least about as well). The
quick preset trains 4 seeds, all its budget allows (about 45 s a seed on 2 idle cores): the residual part's
differences are 0 on every seed (an interval of width 0), but the plain part's spread across seeds is large
(plain-56 at 19-65% over ten seeds), so its interval clears 0 only when the seeds land close enough together:
on 3 seeds (t = 4.30) that takes luck, on 4 (t = 3.18) less; otherwise the verdict says inconclusive, and
``--seeds 0 1 2 3 4 5 6 7 8 9`` (10 seeds, about 8 minutes) settles it.

Training error is measured as the paper means it, on the training set: the last epoch's weights, in eval mode,
on the un-augmented training split the run trained on. The ``train_top1`` the loop records per epoch is not
that: it is averaged over an epoch while the weights change, with batch-norm in training mode and on augmented
batches, so it overstates the final error of a network that is still learning. The figure draws that running
error (solid) because it is the only training error the loop records per epoch, beside the validation error
(dashed), as Fig. 6 draws training and test error; the verdict and the table use the final measurement.

Presets:
    quick: scikit-learn's 8x8 digits (1,293 training images after the 10% validation split; bundled, offline),
        kept at 8x8, so the three stages see 8x8, 4x4 and 2x2 maps instead of CIFAR's 32, 16 and 8. The paper's
        recipe but for: batch 32 (40 steps an epoch), peak learning rate 0.05 after a one-epoch linear warm-up
        (the paper warms ResNet-110 up the same way), cosine decay to zero over 12 epochs, no augmentation (a
        contest of training error). The same recipe and seeds for all four networks. At 8x8 a step costs a
        sixteenth of one at 32x32, which buys the ~1,200 steps the four networks need in about 75 s per seed
        (all four networks) on 2 CPU cores; 5 epochs of mnist5k at 32x32 (~140 steps, ~2 minutes) left
        ResNet-56 at 13% training error against ResNet-20's 1.4%: too short for the deeper residual net, so no
        verdict on the claim. Measured over seeds 0-9 (``--quick`` and ``--quick --seeds 3 4 5 6 7 8 9``, 3 min
        48 s and 8 min 24 s): plain-56 ended at 19-65% training error (mean over the ten 49.5%), plain-20,
        ResNet-20 and ResNet-56 at 0.00% on every seed, so the claim held on 10 of 10 seeds. The residual half
        holds as a tie, both nets fitting the training set; their test errors (0.6-2.5%) overlap across seeds.
        Those were 30 epochs, when a run used both cores; on one thread a run's default since, 30 epochs took
        5 min 34 s (plain-56 at 66.5% training error on seeds 0-2, the other three at 0.00%), past the preset's
        4 minutes. 18 epochs on seeds 0-2 took 3 min 23 s and left plain-56 at 82, 51 and 36% training error
        (the other three at 0.00%): a difference of +56 points whose interval over 3 seeds, -2 to +114, was
        inconclusive. The preset now trains 12 epochs on 4 seeds (ResNet-56's running training error was 0.00% by
        epoch 12 of the 30-epoch runs).
    full: the paper's CIFAR-10 recipe unchanged (the ``resnet_cifar`` recipe: SGD 0.1, momentum 0.9, weight
        decay 1e-4, batch 128, divided by 10 at epochs 91 and 137 of 182, 4-pixel crops and flips, a 45k/5k
        split); it needs ``--data cifar10 --data-dir DIR``.

Deviations from the paper in the quick preset, besides the data and the recipe above: the budget (~1,200 steps
against 64k) keeps every network early in its training, so plain-56's gap is far wider than Fig. 1's (about 6%
against 2% training error after 64k iterations).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cnnlab.data.facts import BUNDLED_DATASETS
from cnnlab.errors import SettingError
from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    count_seeds,
    counted,
    finish,
    footnote,
    for_slides,
    save_figure,
    seed_errorbar,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge
from cnnlab.viz.figure import Picture, new_picture

if TYPE_CHECKING:
    from cnnlab.run import Run

__all__ = ["CURVE_AND_BAR", "degradation_experiment", "draw_degradation", "judgements_of"]

CLAIM = "a deeper plain net trains worse (plain-56 above plain-20 in training error); with shortcuts deeper is not"

# registry name, label, weighted layers, identity shortcuts
NETWORKS: tuple[tuple[str, str, int, bool], ...] = (
    ("plain20", "plain-20", 20, False),
    ("plain56", "plain-56", 56, False),
    ("resnet20", "ResNet-20", 20, True),
    ("resnet56", "ResNet-56", 56, True),
)

RESIDUAL_POINTS = 0.5  # ResNet-56 may end at most half a point of training error above ResNet-20

# He et al. 2016 on CIFAR-10 (64k iterations, the full recipe): test error (%) of Table 6 for the ResNets; for the
# plain nets, the paper prints no number: Fig. 1's curves read by eye (about +-1 point), training and test error.
PAPER_TEST_ERROR = {"plain20": 9.75, "plain56": 13.0, "resnet20": 8.75, "resnet56": 6.97}
PAPER_TRAIN_ERROR = {"plain20": 1.75, "plain56": 6.0}
PAPER_NOTE = "He et al. 2016, CIFAR-10: ResNets Table 6; plain nets read by eye from Fig. 1 (about +-1 point)"

# Plain nets in blues, residual nets in reds; the deeper of each pair darker.
COLOURS = {"plain20": "#6baed6", "plain56": "#08519c", "resnet20": "#fc9272", "resnet56": "#a50f15"}

# Overrides of the ``resnet_cifar`` recipe for the quick preset (see the module docstring for why).
QUICK_RECIPE: dict[str, Any] = {
    "epochs": 12, "batch_size": 32, "lr": 0.05, "warmup_epochs": 1.0, "schedule": "cosine", "milestones": (),
    "augment": (),
}  # fmt: skip
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"data": "digits", "seeds": (0, 1, 2, 3), "recipe": QUICK_RECIPE},
    # Three seeds, where the paper reports one run: one seed has no spread, so its verdict could only be
    # inconclusive.
    "full": {"data": "cifar10", "seeds": (0, 1, 2), "recipe": {}},
}


def _dataset(settings: Settings) -> str:
    """The preset's dataset, or the override; the full preset refuses to start without its data."""
    data = settings.data or PRESETS[settings.preset]["data"]
    if settings.preset == "full" and data not in BUNDLED_DATASETS and settings.data_dir is None:
        raise SettingError(
            f"the full degradation preset is the paper's CIFAR-10 recipe and needs the data: add <data={data}> "
            "<data_dir=DIR> (with <download=True> to fetch it there), or run <preset=quick> on the bundled digits"
        )
    return data


def _final_errors(run: Run) -> dict[str, float]:
    """Top-1 error of the last epoch's weights, in eval mode, on the un-augmented training split and the test set."""
    return {split: 1 - run.evaluate(split=split, which="last").top1 for split in ("train", "test")}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _mean_curve(runs: list[dict[str, Any]], key: str) -> list[float]:
    """The per-epoch mean over seeds of one curve (every run has the same number of epochs)."""
    return [_mean(list(values)) for values in zip(*(run[key] for run in runs), strict=True)]


def _measure(run: Run) -> dict[str, Any]:
    """A run's final errors, per-epoch curves and seconds (its wall time, from loading the data to the test, and
    the two evaluations here)."""
    started = time.perf_counter()
    errors = _final_errors(run)
    history = run.metrics
    return {
        "seed": run.config.seed,
        "train_error": errors["train"],
        "test_error": errors["test"],
        "params": run.summary.params,
        "seconds": (run.summary.wall_seconds or 0.0) + time.perf_counter() - started,
        "last_running_train_error": 1 - history[-1].train_top1,
        "curve_train_error": [1 - row.train_top1 for row in history],
        "curve_val_error": [1 - row.val_top1 if row.val_top1 is not None else float("nan") for row in history],
        "config": run.config.to_dict(),
    }


CURVE_AND_BAR = (
    "Lines: error averaged over each epoch while it trained, batch norm on each batch's statistics (dashed: "
    "validation). x and bars: the final weights, batch norm on its running statistics (the verdict's)."
)
"""Why a curve's end and its bar differ (issue 24: plain-56's curve ended near 40 % beside a bar of 70 %)."""


@for_slides
def draw_degradation(networks: dict[str, dict[str, Any]], title: str, held: bool | None = None,
                     condition: str = "") -> Picture:  # fmt: skip
    """Each network's training (solid) and validation (dashed) error per epoch, mean over the seeds, its final
    training error measured in eval mode as an x at the last epoch and as a bar (a dot per seed, 95 % interval over
    two seeds or more), He et al.'s by eye, and a footnote on why the curve's end and the bar differ."""
    from matplotlib.ticker import MaxNLocator

    figure = new_picture(*CANVAS)
    curves, bars = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    for name, network in networks.items():
        train = [100 * e for e in _mean_curve(network["runs"], "curve_train_error")]
        val = [100 * e for e in _mean_curve(network["runs"], "curve_val_error")]
        epochs = range(1, len(train) + 1)
        marker = "o" if len(train) == 1 else None  # one epoch is a point, not a line
        curves.plot(epochs, train, "-", marker=marker, color=COLOURS[name], lw=2, label=network["label"])
        curves.plot(epochs, val, "--", marker=marker, color=COLOURS[name], lw=1.2)
        curves.scatter([len(train)], [100 * network["train_error"]], marker="x", s=80, linewidths=2.5,
                       color=COLOURS[name], zorder=4)  # fmt: skip
    last = max(len(network["runs"][0]["curve_train_error"]) for network in networks.values())
    curves.set(xlabel="epoch", ylabel="error (%)", title=title, ylim=(0, None), xlim=(0.5, last + 0.5))
    curves.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    curves.grid(alpha=0.3)
    curves.legend(ncol=2)
    names = list(networks)
    finals = [100 * networks[n]["train_error"] for n in names]
    drawn = bars.bar(range(len(names)), finals, color=[COLOURS[n] for n in names], alpha=0.85)
    for index, (bar, name) in enumerate(zip(drawn, names, strict=True)):
        seed_errorbar(bars, index, [run["train_error"] for run in networks[name]["runs"]], scale=100)
        bars.annotate(f"{finals[index]:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                      va="bottom", xytext=(0, 2), textcoords="offset points",
                      bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})  # fmt: skip
    # The paper's marks sit at the bars' right edge, clear of the number written on a bar of 0 %.
    paper = [(index + 0.3, PAPER_TRAIN_ERROR[n]) for index, n in enumerate(names) if n in PAPER_TRAIN_ERROR]
    bars.scatter(*zip(*paper, strict=True), marker="D", s=50, facecolors="none", edgecolors="k", linewidths=1.5,
                 zorder=4)  # fmt: skip
    bars.set_xticks(range(len(names)), [networks[n]["label"] for n in names], rotation=30, ha="right",
                    rotation_mode="anchor")  # fmt: skip
    tallest = max(8.0, *(100 * r["train_error"] for n in names for r in networks[n]["runs"]))
    bars.set(ylabel="final training error (%)", title="final; \u25c7 He et al.", ylim=(0, min(105.0, tallest * 1.3)))
    bars.grid(alpha=0.3, axis="y")
    footnote(figure, CURVE_AND_BAR)
    return finish(figure, held, condition)


def judgements_of(errors: dict[str, list[float]]) -> list[Judgement]:
    """The claim's two parts from each network's final training error per seed (fractions, seeds in one order)."""

    def difference(deeper: str, shallower: str) -> list[float]:
        return [100 * (a - b) for a, b in zip(errors[deeper], errors[shallower], strict=True)]

    return [
        judge("plain-56 minus plain-20, final training error per seed (points)", difference("plain56", "plain20"),
              0.0, spec="+.2f"),
        judge("ResNet-56 minus ResNet-20, final training error per seed (points)",
              difference("resnet56", "resnet20"), RESIDUAL_POINTS, above=False, spec="+.2f"),
    ]  # fmt: skip


def claim_holds(train_errors: dict[str, float]) -> tuple[bool, bool]:
    """The rule on final training errors: (plain-56 above plain-20, ResNet-56 not above ResNet-20)."""
    return train_errors["plain56"] > train_errors["plain20"], train_errors["resnet56"] <= train_errors["resnet20"]


@register("degradation", CLAIM, lecture=140,
          about="plain-20/56 against ResNet-20/56: deeper isn't always better without shortcuts")  # fmt: skip
def degradation_experiment(settings: Settings) -> ExperimentResult:
    """Train plain-20/56 and ResNet-20/56 under one recipe; compare their final training and test errors.

    Args:
        settings: the preset (``quick``: 8x8 digits, ``full``: the paper's CIFAR-10 recipe), seeds, epochs, data.

    Returns:
        The table (one row per network), the per-seed numbers and curves in ``data``, the figure and the verdict.

    Raises:
        ValueError: the full preset without ``--data-dir`` for its torchvision dataset.
    """
    data = _dataset(settings)
    _, seeds = settings.preset_and_seeds(PRESETS)
    recipe = PRESETS[settings.preset]["recipe"]
    variants = {name: Variant(name, name) for name, *_ in NETWORKS}
    found = train_variants(settings, variants, seeds, _measure, data=data, **recipe)
    networks: dict[str, dict[str, Any]] = {}
    config: dict[str, Any] = {}
    for name, label, layers, residual in NETWORKS:
        runs = found[name]
        # the recipe every run shared (the same for all four networks but for the model, seed and directory)
        config = {k: v for k, v in runs[0]["config"].items() if k not in ("model", "seed", "output")}
        networks[name] = {
            "label": label,
            "layers": layers,
            "residual": residual,
            "params": runs[0]["params"],
            "train_error": _mean([r["train_error"] for r in runs]),
            "test_error": _mean([r["test_error"] for r in runs]),
            "seconds": sum(r["seconds"] for r in runs),
            "runs": [{k: v for k, v in r.items() if k != "config"} for r in runs],
        }
    plain_worse, residual_fine = claim_holds({n: networks[n]["train_error"] for n in networks})
    errors = {n: [run["train_error"] for run in network["runs"]] for n, network in networks.items()}
    judgements = judgements_of(errors)
    plain_count = count_seeds(lambda seed: claim_holds(seed)[0], errors)
    residual_count = count_seeds(lambda seed: claim_holds(seed)[1], errors)
    error = {n: networks[n]["train_error"] for n in networks}
    seeds_text = (
        f" (mean of {len(seeds)} seeds; plain-56 above plain-20 in {plain_count}/{len(seeds)}, "
        f"ResNet-56 at or below ResNet-20 in {residual_count}/{len(seeds)})"
        if len(seeds) > 1
        else f" (seed {seeds[0]})"
    )
    epochs = config["epochs"]
    condition = (
        f"{data}, {counted(epochs, 'epoch')} of batch {config['batch_size']}, {counted(len(seeds), 'seed')}; "
        "the paper: CIFAR-10, 64k iterations of batch 128"
    )
    held, verdict = verdict_of(
        f"Plain-56 ended with {error['plain56']:.2%} training error against plain-20's {error['plain20']:.2%}, "
        f"ResNet-56 with {error['resnet56']:.2%} against ResNet-20's {error['resnet20']:.2%}{seeds_text}; "
        f"on CIFAR-10 He et al. read about {PAPER_TRAIN_ERROR['plain56']:.0f}% against "
        f"{PAPER_TRAIN_ERROR['plain20']:.1f}% for the plain nets (Fig. 1).",
        judgements,
        condition,
    )
    headers = ["network", "layers", "shortcuts", "params", "training error", "test error", "paper test error",
               "seconds"]  # fmt: skip
    rows: list[list[Any]] = [
        [n["label"], n["layers"], "identity (A)" if n["residual"] else "none", n["params"],
         f"{n['train_error']:.2%}", f"{n['test_error']:.2%}", _paper_cell(name), round(n["seconds"], 1)]
        for name, n in networks.items()
    ]  # fmt: skip
    title = f"{data}, {counted(epochs, 'epoch')}" + (
        f", mean of {len(seeds)} seeds" if len(seeds) > 1 else f", seed {seeds[0]}"
    )
    figure = save_figure(draw_degradation(networks, title, held, condition), settings.out, "degradation")
    result_data = {
        "preset": settings.preset,
        "dataset": data,
        "seeds": list(seeds),
        "epochs": epochs,
        "config": config,
        "training_error": "top-1 error of the last epoch's weights, eval mode, un-augmented training split",
        "curves": "per epoch: running training error over the epoch (train mode, as trained) and validation error",
        "curve_and_bar": CURVE_AND_BAR,
        "networks": networks,
        "plain_deeper_worse": plain_worse,
        "residual_deeper_not_worse": residual_fine,
        "seeds_plain_deeper_worse": plain_count,
        "seeds_residual_deeper_not_worse": residual_count,
        "paper": {"test_error_percent": PAPER_TEST_ERROR, "train_error_percent": PAPER_TRAIN_ERROR,
                  "source": PAPER_NOTE},
    }  # fmt: skip
    return ExperimentResult("degradation", CLAIM, held, verdict, headers, rows, result_data, figure, judgements)


def _paper_cell(name: str) -> str:
    """He et al.'s CIFAR-10 test error of a network: Table 6's for the ResNets, read from Fig. 1 for plain ones."""
    return f"{PAPER_TEST_ERROR[name]:.2f}%" if name.startswith("resnet") else f"~{PAPER_TEST_ERROR[name]:.1f}%"
