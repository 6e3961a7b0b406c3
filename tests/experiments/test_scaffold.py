"""What the experiments share: training variants over seeds, numbers over seeds, the registry's order, the figure."""

from types import SimpleNamespace

import pytest

from cnnlab.experiments import EXPERIMENTS, ExperimentResult, Settings, list_experiments
from cnnlab.experiments import _base as base
from cnnlab.experiments._base import Variant, register, train_variants
from cnnlab.experiments._scaffold import bars_beside, count_seeds, outcome, over_seeds, per_seed, seed_cells


def test_each_variant_trains_over_the_seeds_with_its_options_over_the_shared_ones(monkeypatch, tmp_path):
    calls = []

    def fake_train(model, settings, run_name, **overrides):
        calls.append((model, run_name, overrides))
        return SimpleNamespace(summary=SimpleNamespace(test_top1=overrides["seed"] / 10))

    monkeypatch.setattr(base, "train_briefly", fake_train)
    variants = {"a": Variant("lenet5", "lenet5-a", {"epochs": 3}), "b": Variant("mlp", "mlp-b")}
    found = train_variants(Settings(out=tmp_path), variants, (0, 2), epochs=1, data="digits")
    assert found == {"a": [0.0, 0.2], "b": [0.0, 0.2]}  # the run's test top-1 unless told to measure another thing
    assert calls == [  # variant by variant, each over the seeds in their order
        ("lenet5", "lenet5-a-seed0", {"seed": 0, "epochs": 3, "data": "digits"}),
        ("lenet5", "lenet5-a-seed2", {"seed": 2, "epochs": 3, "data": "digits"}),
        ("mlp", "mlp-b-seed0", {"seed": 0, "epochs": 1, "data": "digits"}),
        ("mlp", "mlp-b-seed2", {"seed": 2, "epochs": 1, "data": "digits"}),
    ]
    assert train_variants(Settings(out=tmp_path), variants, (1,), lambda run: "measured") == {
        "a": ["measured"],
        "b": ["measured"],
    }


def test_before_its_first_run_the_log_hears_what_is_ahead(monkeypatch, tmp_path):
    """On a busy machine the first epoch's line is a minute away: the first line says what runs, how many, where."""
    heard = []

    def fake_train(model, settings, run_name, **overrides):
        heard.append(f"training {run_name}")
        return SimpleNamespace(summary=SimpleNamespace(test_top1=0.5))

    monkeypatch.setattr(base, "train_briefly", fake_train)
    variants = {"a": Variant("lenet5", "lenet5-a"), "b": Variant("mlp", "mlp-b")}
    train_variants(Settings(out=tmp_path, log=heard.append), variants, (0, 2))
    assert heard[0] == f"4 training runs (lenet5-a, mlp-b; seeds 0, 2) into {tmp_path / 'runs'}; results in {tmp_path}"
    assert heard[1:] == ["training lenet5-a-seed0", "training lenet5-a-seed2", "training mlp-b-seed0",
                         "training mlp-b-seed2"]  # fmt: skip
    heard.clear()
    train_variants(Settings(out=tmp_path, log=heard.append), {"a": variants["a"]}, (3,))
    assert heard[0].startswith("1 training run (lenet5-a; seed 3) into ")


def test_numbers_over_seeds_and_their_cells():
    numbers = over_seeds([0.9, 0.95])
    assert numbers == {"runs": [0.9, 0.95], "mean": pytest.approx(0.925), "spread": pytest.approx(0.025)}
    assert seed_cells(numbers) == ["92.50%", "2.50%", "90.0% 95.0%"]
    assert per_seed([1.234, None], ".2f") == "1.23 -"
    assert outcome(True) == "the claim held on this run." and outcome(False) == "the claim did not hold on this run."


def test_count_seeds_gives_the_rule_each_seeds_values_by_variant():
    accuracy = {"learned": [0.9, 0.8, 0.95], "random": [0.85, 0.85, 0.9]}
    assert count_seeds(lambda seed: seed["learned"] > seed["random"], accuracy) == 2
    with pytest.raises(ValueError, match="shorter"):  # every variant has a value per seed
        count_seeds(lambda seed: True, {"a": [1, 2], "b": [1]})


def test_the_lectures_order_is_declared_where_an_experiment_registers(run):
    def new_experiment(settings):
        return ExperimentResult("new", "a claim", True, "held", [], [])

    between = (EXPERIMENTS["locality"].lecture + EXPERIMENTS["weights"].lecture) / 2
    register("new", "a claim", lecture=between, about="what the new one does")(new_experiment)
    try:
        names = list_experiments()
        assert names[names.index("locality") + 1] == "new" and names.index("new") + 1 == names.index("weights")
        code, out, _ = run("experiment", "--help")  # the command's help lists it from the registry, in its place
        assert code == 0 and "  locality " in out and "\n  new                 what the new one does\n  weights " in out
        with pytest.raises(ValueError, match="already registered"):
            register("new", "again", lecture=1000, about="")(new_experiment)
        with pytest.raises(ValueError, match=f"lecture position {between} is taken by 'new'"):
            register("newer", "a claim", lecture=between, about="")(new_experiment)
    finally:
        EXPERIMENTS.pop("new", None)  # the registry as it was, for the other tests
    assert "newer" not in EXPERIMENTS


def test_the_bars_go_beside_the_panel_the_experiment_draws_in():
    figure, other = bars_beside((800, 300), {"a": [0.9, 0.92], "b": [0.95]}, title="accuracy", bars_first=True)
    bars, second = figure.axes
    assert other is second and bars.get_title() == "accuracy" and bars.get_ylabel() == "test top-1 (%)"
    assert [tick.get_text() for tick in bars.get_xticklabels()] == ["a", "b"] and bars.get_ylim()[1] == 100
    assert len(bars.patches) == 2 and bars.get_ylim()[0] == 0  # a bar per variant, from zero
    assert len(bars.containers) == 2 + 1  # the bars, and an error bar for "a" alone: "b" has one seed
