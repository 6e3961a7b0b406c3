"""The benchmark scripts run end to end with their smallest settings and print the lines people read.

Smoke tests only: the numbers depend on the machine and its load, so nothing here asserts a speed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._browser import CHROMIUM

# Slow: each test runs a benchmark in a process of its own (2-12 s on 2 busy cores).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+(?:\.\d+)?"


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as the test suite runs torch: one thread per process
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


SCRIPTS = ["main_job.py", "pipeline.py", "lab.py", "lab_load.py", "animate.py", "notebook.py", "publish.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_says_how_to_run(script):
    out = _run(script, "--help")
    assert "Run:" in out and "--quick" in out


def test_main_job_prints_time_to_accuracy():
    out = _run("main_job.py", "--quick")
    assert re.search(rf"^\s+0\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}%\s+1\s", out, re.M), out  # seed 0, 1 epoch
    assert re.search(rf"^whole command: {NUMBER} s; training: {NUMBER} s$", out, re.M), out
    assert re.search(rf"^test top-1: {NUMBER}%$", out, re.M), out
    for threshold in ("98.0%", "98.5%"):
        assert re.search(rf"^time to val >= {re.escape(threshold)}: ", out, re.M), out
    assert re.search(rf"^target: median whole command <= 15 s: (met|NOT met) \(median {NUMBER} s", out, re.M), out
    every = r"^target: every seed's test top-1 >= 98\.5%: (met|NOT met) .*; mean >= 98\.8%: (met|NOT met) "
    assert re.search(every + r"\(mean [\d.]+% over 1 seed\)$", out, re.M), out
    throughput = rf"^throughput: training ({NUMBER}) GFLOP/s \(({NUMBER}) MFLOP per image .* ({NUMBER}) GFLOP/s on one"
    match = re.search(throughput, out, re.M)
    assert match and float(match.group(1)) > 0 and float(match.group(3)) > 0, out
    fraction = r"^fraction of the machine: [\d.]+% of one core's matmul rate, [\d.]+% of all \d+ cores'$"
    assert re.search(fraction, out, re.M), out


def test_pipeline_prints_ratios_and_recommendation():
    out = _run("pipeline.py", "--quick")
    match = re.search(rf"^lenet5: ours / pure step = ({NUMBER}) \(target >= 0\.9: (met|NOT met)\)$", out, re.M)
    assert match and float(match.group(1)) > 0, out
    for workers in ("0", "2"):
        line = rf"^lenet5: ours / torchvision DataLoader tv w{workers} = ({NUMBER})x \(target >= 2x: (met|NOT met)\)$"
        match = re.search(line, out, re.M)
        assert match and float(match.group(1)) > 0, out
    assert re.search(rf"^channels_last helps resnet20 on this CPU: (yes|no) \(({NUMBER})x", out, re.M), out


def test_lab_prints_latency_against_the_forward_pass_and_a_load():
    out = _run("lab.py", "--quick")
    assert re.search(rf"^lenet5\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x$", out, re.M), out
    assert re.search(r"^load: 4 clients for 2 s against lenet5: \d+ requests, 0 errors, \d+ requests/s", out, re.M), out


def test_lab_load_prints_what_a_class_got_and_the_targets():
    out = _run("lab_load.py", "--quick")
    served = re.search(rf"^served: ([\d,]+) requests \(.*inspect.*\), {NUMBER} requests/s, (\d+) errors$", out, re.M)
    assert served and int(served.group(1).replace(",", "")) > 0 and served.group(2) == "0", out
    assert re.search(rf"^latency: p50 {NUMBER} ms, p95 {NUMBER} ms, max {NUMBER} ms$", out, re.M), out
    assert re.search(r"^\s+\d+ x a PNG that claims 6300x6300: 413$", out, re.M), out
    assert re.search(r"^\s+\d+ x half a request head: HTTP/1.1 408 Request Timeout$", out, re.M), out
    assert re.search(rf"^lab's memory: peak {NUMBER} MB \(VmHWM\)", out, re.M), out
    assert re.search(r"^lab's terminal: 0 lines$", out, re.M), out
    for target in ("0 errors for well-formed requests", "p95 under 200 ms", "peak memory under 1.5 GB"):
        assert re.search(rf"^target: {target}: (met|NOT met) \(", out, re.M), out


def test_animate_times_every_case_against_matplotlib():
    out = _run("animate.py", "--quick")
    rows = re.findall(rf"^(\S[\w ()x]*?)\s+(\d+)\s+({NUMBER})\s+\d+", out, re.M)
    assert len(rows) == 20 and rows[0][:2] == ("no_padding_no_strides", "4"), out
    assert ("9x9 transposed k3 s2 (19x19)", "361") in [row[:2] for row in rows], out
    assert re.search(rf"^matplotlib per frame / ours: {NUMBER}x faster \(median of 1 cases\)$", out, re.M), out
    assert re.search(rf"^target: every 9x9 input under 1 s: (met|NOT met) \(slowest {NUMBER} s\)$", out, re.M), out


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: `.ci/run` installs Debian's chromium")
def test_publish_times_the_page_in_the_browser_beside_the_lab():
    pytest.importorskip("playwright.sync_api", reason="Playwright's Python package: pip install playwright")
    out = _run("publish.py", "--quick")
    assert re.search(rf"^load average before: {NUMBER} {NUMBER} {NUMBER}; after: ", out, re.M), out
    for what in ("page: getImageData \\+ window.cnnlab.inspect", "page: update, pointerup to data-settled",
                 "page: its own status line", "lab: POST /api/inspect round trip"):  # fmt: skip
        assert re.search(rf"^lenet5\s+{what}.*\s{NUMBER}\s+{NUMBER}$", out, re.M), out
    ratios = rf"^lenet5: page [\d,]+ bytes; lab round trip p95 / page inspect p95 = {NUMBER}x, / page update p95 = "
    assert re.search(ratios, out, re.M), out
    target = r"^target: lenet5 drawing to prediction and maps p95 <= 10 ms: (met|NOT met) \(page update p95 "
    assert re.search(target, out, re.M), out
