"""LeNet-5's sparse S2-C3 connections (Table I) against a dense C3.

LeCun et al. 1998, Sec. II-B: "Why not connect every S2 feature map to every C3 feature map? The reason is
twofold. First, a non-complete connection scheme keeps the number of connections within reasonable bounds.
More importantly, it forces a break of symmetry in the network." The lecture lists "sparse connectivity
between S2 and C3" among LeNet-5's ideas. Here both versions train with the same recipe; the table shows
what the sparsity saves and what it costs.

Measurable form: C3's parameters with Table I below the dense C3's (exact), and the paired per-seed difference
of test top-1 (Table I minus dense, in points) above -0.5 point ("at little cost"), judged by its 95 % interval.
The quick preset trains 10 seeds: on 2 seeds the difference flipped sign from one recipe to the next, inside the
spread of seeds.
"""

from __future__ import annotations

from typing import Any

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    accuracy_bars,
    counted,
    finish,
    for_slides,
    interval_panel,
    over_seeds,
    save_figure,
    seed_cells,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge, judge_exact
from cnnlab.models import create_model
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["connectivity_experiment", "draw_connectivity"]

CLAIM = "LeNet-5's sparse S2-C3 table keeps C3's parameters and connections down at little or no cost in accuracy"
PRESETS = {"quick": {"epochs": 10, "seeds": tuple(range(10))}, "full": {"epochs": 30, "seeds": tuple(range(10))}}
COST_POINTS = -0.5  # "little cost": Table I may lose at most half a point of test top-1 to the dense C3
C3 = {"Table I (sparse)": "table", "dense": "dense"}  # each variant's label and lenet5's c3
VARIANTS = {label: Variant("lenet5", f"lenet5-c3-{c3}", {"model_args": {"c3": c3}}) for label, c3 in C3.items()}
COLOURS = ["C2", "C7"]


def _c3_costs(c3: str) -> dict[str, int]:
    """C3's parameters, its connections (parameters x 100 positions) and the whole network's parameters."""
    model = create_model("lenet5", c3=c3)
    c3_params = sum(p.numel() for p in model.c3.parameters())
    return {"c3_params": c3_params, "c3_connections": c3_params * 10 * 10,
            "params": sum(p.numel() for p in model.parameters())}  # fmt: skip


@for_slides
def draw_connectivity(
    results: dict[str, dict[str, Any]], difference: Judgement, held: bool | None = None, condition: str = ""
) -> Picture:
    """C3's parameters, each C3's test top-1 (from 0, a dot per seed, 95 % interval), and Table I's minus the
    dense one's per seed against the claim's threshold."""
    names = list(results)
    shown = {name: name.replace(" (", "\n(") for name in names}  # "Table I\n(sparse)": two narrow lines
    figure = new_picture(*CANVAS)
    left, middle, right = figure.subplots(1, 3)
    left.bar(range(len(names)), [results[n]["c3_params"] for n in names], color=COLOURS)
    left.set_xticks(range(len(names)), list(shown.values()))
    left.set_ylim(0, 1.15 * max(results[n]["c3_params"] for n in names))
    for index, name in enumerate(names):
        left.annotate(f"{results[name]['c3_params']:,}", (index, results[name]["c3_params"]), ha="center",
                      va="bottom")  # fmt: skip
    left.set(ylabel="C3 parameters", title="what C3 costs")
    left.grid(alpha=0.3, axis="y")
    accuracy_bars(middle, {shown[name]: results[name]["runs"] for name in names}, colours=COLOURS, title="what it buys")
    interval_panel(right, difference, title="Table I - dense", label="test top-1 (points)")
    return finish(figure, held, condition)


@register("lenet-connectivity", CLAIM, lecture=80, about="LeNet-5's sparse S2-C3 table against a dense C3")
def connectivity_experiment(settings: Settings) -> ExperimentResult:
    """Parameters, connections and accuracy of LeNet-5 with Table I's C3 and with a dense C3."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    accuracy = train_variants(settings, VARIANTS, seeds, epochs=preset["epochs"], data=settings.data or "mnist5k")
    results = {label: {**_c3_costs(c3), **over_seeds(accuracy[label])} for label, c3 in C3.items()}
    sparse, dense = results["Table I (sparse)"], results["dense"]
    judgements = [
        judge_exact("Table I's C3 parameters over the dense C3's", sparse["c3_params"] / dense["c3_params"], 1.0,
                    above=False, spec=".2f"),
        judge("Table I minus dense C3, test top-1 per seed (points)",
              [100 * (a - b) for a, b in zip(sparse["runs"], dense["runs"], strict=True)], COST_POINTS, spec="+.2f"),
    ]  # fmt: skip
    epochs = settings.epochs or preset["epochs"]
    condition = (
        f"{settings.data or 'mnist5k'}, {epochs} epoch{'s' if epochs != 1 else ''} of the lenet5 recipe, "
        f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
    )
    held, verdict = verdict_of(
        f"Table I gives C3 {sparse['c3_params']:,} parameters instead of {dense['c3_params']:,} "
        f"({1 - sparse['c3_params'] / dense['c3_params']:.0%} fewer) and reached {sparse['mean']:.2%} against the "
        f"dense C3's {dense['mean']:.2%} (mean of {counted(len(seeds), 'seed')}).",
        judgements,
        f"{condition}; the paper gives no dense-C3 number to compare",
    )
    headers = ["C3", "C3 parameters", "C3 connections", "network parameters", "test top-1 (mean)", "spread", "runs"]
    rows = [[label, r["c3_params"], r["c3_connections"], r["params"], *seed_cells(r)] for label, r in results.items()]
    figure = save_figure(draw_connectivity(results, judgements[1], held, condition), settings.out, "lenet-connectivity")
    data = {"variants": results, "seeds": list(seeds), "epochs": epochs}
    return ExperimentResult("lenet-connectivity", CLAIM, held, verdict, headers, rows, data, figure, judgements)
