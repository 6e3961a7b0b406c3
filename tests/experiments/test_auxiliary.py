"""The auxiliary experiment: the first layer's gradient read at every step of training, and its verdict."""

import json
import math

import pytest
import torch

from cnnlab.experiments import Settings, auxiliary, run_experiment
from cnnlab.experiments.auxiliary import geometric_mean_ratio, gradient_recorder
from cnnlab.models import create_model


def test_the_geometric_mean_ratio_weighs_every_step_the_same():
    assert geometric_mean_ratio([2.0, 8.0], [1.0, 1.0]) == pytest.approx(4.0)
    assert geometric_mean_ratio([1e-3, 10.0], [1e-2, 1.0]) == pytest.approx(1.0)  # x0.1 then x10
    assert geometric_mean_ratio([3.0], [3.0]) == 1.0
    for bad in (([], []), ([1.0], [1.0, 2.0]), ([0.0], [1.0])):
        with pytest.raises(ValueError):
            geometric_mean_ratio(*bad)


def test_the_recorder_reads_the_gradient_each_step_applies_and_then_lets_go():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(4, 1, 6, 6)
    with gradient_recorder() as steps:
        for _ in range(2):
            optimizer.zero_grad()
            model(x).square().sum().backward()
            expected = float(model[0].weight.grad.norm())
            optimizer.step()
    assert len(steps) == 2 and len(steps[0]) == 1  # one 4-D weight: the convolution's, not the linear layer's
    assert steps[1][0] == pytest.approx(expected) and steps[0][0] != steps[1][0]
    optimizer.step()
    assert len(steps) == 2  # the hook is gone after the block


def test_deep_aux_net_depths_start_alike_with_and_without_the_side_heads():
    for per_group, layers in ((4, 13), (2, 7), (1, 4)):
        torch.manual_seed(1)
        with_aux = create_model("deep_aux_net", aux_logits=True, per_group=per_group)
        torch.manual_seed(1)
        without = create_model("deep_aux_net", per_group=per_group)
        shared = without.state_dict()
        assert all(torch.equal(with_aux.state_dict()[k], v) for k, v in shared.items())
        assert 1 + len(without.convs) == layers and without.aux_at == (per_group - 1, 2 * per_group - 1)
        output = with_aux.forward_train(torch.randn(2, 1, 32, 32))
        assert output.logits.shape == (2, 10) and [a.shape for a in output.aux_logits] == [(2, 10), (2, 10)]
    assert sum(p.numel() for p in create_model("deep_aux_net").parameters()) == 43_258
    with pytest.raises(ValueError):
        create_model("deep_aux_net", per_group=0)


@pytest.mark.slow
def test_auxiliary_end_to_end_judges_the_gradient_ratio_per_depth(tmp_path, monkeypatch):
    tiny = {**auxiliary.PRESETS["quick"], "images": 300, "per_group": (2, 1)}
    monkeypatch.setitem(auxiliary.PRESETS, "quick", tiny)
    result = run_experiment("auxiliary", Settings("quick", tmp_path, epochs=1, seeds=(0, 1)))
    record = json.loads((tmp_path / "results.json").read_text())
    depths = record["data"]["depths"]
    assert list(depths) == ["7 layers", "4 layers"] and len(record["judgements"]) == 2
    for (label, depth), judgement in zip(depths.items(), record["judgements"], strict=True):
        norms = depth["first_layer_norms"]
        assert set(norms) == {"with", "without"} and all(len(runs) == 2 for runs in norms.values())
        assert len(norms["with"][0]) == len(norms["without"][0]) == depth["steps_per_epoch"] > 0
        logs = [math.log(a / b) for a, b in zip(norms["with"][0], norms["without"][0], strict=True)]
        ratio = math.exp(sum(logs) / len(logs))
        assert depth["ratio"][0] == pytest.approx(ratio)  # the per-seed number is the run's own steps
        assert len(depth["by_layer_seed0"]["with"]) == depth["layers"]
        assert judgement["threshold"] == 1.0 and judgement["holds_when"] == "above" and label in judgement["measure"]
        assert judgement["per_seed"] == depth["ratio"]
        interval = judgement["interval"]
        assert interval["n"] == 2 and interval["mean"] == pytest.approx(sum(depth["ratio"]) / 2)
        assert interval["low"] < interval["mean"] < interval["high"]
        held = True if interval["low"] > 1 else False if interval["high"] < 1 else None
        assert judgement["held"] == held
    assert "not judged" in result.verdict and "Inception-v3" in result.verdict
    accuracy = depths["7 layers"]["test_top1"]
    assert record["data"]["accuracy_difference_points"]["7 layers"] == [
        pytest.approx(100 * (w - o)) for w, o in zip(accuracy["with"], accuracy["without"], strict=True)
    ]
