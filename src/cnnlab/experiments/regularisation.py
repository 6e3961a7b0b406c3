"""Dropout and data augmentation against overfitting: a 2x2 on a small training set.

AlexNet (Krizhevsky et al. 2012, Sec. 4): "we use dropout ... Without dropout, our network exhibits
substantial overfitting", and data augmentation is "the easiest and most common method to reduce
overfitting". The lecture lists both among AlexNet's ideas. :func:`~cnnlab.models.twins.head_twin` with its
fully connected head (a hidden layer of 256, where AlexNet puts its dropout) is trained on 500 of the bundled
digits with and without dropout (p = 0.5 on the hidden layer) and with and without augmentation (small random
affine maps, LeCun et al.'s distortions), same recipe and seeds, long enough to fit the 500 digits. Overfitting
is measured as the gap between the accuracy on the training digits (in evaluation mode, without dropout or
augmentation) and on the 1,000 test digits.

Measurable form: the plain network's gap minus the gap with dropout, with augmentation, and with both, each
paired on a seed (the same initial weights), in points, above :data:`NARROWS` (0: it narrows the gap), judged
by the 95 % Student's t interval over the seeds; the claim holds when all three parts hold. The papers' numbers,
beside ours in the figure: Lin et al.'s Network in Network (Table 1 and Sec. 4.2, CIFAR-10 test error) went from
14.51 % without dropout to 10.41 % with it, and to 8.81 % with augmentation as well; AlexNet gives no number
for its "substantial overfitting" without dropout.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from cnnlab.data.facts import GRAY_DATASETS, image_channels
from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    bars_beside,
    counted,
    finish,
    for_slides,
    per_seed,
    save_figure,
    seed_bars,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge
from cnnlab.viz.figure import Picture

if TYPE_CHECKING:
    from cnnlab.run import Run

__all__ = ["draw_regularisation", "regularisation_experiment"]

CLAIM = "dropout and data augmentation reduce overfitting (AlexNet)"
PRESETS = {
    "quick": {"epochs": 30, "seeds": tuple(range(8)), "images": 500, "data": "mnist5k"},
    "full": {"epochs": 60, "seeds": (0, 1, 2, 3, 4), "images": 5000, "data": "cifar10"},
}
DROPOUT = 0.5
NARROWS = 0.0  # the plain gap minus a regularised one, in points, must be above this: the gap narrows
NIN_ERRORS = {"plain": 14.51, "dropout": 10.41, "both": 8.81}  # NiN, CIFAR-10 test error % (Lin et al. Table 1)
VARIANTS = {"plain": (0.0, False), "dropout": (DROPOUT, False), "augmentation": (0.0, True), "both": (DROPOUT, True)}


def _augmentation(data: str) -> tuple[str, ...]:
    """Digits: small affine maps; natural images: crops and flips (AlexNet's)."""
    return ("affine",) if data in GRAY_DATASETS else ("crop", "flip")


@for_slides
def draw_regularisation(results: dict[str, dict[str, Any]], held: bool | None = None, condition: str = "") -> Picture:
    """Each arm's train-minus-test gap beside its test top-1 (from 0), a dot per seed and 95 % intervals; the
    verdict's line gives the paper's numbers."""
    figure, left = bars_beside(CANVAS, {n: r["test"] for n, r in results.items()}, title="test top-1")
    seed_bars(left, {n: r["gaps"] for n, r in results.items()}, ylabel="train - test top-1 (points)",
              title="overfitting: the gap")  # fmt: skip
    left.legend(loc="upper right")
    for axis in figure.axes:  # four names side by side: slanted, so that "augmentation" does not run into them
        axis.tick_params(axis="x", labelrotation=20)
    return finish(figure, held, condition)


def _judgements(results: dict[str, dict[str, Any]]) -> list[Judgement]:
    """How much each regulariser narrows the plain gap, paired per seed, in points."""
    plain = results["plain"]["gaps"]
    return [
        judge(f"gap plain minus gap with {label}, per seed (points)",
              [100 * (a - b) for a, b in zip(plain, results[label]["gaps"], strict=True)], NARROWS, spec="+.1f")
        for label in ("dropout", "augmentation", "both")
    ]  # fmt: skip


def _variants(data: str) -> dict[str, Variant]:
    """head_twin with its fully connected head, with and without dropout and augmentation, on ``data``."""
    return {
        label: Variant("head_twin", f"head-twin-{label}", {
            "augment": _augmentation(data) if augment else (),
            "model_args": {"head": "fc", "dropout": dropout, "in_channels": image_channels(data)},
        })
        for label, (dropout, augment) in VARIANTS.items()
    }  # fmt: skip


def _train_and_test(run: Run) -> tuple[float, float]:
    """A run's top-1 on the training images it trained on (in evaluation mode) and on the test set."""
    return run.evaluate(split="train").top1, run.summary.test_top1


def _gaps(train: list[float], test: list[float]) -> dict[str, Any]:
    gaps = [a - b for a, b in zip(train, test, strict=True)]
    return {"train": train, "test": test, "gaps": gaps, "mean_gap": statistics.fmean(gaps),
            "mean_test": statistics.fmean(test)}  # fmt: skip


@register("regularisation", CLAIM, lecture=100,
          about="dropout and augmentation, with and without each, on a small training set")  # fmt: skip
def regularisation_experiment(settings: Settings) -> ExperimentResult:
    """The train/test gap and test accuracy of head_twin with and without dropout and augmentation."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    data = settings.data or preset["data"]
    found = train_variants(settings, _variants(data), seeds, _train_and_test, data=data, epochs=preset["epochs"],
                           train_images=preset["images"], val_fraction=0.0)  # fmt: skip
    results = {label: _gaps([train for train, _ in runs], [test for _, test in runs]) for label, runs in found.items()}
    plain = results["plain"]["mean_gap"]
    judgements = _judgements(results)
    best = max(results, key=lambda name: results[name]["mean_test"])
    epochs = settings.epochs or preset["epochs"]
    paper = ", ".join(f"{label} {error}%" for label, error in NIN_ERRORS.items())
    condition = (
        f"head_twin on {preset['images']:,} {data} training images, {epochs} epochs, {len(seeds)} seeds; the "
        f"papers trained on the whole of ImageNet (AlexNet) and CIFAR-10 (NiN, test error {paper})"
    )
    held, verdict = verdict_of(
        f"On {preset['images']:,} training images the plain network's train/test gap was {100 * plain:.1f} points; "
        f"dropout made it {100 * results['dropout']['mean_gap']:.1f}, augmentation "
        f"{100 * results['augmentation']['mean_gap']:.1f} and both {100 * results['both']['mean_gap']:.1f}; the best "
        f"test accuracy was {best}'s, {results[best]['mean_test']:.2%} against {results['plain']['mean_test']:.2%} "
        f"plain (mean of {counted(len(seeds), 'seed')}).",
        judgements,
        condition,
    )
    headers = ["variant", "dropout", "augmentation", "train top-1", "test top-1", "gap (points)", "gap per seed"]
    rows = [
        [label, VARIANTS[label][0], ", ".join(_augmentation(data)) if VARIANTS[label][1] else "-",
         f"{statistics.fmean(r['train']):.2%}", f"{r['mean_test']:.2%}", f"{100 * r['mean_gap']:.1f}",
         per_seed((100 * g for g in r["gaps"]), ".1f")]
        for label, r in results.items()
    ]  # fmt: skip
    figure = save_figure(draw_regularisation(results, held, condition), settings.out, "regularisation")
    record = {"variants": results, "seeds": list(seeds), "images": preset["images"], "data": data, "epochs": epochs,
              "paper_test_error_percent": NIN_ERRORS}  # fmt: skip
    return ExperimentResult("regularisation", CLAIM, held, verdict, headers, rows, record, figure, judgements)
