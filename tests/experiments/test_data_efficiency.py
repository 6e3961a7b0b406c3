"""The data-efficiency experiment: every size trained for the same steps, and the judged parts of the claim (the
convolution's paired lead at the smallest size, and how much it shrinks) in results.json."""

import json

import pytest

from cnnlab.experiments import Settings, run_experiment
from cnnlab.experiments._verdict import overall, t_interval
from cnnlab.experiments.data_efficiency import PRESETS, epochs_for, judgements_of

SEEDS = (0, 1)  # two seeds: the fewest with an interval
SIZES = PRESETS["quick"]["sizes"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("data-efficiency")
    result = run_experiment("data-efficiency", Settings("quick", out, epochs=1, seeds=SEEDS))
    return result, out, json.loads((out / "results.json").read_text())


def test_every_size_trains_for_the_same_steps():
    assert [epochs_for(n, 450) for n in (100, 300, 1000, 4000)] == [150, 50, 15, 4]
    assert [epochs_for(n, PRESETS["quick"]["steps"]) for n in SIZES] == [150, 4]
    assert epochs_for(31, 10) == 10  # fewer images than a batch still trains, one step an epoch


@pytest.mark.slow
def test_data_efficiency_trains_each_size(tiny):
    from cnnlab.run import Run

    _, out, record = tiny
    assert record["data"]["params"] == {"mlp": 338_610, "locally_connected_net": 423_038, "lenet5_modern": 61_706}
    accuracy = record["data"]["accuracy"]
    assert all(set(by_size) == {str(s) for s in SIZES} for by_size in accuracy.values())
    assert all(len(runs) == len(SEEDS) for by_size in accuracy.values() for runs in by_size.values())
    config = Run(out / "runs" / "lenet5_modern-4000-seed1").config
    assert (config.train_images, config.val_fraction, config.augment, config.batch_size) == (4000, 0.0, (), 32)
    assert all(len(row) == len(record["headers"]) for row in record["rows"])
    assert [row[-1] for row in record["rows"][:3]] == ["96.95%", "-", "99.05%"]  # LeCun et al. 1998, Fig. 9


@pytest.mark.slow
def test_results_json_holds_the_judgements(tiny):
    result, _, record = tiny
    accuracy = record["data"]["accuracy"]
    small, large = str(SIZES[0]), str(SIZES[-1])

    def lead(model, size):
        return [100 * (a - b) for a, b in zip(accuracy["lenet5_modern"][size], accuracy[model][size], strict=True)]

    expected = [lead("mlp", small), lead("locally_connected_net", small),
                [s - g for s, g in zip(lead("mlp", small), lead("mlp", large), strict=True)]]  # fmt: skip
    assert len(record["judgements"]) == 3
    for part, differences in zip(record["judgements"], expected, strict=True):
        assert part["per_seed"] == pytest.approx(differences)
        assert (part["threshold"], part["holds_when"]) == (0.0, "above")
        interval = t_interval(differences)
        assert (part["interval"]["low"], part["interval"]["high"]) == pytest.approx((interval.low, interval.high))
    assert record["held"] is result.held is overall(result.judgements)
    assert all(judgement.sentence() in record["verdict"] for judgement in result.judgements)


def test_the_judgements_on_made_up_seeds():
    def accuracy(conv_small, conv_large):
        return {"mlp": {100: [0.70] * 5, 4000: [0.90] * 5}, "locally_connected_net": {100: [0.72] * 5, 4000: [0.9] * 5},
                "lenet5_modern": {100: conv_small, 4000: conv_large}}  # fmt: skip

    helps = judgements_of(accuracy([0.80, 0.82, 0.79, 0.81, 0.80], [0.92, 0.93, 0.92, 0.91, 0.92]))
    assert [j.held for j in helps] == [True, True, True]
    worse = judgements_of(accuracy([0.60, 0.61, 0.62, 0.60, 0.59], [0.92] * 5))
    assert [j.held for j in worse] == [False, False, False]
    noisy = judgements_of(accuracy([0.60, 0.85, 0.70, 0.80, 0.65], [0.92] * 5))
    assert noisy[0].held is None
