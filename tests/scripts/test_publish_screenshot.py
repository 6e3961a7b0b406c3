"""The script that draws the README's picture of a published page runs end to end (one epoch of training)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.publish_screenshot import HEIGHT
from tests._browser import CHROMIUM
from tests._pictures import check_picture

pytestmark = [
    pytest.mark.slow,  # trains LeNet-5 for an epoch and opens the page in headless Chromium
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed: `.ci/run` installs Debian's chromium (apt-get install chromium)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]


def test_the_published_page_is_drawn_by_the_script(tmp_path):
    pytest.importorskip("playwright.sync_api", reason="Playwright's Python package: pip install playwright")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out, small = tmp_path / "publish.png", tmp_path / "publish-400.png"
    command = [sys.executable, str(ROOT / "scripts" / "publish_screenshot.py"), "--epochs", "1"]
    command += ["--out", str(out), "--small", str(small)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "$ cnnlab publish " in result.stdout and " KB): lenet5-mnist5k-" in result.stdout, result.stdout
    check_picture(out, size=(1400, HEIGHT))
    check_picture(small, size=(400, 1640))
    for name in ("publish.png", "publish-400.png"):
        assert (ROOT / "docs" / "images" / name).is_file(), f"the README shows docs/images/{name}"
