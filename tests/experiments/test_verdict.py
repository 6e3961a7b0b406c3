"""The three-way verdict: Student's t intervals and their judgement against a claim's threshold."""

import math

import pytest
from scipy import stats

from cnnlab.experiments._scaffold import outcome, verdict_of
from cnnlab.experiments._verdict import judge, judge_exact, overall, t_interval


@pytest.mark.parametrize(
    "values", [[0.3, -0.1, 0.8, 0.25, 0.4], [1.0, 2.0], [97.1, 97.4, 96.8, 97.0, 97.3, 97.2, 96.9, 97.5, 97.0, 97.1]]
)
def test_the_interval_is_scipys_student_t(values):
    interval = t_interval(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=stats.tmean(values), scale=stats.sem(values))
    assert interval.n == len(values)
    assert interval.mean == pytest.approx(sum(values) / len(values))
    assert (interval.low, interval.high) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))


def test_a_textbook_interval():
    # n = 5, mean 10, sample sd 2: t(0.975, 4) = 2.776445..., half-width 2.776445 * 2 / sqrt(5) = 2.4833
    interval = t_interval([8.0, 8.0, 10.0, 12.0, 12.0])
    assert interval.mean == 10.0 and interval.high - interval.mean == pytest.approx(2.48333, abs=1e-4)


def test_one_value_has_no_interval_and_nothing_is_refused_quietly():
    interval = t_interval([0.5])
    assert (interval.low, interval.high, interval.n) == (-math.inf, math.inf, 1)
    with pytest.raises(ValueError, match="at least one"):
        t_interval([])
    with pytest.raises(ValueError, match="between 0 and 1"):
        t_interval([1.0, 2.0], confidence=1.5)


def test_clearly_above_clearly_below_and_straddling():
    above = judge("gain", [1.1, 0.9, 1.2, 1.0, 0.95], 0.0)
    below = judge("gain", [-1.1, -0.9, -1.2, -1.0, -0.95], 0.0)
    straddling = judge("gain", [1.5, -1.2, 0.4, -0.3, 0.2], 0.0)
    assert (above.held, below.held, straddling.held) == (True, False, None)
    assert above.interval.low > 0 and below.interval.high < 0 and straddling.interval.low < 0 < straddling.interval.high


def test_a_claim_that_holds_below_its_threshold():
    cheaper = judge("parameters ratio", [0.2, 0.25, 0.22], 1.0, above=False)
    dearer = judge("parameters ratio", [2.0, 2.1, 1.9], 1.0, above=False)
    assert (cheaper.held, dearer.held) == (True, False)
    assert "< 1" in cheaper.sentence() and cheaper.to_dict()["holds_when"] == "below"


def test_one_seed_or_a_run_that_never_got_there_is_inconclusive():
    assert judge("gain", [5.0], 0.0).held is None
    assert judge("gain", [1.0, math.inf, 2.0], 0.0).held is None
    assert "one seed, no interval" in judge("gain", [5.0], 0.0).sentence()


def test_exact_measures_and_claims_of_several_parts():
    exact = judge_exact("agreement", 1e-7, 1e-5, above=False)
    assert exact.held is True and exact.interval is None and "exact" in exact.sentence()
    held, failed, unsure = (judge("x", v, 0.0) for v in ([1, 1.1, 0.9], [-1, -1.1, -0.9], [1, -1, 0.2]))
    assert overall([held, exact]) is True
    assert overall([held, unsure]) is None
    assert overall([unsure, failed, held]) is False
    assert overall([]) is None


def test_the_verdict_says_each_part_and_the_condition():
    parts = [judge("ReLU's speed-up over tanh", [1.5, 1.7, 1.6, 1.4, 1.8], 1.0, spec=".2f")]
    held, text = verdict_of("ReLU got there first.", parts, "2,000 digits, 5 seeds")
    assert held is True
    lines = text.splitlines()
    assert lines[0] == "ReLU got there first."
    assert lines[1].startswith("- ReLU's speed-up over tanh: 1.60, 95% interval 1.40 to 1.80 over 5 seeds")
    assert lines[1].endswith("(the claim needs > 1.00): held")
    assert lines[-1] == "Verdict: the claim held on this run (2,000 digits, 5 seeds)."
    assert outcome(None).startswith("inconclusive")


def test_the_interval_panel_draws_the_seeds_the_interval_and_the_threshold():
    from matplotlib.colors import to_rgba

    from cnnlab.experiments._scaffold import interval_panel
    from cnnlab.viz.figure import new_picture

    figure = new_picture(400, 300)
    axis = figure.subplots()
    interval_panel(axis, judge("gain", [1.1, 0.9, 1.2, 1.0, 0.95], 0.5), label="points")
    assert axis.get_title() == "held" and axis.get_ylabel() == "points"
    assert list(axis.collections[0].get_offsets()[:, 1]) == [1.1, 0.9, 1.2, 1.0, 0.95]
    band = next(patch for patch in axis.patches)  # the interval, in the verdict's colour
    assert band.get_facecolor()[:3] == to_rgba("C2")[:3]
    assert [line.get_ydata()[0] for line in axis.lines] == [pytest.approx(1.03), 0.5]  # the mean, the threshold


def test_counts_take_their_number():
    from cnnlab.experiments._scaffold import counted

    assert (counted(1, "seed"), counted(8, "seed"), counted(0, "epoch"), counted(4000, "digit")) == (
        "1 seed", "8 seeds", "0 epochs", "4,000 digits")  # fmt: skip
