"""Ctrl-C, at any moment of any command: one line on stderr, no traceback, nothing half-written, and the process
ends by SIGINT (the shell's status 130), so that a shell loop running cnnlab stops with it."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cnnlab.files import TEMPORARY_SUFFIX
from tests._checkpoints import write_checkpoint

# `cnnlab ARGS` as the process itself (main() without argv), stopped at a chosen function: it prints STOPPED and
# sleeps there until Ctrl-C comes. atomic_output is stopped inside, where its temporary file exists.
STOPPED_AT = """
import contextlib, importlib, os, sys, time
module_name, name = os.environ["STOP_AT"].split(":")
module = importlib.import_module(module_name)
original = getattr(module, name)

def stop():
    print("STOPPED", file=sys.stderr, flush=True)
    time.sleep(120)

def stopped(*args, **kwargs):
    stop()
    return original(*args, **kwargs)

@contextlib.contextmanager
def stopped_inside(*args, **kwargs):
    with original(*args, **kwargs) as value:
        stop()
        yield value

setattr(module, name, stopped_inside if name == "atomic_output" else stopped)
from cnnlab.cli.main import main
sys.exit(main())
"""


def _interrupted(args: list[str], stop_at: str | None = None, *, after: str = "STOPPED", cwd: Path | None = None):
    """Run ``cnnlab ARGS``, send SIGINT once ``after`` shows on stderr or stdout; returns (process, stderr lines
    from ``after`` on, without it)."""
    command = [sys.executable, "-c", STOPPED_AT, *args] if stop_at else [sys.executable, "-m", "cnnlab", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "STOP_AT": stop_at or ""}
    env.pop("CNNLAB_DEBUG", None)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    seen = threading.Event()
    lines: dict[str, list[str]] = {"out": [], "err": []}

    def read(stream, name):
        for line in stream:
            lines[name].append(line.rstrip("\n"))
            if after in line:
                seen.set()

    readers = [threading.Thread(target=read, args=(process.stdout, "out")),
               threading.Thread(target=read, args=(process.stderr, "err"))]  # fmt: skip
    for reader in readers:
        reader.start()
    try:
        assert seen.wait(timeout=300), f"{after!r} never came: {lines}"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        for reader in readers:
            reader.join(timeout=30)
    err = lines["err"]
    marker = next((i for i, line in enumerate(err) if after in line), -1)
    return process, err[marker + 1 :], lines


def _ended_by_ctrl_c(process: subprocess.Popen, after: list[str], line: str) -> None:
    assert process.returncode == -signal.SIGINT, (process.returncode, after)
    assert after == [line], after


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoint") / "lenet5.pt"
    write_checkpoint(path, data="digits")
    return path


COMMANDS = {  # what each writes (in the test's folder), and what stops it halfway
    "draw": ["draw", "lenet5", "--output", "{out}/lenet5.svg"],
    "animate": ["animate", "conv", "-i", "5", "-k", "3", "--output", "{out}/conv.gif"],
    "evaluate": ["evaluate", "{checkpoint}", "--output", "{out}"],
    "export": ["export", "{checkpoint}", "--output", "{out}/lenet5.onnx", "--no-check"],
    "report": ["report", "{checkpoint}", "--output", "{out}/report.html", "--worst", "2"],
    "show": ["show", "filters", "{checkpoint}", "--output", "{out}"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_ctrl_c_mid_write_is_one_line_and_leaves_nothing(name, checkpoint, tmp_path):
    args = [arg.format(out=tmp_path / "out", checkpoint=checkpoint) for arg in COMMANDS[name]]
    process, after, _ = _interrupted(args, "cnnlab.files:atomic_output")
    prog = "cnnlab animate conv" if name == "animate" else "cnnlab show filters" if name == "show" else f"cnnlab {name}"
    _ended_by_ctrl_c(process, after, f"{prog}: interrupted")
    # stopped in its first write (its own file, or the parsed digits' cache before it): no temporary file left
    for folder in (tmp_path, Path(os.environ["CNNLAB_CACHE_DIR"])):
        assert list(folder.rglob(f"*{TEMPORARY_SUFFIX}")) == []
    assert not (tmp_path / "out").exists() or [p.name for p in (tmp_path / "out").iterdir()] == []


@pytest.mark.slow
def test_ctrl_c_while_a_command_is_being_read_and_while_it_prints(tmp_path):
    process, after, _ = _interrupted(["models"], "cnnlab.cli.main:build_parser")
    _ended_by_ctrl_c(process, after, "cnnlab: interrupted")
    process, after, _ = _interrupted(["summary", "resnet18"], "cnnlab.inspection.tables:render_table")
    _ended_by_ctrl_c(process, after, "cnnlab summary: interrupted")


@pytest.mark.slow
def test_ctrl_c_in_an_experiment_says_what_stopped_and_how_to_go_on(tmp_path):
    args = ["experiment", "degradation", "--seeds", "0", "--epochs", "30", "--output", str(tmp_path / "exp")]
    process, after, lines = _interrupted(args, after="epoch 1/30")
    assert process.returncode == -signal.SIGINT, lines
    assert len(after) == 1 and "Traceback" not in "\n".join(lines["err"]), lines["err"]
    assert after[0].startswith("cnnlab experiment: degradation interrupted at epoch ")
    assert "in its training run plain20-seed0; an experiment does not resume its runs: run the same command" in after[0]
    # before its first run, it said what was ahead: how many runs, where they and the results go
    first = lines["err"][0]
    assert first.startswith("4 training runs (plain20, plain56, resnet20, resnet56; seed 0) into ")
    assert first.endswith(f"results in {tmp_path / 'exp'}")


@pytest.mark.slow
def test_ctrl_c_stops_the_lab(checkpoint):
    process, after, _ = _interrupted(["lab", str(checkpoint), "--port", "0", "--no-browser"], after="Ctrl-C stops")
    _ended_by_ctrl_c(process, after, "cnnlab lab: interrupted")


@pytest.mark.slow
def test_ctrl_c_stops_a_shell_loop_that_runs_cnnlab(tmp_path):
    """A shell goes on with its loop after a command that exits 130; it stops only if the command died of SIGINT."""
    loop = f'for i in 1 2 3; do "{sys.executable}" -c "$STOP_SCRIPT" models; echo "went on"; done'
    env = {**os.environ, "STOP_AT": "cnnlab.cli.main:build_parser", "STOP_SCRIPT": STOPPED_AT}
    shell = subprocess.Popen(["bash", "-c", loop], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)  # fmt: skip
    assert shell.stderr.readline().strip() == "STOPPED"
    os.killpg(shell.pid, signal.SIGINT)  # what Ctrl-C does: the signal goes to the whole foreground group
    out, err = shell.communicate(timeout=120)
    assert "went on" not in out and "STOPPED" not in err, (out, err)
    assert err.strip() == "cnnlab: interrupted"


def test_ctrl_c_before_the_command_begins_is_one_line_and_130(run, monkeypatch):
    def ctrl_c(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr("cnnlab.cli.main.build_parser", ctrl_c)
    assert run("models") == (130, "", "cnnlab: interrupted\n")


def test_an_experiment_stopped_by_ctrl_c_in_a_training_run_is_one_line_and_130(run, monkeypatch, tmp_path):
    from cnnlab.run_directory import RunDirectory
    from cnnlab.training.loop import TrainingInterrupted

    where = tmp_path / "runs" / "mlp-seed0"
    write_checkpoint(where / "last.pt")

    def interrupted(*_args, **_kwargs):
        raise TrainingInterrupted(f"interrupted at epoch 2, step 7: checkpoint saved to {where / 'last.pt'}",
                                  RunDirectory(where))  # fmt: skip

    monkeypatch.setattr("cnnlab.experiments.experiment", interrupted)
    code, out, err = run("experiment", "weights", "--output", str(tmp_path))
    assert (code, out) == (130, "")
    assert err == (
        "cnnlab experiment: weights interrupted at epoch 2, step 7 in its training run mlp-seed0; an experiment does "
        "not resume its runs: run the same command to start over\n"
    )


def test_a_failure_that_ctrl_c_caused_is_an_interruption_not_a_traceback(run, monkeypatch):
    """Ctrl-C mid-import leaves a half-imported module; the clean-up that imports it again fails with an error of
    its own (``module 'sympy' has no attribute 'logic'``), which hid the Ctrl-C behind a traceback."""

    def broken_clean_up(_args):
        try:
            raise KeyboardInterrupt
        finally:
            raise AttributeError("module 'sympy' has no attribute 'logic'")

    monkeypatch.setattr("cnnlab.cli.models.run", broken_clean_up)
    assert run("models") == (130, "", "cnnlab models: interrupted\n")


def test_ctrl_c_in_an_import_waits_for_its_end_and_is_not_lost(run, monkeypatch, tmp_path):
    """Some imports swallow a KeyboardInterrupt (torch's of numpy, made from C++): Ctrl-C right after a command
    started was lost, and the command ran on (the lab served on). It now waits for the import to end."""
    (tmp_path / "cnnlab_test_swallowing.py").write_text(
        "import signal\n"
        "try:\n"
        "    signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of this import\n"
        "    total = sum(range(100_000))\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cnnlab_test_swallowing", raising=False)
    went_on = []

    def command(_args):
        import cnnlab_test_swallowing  # noqa: F401

        time.sleep(5)  # stopped here, once the import is over
        went_on.append(True)
        return 0

    monkeypatch.setattr("cnnlab.cli.models.run", command)
    assert run("models") == (130, "", "cnnlab models: interrupted\n")
    assert went_on == [] and "cnnlab_test_swallowing" in sys.modules  # the import itself ended whole
    monkeypatch.delitem(sys.modules, "cnnlab_test_swallowing")
