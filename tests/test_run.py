"""The run directory: one owner of its files, its written format, old runs, and what a run can do."""

import csv
import json
import math

import pytest

from cnnlab.run import RUN_FORMAT, EpochMetrics, Run, RunSummary
from cnnlab.training.config import resolve_config
from tests._checkpoints import write_checkpoint


def test_a_run_directory_stands_for_its_best_then_its_last_checkpoint(tmp_path):
    write_checkpoint(tmp_path / "last.pt")
    assert Run(tmp_path).checkpoint() == tmp_path / "last.pt"
    write_checkpoint(tmp_path / "best.pt")
    assert Run(tmp_path).checkpoint() == tmp_path / "best.pt"
    assert Run(tmp_path).checkpoint("last") == tmp_path / "last.pt"
    assert Run(tmp_path / "last.pt").checkpoint() == tmp_path / "last.pt"  # a checkpoint stands for itself
    assert Run(tmp_path / "last.pt").path == tmp_path


def test_missing_paths_and_directories_that_are_not_runs(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Run(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="is not a cnnlab run directory"):
        Run(tmp_path)
    write_checkpoint(tmp_path / "last.pt")
    with pytest.raises(ValueError, match="has no best.pt"):
        Run(tmp_path).checkpoint("best")
    with pytest.raises(ValueError, match="checkpoints are best and last, not 'first'"):
        Run(tmp_path).checkpoint_path("first")  # type: ignore[arg-type]


def _metrics(epoch, val=True):
    return EpochMetrics(epoch, 0.01, 1.0 / epoch, 0.5, 0.9, 0.4 if val else None, 0.8 if val else None,
                        0.99 if val else None, 1000.0, 2.5)  # fmt: skip


def test_the_trainer_writes_the_format_and_a_reader_gets_the_same_values(tmp_path):
    config = resolve_config("lenet5", epochs=2)
    run = Run.create(tmp_path / "run", config)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["format"] == RUN_FORMAT == 2
    history = [_metrics(1), _metrics(2, val=False)]
    run.write_metrics(history)
    reopened = Run(tmp_path / "run")
    assert reopened.status == "running" and reopened.format == RUN_FORMAT
    assert reopened.config == config and reopened.metrics == history and reopened.summary is None
    with open(tmp_path / "run" / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == EpochMetrics.columns() and rows[1]["val_top1"] == ""  # no validation: an empty cell
    summary = RunSummary("lenet5", "mnist5k", 60_000, 2, 2, 0.97, 0.98, 1.0, 0.1, 1000, {"0": 1.0}, 3.0, 1e4,
                         "cpu", 1, ["a note"], str(run.path))  # fmt: skip
    run.finish(summary)
    reopened = Run(tmp_path / "run")
    assert reopened.summary == summary and reopened.status == "finished"
    assert str(summary).startswith("test accuracy 98.00% (top-5 100.00%) on 1,000 mnist5k test images")


def test_runs_written_before_the_format_had_a_version_still_open(tmp_path):
    """Format 1: no run.json, history with NaN for a missing validation split."""
    write_checkpoint(tmp_path / "best.pt")
    (tmp_path / "config.json").write_text(json.dumps(resolve_config("lenet5").to_dict()))
    (tmp_path / "metrics.csv").write_text(
        "epoch,lr,train_loss,train_top1,train_top5,val_loss,val_top1,val_top5,images_per_s,seconds\n"
        "1,0.006,0.9,0.7,0.95,,,,8000.0,0.5\n"
    )
    legacy_summary = {"model": "lenet5", "dataset": "mnist5k", "params": 60000, "epochs": 1, "best_epoch": 1,
                      "val_top1": None, "test_top1": 0.9, "test_top5": 0.99, "test_loss": 0.3, "test_images": 1000,
                      "per_class_accuracy": {}, "train_seconds": 1.0, "images_per_s": 8000.0, "device": "cpu",
                      "processes": 1, "notes": [], "run_dir": str(tmp_path)}  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(legacy_summary))
    run = Run(tmp_path)
    assert run.format == 1 and run.status == "finished"
    assert run.metrics[0].val_top1 is None and run.metrics[0].train_top1 == 0.7
    assert run.summary.test_top1 == 0.9 and run.model().num_classes == 10
    assert (run.summary.finished, run.summary.wall_seconds, run.summary.torch_version) == ("", None, "")
    page = run.report(tmp_path / "old.html", worst=2).read_text(encoding="utf-8")
    assert "<dt>versions</dt><dd>not recorded (an older run)</dd>" in page
    old_history = EpochMetrics.from_dict({**_metrics(1).to_dict(), "val_top1": math.nan})  # a checkpoint's NaN
    assert old_history.val_top1 is None


def test_corrupt_records_are_named(tmp_path):
    write_checkpoint(tmp_path / "best.pt")
    (tmp_path / "summary.json").write_text("{truncated")
    with pytest.raises(ValueError, match="summary.json is corrupt"):
        Run(tmp_path).summary  # noqa: B018
    (tmp_path / "metrics.csv").write_text("epoch,lr\nx,y\n")
    with pytest.raises(ValueError, match="metrics.csv is corrupt"):
        Run(tmp_path).metrics  # noqa: B018


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_a_new_run_never_replaces_another(tmp_path, fails):
    """A refused --output leaves the run that is there byte for byte; --overwrite replaces it, and says so."""
    from cnnlab.cli.main import main

    target = tmp_path / "run"
    assert main(["train", "lenet5", "--data", "digits", "--epochs", "1", "--output", str(target), "--no-progress"]) == 0
    before = _snapshot(target)
    message = fails("train", "lenet5", "--data", "digits", "--epochs", "2", "--output", str(target))
    assert f"{target} already holds a run (best.pt, last.pt, metrics.csv, summary.json)" in message
    assert f"continue it with --resume {target}" in message and "--overwrite" in message
    assert _snapshot(target) == before
    with pytest.raises(ValueError, match=f'continue it with resume="{target}"'):
        Run.check_free(target)
    args = ["train", "lenet5", "--data", "digits", "--epochs", "2", "--output", str(target), "--overwrite"]
    assert main([*args, "--no-progress"]) == 0
    assert len(Run(target).metrics) == 2 and _snapshot(target)["last.pt"] != before["last.pt"]


def test_a_directory_left_by_a_failed_start_is_reused_and_a_foreign_config_is_not(tmp_path):
    config = resolve_config("lenet5", epochs=1)
    failed = Run.create(tmp_path / "failed", config)
    failed.mark("failed")  # it failed before its first checkpoint: nothing trained to lose
    Run.check_free(tmp_path / "failed")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text('{"my": "own settings"}')
    with pytest.raises(ValueError, match="already holds a config.json that is not a run's"):
        Run.check_free(tmp_path / "mine")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match="it is a file"):
        Run.check_free(tmp_path / "file")


