"""Max vs mean vs learned pooling in the same network, with the same recipe.

The lecture: "there are multiple types of pooling, such as max pooling or mean pooling. You can also learn
a pooling type via back propagation." ``lenet5_modern`` is trained with each pooling of
:mod:`cnnlab.layers.pooling` in S2 and S4 (mixed and gated max/mean, Lee et al. 2016; Lp with a learned p,
Gulcehre et al. 2014), over several seeds; the learned parameters are read back from the checkpoints, so
the table shows what the network chose: how much max it mixed in, and which p it settled on.

Measurable form: for each learned pooling (mixed, gated, Lp), its test top-1 minus max pooling's, paired on
each seed (the same initial weights and batches), above :data:`AS_WELL` (-0.5 point: "works as well as max"),
judged by the 95 % Student's t interval over the seeds; and the learned parameters moved from where they
started (largest move over the layers, channels and seeds of the least-moved kind, above :data:`MOVED`: they
were learned by back-propagation). Lee et al. 2016 (AISTATS, "Generalizing pooling functions") compare their
mixed and gated pooling with max pooling on larger networks trained to the end; their numbers are not in the
project's checked paper facts (reference/paper_facts.md), so none is quoted here.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

import torch

from cnnlab.experiments._base import ExperimentResult, Settings, Variant, register, train_variants
from cnnlab.experiments._scaffold import (
    CANVAS,
    bars_beside,
    finish,
    for_slides,
    over_seeds,
    save_figure,
    seed_cells,
    verdict_of,
)
from cnnlab.experiments._verdict import Judgement, judge, judge_exact
from cnnlab.models.lenet import POOLS

if TYPE_CHECKING:
    from cnnlab.run import Run
from cnnlab.viz.figure import Picture

__all__ = ["draw_pooling", "pooling_experiment"]

CLAIM = "the pooling type can be learned by back-propagation, as well as max or mean pooling works"
PRESETS = {"quick": {"epochs": 6, "seeds": tuple(range(5))}, "full": {"epochs": 30, "seeds": (0, 1, 2, 3, 4)}}
AS_WELL = -0.5  # a learned pooling "works as well as max" when it loses at most half a point of test top-1
MOVED = 1e-3  # a learned pooling parameter that moved less than this from its start was not learned
LEARNED = {"mixed": 0.5, "gated": 0.0, "lp": 2.0}  # each learned kind and where its parameters start
VARIANTS = {pool: Variant("lenet5_modern", pool, {"model_args": {"pool": pool}}) for pool in POOLS}


def _learned(run: Run) -> dict[str, list[float]]:
    """What each learned pooling layer converged to, per channel (empty for max and mean)."""
    pool = run.config.model_args["pool"]
    state = run.model("last").state_dict()
    found: dict[str, list[float]] = {}
    for layer in ("s2", "s4"):
        if pool == "mixed":
            found[f"{layer} max share"] = torch.sigmoid(state[f"{layer}.mix_logit"]).tolist()
        elif pool == "gated":
            found[f"{layer} gate bias"] = state[f"{layer}.gate_bias"].tolist()
        elif pool == "lp":
            found[f"{layer} p"] = (1 + torch.nn.functional.softplus(state[f"{layer}.p_raw"])).tolist()
    return found


def _describe(learned: dict[str, list[float]]) -> str:
    return "; ".join(f"{k} {statistics.fmean(v):.2f} ({min(v):.2f}-{max(v):.2f})" for k, v in learned.items()) or "-"


def _moved(results: dict[str, dict[str, Any]], kind: str) -> float:
    """How far the least-moved seed's parameters of ``kind`` went from their start (largest move over channels)."""
    return min(max(abs(v - LEARNED[kind]) for values in learned.values() for v in values)
               for learned in results[kind]["learned"])  # fmt: skip


def _judgements(results: dict[str, dict[str, Any]]) -> list[Judgement]:
    """Each learned kind against max pooling, paired per seed, then whether their parameters were learned."""
    judgements = [
        judge(f"{kind} minus max pooling, test top-1 per seed (points)",
              [100 * (a - b) for a, b in zip(results[kind]["runs"], results["max"]["runs"], strict=True)], AS_WELL,
              spec="+.2f")
        for kind in LEARNED
    ]  # fmt: skip
    judgements.append(judge_exact("smallest largest move of a learned pooling parameter from its start",
                                  min(_moved(results, kind) for kind in LEARNED), MOVED, spec=".3f"))  # fmt: skip
    return judgements


@for_slides
def draw_pooling(results: dict[str, dict[str, Any]], held: bool | None = None, condition: str = "") -> Picture:
    """Each pooling's test top-1 (from 0, a dot per seed, 95 % interval), beside what the learned poolings chose."""
    figure, right = bars_beside(CANVAS, {name: result["runs"] for name, result in results.items()},
                                title="lenet5_modern, S2 and S4", bars_first=True, width_ratios=[1.4, 1])  # fmt: skip
    for key, colour in (("mixed", "C2"), ("lp", "C4")):
        if key in results and results[key]["learned"]:
            values = [v for layer in results[key]["learned"][0].values() for v in layer]
            right.hist(
                values, bins=12, alpha=0.7, color=colour, label={"mixed": "mixed: share of max", "lp": "Lp: p"}[key]
            )
    right.set(title="learned, seed 0", xlabel="value chosen", ylabel="channels")
    right.legend()
    return finish(figure, held, condition)


@register("pooling", CLAIM, lecture=60, about="max vs mean vs learned pooling (mixed, gated, Lp) in the same network")
def pooling_experiment(settings: Settings) -> ExperimentResult:
    """Test accuracy of each pooling type over seeds, and the learned pooling parameters after training."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    found = train_variants(settings, VARIANTS, seeds, lambda run: (run.summary.test_top1, _learned(run)),
                           epochs=preset["epochs"], data=settings.data or "mnist5k")  # fmt: skip
    results = {pool: {**over_seeds([accuracy for accuracy, _ in runs]), "learned": [learned for _, learned in runs]}
               for pool, runs in found.items()}  # fmt: skip
    judgements = _judgements(results)
    best_learned = max(LEARNED, key=lambda k: results[k]["mean"])
    epochs = settings.epochs or preset["epochs"]
    condition = (
        f"lenet5_modern on {settings.data or 'mnist5k'}, {epochs} epochs of its recipe, {len(seeds)} seeds; Lee et "
        "al. 2016 trained larger networks to the end, and their numbers are not quoted here"
    )
    held, verdict = verdict_of(
        f"Max pooling reached {results['max']['mean']:.2%}, mean pooling {results['mean']['mean']:.2%}, and the best "
        f"learned pooling ({best_learned}) {results[best_learned]['mean']:.2%} with its parameters learned by "
        f"back-propagation ({_describe(results[best_learned]['learned'][0])}), mean of {len(seeds)} seeds.",
        judgements,
        condition,
    )
    headers = ["pooling", "test top-1 (mean)", "spread", "runs", "learned (seed 0: mean, range over channels)"]
    rows = [[pool, *seed_cells(r), _describe(r["learned"][0])] for pool, r in results.items()]
    figure = save_figure(draw_pooling(results, held, condition), settings.out, "pooling")
    data = {"pools": results, "seeds": list(seeds), "epochs": epochs}
    return ExperimentResult("pooling", CLAIM, held, verdict, headers, rows, data, figure, judgements)
