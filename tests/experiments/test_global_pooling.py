"""The global-pooling experiment: the zoo's heads (exact), the accuracy-against-parameters curve of head_twin's two
heads over widths, and the three judged parts of the claim in results.json."""

import json
import statistics

import numpy as np
import pytest
from PIL import Image

from cnnlab.experiments import Settings, run_experiment
from cnnlab.experiments._verdict import overall, t_interval
from cnnlab.experiments.global_pooling import COST_POINTS, PRESETS, SMALLER, ZOO_SMALLER, judgements_of
from cnnlab.models import create_model

FC, GAP = "fully connected", "1x1 + global pooling"
SEEDS = (0, 1)  # two seeds: the smallest number with an interval


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("global-pooling")
    result = run_experiment("global-pooling", Settings("quick", out, epochs=1, seeds=SEEDS))
    return result, out, json.loads((out / "results.json").read_text())


def _params(**options):
    return sum(p.numel() for p in create_model("head_twin", **options).parameters())


def test_width_multiplies_every_layer_and_defaults_to_the_registered_twin():
    assert _params(head="fc") == _params(head="fc", width=1.0) == 147_946
    assert _params(head="gap") == 19_562
    wide = create_model("head_twin", head="gap", width=2)
    assert (wide.conv1.out_channels, wide.conv3.out_channels, wide.mlpconv.out_channels) == (32, 64, 256)
    assert create_model("head_twin", head="fc", width=0.5).fc1.out_features == 128
    for width in (0.0, -1.0, float("nan"), "2"):
        with pytest.raises(ValueError, match="width"):
            create_model("head_twin", width=width)


def _curve(fc_runs, gap_runs, fc_params=147_946, gap_params=19_562):
    def point(runs, params):
        return {"width": 1.0, "params": params, "head": 0, "runs": runs, "mean": statistics.fmean(runs)}

    return {FC: [point(fc_runs, fc_params)], GAP: [point(gap_runs, gap_params)]}


ZOO = {"alexnet": {"head": 58_631_144}, "vgg16": {"head": 123_642_856}, "nin_imagenet": {"head": 1_025_000},
       "googlenet": {"head": 1_025_000}}  # fmt: skip


@pytest.mark.parametrize(
    ("gap_runs", "held"),
    [([0.970, 0.971, 0.969, 0.972, 0.970], True),  # level with the fully connected twin: held
     ([0.950, 0.952, 0.949, 0.951, 0.950], False),  # two points behind on every seed: did not hold
     ([0.975, 0.955, 0.972, 0.960, 0.970], None)],  # the seeds straddle -0.5 point: inconclusive
)  # fmt: skip
def test_the_judged_parts_on_made_up_seeds(gap_runs, held):
    zoo, params, accuracy = judgements_of(ZOO, _curve([0.970] * 5, gap_runs))
    assert zoo.held is True and zoo.per_seed[0] == pytest.approx(58_631_144 / 1_025_000) and zoo.interval is None
    assert params.held is True and params.per_seed[0] == pytest.approx(147_946 / 19_562) and params.threshold == 5
    assert accuracy.held is held and accuracy.threshold == COST_POINTS == -0.5 and accuracy.above
    assert list(accuracy.per_seed) == pytest.approx([100 * (g - 0.970) for g in gap_runs])


def test_a_pooled_twin_not_many_times_smaller_does_not_hold():
    judged = judgements_of(ZOO, _curve([0.97] * 3, [0.98] * 3, fc_params=100_000, gap_params=40_000))
    assert [j.held for j in judged] == [True, False, True] and overall(judged) is False


@pytest.mark.slow
def test_the_zoo_and_the_twins_are_counted_exactly(tiny):
    _, _, record = tiny
    zoo = record["data"]["zoo"]
    assert zoo["alexnet"] == {"params": 60_965_224, "head": 58_631_144}  # fc6-fc8
    assert zoo["vgg16"]["head"] == 123_642_856 and zoo["googlenet"]["head"] == 1_025_000  # 1024 x 1000 + 1000
    assert zoo["nin_imagenet"]["head"] == 1_025_000  # its 1x1 convolution to 1000 class maps
    curve = record["data"]["curve"]
    widths = list(PRESETS["quick"]["widths"])
    assert record["data"]["widths"] == widths and [p["width"] for p in curve[FC]] == widths
    fc1, gap1 = curve[FC][-1], curve[GAP][-1]  # width 1: the registered twin
    assert (fc1["params"], gap1["params"]) == (147_946, 19_562)
    assert fc1["head"] == 512 * 256 + 256 + 256 * 10 + 10 and gap1["head"] == 32 * 128 + 128 + 128 * 10 + 10
    for label, head in ((FC, "fc"), (GAP, "gap")):
        params = [point["params"] for point in curve[label]]
        assert params == [_params(head=head, width=w) for w in widths] and params == sorted(params)
    for fc, gap in zip(curve[FC], curve[GAP], strict=True):
        assert fc["params"] > SMALLER * gap["params"]  # the heads alone differ: many times fewer at every width


@pytest.mark.slow
def test_the_curve_holds_each_seeds_accuracy(tiny):
    _, out, record = tiny
    for label, head in ((FC, "fc"), (GAP, "gap")):
        for point in record["data"]["curve"][label]:
            assert len(point["runs"]) == len(SEEDS) and all(0 <= a <= 1 for a in point["runs"])
            assert point["mean"] == pytest.approx(statistics.fmean(point["runs"]))
            assert (out / "runs" / f"head-twin-{head}-x{point['width']:g}-seed1" / "last.pt").exists()


@pytest.mark.slow
def test_results_json_holds_the_judgements(tiny):
    result, _, record = tiny
    zoo, params, accuracy = record["judgements"]
    assert (zoo["threshold"], params["threshold"], accuracy["threshold"]) == (ZOO_SMALLER, SMALLER, COST_POINTS)
    assert zoo["holds_when"] == params["holds_when"] == accuracy["holds_when"] == "above"
    assert zoo["interval"] is None and zoo["per_seed"] == [pytest.approx(58_631_144 / 1_025_000)] and zoo["held"]
    assert params["per_seed"] == [pytest.approx(147_946 / 19_562)] and params["held"] is True
    curve = record["data"]["curve"]
    differences = [100 * (g - f) for g, f in zip(curve[GAP][-1]["runs"], curve[FC][-1]["runs"], strict=True)]
    assert accuracy["per_seed"] == pytest.approx(differences)
    interval = t_interval(differences)
    assert accuracy["interval"]["n"] == len(SEEDS)
    assert (accuracy["interval"]["low"], accuracy["interval"]["high"]) == pytest.approx((interval.low, interval.high))
    expected = True if interval.low > COST_POINTS else False if interval.high < COST_POINTS else None
    assert accuracy["held"] is expected and record["held"] is result.held
    assert record["held"] is overall(result.judgements)
    assert all(j.sentence() in record["verdict"] for j in result.judgements)
    assert "widths 0.25, 0.5, 1" in record["verdict"] and "mnist5k, 1 epoch of" in record["verdict"]


@pytest.mark.slow
def test_the_table_and_the_figure(tiny):
    result, out, record = tiny
    assert [row[0] for row in record["rows"][4:]] == [f"head_twin x{w:g}" for w in (0.25, 0.5, 1)] * 2
    assert all(len(row) == len(record["headers"]) for row in record["rows"])
    assert result.figure == out / "global-pooling.png"
    with Image.open(result.figure) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    assert pixels.shape[1] >= 900 and pixels.var() > 50  # decodes, and is not blank
