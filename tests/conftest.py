"""Test settings shared by the whole suite."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from cnnlab.cli.main import main

# "ci" replays the same examples on every run (a failure on CI reproduces locally with
# HYPOTHESIS_PROFILE=ci); "dev" explores new ones each time.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# The machines have 2 cores; tiny tensors run faster without intra-op threads fighting each other.
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _cache_directory(tmp_path_factory):
    """The tests' parsed datasets go to a cache of their own (commands run as subprocesses inherit it), never
    to the user's."""
    before = os.environ.get("CNNLAB_CACHE_DIR")
    os.environ["CNNLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cnnlab-cache"))
    yield
    if before is None:
        os.environ.pop("CNNLAB_CACHE_DIR", None)
    else:
        os.environ["CNNLAB_CACHE_DIR"] = before


@pytest.fixture
def run(capsys):
    """Run ``cnnlab ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


@pytest.fixture
def fails(run):
    """Run a command that must fail: exit code 2 and one line on stderr without a traceback."""

    def call(*args: str) -> str:
        code, out, err = run(*args)
        assert code == 2, (out, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
        return err.strip()

    return call
