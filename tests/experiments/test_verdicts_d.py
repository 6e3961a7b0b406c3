"""The three-way verdicts of locality, equivariance, pooling, upsampling, regularisation and factorisation.

Each experiment runs once (one epoch, the bundled digits, two or three seeds); the tests read its results.json
back and check every judgement: its threshold (the module's named constant, and the number the claim states),
its per-seed numbers (recomputed from the experiment's own data), its interval (against scipy's Student's t)
and its held value (consistent with the interval), and that the verdict says the condition it was tested under.
"""

import json
import math
import statistics

import pytest
from scipy import stats

from cnnlab.experiments import Settings, run_experiment
from cnnlab.experiments._scaffold import caption
from cnnlab.experiments._verdict import overall, spoken
from cnnlab.viz.figure import new_picture

SEEDS = (0, 1)  # two seeds: the smallest number with a finite interval


def judged_record(result, out):
    """results.json of a judged experiment, checked for what every three-way verdict must have."""
    record = json.loads((out / "results.json").read_text())
    assert record["name"] == result.name and record["claim"] and record["verdict"] == result.verdict
    assert record["judgements"] and record["held"] in (True, False, None)
    held = overall([_Judged(j["held"]) for j in record["judgements"]])
    assert record["held"] == held == result.held
    ending = "on this run: the seeds' 95% interval straddles the threshold" if held is None else "on this run"
    assert f"Verdict: {'inconclusive' if held is None else 'the claim ' + spoken(held)} {ending} (" in record["verdict"]
    assert result.figure.is_file() and result.figure.stat().st_size > 10_000
    assert all(len(row) == len(result.headers) for row in result.rows)
    for judgement in record["judgements"]:
        _check_interval(judgement)
    return record


class _Judged:
    def __init__(self, held):
        self.held = held


def _check_interval(judgement):
    """The interval is scipy's Student's t of the per-seed numbers, and held follows from it and the threshold."""
    values, interval, threshold = judgement["per_seed"], judgement["interval"], judgement["threshold"]
    above = judgement["holds_when"] == "above"
    if interval is None:  # exact: one number, held when it is on the claim's side
        assert len(values) == 1 and judgement["held"] == (values[0] > threshold if above else values[0] < threshold)
        return
    assert interval["n"] == len(values) and interval["mean"] == pytest.approx(statistics.fmean(values))
    if len(values) == 1:  # one seed: no spread to measure, an unbounded interval (null in JSON), inconclusive
        assert interval["low"] is None and interval["high"] is None and judgement["held"] is None
        return
    if statistics.stdev(values) == 0:
        assert interval["low"] == interval["high"] == pytest.approx(interval["mean"])
    else:
        low, high = stats.t.interval(0.95, len(values) - 1, loc=statistics.fmean(values), scale=stats.sem(values))
        assert (interval["low"], interval["high"]) == (pytest.approx(low), pytest.approx(high))
    low, high = interval["low"], interval["high"]
    if above:
        expected = True if low > threshold else False if high < threshold else None
    else:
        expected = True if high < threshold else False if low > threshold else None
    assert judgement["held"] is expected


def _parts(record):
    return {j["measure"]: j for j in record["judgements"]}


