"""The script that draws the README's pictures runs end to end (one epoch and one seed instead of the recipes')."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._pictures import check_picture

# Slow: the script trains and draws in a process of its own (9 s on 2 busy cores).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_readme_pictures_are_drawn_by_the_script(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "scripts" / "readme_pictures.py"), "--epochs", "1", "--seeds", "0"]
    command += ["--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    from scripts.readme_pictures import PICTURES

    assert {"lenet5-architecture.png", "googlenet-architecture.png", "dilation.gif"} <= set(PICTURES)
    for name in PICTURES:
        check_picture(tmp_path / name)
        assert (ROOT / "docs" / "images" / name).is_file(), f"the README shows docs/images/{name}"
