"""``scripts/readme_pictures.py --only``: one README picture without the experiments, with the numbers the README
quotes beside it (the saliency figure's rank correlations)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._pictures import check_picture

# Slow: the script trains LeNet-5 for an epoch and draws, in a process of its own.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_only_draws_the_pictures_named_even_one_an_earlier_command_draws(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "scripts" / "readme_pictures.py"), "--epochs", "1", "--out", str(tmp_path)]
    command += ["--only", "lenet5-saliency.png", "lenet5-c3.png"]  # c3's picture is drawn by c1's command
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lenet5-c3.png", "lenet5-saliency.png"]
    for path in tmp_path.iterdir():
        check_picture(path)
    assert "$ cnnlab experiment" not in result.stdout
    # The README's sentence on the sanity check quotes these lines, one per method.
    methods = re.findall(r"^(\S+) .*saliency of lenet5 trained", result.stdout, re.M)
    correlations = re.findall(r"^random weights .*: Spearman rank correlation -?\d\.\d\d, ", result.stdout, re.M)
    assert methods == ["gradient", "Grad-CAM", "occlusion"] and len(correlations) == 3, result.stdout[-3000:]
    assert (ROOT / "docs" / "images" / "lenet5-saliency.png").is_file()


def test_only_refuses_a_picture_it_does_not_draw(tmp_path):
    command = [sys.executable, str(ROOT / "scripts" / "readme_pictures.py"), "--only", "lab.png"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 2 and "invalid choice: 'lab.png'" in result.stderr
    assert not list(tmp_path.iterdir())
