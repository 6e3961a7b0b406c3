"""The moving average of the weights (model_ema) and the folded validation epochs (fold_val_epochs)."""

import csv

import pytest
import torch
from torch import nn

from cnnlab.checkpoint import load_checkpoint
from cnnlab.errors import SettingError
from cnnlab.run import Run, train
from cnnlab.training.config import resolve_config
from cnnlab.training.ema import ModelEma
from cnnlab.training.evaluation import evaluate_model

# Slow: every test trains, most for 2-3 epochs (2-4 s each on 2 busy cores).
pytestmark = pytest.mark.slow


def _quiet(_message):
    pass


def _config(tmp_path, name="run", **changes):
    settings = {"epochs": 2, "output": str(tmp_path / name), "deterministic": True, "device": "cpu",
                "model_ema": False, "val_fraction": 0.1, "fold_val_epochs": 0}  # fmt: skip
    settings.update(changes)
    return resolve_config("lenet5", **settings)


class _Counted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.norm = nn.BatchNorm1d(2)


def test_the_average_follows_the_formula_and_copies_counters():
    model = _Counted()
    ema = ModelEma(model, decay=0.9)
    start = ema.module.linear.weight.clone()
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0): a young average follows closely
    with torch.no_grad():
        model.linear.weight.add_(1.0)
    model.norm.num_batches_tracked.fill_(7)
    ema.update()
    expected = 0.1 * start + 0.9 * model.linear.weight
    assert torch.allclose(ema.module.linear.weight, expected)
    assert int(ema.module.norm.num_batches_tracked) == 7  # a counter is copied, not averaged
    for _ in range(1000):
        ema.update()
    assert ema.current_decay() == 0.9  # the set decay once the average is old enough
    assert torch.allclose(ema.module.linear.weight, model.linear.weight, atol=1e-6)
    assert not any(p.requires_grad for p in ema.module.parameters()) and not ema.module.training


def test_the_average_saves_and_loads_its_weights_and_age():
    model = _Counted()
    ema = ModelEma(model, decay=0.99)
    with torch.no_grad():
        model.linear.weight.mul_(3)
    ema.update()
    copy = ModelEma(_Counted(), decay=0.99)
    copy.load_state_dict(ema.state_dict())
    assert copy.updates == 1 and torch.equal(copy.module.linear.weight, ema.module.linear.weight)
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\), got 1"):
        ModelEma(model, decay=1)


@pytest.fixture(scope="module")
def averaged(tmp_path_factory):
    return train(_config(tmp_path_factory.mktemp("ema"), model_ema=True, model_ema_decay=0.99), progress=False,
                 log=_quiet)  # fmt: skip


def test_a_run_with_an_average_validates_saves_and_tests_both(averaged):
    rows = averaged.metrics
    assert all(row.ema_val_top1 is not None and row.val_top1 is not None for row in rows)
    with open(averaged.path / "metrics.csv") as file:
        assert {"ema_val_loss", "ema_val_top1"} <= set(next(csv.DictReader(file)))
    best = load_checkpoint(averaged.path / "best.pt")
    average, raw = best["ema"]["weights"], best["model_state"]
    assert set(average) == set(raw) and not torch.equal(average["c1.weight"], raw["c1.weight"])
    assert best["ema"]["updates"] == best["global_step"]
    summary = averaged.summary
    assert summary.weights == "ema" and summary.raw_test_top1 is not None
    # the best epoch is the one whose average validated best, and the results are the average's
    assert summary.val_top1 == max(row.ema_val_top1 for row in rows)
    assert evaluate_model(averaged.trained()).top1 == summary.test_top1
    assert evaluate_model(averaged.trained(weights="raw")).top1 == summary.raw_test_top1
    assert averaged.trained().weights == "ema" and "moving average" in averaged.trained().label
    assert "moving average of the weights" in str(summary) and "raw weights" in str(averaged)


def test_asking_for_an_average_a_run_did_not_keep_is_one_clear_error(tmp_path):
    run = train(_config(tmp_path, epochs=1), progress=False, log=_quiet)
    assert run.summary.weights == "raw" and run.summary.raw_test_top1 is None
    assert run.trained().weights == "raw"
    with pytest.raises(ValueError, match="has no moving average of the weights"):
        run.trained(weights="ema")
    with pytest.raises(ValueError, match="weights must be one of auto, ema, raw"):
        run.trained(weights="best")


