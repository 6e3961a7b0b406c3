"""cnnlab train from the command line: the resolved config, bad input, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys

import pytest


def test_print_config_shows_the_resolved_recipe(run):
    code, out, _ = run("train", "resnet20", "--lr", "0.2", "--sched", "paper", "--print-config")
    config = json.loads(out)
    assert code == 0 and config["recipe"] == "resnet_cifar"
    assert (config["lr"], config["schedule"], config["milestones"]) == (0.2, "multistep", [91, 137])


def test_config_file_then_flags(run, tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"epochs": 3, "lr": 0.5, "augment": ["shift"]}))
    code, out, _ = run("train", "lenet5", "-c", str(path), "--lr", "0.1", "--print-config")
    assert code == 0
    config = json.loads(out)
    assert (config["epochs"], config["lr"], config["augment"]) == (3, 0.1, ["shift"])


def test_bad_input_is_one_line_and_exit_2(fails, tmp_path):
    assert "unknown model 'lenet6'; did you mean lenet5" in fails("train", "lenet6")
    assert "unknown dataset 'mnist6k'; did you mean mnist5k" in fails("train", "lenet5", "--data", "mnist6k")
    assert "does not exist (add --download" in fails(
        "train", "lenet5", "--data", "mnist", "--data-dir", str(tmp_path / "x")
    )
    assert "mnist is not in" in fails("train", "lenet5", "--data", "mnist", "--data-dir", str(tmp_path))
    assert "expected a positive whole number, got 0" in fails("train", "lenet5", "-b", "0")
    assert "expected a positive learning rate, got -0.1" in fails("train", "lenet5", "--lr", "-0.1")
    assert "batch size 5000 is larger than the" in fails("train", "lenet5", "-b", "5000", "--epochs", "1")
    assert "which model?" in fails("train")
    assert "has no last.pt" in fails("train", "--resume", str(tmp_path))
    assert "checkpoint" in fails("train", "--resume", str(tmp_path / "nowhere.pt"))
    assert "only --epochs may change, not --lr" in fails("train", "--resume", str(tmp_path), "--lr", "0.1")
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert "must hold a JSON object" in fails("train", "lenet5", "-c", str(tmp_path / "bad.json"))


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    command = [sys.executable, "-m", "cnnlab", "train", "lenet5", "--epochs", "20", "--output", str(tmp_path / "run"),
               "--no-progress"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    for line in process.stdout:
        if line.startswith("epoch 1/20"):
            break
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGINT, err  # it ends by SIGINT after its line: the shell's status 130
    assert "checkpoint saved to" in err and f"cnnlab train --resume {tmp_path / 'run'}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "run" / "last.pt").exists()


def test_refusals_that_were_tracebacks_or_untrue(fails, tmp_path):
    assert "argument --lr: expected a finite number, got inf" in fails("train", "lenet5", "--lr", "inf")
    assert "argument --lr: expected a finite number, got nan" in fails("train", "lenet5", "--lr", "nan")
    assert "--device gpu is not a device cnnlab trains on" in fails("train", "lenet5", "--device", "gpu")
    assert "--device cuda:x is not a device" in fails("train", "lenet5", "--device", "cuda:x")
    (tmp_path / "file").write_text("x")
    assert "is a file" in fails("train", "lenet5", "--data", "digits", "--output", str(tmp_path / "file" / "run"))
    (tmp_path / "types.json").write_text(json.dumps({"epochs": "ten"}))
    assert "types.json: epochs: expected a positive whole number, got 'ten'" in fails(
        "train", "lenet5", "-c", str(tmp_path / "types.json")
    )


@pytest.mark.slow
def test_print_config_prints_and_exits_with_or_without_resume(run, tmp_path):
    assert run("train", "lenet5", "--data", "digits", "--epochs", "1", "--output", str(tmp_path / "r"),
               "--no-progress")[0] == 0  # fmt: skip
    code, out, _ = run("train", "--resume", str(tmp_path / "r"), "--epochs", "3", "--print-config")
    config = json.loads(out)
    assert code == 0 and config["epochs"] == 3 and config["data"] == "digits"
    assert json.loads((tmp_path / "r" / "config.json").read_text())["epochs"] == 1  # printed, not trained


@pytest.mark.slow
def test_every_epoch_line_says_how_long_is_left(run, tmp_path):
    code, out, _ = run("train", "lenet5", "--data", "digits", "--epochs", "2", "--output", str(tmp_path / "r"),
                       "--no-progress")  # fmt: skip
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert code == 0 and len(lines) == 2
    assert " ETA " in lines[0] and lines[0].endswith("s") and " ETA " not in lines[1]
