"""``cnnlab lab`` from the command line: where it listens, what it says, and one-line refusals."""

import socket
import subprocess
import sys
import urllib.request

import pytest

# Slow: each test starts `cnnlab lab` in a process of its own and waits for it to listen.
pytestmark = pytest.mark.slow


def _start(*args):
    return subprocess.Popen([sys.executable, "-m", "cnnlab", "lab", *args, "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_it_serves_lenet5_when_there_is_no_run_and_says_where(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "cnnlab", "lab", "--port", "0", "--no-browser"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        said = process.stdout.readline()
        address = process.stdout.readline()
        assert "lenet5 with random weights (no run under runs/)" in said
        url = address.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/models", timeout=30) as response:
            assert b'"name":"lenet5"' in response.read()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_listening_on_every_address_warns_in_one_line():
    process = _start("lenet5", "--host", "0.0.0.0", "--port", "0")
    try:
        warning = process.stderr.readline()
        assert warning.startswith("cnnlab lab: warning: listening on 0.0.0.0: anyone who can reach this machine")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_refusals_are_one_line(fails):
    assert "lenet6 is neither a run directory" in fails("lab", "lenet6", "--no-browser", "--port", "0")
    assert "expected a port number from 0 to 65535" in fails("lab", "--port", "70000")
    assert "expected a size in MB" in fails("lab", "--max-upload", "0")
    assert "expected seconds, more than 0 and at most 3600, got '0'" in fails("lab", "--timeout", "0")
    assert "expected seconds" in fails("lab", "--timeout", "soon")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = str(taken.getsockname()[1])
        assert f"port {port} on 127.0.0.1 is in use" in fails("lab", "lenet5", "--port", port, "--no-browser")
    finally:
        taken.close()
    assert "is not an address of this machine" in fails("lab", "lenet5", "--host", "no.such.host.invalid",
                                                         "--no-browser")  # fmt: skip


def test_help_shows_each_default_once_as_typed(run):
    code, out, _ = run("lab", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "largest image upload accepted, in MB (default: 8)" in text and "8388608" not in text
    assert text.count("(default: ") == text.count("(default: 8)") + 3  # --host, --port, --timeout: once each
    assert "cut off (default: 30)" in text
