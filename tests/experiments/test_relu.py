"""The relu experiment: AlexNet's protocol (each activation at the fastest rate of a grid) and its verdict."""

import json
import math

import pytest
import torch

from cnnlab.experiments import Settings, relu, run_experiment
from cnnlab.experiments.relu import censored_ratio, epochs_to, fastest_rate
from cnnlab.models import create_model


def test_the_fastest_rate_is_the_one_that_reaches_the_threshold_in_the_fewest_epochs():
    curves = {0.01: [0.8, 0.6, 0.4, 0.2], 0.03: [0.7, 0.4, 0.2, 0.1], 0.1: [0.85, 0.5, 0.1, 0.05]}
    # 0.03 crosses 25% at 2 + 0.15/0.2 = 2.75 epochs, 0.1 at 2 + 0.25/0.4 = 2.625, 0.01 at 3.75
    assert epochs_to(curves[0.1], 0.25) < epochs_to(curves[0.03], 0.25) < epochs_to(curves[0.01], 0.25)
    assert fastest_rate(curves, 0.25) == 0.1
    assert fastest_rate(curves, 0.45) == 0.03  # a different threshold, a different winner
    # a curve that ends lowest but gets there later does not win; one that never gets there never does
    assert fastest_rate({0.01: [0.5, 0.2, 0.0], 0.1: [0.2, 0.15, 0.12], 0.3: [0.9, 0.9, 0.9]}, 0.25) == 0.1


def test_ties_and_curves_that_never_get_there():
    tie = {0.03: [0.2, 0.1], 0.1: [0.2, 0.05], 0.3: [0.2, 0.05]}
    assert fastest_rate(tie, 0.25) == 0.1  # same epochs: the lower last error, then the smaller rate
    assert fastest_rate({0.01: [0.8, 0.7], 0.1: [0.9, 0.5], 1.0: [0.9, 0.9]}, 0.25) == 0.1  # none: the nearest
    with pytest.raises(ValueError):
        fastest_rate({}, 0.25)
    with pytest.raises(ValueError):
        fastest_rate({0.1: []}, 0.25)


def test_a_run_that_never_reached_the_threshold_counts_as_reaching_it_at_the_end():
    assert censored_ratio(6.0, 2.0, 10) == 3.0
    assert censored_ratio(None, 2.0, 10) == 5.0  # tanh never: at least 10 / 2
    assert censored_ratio(2.0, None, 10) == 0.2  # ReLU never: at most 2 / 10
    assert math.isnan(censored_ratio(None, None, 10))


def test_the_deeper_net_starts_as_the_four_layer_one_and_is_deeper():
    torch.manual_seed(0)
    four = create_model("convnet4", in_channels=1)
    torch.manual_seed(0)
    eight = create_model("convnet4", in_channels=1, extra_layers=4)
    shared = four.state_dict()
    assert all(torch.equal(eight.state_dict()[k], v) for k, v in shared.items())
    extra = [m for m in eight.modules() if isinstance(m, torch.nn.Conv2d)][3:]
    assert len(extra) == 4 and all(m.kernel_size == (3, 3) and m.out_channels == 64 for m in extra)
    assert sum(p.numel() for p in four.parameters()) == 87_978  # 89,578 with three input channels
    assert eight(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError):
        create_model("convnet4", extra_layers=-1)


@pytest.mark.slow
def test_relu_end_to_end_chooses_a_rate_per_activation_and_judges_the_ratio(tmp_path, monkeypatch):
    tiny = {**relu.PRESETS["quick"], "images": 300, "rates": (0.03, 0.1), "extra_layers": (0, 1), "threshold": 0.85}
    monkeypatch.setitem(relu.PRESETS, "quick", tiny)
    result = run_experiment("relu", Settings("quick", tmp_path, epochs=3, seeds=(0, 1)))
    record = json.loads((tmp_path / "results.json").read_text())
    data = record["data"]
    assert data["learning_rates"] == {"relu": [0.03, 0.1], "tanh": [0.03, 0.1]}
    assert set(data["chosen_lr"]) == {"relu", "tanh"} and all(r in (0.03, 0.1) for r in data["chosen_lr"].values())
    assert set(data["depths"]) == {"4 layers", "5 layers"}
    assert len(list((tmp_path / "runs").iterdir())) == 12  # 2 depths x 2 activations x (2 rates + 1 more seed)
    for (label, depth), judgement in zip(data["depths"].items(), record["judgements"], strict=True):
        assert judgement["threshold"] == 1.0 and judgement["holds_when"] == "above" and label in judgement["measure"]
        assert judgement["per_seed"] == depth["ratio"] and judgement["interval"]["n"] == 2
        for activation in ("relu", "tanh"):
            chosen = depth[activation]
            grid = {float(rate): curve for rate, curve in chosen["grid_seed0"].items()}
            assert chosen["chosen_lr"] == fastest_rate(grid, 0.85)  # the rate chosen on the run itself
            assert chosen["training_error"][0] == grid[chosen["chosen_lr"]]  # seed 0's run reused
        ratios = depth["ratio"]
        if all(r is not None for r in ratios):  # the interval is the t interval of the seeds' ratios
            assert judgement["interval"]["mean"] == pytest.approx(sum(ratios) / 2)
            assert judgement["interval"]["low"] < judgement["interval"]["mean"] < judgement["interval"]["high"]
    assert record["held"] in (True, False, None) and result.held == record["held"]
    assert "6x" in result.table() and "the paper: six times" in result.verdict
