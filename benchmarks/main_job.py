"""Time-to-accuracy of the project's main job: ``cnnlab train lenet5`` with its defaults, run as a user runs it.

Each seed runs the real command, ``python -m cnnlab train lenet5 --no-progress --output DIR --seed S``, in a
subprocess, so the wall time includes Python's start, the imports, loading the data, each epoch's validation
and checkpoints, the test evaluation and the curves. Printed per seed:

    wall s       the whole command, start to exit (the issue: <= 60 s on the 2-core machine, goal 30 s)
    train s      the training loops alone (the sum of metrics.csv's per-epoch ``seconds``)
    test top-1   of the best-validation checkpoint, on the 1,000 test digits (>= 98.0 %, goal 98.5 %)
    val >= X     the first epoch whose validation top-1 reached X, the training seconds up to its end
                 (cumulative metrics.csv ``seconds``) and the command's wall time when it printed that epoch

then the spread over the seeds and whether every seed meets the targets. The machine's load average is
printed with each run: other work on a 2-core machine slows training down, by far more than 2x when it
fights torch's two intra-op threads (compare ``--threads 1``; ``--busy 1`` runs a busy loop alongside, a
repeatable stand-in for another engineer's tests). Run:

    .venv/bin/python benchmarks/main_job.py [--seeds 0 1 2] [--epochs N] [--threads N] [--busy N]
        [--train-args="--channels-last"] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

WALL_LIMIT, WALL_GOAL = 60.0, 30.0  # seconds, the limit and goal for the whole command
THRESHOLDS = (0.98, 0.985)  # validation top-1 whose time is reported; also the test top-1 limit and goal
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)\b")


@dataclass(frozen=True)
class Reached:
    """When the validation accuracy first reached a threshold."""

    epoch: int
    train_seconds: float
    wall_seconds: float


@dataclass(frozen=True)
class Run:
    seed: int
    wall_seconds: float
    train_seconds: float
    test_top1: float
    epochs: int
    reached: dict[float, Reached | None]
    load_before: float
    load_after: float


def run_command(args: argparse.Namespace, seed: int, output: Path) -> Run:
    """Run ``cnnlab train`` once, timestamping each epoch line as it is printed, and read its metrics."""
    command = [sys.executable, "-m", "cnnlab", "train", args.model, "--no-progress", "--output", str(output),
               "--seed", str(seed), *(["--epochs", str(args.epochs)] if args.epochs else []),
               *(["--data", args.data] if args.data else []), *shlex.split(args.train_args)]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        return _timed_run(command, env, output, seed)
    finally:
        for process in busy:
            process.kill()
            process.wait()


def _timed_run(command: list[str], env: dict[str, str], output: Path, seed: int) -> Run:
    load_before = os.getloadavg()[0]
    epoch_wall: dict[int, float] = {}
    tail: deque[str] = deque(maxlen=20)
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as process:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line)
            match = EPOCH_LINE.match(line)
            if match:
                epoch_wall[int(match.group(1))] = time.perf_counter() - start
        returncode = process.wait()
    wall = time.perf_counter() - start
    if returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {returncode}:\n{''.join(tail)}")
    with open(output / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    summary = json.loads((output / "summary.json").read_text())
    reached: dict[float, Reached | None] = dict.fromkeys(THRESHOLDS)
    cumulative = 0.0
    for row in rows:
        cumulative += float(row["seconds"])
        epoch = int(row["epoch"])
        val = float(row["val_top1"]) if row["val_top1"] else float("nan")
        for threshold in THRESHOLDS:
            if reached[threshold] is None and val >= threshold - 1e-9:
                reached[threshold] = Reached(epoch, cumulative, epoch_wall.get(epoch, float("nan")))
    return Run(seed, wall, cumulative, summary["test_top1"], len(rows), reached, load_before, os.getloadavg()[0])


def spread(values: list[float], unit: str = "", scale: float = 1.0, digits: int = 1) -> str:
    v = [x * scale for x in values]
    if len(v) == 1:
        return f"{v[0]:.{digits}f}{unit}"
    return f"median {statistics.median(v):.{digits}f}{unit} (min {min(v):.{digits}f}, max {max(v):.{digits}f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed")
    parser.add_argument("--epochs", type=int, help="override the recipe's 30 epochs")
    parser.add_argument("--model", default="lenet5", help="the model to train (the main job: lenet5)")
    parser.add_argument("--data", help="override the default data set, mnist5k")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the command (default: torch's choice)")
    parser.add_argument("--busy", type=int, default=0, help="busy loops alongside (one core each): others' tests")
    parser.add_argument("--train-args", default="", help="more cnnlab train flags: --train-args=--channels-last")
    parser.add_argument("--keep", type=Path, help="keep the run directories under this folder")
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 epoch on scikit-learn's small digits")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.data = 1, args.data or "digits"
    threads = args.threads or os.cpu_count()
    what = f"cnnlab train {args.model}" + (f" --epochs {args.epochs}" if args.epochs else "") + (
        f" --data {args.data}" if args.data else "") + (f" {args.train_args}" if args.train_args else "")  # fmt: skip
    busy = f", {args.busy} busy-loop process(es) alongside" if args.busy else ""
    print(f"{what}: {os.cpu_count()} cores, {threads} thread(s){busy}, python {sys.version.split()[0]}")
    header = (f"{'seed':>4} {'wall s':>7} {'train s':>8} {'test top-1':>10} {'epochs':>6}"
              + "".join(f"   {f'val >= {t:.1%}: epoch, train s, wall s':38}" for t in THRESHOLDS)
              + " load before/after")  # fmt: skip
    print(header)
    print("-" * len(header))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="cnnlab-main-job-") as tmp:
        root = args.keep or Path(tmp)
        for seed in args.seeds:
            run = run_command(args, seed, root / f"seed{seed}")
            runs.append(run)
            cells = []
            for threshold in THRESHOLDS:
                r = run.reached[threshold]
                text = f"{r.epoch:>5} {r.train_seconds:8.1f} {r.wall_seconds:8.1f}" if r else f"{'not reached':>23}"
                cells.append(f"   {text:38}")
            print(f"{run.seed:>4} {run.wall_seconds:7.1f} {run.train_seconds:8.1f} {run.test_top1:10.2%} "
                  f"{run.epochs:>6}" + "".join(cells) + f" {run.load_before:.1f}/{run.load_after:.1f}")  # fmt: skip
    walls = [r.wall_seconds for r in runs]
    tops = [r.test_top1 for r in runs]
    print(f"whole command: {spread(walls, ' s')}; training: {spread([r.train_seconds for r in runs], ' s')}")
    print(f"test top-1: {spread(tops, '%', 100, 2)}")
    for threshold in THRESHOLDS:
        hits = [r.reached[threshold] for r in runs]
        got = [h for h in hits if h is not None]
        if got:
            print(f"time to val >= {threshold:.1%}: {len(got)}/{len(runs)} runs; "
                  f"wall {spread([h.wall_seconds for h in got], ' s')}; "
                  f"epoch {spread([float(h.epoch) for h in got], digits=0)}")  # fmt: skip
        else:
            print(f"time to val >= {threshold:.1%}: not reached in any run")
    worst_wall, worst_top1 = max(walls), min(tops)

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"target: whole command <= {WALL_LIMIT:.0f} s: {verdict(worst_wall <= WALL_LIMIT)} "
          f"(slowest {worst_wall:.1f} s = {worst_wall / WALL_LIMIT:.2f} of the limit); "
          f"goal {WALL_GOAL:.0f} s: {verdict(worst_wall <= WALL_GOAL)}")  # fmt: skip
    print(f"target: test top-1 >= {THRESHOLDS[0]:.1%}: {verdict(worst_top1 >= THRESHOLDS[0])} "
          f"(lowest {worst_top1:.2%}); goal {THRESHOLDS[1]:.1%}: {verdict(worst_top1 >= THRESHOLDS[1])}")  # fmt: skip


if __name__ == "__main__":
    main()
