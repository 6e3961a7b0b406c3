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

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import outcome, save_figure
from cnnlab.viz.figure import new_picture

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
    return save_figure(figure, out, "data-efficiency")


@register("data-efficiency", CLAIM, lecture=40,
          about="FC, locally connected and convolution trained on 100 to 4,000 digits")  # fmt: skip
def data_efficiency_experiment(settings: Settings) -> ExperimentResult:
    """Test accuracy of the FC, LC and convolutional networks against the size of the training set."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    sizes = preset["sizes"]
    data = settings.data or ("mnist5k" if settings.preset == "quick" else "mnist")
    epochs = {size: settings.epochs or epochs_for(size, preset["steps"]) for size in sizes}
    variants = {(model, size): Variant(model, f"{model}-{size}", {"train_images": size, "epochs": epochs[size]})
                for model in MODELS for size in sizes}  # fmt: skip
    runs = train_variants(settings, variants, seeds, lambda run: run, data=data, batch_size=BATCH, val_fraction=0.0,
                          augment=())  # fmt: skip
    accuracy = {model: {size: [r.summary.test_top1 for r in runs[model, size]] for size in sizes} for model in MODELS}
    params = {model: runs[model, sizes[0]][0].summary.params for model in MODELS}

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
        f"{len(seeds)} seed(s)): {outcome(held)}"
    )
    headers = ["network", "parameters", *(f"{s:,} digits" for s in sizes)]
    rows: list[list[Any]] = [[MODELS[m], params[m], *(f"{mean(m, s):.1%}" for s in sizes)] for m in MODELS]
    rows.append(["lead of conv over FC (points)", "",
                 *(f"{100 * (mean('lenet5_modern', s) - mean('mlp', s)):+.1f}" for s in sizes)])  # fmt: skip
    rows.append([f"epochs ({preset['steps']} steps of {BATCH})", "",
                 *(epochs[s] for s in sizes)])  # fmt: skip
    figure = _figure(accuracy, settings.out)
    record = {
        "sizes": list(sizes), "seeds": list(seeds), "steps": preset["steps"], "batch": BATCH, "params": params,
        "accuracy": {m: {str(s): a for s, a in by_size.items()} for m, by_size in accuracy.items()},
    }  # fmt: skip
    return ExperimentResult("data-efficiency", CLAIM, held, verdict, headers, rows, record, figure)
