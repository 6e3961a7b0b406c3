"""LeNet-5's sparse S2-C3 connections (Table I) against a dense C3.

LeCun et al. 1998, Sec. II-B: "Why not connect every S2 feature map to every C3 feature map? The reason is
twofold. First, a non-complete connection scheme keeps the number of connections within reasonable bounds.
More importantly, it forces a break of symmetry in the network." The lecture lists "sparse connectivity
between S2 and C3" among LeNet-5's ideas. Here both versions train with the same recipe; the table shows
what the sparsity saves and what it costs.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from cnnlab.experiments._base import ExperimentResult, Settings, accuracy_bars, register, train_briefly
from cnnlab.models import create_model
from cnnlab.viz.figure import new_picture, save

__all__ = ["connectivity_experiment"]

CLAIM = "LeNet-5's sparse S2-C3 table keeps C3's parameters and connections down at little or no cost in accuracy"
PRESETS = {"quick": {"epochs": 10, "seeds": (0, 1)}, "full": {"epochs": 30, "seeds": (0, 1, 2, 3, 4)}}
VARIANTS = {"Table I (sparse)": "table", "dense": "dense"}


def _c3_costs(c3: str) -> tuple[int, int, int]:
    """C3's parameters, its connections (parameters x 100 positions) and the whole network's parameters."""
    model = create_model("lenet5", c3=c3)
    c3_params = sum(p.numel() for p in model.c3.parameters())
    return c3_params, c3_params * 10 * 10, sum(p.numel() for p in model.parameters())


def _figure(results: dict[str, dict[str, object]], out: Path) -> Path:
    figure = new_picture(1000, 400)
    left, right = figure.subplots(1, 2)
    names = list(results)
    left.bar(names, [results[n]["c3_params"] for n in names], color=["C2", "C7"])
    left.set(ylabel="C3 parameters", title="what C3 costs")
    accuracy_bars(right, {name: results[name]["runs"] for name in names}, colours=["C2", "C7"],
                  title="what it buys (dots: seeds)")  # fmt: skip
    left.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return save(figure, out / "lenet-connectivity.png")


@register("lenet-connectivity", CLAIM)
def connectivity_experiment(settings: Settings) -> ExperimentResult:
    """Parameters, connections and accuracy of LeNet-5 with Table I's C3 and with a dense C3."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    results: dict[str, dict[str, object]] = {}
    for label, c3 in VARIANTS.items():
        c3_params, connections, params = _c3_costs(c3)
        runs = [
            train_briefly("lenet5", settings, f"lenet5-c3-{c3}-seed{seed}", seed=seed, epochs=preset["epochs"],
                          data=settings.data or "mnist5k", model_args={"c3": c3})
            for seed in seeds
        ]  # fmt: skip
        accuracies = [r.summary.test_top1 for r in runs]
        results[label] = {
            "c3_params": c3_params, "c3_connections": connections, "params": params, "runs": accuracies,
            "mean": statistics.fmean(accuracies), "spread": statistics.pstdev(accuracies),
        }  # fmt: skip
    sparse, dense = results["Table I (sparse)"], results["dense"]
    held = sparse["c3_params"] < dense["c3_params"] and sparse["mean"] >= dense["mean"] - 0.005
    verdict = (
        f"Table I gives C3 {sparse['c3_params']:,} parameters instead of {dense['c3_params']:,} "
        f"({1 - sparse['c3_params'] / dense['c3_params']:.0%} fewer) and reached {sparse['mean']:.2%} against the "
        f"dense C3's {dense['mean']:.2%} (mean of {len(seeds)} seed(s)): the claim "
        f"{'held' if held else 'did not hold'} on this run."
    )
    headers = ["C3", "C3 parameters", "C3 connections", "network parameters", "test top-1 (mean)", "spread", "runs"]
    rows = [
        [label, r["c3_params"], r["c3_connections"], r["params"], f"{r['mean']:.2%}", f"{r['spread']:.2%}",
         " ".join(f"{a:.1%}" for a in r["runs"])]
        for label, r in results.items()
    ]  # fmt: skip
    figure = _figure(results, settings.out)
    data = {"variants": results, "seeds": list(seeds), "epochs": settings.epochs or preset["epochs"]}
    return ExperimentResult("lenet-connectivity", CLAIM, held, verdict, headers, rows, data, figure)
