"""Fully connected, locally connected, shared weights: what each buys as the training set shrinks.

The lecture's ladder: a fully connected network has "too many weights for each neuron"; a locally connected
one relies on "a small number of pixels"; with shared weights all positions "extract the same feature",
which is the convolution. Fewer free weights should matter most where there is little data to fit them. The
three networks of the ``weights`` experiment (``mlp``, ``locally_connected_net``, ``lenet5_modern``) are
trained on 100, 300, 1,000 and 4,000 of the bundled digits (as equal a number of each class as there are,
drawn with the seed) and tested on the same 1,000 test digits.

Every run gets the same recipe and the same number of optimisation steps (450 steps of 32 images: 150 epochs
of 100 digits, 4 of 4,000), so that a small set is not also a short training; no validation split
(the last epoch is tested) and no augmentation, which would hide part of the difference in data.

Measurable form, on paired per-seed differences of test top-1 (in points; each seed draws the same digits for
the three networks), each judged by its 95 % Student's t interval: at the smallest size the convolution minus
the fully connected network above 0, and minus the locally connected one above 0 (sharing is the best there);
and the convolution's lead over the fully connected network at the smallest size minus its lead at the largest
above 0 (sharing helps most where data is scarce). The locally connected network's place against the fully
connected one is drawn and tabled, not judged: the claim tested is what sharing buys.

The quick preset trains 100 and 4,000 digits for 450 steps each on 7 seeds (about 3 minutes on 2 idle cores):
the two sizes the claim is judged at, with seeds enough for an interval. 100, 1,000 and 4,000 digits for 300
steps on 5 seeds (2 min 23 s of CPU) left the last part inconclusive: the lead shrank by 1.7 points, 95% interval
-1.5 to +4.8, and 300 steps leave the 4,000-digit runs at 3 epochs, still learning; four sizes on 2 seeds took
2 min 42 s. On seeds 0-6 the first two parts held and the lead shrank by 1.9 points, 95% interval -0.1 to +3.9:
inconclusive, the spread of seeds (about 2 points) as large as the effect; about twelve seeds (``--seeds 0 1 ...
11``, twice the time) would tell. ``--full`` trains six sizes from 100 to 60,000. The figure marks LeCun et al.
1998's test accuracy on all 60,000 digits (Fig. 9: LeNet-5 0.95% error, the fully connected 28x28-300-100-10
network, ``mlp``'s layers, 3.05%).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import CANVAS, counted, finish, for_slides, save_figure, seed_errorbar, verdict_of
from cnnlab.experiments._verdict import Judgement, judge
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["data_efficiency_experiment", "draw_data_efficiency", "epochs_for", "judgements_of"]

CLAIM = "shared weights help most where data is scarce: FC < locally connected < convolution, most at small sizes"
MODELS = {
    "mlp": "fully connected (mlp)",
    "locally_connected_net": "locally connected",
    "lenet5_modern": "shared (conv)",
}
PRESETS = {
    "quick": {"sizes": (100, 4000), "steps": 450, "seeds": tuple(range(7))},
    "full": {"sizes": (100, 300, 1000, 3000, 10000, 60000), "steps": 3000, "seeds": tuple(range(5))},
}
BATCH = 32
PAPER_SIZE = 60_000
# LeCun et al. 1998, Fig. 9: test error (%) on all 60,000 training digits, LeNet-5 and 28x28-300-100-10
PAPER_ERROR = {"mlp": 3.05, "lenet5_modern": 0.95}


def epochs_for(size: int, steps: int, batch: int = BATCH) -> int:
    """Epochs of ``size`` images (whole batches only) that make at least ``steps`` optimisation steps."""
    return max(1, math.ceil(steps / max(1, size // batch)))


@for_slides
def draw_data_efficiency(accuracy: dict[str, dict[int, list[float]]], held: bool | None = None,
                         condition: str = "") -> Picture:  # fmt: skip
    """Each network's test top-1 against the training digits (from 0: a mean line, a dot per seed and, over two
    seeds, the 95 % interval), with LeCun et al.'s on full MNIST."""
    figure = new_picture(*CANVAS)
    axis = figure.subplots()
    for index, (model, by_size) in enumerate(accuracy.items()):
        sizes = list(by_size)
        means = [100 * statistics.fmean(by_size[s]) for s in sizes]
        axis.plot(sizes, means, "o-", color=f"C{index}", label=MODELS[model])
        for size in sizes:
            seed_errorbar(axis, size, by_size[size], colour=f"C{index}", scale=100)
    papers = [(index, model) for index, model in enumerate(accuracy) if model in PAPER_ERROR]
    for index, model in papers:
        axis.scatter([PAPER_SIZE], [100 - PAPER_ERROR[model]], marker="D", s=60, facecolors="none",
                     edgecolors=f"C{index}", linewidths=2,
                     label="LeCun 1998, full MNIST" if (index, model) == papers[0] else None)  # fmt: skip
    axis.set(xscale="log", xlabel="training digits (log scale)", ylabel="test top-1 (%)", ylim=(0, 100),
             title="the same steps, less data")  # fmt: skip
    sizes = [*next(iter(accuracy.values())), PAPER_SIZE]
    axis.set_xticks(sizes, [f"{s:,}" for s in sizes])
    axis.minorticks_off()
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    return finish(figure, held, condition)


