"""The player page's arithmetic (``static/animation_arithmetic.js``) under Node against PyTorch and cnnlab's Python.

For a few hundred settings (strides, paddings, dilations, rectangular sizes, transposed with output padding, max
and mean pooling with ceil mode) the page must give ``F.conv2d``'s, ``F.conv_transpose2d``'s, ``F.max_pool2d``'s
or ``F.avg_pool2d``'s outputs on its own input, kernel and bias; the output size and formula lines
``cnnlab.layers.shapes`` gives; the grid and windows ``cnnlab.animate`` draws; each output's written sum adding up
to it; and the one-line refusal ``shapes`` raises where PyTorch refuses. A page opened from an animation made
with ``values=True`` computes that animation's outputs.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.errors import SettingError
from cnnlab.layers import shapes
from cnnlab.viz.animation import CONV_ARITHMETIC, animate
from cnnlab.viz.animation_page import page_data

NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("animation_page_runner.js")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the page's JavaScript needs it")


def run_node(jobs: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    jobs_file, results_file = tmp_path / "jobs.json", tmp_path / "results.json"
    jobs_file.write_text(json.dumps(jobs))
    subprocess.run([NODE, str(RUNNER), str(jobs_file), str(results_file)], check=True, timeout=120)
    return json.loads(results_file.read_text())


def random_settings(count: int, seed: int = 24) -> list[dict[str, Any]]:
    """Settings as the page's sliders make them (their ranges), a third of them rectangular."""
    rng = random.Random(seed)
    settings = []
    for n in range(count):
        kind = ("conv", "transposed", "pool")[n % 3]
        square = rng.random() < 0.66

        def size(low: int, high: int, square: bool = square) -> list[int]:
            first = rng.randint(low, high)
            return [first, first] if square else [first, rng.randint(low, high)]

        one = {"kind": kind, "input": size(1, 9), "kernel": size(1, 5), "stride": size(1, 4), "padding": size(0, 3),
               "dilation": size(1, 3), "output_padding": size(0, 2) if kind == "transposed" else [0, 0],
               "mode": rng.choice(("max", "mean")), "ceil_mode": rng.random() < 0.5, "seed": n}  # fmt: skip
        if kind == "pool" and one["mode"] == "mean":
            one["dilation"] = [1, 1]  # avg_pool2d has none (the page's refusal is tested on its own)
        settings.append(one)
    return settings


def expected_sizes(settings: dict[str, Any]) -> list[shapes.SizeExplanation] | str:
    """Both axes' size explanations from cnnlab.layers.shapes, or its one-line refusal."""
    kind = settings["kind"]
    try:
        return [
            shapes.explain_conv(*(settings[name][a] for name in ("input", "kernel", "stride", "padding", "dilation")))
            if kind == "conv"
            else shapes.explain_transposed(
                *(settings[name][a] for name in ("input", "kernel", "stride", "padding", "dilation", "output_padding"))
            )
            if kind == "transposed"
            else shapes.explain_pool(
                *(settings[name][a] for name in ("input", "kernel", "stride", "padding", "dilation")),
                settings["ceil_mode"],
            )
            for a in range(2)
        ]
    except ValueError as error:
        return str(error)


def pytorch(settings: dict[str, Any], found: dict[str, Any]) -> torch.Tensor:
    """PyTorch's output on the page's own input, kernel and bias."""
    x = torch.tensor(found["input"], dtype=torch.float64)[None, None]
    s, p, d = settings["stride"], settings["padding"], settings["dilation"]
    if settings["kind"] == "pool":
        k = settings["kernel"]
        if settings["mode"] == "max":
            return F.max_pool2d(x, k, s, p, dilation=d, ceil_mode=settings["ceil_mode"])[0, 0]
        return F.avg_pool2d(x, k, s, p, ceil_mode=settings["ceil_mode"])[0, 0]
    weight = torch.tensor(found["kernel"], dtype=torch.float64)[None, None]
    bias = torch.tensor([found["bias"]], dtype=torch.float64)
    if settings["kind"] == "conv":
        return F.conv2d(x, weight, bias, stride=s, padding=p, dilation=d)[0, 0]
    return F.conv_transpose2d(x, weight, bias, stride=s, padding=p, output_padding=settings["output_padding"],
                              dilation=d)[0, 0]  # fmt: skip


def _number(text: str) -> float:
    return float(text.strip("() ").replace("\u2212", "-"))


def sum_of_words(kind: str, mode: str, words: list[str]) -> tuple[float, float]:
    """What the written sum adds up to, and the result it writes after '='."""
    *terms, result = words
    assert result.startswith("= ")
    if kind != "pool":
        products = [[_number(side) for side in term.split("\u00d7")] for term in terms[:-1]]
        assert terms[-1].startswith("bias ")
        return sum(a * b for a, b in products) + _number(terms[-1].removeprefix("bias ")), _number(result[2:])
    (term,) = terms
    if mode == "max":
        return max(_number(value) for value in term.removeprefix("max(").rstrip(")").split(",")), _number(result[2:])
    summed, count = re.fullmatch(r"\((.*)\) / (\d+)", term).groups()
    return sum(_number(value) for value in summed.split(" + ")) / int(count), _number(result[2:])


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    settings = random_settings(240)
    return list(zip(settings, run_node(settings, tmp_path_factory.mktemp("node")), strict=True))


