"""scripts/conv_arithmetic.py draws the guide's fifteen animations and a page that shows each one."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cnnlab.viz.animation import CONV_ARITHMETIC

# Slow: the script draws fifteen animations in a process of its own (5 s on 2 busy cores).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_set_and_its_page(tmp_path):
    command = [sys.executable, str(ROOT / "scripts" / "conv_arithmetic.py"), "--out", str(tmp_path), "--values"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for case in CONV_ARITHMETIC:
        with Image.open(tmp_path / f"{case.name}.gif") as gif:
            assert gif.n_frames == len(case.animate().positions), case.name
    page = (tmp_path / "index.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources == [f"{case.name}.gif" for case in CONV_ARITHMETIC]
    assert page.count("<figcaption>") == 15 and "transposed: padding, strides, odd size" in page
    assert result.stdout.strip().splitlines()[-1].startswith(f"{tmp_path / 'index.html'}  (15 animations in ")