def judgements_of(accuracy: dict[str, dict[int, list[float]]]) -> list[Judgement]:
    """The claim's three parts, from each network's test top-1 per size and seed (fractions, seeds in one order)."""
    sizes = list(accuracy["mlp"])
    smallest, largest = sizes[0], sizes[-1]

    def lead(model: str, size: int) -> list[float]:
        return [100 * (a - b) for a, b in zip(accuracy["lenet5_modern"][size], accuracy[model][size], strict=True)]

    shrinks = [small - large for small, large in zip(lead("mlp", smallest), lead("mlp", largest), strict=True)]
    return [
        judge(f"conv minus FC at {smallest:,} digits, test top-1 per seed (points)", lead("mlp", smallest), 0.0,
              spec="+.2f"),
        judge(f"conv minus LC at {smallest:,} digits, test top-1 per seed (points)",
              lead("locally_connected_net", smallest), 0.0, spec="+.2f"),
        judge(f"conv's lead over FC at {smallest:,} digits minus its lead at {largest:,}, per seed (points)",
              shrinks, 0.0, spec="+.2f"),
    ]  # fmt: skip


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
    judgements = judgements_of(accuracy)
    budget = (
        f"{preset['steps']} steps of {BATCH}" if settings.epochs is None else f"{counted(settings.epochs, 'epoch')}"
    )
    condition = (
        f"{data}, {budget} for every size, {len(seeds)} seeds; the paper trained 20 passes over {PAPER_SIZE:,} digits"
    )
    held, verdict = verdict_of(
        f"With {smallest} training digits the shared-weight network reached {mean('lenet5_modern', smallest):.1%}, "
        f"the locally connected one {mean('locally_connected_net', smallest):.1%} and the fully connected one "
        f"{mean('mlp', smallest):.1%}; the convolution's lead over the fully connected network was "
        f"{100 * lead_small:.1f} points at {smallest:,} digits and {100 * lead_large:.1f} at {largest:,} (mean of "
        f"{counted(len(seeds), 'seed')}). On all {PAPER_SIZE:,} digits LeCun et al. (Fig. 9) report "
        f"{100 - PAPER_ERROR['lenet5_modern']:.2f}% for LeNet-5 and {100 - PAPER_ERROR['mlp']:.2f}% for the "
        "28x28-300-100-10 network.",
        judgements,
        condition,
    )
    paper = {m: f"{100 - PAPER_ERROR[m]:.2f}%" if m in PAPER_ERROR else "-" for m in MODELS}
    headers = ["network", "parameters", *(f"{s:,} digits" for s in sizes), f"paper, {PAPER_SIZE:,} (Fig. 9)"]
    rows: list[list[Any]] = [[MODELS[m], params[m], *(f"{mean(m, s):.1%}" for s in sizes), paper[m]]
                             for m in MODELS]  # fmt: skip
    rows.append(["lead of conv over FC (points)", "",
                 *(f"{100 * (mean('lenet5_modern', s) - mean('mlp', s)):+.1f}" for s in sizes),
                 f"{PAPER_ERROR['mlp'] - PAPER_ERROR['lenet5_modern']:+.1f}"])  # fmt: skip
    rows.append([f"epochs ({preset['steps']} steps of {BATCH})", "", *(epochs[s] for s in sizes), "20"])  # fmt: skip
    figure = save_figure(draw_data_efficiency(accuracy, held, condition), settings.out, "data-efficiency")
    record = {
        "sizes": list(sizes), "seeds": list(seeds), "steps": preset["steps"], "batch": BATCH, "params": params,
        "accuracy": {m: {str(s): a for s, a in by_size.items()} for m, by_size in accuracy.items()},
        "paper_error_percent": PAPER_ERROR, "paper_size": PAPER_SIZE,
    }  # fmt: skip
    return ExperimentResult("data-efficiency", CLAIM, held, verdict, headers, rows, record, figure, judgements)
