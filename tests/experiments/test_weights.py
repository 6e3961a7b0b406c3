"""The weights experiment: one layer's weights fully connected, locally connected and shared (exact), the three
networks trained on the same seeds, and the judged parts of the claim in results.json."""

import json

import pytest

from cnnlab.experiments import Settings, run_experiment
from cnnlab.experiments._verdict import overall, t_interval
from cnnlab.experiments.weights import COST_POINTS, PAPER_ERROR, judgements_of
from cnnlab.inspection.layer_comparison import compare_layers

SEEDS = (0, 1)  # two seeds: the fewest with an interval


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("weights")
    result = run_experiment("weights", Settings("quick", out, epochs=1, seeds=SEEDS))
    return result, out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_weights(tiny):
    result, _, record = tiny
    for row in record["data"]["arithmetic"]:
        assert row["fc_weights"] > row["lc_weights"] > row["conv_weights"] == 150
        fully, local, conv = compare_layers((1, row["input"], row["input"]), 6, 5).layers
        assert (row["fc_weights"], row["lc_weights"], row["lc_macs"]) == (fully.weights, local.weights, conv.macs)
    assert {k: v["params"] for k, v in record["data"]["accuracy"].items()} == {
        "mlp": 338_610, "locally_connected_net": 423_038, "lenet5_modern": 61_706,
    }  # fmt: skip
    assert all(len(v["runs"]) == len(SEEDS) for v in record["data"]["accuracy"].values())
    assert all(len(row) == len(record["headers"]) for row in record["rows"])
    assert record["rows"][-1] == ["paper, full MNIST (Fig. 9)", "96.95%", "-", "99.05%"]
    assert result.figure.is_file() and result.figure.stat().st_size > 10_000


@pytest.mark.slow
def test_results_json_holds_the_judgements(tiny):
    result, _, record = tiny
    fc_lc, lc_conv, accuracy = record["judgements"]
    arithmetic = record["data"]["arithmetic"]
    assert fc_lc["per_seed"] == [pytest.approx(min(r["fc_weights"] / r["lc_weights"] for r in arithmetic))]
    assert lc_conv["per_seed"] == [pytest.approx(min(r["lc_weights"] / r["conv_weights"] for r in arithmetic))]
    assert fc_lc["per_seed"][0] == pytest.approx(6_144 / 2_400)  # the 8x8 input is where they are closest
    assert fc_lc["interval"] is None and fc_lc["held"] is True and lc_conv["held"] is True
    runs = {m: v["runs"] for m, v in record["data"]["accuracy"].items()}
    differences = [100 * (a - b) for a, b in zip(runs["lenet5_modern"], runs["mlp"], strict=True)]
    assert accuracy["per_seed"] == pytest.approx(differences) and accuracy["threshold"] == COST_POINTS == -0.5
    interval = t_interval(differences)
    assert (accuracy["interval"]["low"], accuracy["interval"]["high"]) == pytest.approx((interval.low, interval.high))
    assert record["held"] is result.held is overall(result.judgements)
    assert all(judgement.sentence() in record["verdict"] for judgement in result.judgements)
    assert f"{100 - PAPER_ERROR['lenet5_modern']:.2f}%" in record["verdict"]


def test_the_judgements_on_made_up_seeds():
    arithmetic = [{"fc_weights": 6144, "lc_weights": 2400, "conv_weights": 150}]

    def accuracy(mlp, conv):
        return {"mlp": {"runs": mlp}, "lenet5_modern": {"runs": conv}}

    level = judgements_of(arithmetic, accuracy([0.95] * 5, [0.951, 0.952, 0.950, 0.953, 0.951]))
    behind = judgements_of(arithmetic, accuracy([0.95] * 5, [0.93, 0.931, 0.929, 0.930, 0.932]))
    straddling = judgements_of(arithmetic, accuracy([0.95] * 5, [0.96, 0.94, 0.955, 0.935, 0.95]))
    assert [level[2].held, behind[2].held, straddling[2].held] == [True, False, None]
    unordered = judgements_of([{"fc_weights": 100, "lc_weights": 200, "conv_weights": 150}], accuracy([0.9], [0.9]))
    assert [j.held for j in unordered[:2]] == [False, True]


@pytest.mark.slow
def test_the_verdict_and_the_figure_say_why_the_lc_net_has_more_parameters_than_the_mlp(tiny):
    _, out, record = tiny
    why = "Why the LC net has more parameters than the MLP (423,038 vs 338,610): it keeps LeNet-5's 6 maps of 28x28"
    assert why in record["verdict"] and "(C1 122,304, C3 241,600)" in record["verdict"]
    assert record["data"]["parameters_explained"]["mlp_hidden"] == [300, 100]
    svg = (out / "weights.svg").read_text()
    assert "Why the LC net has more parameters than the MLP" in " ".join(svg.split())


def test_the_story_of_the_parameters_is_read_off_the_networks():
    from cnnlab.experiments.weights import parameter_story

    story = parameter_story()
    layers = {layer["name"]: (layer["maps"], layer["positions"], layer["params"]) for layer in story["lc_layers"]}
    assert layers["C1"] == (6, 28, 28 * 28 * 6 * (25 + 1)) and layers["C3"] == (16, 10, 10 * 10 * 16 * (6 * 25 + 1))
    assert story["mlp_hidden"] == [300, 100] and story["lc_outputs"] > 10 * story["mlp_outputs"]
