"""Training runs on the bundled digits: files, exact resume, interruption, non-finite loss."""

import csv
import json
from contextlib import contextmanager

import pytest
import torch

from cnnlab.checkpoint import load_checkpoint
from cnnlab.run import Run, train
from cnnlab.training import loop as loop_module
from cnnlab.training.config import TrainConfig, resolve_config
from cnnlab.training.loop import TrainingInterrupted, TrainingStopped

# Slow: every test trains (1-5 s each on 2 busy cores), or reads what the module's fixture trained.
pytestmark = pytest.mark.slow


def _config(tmp_path, name="run", **changes):
    settings = {"epochs": 2, "output": str(tmp_path / name), "deterministic": True, "device": "cpu",
                "val_fraction": 0.1}  # fmt: skip
    settings.update(changes)
    return resolve_config("lenet5", **settings)


def _quiet(_message):
    pass


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """A 2-epoch deterministic LeNet-5 run, shared by the tests that only read it."""
    return train(_config(tmp_path_factory.mktemp("straight")), progress=False, log=_quiet)


def test_a_run_writes_everything_a_user_needs(two_epochs):
    run = two_epochs.path
    assert {p.name for p in run.iterdir()} >= {
        "config.json",
        "metrics.csv",
        "last.pt",
        "best.pt",
        "summary.json",
        "curves.png",
    }
    with open(run / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(rows[0]) >= {
        "lr",
        "train_loss",
        "train_top1",
        "train_top5",
        "val_loss",
        "val_top1",
        "val_top5",
        "images_per_s",
    }
    summary = json.loads((run / "summary.json").read_text())
    assert {"model", "dataset", "params", "epochs", "test_top1", "test_top5", "train_seconds"} <= set(summary)
    assert summary["model"] == "lenet5" and summary["params"] == 60_000 and summary["test_images"] == 1000
    assert summary["test_top1"] > 0.5  # it learned something in two short epochs
    assert json.loads((run / "config.json").read_text())["logit_temperature"] == 16.0
    from PIL import Image

    image = Image.open(run / "curves.png")
    pixels = torch.tensor(list(image.convert("L").tobytes()), dtype=torch.float)
    assert image.size[0] > 500 and pixels.std() > 10


def test_checkpoints_remember_how_to_preprocess(two_epochs):
    state = load_checkpoint(two_epochs.path / "best.pt", model="lenet5")
    assert state["classes"] == list("0123456789") and state["input_size"] == [1, 32, 32]
    assert state["normalization"]["mean"] == pytest.approx([0.1 / 1.275])
    assert state["epoch"] >= 1 and "optimizer" in state and state["config"]["model"] == "lenet5"


def _weights(run_dir):
    return load_checkpoint(run_dir / "last.pt")["model_state"]


def _same_weights(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_one_epoch_plus_resume_equals_two_epochs_straight(tmp_path):
    # A schedule that does not depend on the planned length, so that --epochs can extend the run.
    straight = train(_config(tmp_path, "straight", schedule="constant"), progress=False, log=_quiet)
    first = train(_config(tmp_path, epochs=1, schedule="constant"), progress=False, log=_quiet)
    resumed = train(resume=first.path, epochs=2, progress=False, log=_quiet)
    assert _same_weights(_weights(resumed.path), _weights(straight.path))
    assert resumed.summary.test_top1 == straight.summary.test_top1
    first_session = first.summary.wall_seconds
    # the resumed run's wall time counts both sessions: the first one's (from its last checkpoint) and its own
    assert resumed.summary.wall_seconds > first_session > first.summary.train_seconds > 0
    with open(resumed.path / "metrics.csv") as file:
        assert len(list(csv.DictReader(file))) == 2


class _StopAfter(list):
    """A Ctrl-C flag that goes up after a number of checks."""

    def __init__(self, checks):
        super().__init__([False])
        self.checks = checks

    def __getitem__(self, index):
        self.checks -= 1
        return self.checks < 0


def test_an_interruption_mid_epoch_saves_and_resumes_exactly(tmp_path, monkeypatch, two_epochs):
    @contextmanager
    def interrupt_soon():
        yield _StopAfter(80)  # in the second epoch (56 steps each)

    monkeypatch.setattr(loop_module, "_stop_on_ctrl_c", interrupt_soon)
    with pytest.raises(TrainingInterrupted, match=r"interrupted at epoch 2, step 25: checkpoint saved to") as info:
        train(_config(tmp_path), progress=False, log=_quiet)
    assert info.value.run.path == tmp_path / "run" and info.value.run.status == "interrupted"
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (state["epoch"], state["batches_done"]) == (1, 25)
    monkeypatch.undo()
    resumed = train(resume=tmp_path / "run", progress=False, log=_quiet)
    assert _same_weights(_weights(resumed.path), _weights(two_epochs.path))


def test_a_ctrl_c_after_the_last_step_lets_the_run_finish_and_then_stops_the_caller(tmp_path, monkeypatch):
    """Pressed during the last evaluation or the test, it found no step to stop at: it was lost (an experiment went
    on with its next run), or, during the test, it left a run with all its epochs, no summary, and no way to
    resume it."""
    flag = [False]

    @contextmanager
    def ctrl_c_flag():
        yield flag

    finish = loop_module._finish

    def pressed_during_the_test(trainer, run_dir):
        flag[0] = True
        return finish(trainer, run_dir)

    monkeypatch.setattr(loop_module, "_stop_on_ctrl_c", ctrl_c_flag)
    monkeypatch.setattr(loop_module, "_finish", pressed_during_the_test)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path, epochs=1), progress=False, log=_quiet)
    run = Run(tmp_path / "run")
    assert run.status == "finished" and run.summary.epochs == 1


