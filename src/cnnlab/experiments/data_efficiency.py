"""Fully connected, locally connected, shared weights: what each buys as the training set shrinks.

The lecture's ladder: a fully connected network has "too many weights for each neuron"; a locally connected
one relies on "a small number of pixels"; with shared weights all positions "extract the same feature",
which is the convolution. Fewer free weights should matter most where there is little data to fit them. The
three networks of the ``weights`` experiment (``mlp``, ``locally_connected_net``, ``lenet5_modern``) are
trained on 100, 300, 1,000 and 4,000 of the bundled digits (as equal a number of each class as there are,
drawn with the seed) and tested on the same 1,000 test digits.

Every run gets the same recipe and the same number of optimisation steps (450 steps of 32 images: 150 epochs
of 100 digits, 4 of 4,000), so that a small set is not also a short training; no validation split
(the last epoch is tested) and no augmentation, which would hide part of the difference in data. The claim
holds when the shared-weight network is the most accurate at the smallest size and its lead over the fully
connected one is larger there than with all 4,000 digits.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, register, train_briefly
from cnnlab.viz.figure import new_picture, save

__all__ = ["data_efficiency_experiment", "epochs_for"]

CLAIM = "shared weights help most where data is scarce: FC < locally connected < convolution, most at small sizes"
MODELS = {
    "mlp": "fully connected (mlp)",
    "locally_connected_net": "locally connected",
    "lenet5_modern": "shared (conv)",
}
PRESETS = {
    "quick": {"sizes": (100, 300, 1000, 4000), "steps": 450, "seeds": (0, 1)},
    "full": {"sizes": (100, 300, 1000, 3000, 10000, 60000), "steps": 3000, "seeds": (0, 1, 2)},
}
BATCH = 32


def epochs_for(size: int, steps: int, batch: int = BATCH) -> int:
    """Epochs of ``size`` images (whole batches only) that make at least ``steps`` optimisation steps."""
    return max(1, math.ceil(steps / max(1, size // batch)))


def _figure(accuracy: dict[str, dict[int, list[float]]], out: Path) -> Path:
    figure = new_picture(1000, 440)
    axis = figure.subplots()
    for index, (model, by_size) in enumerate(accuracy.items()):
        sizes = list(by_size)
        means = [100 * statistics.fmean(by_size[s]) for s in sizes]
        axis.plot(sizes, means, "o-", color=f"C{index}", label=MODELS[model])
        for size in sizes:
            axis.scatter([size] * len(by_size[size]), [100 * a for a in by_size[size]], color=f"C{index}", s=10,
                         alpha=0.5)  # fmt: skip
    axis.set(xscale="log", xlabel="training digits", ylabel="test top-1 (%)",
             title="the same steps and recipe, less and less data (dots: seeds)")  # fmt: skip
    sizes = list(next(iter(accuracy.values())))
    axis.set_xticks(sizes, [f"{s:,}" for s in sizes])
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return save(figure, out / "data-efficiency.png")


@register("data-efficiency", CLAIM)
def data_efficiency_experiment(settings: Settings) -> ExperimentResult:
    """Test accuracy of the FC, LC and convolutional networks against the size of the training set."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    sizes = preset["sizes"]
    data = settings.data or ("mnist5k" if settings.preset == "quick" else "mnist")
    accuracy: dict[str, dict[int, list[float]]] = {model: {} for model in MODELS}
    params: dict[str, int] = {}
    for model in MODELS:
        for size in sizes:
            epochs = settings.epochs or epochs_for(size, preset["steps"])
            runs = [
                train_briefly(model, settings, f"{model}-{size}-seed{seed}", seed=seed, epochs=epochs, data=data,
                              train_images=size, batch_size=BATCH, val_fraction=0.0, augment=())
                for seed in seeds
            ]  # fmt: skip
            accuracy[model][size] = [run.summary.test_top1 for run in runs]
            params[model] = runs[0].summary.params

    def mean(model: str, size: int) -> float:
        return statistics.fmean(accuracy[model][size])

    smallest, largest = sizes[0], sizes[-1]
    lead_small = mean("lenet5_modern", smallest) - mean("mlp", smallest)
    lead_large = mean("lenet5_modern", largest) - mean("mlp", largest)
    best_small = max(MODELS, key=lambda m: mean(m, smallest))
    held = best_small == "lenet5_modern" and lead_small > lead_large
    verdict = (
        f"With {smallest} training digits the shared-weight network reached {mean('lenet5_modern', smallest):.1%}, "
        f"the locally connected one {mean('locally_connected_net', smallest):.1%} and the fully connected one "
        f"{mean('mlp', smallest):.1%}; the convolution's lead over the fully connected network was "
        f"{100 * lead_small:.1f} points at {smallest:,} digits and {100 * lead_large:.1f} at {largest:,} (mean of "
        f"{len(seeds)} seed(s)): the claim {'held' if held else 'did not hold'} on this run."
    )
    headers = ["network", "parameters", *(f"{s:,} digits" for s in sizes)]
    rows: list[list[Any]] = [[MODELS[m], params[m], *(f"{mean(m, s):.1%}" for s in sizes)] for m in MODELS]
    rows.append(["lead of conv over FC (points)", "",
                 *(f"{100 * (mean('lenet5_modern', s) - mean('mlp', s)):+.1f}" for s in sizes)])  # fmt: skip
    rows.append([f"epochs ({preset['steps']} steps of {BATCH})", "",
                 *(settings.epochs or epochs_for(s, preset["steps"]) for s in sizes)])  # fmt: skip
    figure = _figure(accuracy, settings.out)
    record = {
        "sizes": list(sizes), "seeds": list(seeds), "steps": preset["steps"], "batch": BATCH, "params": params,
        "accuracy": {m: {str(s): a for s, a in by_size.items()} for m, by_size in accuracy.items()},
    }  # fmt: skip
    return ExperimentResult("data-efficiency", CLAIM, held, verdict, headers, rows, record, figure)