def test_a_run_with_an_average_resumes_exactly(tmp_path):
    straight = train(_config(tmp_path, "straight", schedule="constant", model_ema=True), progress=False, log=_quiet)
    first = train(_config(tmp_path, epochs=1, schedule="constant", model_ema=True), progress=False, log=_quiet)
    resumed = train(resume=first.path, epochs=2, progress=False, log=_quiet)
    a, b = load_checkpoint(resumed.path / "last.pt")["ema"], load_checkpoint(straight.path / "last.pt")["ema"]
    assert a["updates"] == b["updates"]
    assert all(torch.equal(a["weights"][key], b["weights"][key]) for key in a["weights"])


def test_folded_epochs_train_on_the_validation_images_and_keep_the_final_weights(tmp_path):
    run = train(_config(tmp_path, epochs=3, fold_val_epochs=1), progress=False, log=_quiet)
    rows = run.metrics
    assert [row.val_top1 is None for row in rows] == [False, False, True]
    last = load_checkpoint(run.path / "last.pt")
    # 3,600 training images make 56 batches of 64; with the 400 validation images, 62
    assert last["global_step"] == 56 + 56 + 62
    best = load_checkpoint(run.path / "best.pt")
    assert best["epoch"] == 3 and all(torch.equal(best["model_state"][k], v) for k, v in last["model_state"].items())
    summary = run.summary
    assert summary.folded_epochs == 1 and summary.best_epoch == 3 and summary.val_top1 is None
    assert any("also train on the 400 validation images" in note for note in summary.notes)
    # the schedule runs to its end over the longer folded epoch: the last lr is one-cycle's floor
    assert rows[-1].lr < 1e-3 * run.config.lr
    assert "trained on in the last 1 epochs" in str(run)


def test_folding_is_clamped_so_that_one_epoch_is_validated():
    assert resolve_config("lenet5", epochs=1, fold_val_epochs=5, val_fraction=0.1).folded_epochs == 0
    assert resolve_config("lenet5", epochs=4, fold_val_epochs=5, val_fraction=0.1).folded_epochs == 3
    config = resolve_config("lenet5", fold_val_epochs=5, val_fraction=0.0)
    assert config.folded_epochs == 0 and "fold_val_epochs" in config.unused_settings()
    assert "model_ema_decay" in resolve_config("lenet5", model_ema=False).unused_settings()
    with pytest.raises(SettingError, match=r"fold_val_epochs: expected a whole number >= 0, got -1"):
        resolve_config("lenet5", fold_val_epochs=-1)


def test_the_command_line_turns_the_average_on_and_off(run, fails, tmp_path):
    code, out, _ = run("train", "lenet5", "--model-ema", "--model-ema-decay", "0.99", "--fold-val-epochs", "2",
                       "--print-config")  # fmt: skip
    assert code == 0 and '"model_ema": true' in out and '"model_ema_decay": 0.99' in out
    assert '"fold_val_epochs": 2' in out
    code, out, _ = run("train", "lenet5", "--no-model-ema", "--print-config")
    assert code == 0 and '"model_ema": false' in out
    assert "--model-ema-decay: expected a decay in [0, 1), got 1.0" in fails(
        "train", "lenet5", "--model-ema-decay", "1"
    )
    assert "--fold-val-epochs" in fails("train", "lenet5", "--fold-val-epochs", "-2")


def test_an_old_checkpoint_without_an_average_still_opens(averaged, tmp_path):
    state = load_checkpoint(averaged.path / "best.pt")
    del state["ema"]
    from cnnlab.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "old.pt", state)
    trained = Run(tmp_path / "old.pt").trained()
    assert trained.weights == "raw"


def test_evaluating_a_folded_run_on_its_validation_split_says_it_trained_on_it(tmp_path):
    run = train(_config(tmp_path, epochs=2, fold_val_epochs=1), progress=False, log=_quiet)
    assert any("were trained on in the run's last 1 epochs" in note for note in run.evaluate(split="val").notes)
    assert not any("trained on" in note for note in run.evaluate(split="test").notes)


def test_the_progress_bar_counts_the_longer_folded_epochs(tmp_path, monkeypatch):
    import tqdm.auto

    bars = []
    real = tqdm.auto.tqdm

    class Bar:
        def __new__(cls, *args, **options):
            if options.get("unit") != "step":  # evaluation's bars over batches
                return real(*args, **options)
            return super().__new__(cls)

        def __init__(self, *args, **options):
            self.total, self.n = options["total"], options["initial"]
            bars.append(self)

        def update(self, steps=1):
            self.n += steps

        def set_description(self, *_args, **_kwargs):
            pass

        set_postfix = set_description

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    train(_config(tmp_path, epochs=2, fold_val_epochs=1), progress=True, log=_quiet)
    (bar,) = bars
    assert bar.total == bar.n == 56 + 62  # the folded epoch has the 400 validation images' batches too