def test_a_second_ctrl_c_stops_at_once_and_says_which_checkpoint_resumes(tmp_path, monkeypatch):
    real_loss = loop_module.training_loss
    calls = {"n": 0, "at": 70}  # in the second epoch (56 steps each)

    def second_ctrl_c(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == calls["at"]:
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(loop_module, "training_loss", second_ctrl_c)
    with pytest.raises(TrainingInterrupted, match=r"second Ctrl-C in epoch 2: its last checkpoint is .*") as info:
        train(_config(tmp_path), progress=False, log=_quiet)
    assert info.value.run.status == "interrupted" and load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 1
    calls.update(n=0, at=3)  # in the first epoch: no checkpoint yet, nothing to resume
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path, "early"), progress=False, log=_quiet)


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_loss = loop_module.training_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if calls["n"] > 60 else loss  # poisoned in the second epoch

    monkeypatch.setattr(loop_module, "training_loss", poisoned)
    with pytest.raises(TrainingStopped, match="the loss became nan at epoch 2, step 5.*last good checkpoint"):
        train(_config(tmp_path), progress=False, log=_quiet)
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in state["model_state"].values())


def test_a_non_finite_loss_before_any_checkpoint_says_there_is_none(tmp_path, monkeypatch):
    real_loss = loop_module.training_loss
    monkeypatch.setattr(loop_module, "training_loss", lambda *a, **k: real_loss(*a, **k) * float("nan"))
    with pytest.raises(TrainingStopped, match="at epoch 1, step 1; .*no checkpoint had been written yet") as info:
        train(_config(tmp_path, data="digits"), progress=False, log=_quiet)
    assert not info.value.checkpoint_kept and "kept" not in str(info.value)
    assert Run(tmp_path / "run").status == "stopped" and not (tmp_path / "run" / "last.pt").exists()


def test_resume_refuses_a_foreign_or_finished_run(tmp_path, two_epochs):
    with pytest.raises(ValueError, match="is a run of 'lenet5', not of 'resnet20'"):
        train(resolve_config("resnet20"), resume=two_epochs.path)
    with pytest.raises(ValueError, match="already trained 2 of 2 epochs; pass epochs=N"):
        train(resume=two_epochs.path, progress=False, log=_quiet)
    with pytest.raises(ValueError, match="has no last.pt: not a cnnlab run directory"):
        train(resume=tmp_path)


def test_a_run_puts_back_the_process_wide_torch_settings(tmp_path):
    # The LeNet recipe asks for one thread and the test config for determinism; neither may outlive the run,
    # or the next run in the same process (an experiment trains several) would be slower and differ.
    before = torch.get_num_threads()  # the suite runs on one thread (conftest): give the run something to change
    torch.set_num_threads(2)
    assert not torch.are_deterministic_algorithms_enabled()
    config = _config(tmp_path, epochs=1)
    assert config.threads == 1
    seen = {}
    original = loop_module.Trainer.__init__

    def spy(self, *args, **kwargs):
        seen["threads"] = torch.get_num_threads()
        seen["deterministic"] = torch.are_deterministic_algorithms_enabled()
        original(self, *args, **kwargs)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(loop_module.Trainer, "__init__", spy)
            train(config, progress=False, log=_quiet)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert seen == {"threads": 1, "deterministic": True}  # applied during the run
    assert after == 2 and not torch.are_deterministic_algorithms_enabled()


def test_a_run_uses_one_thread_by_default_and_says_so_first(tmp_path):
    # No recipe here: the default alone, whatever the process had (two threads, as on a 2-core machine).
    config = TrainConfig(model="lenet5", data="digits", epochs=1, val_fraction=0.0, train_images=64,
                         output=str(tmp_path / "run"), device="cpu")  # fmt: skip
    before, lines = torch.get_num_threads(), []
    torch.set_num_threads(2)
    try:
        train(config, progress=False, log=lines.append)
    finally:
        torch.set_num_threads(before)
    assert config.threads == 1 and lines[0] == "training on cpu, 1 thread"


def test_the_library_prints_nothing_but_a_progress_bar_that_can_be_silenced(tmp_path, capsys):
    config = _config(tmp_path, "bar", epochs=1, data="digits", val_fraction=0.0)
    train(config, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""  # no messages without a log function
    assert "lenet5 epoch 1/1" in captured.err and "step" in captured.err  # tqdm's bar, on stderr
    lines = []
    train(config.replace(output=str(tmp_path / "quiet")), progress=False, log=lines.append)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    assert any(line.startswith("epoch 1/1  train loss") for line in lines)


def test_train_images_trains_on_that_many_and_evaluates_the_same_subset(tmp_path):
    config = _config(tmp_path, epochs=1, train_images=200, val_fraction=0.0, batch_size=50)
    run = train(config, progress=False, log=_quiet)
    assert run.metrics[0].images_per_s > 0 and run.config.train_images == 200
    seen = run.evaluate(split="train")  # the same 200 images the run trained on, 20 of each digit
    assert seen.images == 200 and [sum(row) for row in seen.confusion] == [20] * 10


def test_a_run_without_a_validation_split_says_so_and_its_result_is_the_final_weights(tmp_path):
    run = train(_config(tmp_path, epochs=2, data="digits", val_fraction=0.0), progress=False, log=_quiet)
    (note,) = [note for note in run.summary.notes if "validation" in note]
    assert note == (
        "no validation split: every epoch trains on all 1,437 training images and the result is the final weights"
    )
    assert run.summary.val_top1 is None and run.summary.best_epoch == 2
    assert all(row.val_top1 is None for row in run.metrics)