def _part(record, words):
    (found,) = [j for measure, j in _parts(record).items() if words in measure]
    return found


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Each experiment run once, lazily: ``ran(name, **settings)`` -> (result, out, record)."""
    done = {}

    def run(name, **settings):
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            result = run_experiment(name, Settings("quick", out, **settings))
            done[name] = result, out, judged_record(result, out)
        return done[name]

    return run


@pytest.mark.slow
def test_locality_judges_the_fall_of_each_source_on_each_seed(ran):
    from cnnlab.experiments.locality import FALL, MARGIN, far_correlation

    _, _, record = ran("locality", seeds=(0, 1, 2))
    assert (FALL, MARGIN) == (0.2, 0.1)
    assert len(record["judgements"]) == 4  # two sources, two parts each
    for source, runs in record["data"]["curves"].items():
        curves = [{int(d): v for d, v in curve.items()} for curve in runs]
        far = _part(record, f"{source}: correlation at 1 px minus its mean from 8 px on")
        near = _part(record, f"{source}: correlation at 1 px minus at 4 px")
        assert far["per_seed"] == pytest.approx([c[1] - far_correlation(c) for c in curves])
        assert near["per_seed"] == pytest.approx([c[1] - c[4] for c in curves])
        assert (far["threshold"], near["threshold"]) == (FALL, MARGIN) and far["holds_when"] == "above"
        assert far["held"] is near["held"] is True  # the digits and the photos fall far beyond the thresholds
    assert "3 seeds" in record["verdict"] and "no paper gives a number" in record["verdict"]


def test_equivariance_judges_the_identity_exactly_and_pooling_per_seed(ran):
    from cnnlab.experiments.equivariance import EXACT, LESS, POOLS

    _, _, record = ran("equivariance", seeds=(0, 1, 2))
    assert (EXACT, LESS) == (1e-5, 0.0)
    exact = _part(record, "max |conv(shift x) - shift(conv x)|")
    assert exact["interval"] is None and exact["threshold"] == EXACT and exact["holds_when"] == "below"
    assert exact["per_seed"] == [max(record["data"]["equivariance_error"])] and exact["held"] is True
    per_seed = record["data"]["relative_change_per_seed"]
    assert len(per_seed) == 3
    for kind in POOLS[1:]:
        part = _part(record, f"without pooling minus with {kind} pooling")
        assert part["per_seed"] == pytest.approx(
            [100 * statistics.fmean(change["none"][s] - change[kind][s] for s in (1, 2)) for change in per_seed]
        )
        assert part["threshold"] == LESS and part["held"] is True  # a 20-30 point effect on every seed
    assert record["held"] is True and "the claim held on this run (64 mnist5k test digits" in record["verdict"]


@pytest.mark.slow
def test_pooling_pairs_each_learned_kind_with_max_on_each_seed(ran):
    from cnnlab.experiments.pooling import AS_WELL, LEARNED, MOVED

    _, _, record = ran("pooling", epochs=1, seeds=SEEDS)
    assert (AS_WELL, MOVED) == (-0.5, 1e-3)
    pools = record["data"]["pools"]
    for kind in LEARNED:
        part = _part(record, f"{kind} minus max pooling")
        expected = [100 * (a - b) for a, b in zip(pools[kind]["runs"], pools["max"]["runs"], strict=True)]
        assert part["per_seed"] == pytest.approx(expected)
        assert part["threshold"] == AS_WELL and part["interval"]["n"] == len(SEEDS)
    moved = _part(record, "learned pooling parameter from its start")
    assert moved["interval"] is None and moved["threshold"] == MOVED and moved["held"] is True  # one epoch moves them
    assert "1 epochs of its recipe, 2 seeds; Lee et al. 2016 trained larger networks" in record["verdict"]


@pytest.mark.slow
def test_regularisation_pairs_each_gap_with_the_plain_one(ran):
    from cnnlab.experiments.regularisation import NARROWS, NIN_ERRORS

    _, _, record = ran("regularisation", epochs=1, seeds=SEEDS)
    assert NARROWS == 0.0 and NIN_ERRORS == {"plain": 14.51, "dropout": 10.41, "both": 8.81}
    variants = record["data"]["variants"]
    assert len(record["judgements"]) == 3
    for label in ("dropout", "augmentation", "both"):
        part = _part(record, f"gap plain minus gap with {label}")
        expected = [100 * (a - b) for a, b in zip(variants["plain"]["gaps"], variants[label]["gaps"], strict=True)]
        assert part["per_seed"] == pytest.approx(expected) and part["threshold"] == NARROWS
    assert record["data"]["paper_test_error_percent"] == NIN_ERRORS
    assert "500 mnist5k training images, 1 epochs, 2 seeds" in record["verdict"] and "14.51%" in record["verdict"]


@pytest.mark.slow
def test_factorisation_judges_fields_weights_and_parameters_exactly_and_accuracy_per_seed(ran):
    from cnnlab.experiments.factorisation import AS_GOOD, FEWER, SAME_FIELD, VGG_SHALLOW_WORSE

    _, _, record = ran("factorisation", epochs=1, seeds=SEEDS)
    assert (AS_GOOD, FEWER, SAME_FIELD, VGG_SHALLOW_WORSE) == (-0.5, 1.0, 1, 7.0)
    fields = _part(record, "fields that should be equal")
    weights = _part(record, "3x3 stacks' weights")
    params = _part(record, "parameters over")
    assert (fields["per_seed"], fields["held"]) == ([0.0], True)
    assert weights["per_seed"] == pytest.approx([(18 + 27) / (25 + 49)]) and weights["held"] is True
    assert params["per_seed"] == pytest.approx([14_330 / 21_706]) and params["held"] is True
    assert all(p["interval"] is None and p["holds_when"] == "below" for p in (fields, weights, params))
    twins = record["data"]["twins"]
    accuracy = _part(record, "3x3 stacks minus 5x5/7x7 twin")
    expected = [100 * (a - b) for a, b in zip(twins["3x3 stacks"]["runs"], twins["5x5 + 7x7"]["runs"], strict=True)]
    assert accuracy["per_seed"] == pytest.approx(expected) and accuracy["threshold"] == AS_GOOD
    assert "7% higher top-1" in record["verdict"] and "1 epochs, 2 seeds" in record["verdict"]


@pytest.mark.slow
def test_upsampling_says_under_which_condition_it_did_not_hold(ran):
    from cnnlab.experiments.upsampling import BETTER, EXACT

    _, _, record = ran("upsampling", epochs=1)
    assert (EXACT, BETTER) == (1e-5, 0.0)
    mse = record["data"]["mse"]
    identity = _part(record, "zero insertion + conv2d")
    assert identity["per_seed"] == [record["data"]["max_difference"]] and identity["held"] is True
    for name in ("nearest", "bilinear"):
        part = _part(record, f"MSE of {name} upsampling")
        assert part["per_seed"] == pytest.approx([mse[name] - mse["learned transposed convolution"]])
        assert part["interval"] is None and part["threshold"] == BETTER
    # 50 steps are too few for the learned blur to beat the fixed ones: the verdict says so, and at what budget.
    assert record["held"] is False
    assert "did not hold on this run (a 4x4 stride-2 kernel learned in 50 Adam steps" in record["verdict"]


def test_the_caption_gives_the_verdict_and_the_condition_above_the_figure():
    figure = new_picture(600, 300)
    figure.subplots()
    condition = "head_twin on 500 digits, 30 epochs, 6 seeds; the paper trained on CIFAR-10 " * 2
    caption(figure, None, condition)
    text = figure._suptitle.get_text()
    assert text.startswith("inconclusive: head_twin") and "\n" in text  # wrapped to the picture's width
    assert " ".join(text.split()) == " ".join(f"inconclusive: {condition}".split())
    caption(figure, False, "1 epoch")
    assert figure._suptitle.get_text() == "did not hold: 1 epoch"
    assert not math.isnan(figure._suptitle.get_fontsize())
