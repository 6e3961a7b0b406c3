"""torchrun with 2 CPU processes (gloo) gives the single-process result, and only rank 0 writes."""

import os
import subprocess
import sys

import pytest
import torch

from cnnlab.checkpoint import load_checkpoint

# Slow: torchrun: two processes train and compare (16 s on 2 busy cores).
pytestmark = pytest.mark.slow

# SGD: Adam's division by sqrt(v) would magnify the last-bit differences of summing gradients in
# another order; no augmentation: each process draws its own.
ARGS = ["lenet5", "--epochs", "1", "--augment", "none", "--opt", "sgd", "--lr", "0.05", "--deterministic",
        "--device", "cpu", "--no-progress"]  # fmt: skip


def _run(command, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_two_processes_equal_one(tmp_path):
    ddp = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "cnnlab", "train", *ARGS,
                "--output", str(tmp_path / "ddp")], tmp_path)  # fmt: skip
    _run([sys.executable, "-m", "cnnlab", "train", *ARGS, "--output", str(tmp_path / "single")], tmp_path)
    assert ddp.stdout.count("test accuracy") == 1  # rank 0 reports, rank 1 stays quiet
    a = load_checkpoint(tmp_path / "ddp" / "last.pt")
    b = load_checkpoint(tmp_path / "single" / "last.pt")
    for key in b["model_state"]:
        torch.testing.assert_close(a["model_state"][key], b["model_state"][key], rtol=0, atol=1e-5)
    assert a["history"][0]["val_top1"] == b["history"][0]["val_top1"]
    assert a["history"][0]["train_loss"] == __import__("pytest").approx(b["history"][0]["train_loss"], rel=1e-5)
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == sorted(
        p.name for p in (tmp_path / "single").iterdir()
    )