def test_the_other_processes_of_a_torchrun_job_take_a_handle_without_checking_the_directory_again(tmp_path):
    # The main process writes config.json before run.json: a second process that looked in between would see
    # "a config.json that is not a run's" and stop the job (every process checks before, with check_free).
    config = resolve_config("lenet5", epochs=1)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps(config.to_dict()))
    handle = Run.create(tmp_path / "run", config, write=False)
    assert handle.path == tmp_path / "run" and sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json"]
    with pytest.raises(ValueError, match="already holds a config.json that is not a run's"):
        Run.create(tmp_path / "run", config)


@pytest.mark.slow
def test_runs_named_by_the_clock_in_the_same_second_get_their_own_directories(tmp_path, monkeypatch):
    from cnnlab.run import train
    from cnnlab.training import session

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(session.time, "strftime", lambda _format: "20261203-120000")
    names = [train("lenet5", data="digits", epochs=1, progress=False).path.name for _ in range(2)]
    assert names == ["lenet5-digits-20261203-120000", "lenet5-digits-20261203-120000-2"]


@pytest.mark.slow
def test_a_resumed_run_removes_what_killed_writes_left(tmp_path):
    from cnnlab.run import train

    run = train("lenet5", data="digits", epochs=1, output=str(tmp_path / "run"), progress=False)
    leftover = run.path / ".last.pt.999999999.abc.partial"  # a pid no process has
    leftover.write_bytes(b"half a checkpoint")
    train(resume=run.path, epochs=2, progress=False)
    assert not leftover.exists() and Run(run.path).status == "finished"


def test_the_written_format_lists_every_setting_of_config_json():
    """docs/run-directory.md names each TrainConfig field that config.json holds (a new setting is documented)."""
    from dataclasses import fields
    from pathlib import Path

    from cnnlab.training.config import TrainConfig

    page = (Path(__file__).resolve().parents[1] / "docs" / "run-directory.md").read_text(encoding="utf-8")
    section = page[page.index("## `config.json`") : page.index("## `metrics.csv`")]
    assert [f.name for f in fields(TrainConfig) if f"`{f.name}`" not in section] == []
