"""The degradation experiment on a tiny budget: structure, files, and the invariants that hold at any budget."""

import json
import statistics

import numpy as np
import pytest
from PIL import Image

from cnnlab.experiments import Settings, run_experiment
from cnnlab.experiments._verdict import overall, t_interval
from cnnlab.experiments.degradation import COLOURS, PAPER_TEST_ERROR, RESIDUAL_POINTS, claim_holds, judgements_of

NAMES = ["plain20", "plain56", "resnet20", "resnet56"]
EPOCHS = 2  # two points make a line in the figure; the quick preset's digits keep this to seconds
SEEDS = (0, 1)  # two seeds: the fewest with an interval to judge


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("degradation")
    result = run_experiment("degradation", Settings("quick", out, epochs=EPOCHS, seeds=SEEDS))
    return result, out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_results_json_has_the_four_networks(tiny):
    result, out, record = tiny
    assert record["name"] == "degradation" and record["claim"] and record["held"] in (True, False, None)
    assert record["verdict"] == result.verdict and "on this run" in record["verdict"]
    assert record["verdict"].endswith(
        "(digits, 2 epochs of batch 32, 2 seeds; the paper: CIFAR-10, 64k iterations of batch 128)."
    )
    data = record["data"]
    assert data["preset"] == "quick" and data["dataset"] == "digits"
    assert data["seeds"] == list(SEEDS) and data["epochs"] == EPOCHS and data["config"]["epochs"] == EPOCHS
    assert list(data["networks"]) == NAMES
    assert [row[0] for row in record["rows"]] == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    assert all(len(row) == len(record["headers"]) for row in record["rows"])
    for name, network in data["networks"].items():
        assert network["layers"] == int(name[-2:]) and network["residual"] == name.startswith("resnet")
        assert 0 <= network["train_error"] <= 1 and 0 <= network["test_error"] <= 1
        assert [run["seed"] for run in network["runs"]] == list(SEEDS)
        assert network["train_error"] == pytest.approx(statistics.fmean(r["train_error"] for r in network["runs"]))
        for run in network["runs"]:
            assert len(run["curve_train_error"]) == len(run["curve_val_error"]) == EPOCHS
            assert (out / "runs" / f"{name}-seed{run['seed']}" / "last.pt").exists()


@pytest.mark.slow
def test_plain_and_residual_twins_have_equal_parameters(tiny):
    _, _, record = tiny
    params = {name: network["params"] for name, network in record["data"]["networks"].items()}
    assert params == {"plain20": 269_722, "resnet20": 269_722, "plain56": 853_018, "resnet56": 853_018}
    assert [row[3] for row in record["rows"]] == [269_722, 853_018, 269_722, 853_018]


@pytest.mark.slow
def test_held_is_the_rule_applied_to_the_reported_numbers(tiny):
    _, _, record = tiny
    data = record["data"]
    errors = {name: network["train_error"] for name, network in data["networks"].items()}
    plain_worse = errors["plain56"] > errors["plain20"]
    residual_fine = errors["resnet56"] <= errors["resnet20"]
    assert (data["plain_deeper_worse"], data["residual_deeper_not_worse"]) == (plain_worse, residual_fine)
    assert ("the claim held on this run" in record["verdict"]) == (record["held"] is True)
    for name, row in zip(NAMES, record["rows"], strict=True):
        assert row[4] == f"{errors[name]:.2%}" and f"{errors[name]:.2%}" in record["verdict"]
        assert row[6] == (
            f"{PAPER_TEST_ERROR[name]:.2f}%" if name.startswith("resnet") else f"~{PAPER_TEST_ERROR[name]:.1f}%"
        )


@pytest.mark.slow
def test_results_json_holds_the_judgements_of_the_paired_differences(tiny):
    result, _, record = tiny
    runs = {
        name: [run["train_error"] for run in network["runs"]] for name, network in record["data"]["networks"].items()
    }
    plain, residual = record["judgements"]
    assert (plain["threshold"], plain["holds_when"]) == (0.0, "above")
    assert (residual["threshold"], residual["holds_when"]) == (RESIDUAL_POINTS, "below") and RESIDUAL_POINTS == 0.5
    for part, deeper, shallower in ((plain, "plain56", "plain20"), (residual, "resnet56", "resnet20")):
        differences = [100 * (a - b) for a, b in zip(runs[deeper], runs[shallower], strict=True)]
        assert part["per_seed"] == pytest.approx(differences)
        interval = t_interval(differences)
        assert part["interval"]["n"] == len(SEEDS)
        assert (part["interval"]["low"], part["interval"]["high"]) == pytest.approx((interval.low, interval.high))
    assert record["held"] is result.held is overall(result.judgements)
    assert all(judgement.sentence() in record["verdict"] for judgement in result.judgements)


def test_the_judgements_on_made_up_errors():
    flat = [0.0] * 5
    clear = judgements_of({"plain20": flat, "plain56": [0.4, 0.5, 0.6, 0.45, 0.55], "resnet20": flat, "resnet56": flat})
    assert [j.held for j in clear] == [True, True] and clear[1].interval.high == 0.0  # ties: an interval of width 0
    worse = judgements_of({"plain20": [0.3] * 5, "plain56": flat, "resnet20": flat, "resnet56": [0.02] * 5})
    assert [j.held for j in worse] == [False, False]  # plain-56 below plain-20; ResNet-56 2 points above ResNet-20
    three = flat[:3]
    spread = judgements_of({"plain20": three, "plain56": [0.19, 0.0, 0.65], "resnet20": three, "resnet56": three})
    assert spread[0].held is None  # three seeds far apart: the interval reaches below 0


@pytest.mark.slow
def test_the_figure_overlays_the_curves(tiny):
    result, out, _ = tiny
    assert result.figure == out / "degradation.png"
    with Image.open(result.figure) as image:
        image.load()
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    assert pixels.shape[1] >= 600 and pixels.var() > 50  # decodes, and is not blank
    curves = pixels[:, : pixels.shape[1] * 2 // 3]  # the left panel: the curves, not the bars
    for name in NAMES:
        colour = np.array([int(COLOURS[name][i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(curves - colour).sum(axis=2) < 30).sum() > 200, f"no {name} curve"  # more than its legend entry


def test_the_rule_on_ties():
    assert claim_holds({"plain20": 0.0, "plain56": 0.1, "resnet20": 0.0, "resnet56": 0.0}) == (True, True)
    assert claim_holds({"plain20": 0.1, "plain56": 0.1, "resnet20": 0.0, "resnet56": 0.01}) == (False, False)


def test_full_preset_without_data_is_one_line(capsys, tmp_path):
    from cnnlab.cli.main import main

    code = main(["experiment", "degradation", "--full", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "--data cifar10 --data-dir" in captured.err
    assert not (tmp_path / "runs").exists()  # refused before any training
