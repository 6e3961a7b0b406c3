"""How long the lecture notebook takes to run top to bottom, as a reader (and the test suite) runs it.

Executes ``notebooks/lecture.ipynb`` with nbclient in a fresh kernel and a scratch directory (its runs and its
experiment go there, as in tests/notebooks/test_lecture.py), and prints the wall time of the whole notebook
and of its slowest cells, then does the same with ``OMP_NUM_THREADS=1`` in the kernel (every torch operation
on one thread, not only the training runs, which use one by default). The machine's load average is printed
with each run: on a 2-core machine other work slows the notebook down, by far more than 2x where it fights
torch's intra-op threads. The time is measured here, not asserted in a test: a test that fails on a slow
machine finds nothing wrong with the code. Run:

    .venv/bin/python benchmarks/notebook.py [--quick] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "lecture.ipynb"
SLOWEST = 3  # cells named after each run


@dataclass(frozen=True)
class Timing:
    """One execution of the notebook."""

    seconds: float
    cells: list[tuple[int, float, str]]  # (cell index, seconds, first line of its source), slowest first
    load_before: float
    load_after: float


def _cell_seconds(cell: Any) -> float:
    """From the timestamps nbclient records in the cell's metadata (``record_timing``)."""
    timing = cell.get("metadata", {}).get("execution", {})
    started, finished = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not started or not finished:
        return 0.0
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def execute(timeout: float, one_thread: bool) -> Timing:
    """Run the notebook once in a scratch directory; ``timeout`` (seconds per cell) only stops a hang."""
    import nbclient
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch, mock.patch.dict(os.environ):  # the kernel inherits it
        if one_thread:
            os.environ["OMP_NUM_THREADS"] = "1"
        else:
            os.environ.pop("OMP_NUM_THREADS", None)
        client = nbclient.NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": scratch}}
        )
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
    cells = [
        (index, _cell_seconds(cell), cell.source.strip().splitlines()[0])
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.source.strip()
    ]
    cells.sort(key=lambda row: -row[1])
    return Timing(seconds, cells, load_before, os.getloadavg()[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one run, as a reader runs it (no OMP_NUM_THREADS=1)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a cell may take before it is a hang")
    args = parser.parse_args(argv)
    runs = [("as a reader runs it", False)] + ([] if args.quick else [("with OMP_NUM_THREADS=1", True)])
    print(f"{NOTEBOOK.name}, {os.cpu_count()} cores; OMP_NUM_THREADS outside: {os.environ.get('OMP_NUM_THREADS')}")
    for label, one_thread in runs:
        timing = execute(args.timeout, one_thread)
        print(f"{label}: {timing.seconds:.1f} s (load average {timing.load_before:.2f} before, "
              f"{timing.load_after:.2f} after)")  # fmt: skip
        for index, seconds, first_line in timing.cells[:SLOWEST]:
            print(f"  cell {index:>2} {seconds:6.1f} s  {first_line[:70]}")


if __name__ == "__main__":
    main()