def test_the_settings_cover_what_they_should(many):
    kinds = [settings["kind"] for settings, found in many if "error" not in found]
    assert {kind: kinds.count(kind) for kind in ("conv", "transposed", "pool")} == {
        kind: pytest.approx(60, abs=50) for kind in ("conv", "transposed", "pool")
    }
    assert any(s["ceil_mode"] and s["kind"] == "pool" and "error" not in f for s, f in many)
    assert any(s["input"][0] != s["input"][1] and "error" not in f for s, f in many)
    assert any(s["kind"] == "transposed" and s["output_padding"][0] and "error" not in f for s, f in many)
    assert sum("error" in found for _, found in many) >= 20  # the refusals are tested too


def test_outputs_and_sizes_are_pytorchs_and_shapes(many):
    for settings, found in many:
        sizes = expected_sizes(settings)
        if isinstance(sizes, str):
            assert found.get("error") == sizes, settings
            continue
        if "error" in found:  # past what the page draws: cnnlab.animate refuses it as well
            assert "too many to draw" in found["error"], (settings, found)
            with pytest.raises(SettingError, match="more than"):
                animate(**_animate_arguments(settings))
            continue
        assert found["outputShape"] == [sizes[0].output, sizes[1].output], settings
        assert found["lines"] == [list(sizes[0].lines), list(sizes[1].lines)], settings
        assert found["notes"] == [list(sizes[0].notes), list(sizes[1].notes)], settings
        expected = pytorch(settings, found)
        assert tuple(expected.shape) == tuple(found["outputShape"]), settings
        np.testing.assert_allclose(np.array(found["outputs"], dtype=float), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_each_written_sum_adds_up_to_its_output(many):
    checked = 0
    for settings, found in many:
        if "error" in found:
            continue
        for words, (y, x) in zip(found["sums"], found["positions"], strict=True):
            total, written = sum_of_words(settings["kind"], settings["mode"], words)
            assert total == pytest.approx(found["outputs"][y][x]), (settings, words)
            shown = pytest.approx(found["outputs"][y][x], abs=0.0051)  # written to 2 decimals
            assert written == shown, (settings, words)
            checked += 1
    assert checked > 600


def _animate_arguments(settings: dict[str, Any]) -> dict[str, Any]:
    arguments = {name: tuple(settings[name]) for name in ("input", "kernel", "stride", "padding", "dilation")}
    if settings["kind"] == "transposed":
        arguments["output_padding"] = tuple(settings["output_padding"])
    if settings["kind"] == "pool":
        arguments |= {"mode": settings["mode"], "ceil_mode": settings["ceil_mode"]}
    return {"kind": settings["kind"], **arguments}


def test_the_grid_and_windows_are_the_ones_cnnlab_animate_draws(many):
    compared = 0
    for settings, found in many[:90]:
        if "error" in found:
            continue
        animation = animate(**_animate_arguments(settings))
        assert found["cells"] == animation.cells.tolist(), settings
        assert [[tuple(cell) for cell in window] for window in found["windows"]] == animation.windows, settings
        compared += 1
    assert compared > 30


POOLS = [
    {"input": 5, "kernel": 3, "stride": 2, "padding": 1},
    {"input": 6, "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"input": 7, "kernel": 2, "stride": 1, "dilation": 2},
    {"input": 7, "kernel": 3, "stride": 2, "ceil_mode": True, "mode": "mean"},
    {"input": (5, 7), "kernel": (2, 3), "ceil_mode": True, "mode": "mean"},
]


def test_a_page_opened_from_an_animation_with_values_computes_its_outputs(tmp_path):
    animations = [case.animate(values=True) for case in CONV_ARITHMETIC]
    animations += [animate("pool", values=True, **arguments) for arguments in POOLS]
    animations.append(animate("conv", input=(5, 7), kernel=(3, 2), stride=(2, 1), padding=(1, 0), values=True))
    jobs = [page_data(animation) for animation in animations]
    for animation, found in zip(animations, run_node(jobs, tmp_path), strict=True):
        assert "error" not in found, (animation.name, found)
        np.testing.assert_allclose(np.array(found["outputs"], dtype=float), animation.outputs, err_msg=animation.name)
        grid = np.array([[float(value) for value in row] for row in found["grid"]])
        np.testing.assert_array_equal(grid, animation.grid_values, err_msg=animation.name)
        if animation.kernel is not None:
            np.testing.assert_array_equal(np.array(found["applied"], dtype=float), animation.kernel)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "conv", "input": 2, "kernel": 5}, "kernel 5 is larger than the padded input 2 (i=2, p=0)"),
        ({"kind": "conv", "input": 3, "kernel": 2, "dilation": 3}, "dilated kernel 4 (k=2, d=3) is larger than"),
        ({"kind": "transposed", "input": 3, "kernel": 3, "stride": 2, "output_padding": 2},
         "output_padding 2 must be smaller than the stride 2 or the dilation 1"),
        ({"kind": "transposed", "input": 1, "kernel": 1, "padding": 1}, "padding 1 crops the whole output"),
        ({"kind": "pool", "input": 4, "kernel": 2, "padding": 2}, "padding 2 is more than half the pooling window 2"),
        ({"kind": "pool", "mode": "mean", "input": 5, "kernel": 3, "dilation": 2}, "mean pooling has no dilation"),
        ({"kind": "conv", "input": 0, "kernel": 1}, "input must be a whole number of at least 1, got 0"),
    ],
)  # fmt: skip
def test_impossible_settings_give_one_line(settings, message, tmp_path):
    (found,) = run_node([settings], tmp_path)
    assert message in found["error"] and "\n" not in found["error"]
