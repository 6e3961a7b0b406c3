"""The published page's occlusion (``static/occlusion.js``) under Node against ``cnnlab.inspection.saliency``.

The page runs occlusion with no Python: the same square, the same places (the last one included), the same fill
and the same mean of probability drops must give the numbers ``occlusion_map`` gives, on a trained LeNet-5's
program, for the default square, another one and a class other than the predicted; its random-weights twin (the
program ``cnnlab.publish`` puts on the page) must give ``cnnlab.saliency(..., compare_random=True)``'s twin map;
its Spearman correlation must be scipy's.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import cnnlab
from cnnlab.attribution import correlation_words
from cnnlab.inspection.saliency import Occlusion, default_occlusion, occlusion_map, occlusion_positions
from cnnlab.publish import to_program
from cnnlab.publish.page import TWIN_MAX_PARAMETERS, _model_data
from cnnlab.run import train
from cnnlab.show import input_image
from cnnlab.subjects import trained_model

NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("occlusion_runner.js")
STATIC = Path(__file__).resolve().parents[2] / "src" / "cnnlab" / "publish" / "static"
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the page's JavaScript needs it")

# float32 forward passes in JavaScript and PyTorch differ by ~1e-6 of a map's largest value; a probability by
# less, and a mean of drops by no more than its largest drop's error
TOLERANCE = 1e-5


def run_node(jobs: list[dict[str, Any]], tmp_path: Path) -> list[Any]:
    jobs_file, results_file = tmp_path / "jobs.json", tmp_path / "results.json"
    jobs_file.write_text(json.dumps(jobs))
    subprocess.run([NODE, str(RUNNER), str(jobs_file), str(results_file)], check=True, timeout=600)
    return json.loads(results_file.read_text())


def floats(x: torch.Tensor) -> str:
    return base64.b64encode(x.detach().numpy().astype("<f4").tobytes()).decode("ascii")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = train("lenet5", epochs=2, output=str(tmp_path_factory.mktemp("occlusion") / "lenet5-run"), progress=False)
    return trained_model(run)


@pytest.fixture(scope="module")
def digit(trained) -> torch.Tensor:
    """The bundled sample digit, normalised, as ``cnnlab.saliency`` gives it to the network: (1, 1, 32, 32)."""
    pixels, _ = input_image(trained, None)
    return trained.normalization.apply(pixels[None])


def python_map(trained, x: torch.Tensor, target: int | None, square: Occlusion, model=None) -> np.ndarray:
    model = (model or trained.model).eval()
    if target is None:
        with torch.no_grad():
            target = int(model(x).argmax())
    return occlusion_map(model, x, target, square, temperature=trained.logit_temperature).numpy()


# ---------------------------------------------------------------------------------------------------------------
# The maps


@pytest.mark.slow  # trains a LeNet-5 (2 epochs, ~5 s)
@needs_node
def test_the_pages_occlusion_is_pythons(trained, digit, tmp_path):
    program = to_program(trained.model, trained.input_size).to_json()
    with torch.no_grad():
        probabilities = trained.probabilities_of(trained.model(digit))[0]
    predicted = int(probabilities.argmax())
    other = int(probabilities.argsort()[-2])  # the runner-up: a class other than the predicted one
    cases = [(None, default_occlusion(32, 32), {}), (other, Occlusion(5, 3), {"window": 5, "stride": 3}),
             (predicted, Occlusion(11, 4), {"window": 11, "stride": 4})]  # fmt: skip
    jobs = [{"kind": "map", "program": program, "input": floats(digit),
             "options": {"target": target, "temperature": trained.logit_temperature, **square}}
            for target, _, square in cases]  # fmt: skip
    results = run_node(jobs, tmp_path)
    for (target, square, _), found in zip(cases, results, strict=True):
        expected = python_map(trained, digit, target, square)
        js = np.array(found["map"]).reshape(32, 32)
        assert found["target"] == (predicted if target is None else target)
        assert (found["window"], found["stride"]) == (square.window, square.stride)
        assert found["probability"] == pytest.approx(float(probabilities[found["target"]]), abs=TOLERANCE)
        rows = len(occlusion_positions(32, square.window, square.stride))
        assert found["passes"] == rows * rows + 1  # 5 by 3 on 32: 0, 3, ..., 27 and the last place, 27
        assert np.abs(js - expected).max() <= TOLERANCE, (square, np.abs(js - expected).max())
        assert np.abs(expected).max() > 100 * TOLERANCE  # a map with something in it, not two blank ones
    assert found["predicted"] == predicted


@pytest.mark.slow  # trains a LeNet-5 (2 epochs, ~5 s)
@needs_node
def test_the_pages_twin_is_cnnlab_saliencys(trained, tmp_path):
    data = _model_data("lenet5-run", trained)
    twin = data["occlusion"]["twin"]
    assert data["occlusion"] | {"twin": None} == {"window": 8, "stride": 2, "fill": 0.0, "places": 169, "twin": None}
    assert twin["seed"] == 1
    explained = cnnlab.saliency(trained, method="occlusion", compare_random=True)
    pixels, _ = input_image(trained, None)
    x = trained.normalization.apply(pixels[None])
    options = {"target": explained.target, "temperature": trained.logit_temperature}
    found, random = run_node([{"kind": "map", "program": data["program"], "input": floats(x), "options": options},
                              {"kind": "map", "program": twin["program"], "input": floats(x), "options": options}],
                             tmp_path)  # fmt: skip
    assert np.abs(np.array(found["map"]).reshape(32, 32) - explained.map).max() <= TOLERANCE
    assert np.abs(np.array(random["map"]).reshape(32, 32) - explained.random.map).max() <= TOLERANCE
    (rho,) = run_node([{"kind": "spearman", "a": found["map"], "b": random["map"]}], tmp_path)
    # the same maps to 1e-5 may order a near-tie differently: the correlation to a few thousandths
    assert rho["rho"] == pytest.approx(explained.correlation, abs=5e-3)


@pytest.mark.slow  # trains a LeNet-5 (2 epochs, ~5 s)
@needs_node
def test_a_stale_job_is_cancelled_and_a_sliced_one_gives_the_whole_map(trained, digit, tmp_path):
    program = to_program(trained.model, trained.input_size).to_json()
    options = {"temperature": trained.logit_temperature}
    (found,) = run_node([{"kind": "chunked", "program": program, "input": floats(digit), "options": options}], tmp_path)
    assert found["cancelled"] is None
    assert found["slices"] == 169  # a slice of 0 ms: one pass, then a yield to the event loop
    expected = python_map(trained, digit, None, default_occlusion(32, 32))
    assert np.abs(np.array(found["map"]).reshape(32, 32) - expected).max() <= TOLERANCE


def test_networks_over_the_limit_and_untrained_ones_have_no_twin():
    from cnnlab.training.trained import untrained_model

    assert _model_data("lenet5", untrained_model("lenet5", seed=0))["occlusion"]["twin"] is None
    assert 60_000 <= TWIN_MAX_PARAMETERS < 11_000_000  # LeNet-5 and ResNet-20 get one, ResNet-18 would not


# ---------------------------------------------------------------------------------------------------------------
# The parts, without a network


@needs_node
def test_the_square_and_its_places_are_pythons(tmp_path):
    sizes = [(32, 32), (28, 28), (224, 224), (40, 40), (24, 40), (8, 8), (2, 3), (1, 1), (56, 72), (120, 120)]
    cases = [(32, 8, 2), (32, 5, 3), (32, 32, 1), (28, 7, 2), (10, 3, 4), (7, 7, 5), (33, 8, 2)]
    defaults, places = run_node([{"kind": "defaults", "sizes": sizes}, {"kind": "positions", "cases": cases}], tmp_path)
    # 40 / 16 = 2.5: Python rounds halves to even (2), Math.round would say 3
    expected = [default_occlusion(*size) for size in sizes]
    assert [(d["window"], d["stride"]) for d in defaults] == [(e.window, e.stride) for e in expected]
    assert places == [occlusion_positions(*case) for case in cases]


@needs_node
def test_spearman_is_scipys_with_ties_averaged(tmp_path):
    generator = np.random.default_rng(0)
    a = generator.normal(size=200)
    pairs = [
        (a, a + generator.normal(size=200)),
        (a, -a),
        (np.round(a, 1), np.round(generator.normal(size=200), 1)),  # many ties
        (np.array([1.0, 2, 2, 3, 3, 3, 4]), np.array([2.0, 2, 1, 5, 5, 0, 7])),
        (np.repeat([0.0, 1.0], 50), np.tile([0.0, 1.0, 2.0, 2.0], 25)),
    ]
    jobs = [{"kind": "spearman", "a": x.tolist(), "b": y.tolist()} for x, y in pairs]
    jobs += [{"kind": "spearman", "a": [1.0, 1.0, 1.0], "b": [1.0, 2.0, 3.0]}]  # a constant map: no correlation
    results = run_node(jobs, tmp_path)
    for (x, y), found in zip(pairs, results[:-1], strict=True):
        assert found["rho"] == pytest.approx(float(spearmanr(x, y).statistic), abs=1e-12)
    assert results[-1] == {"rho": None, "words": "undefined (a map is constant)"}
    assert results[1]["words"].startswith("negative")  # a and -a
    for found in results[:-1]:
        assert found["words"] == correlation_words(found["rho"])  # worded as the library words it
    orders = ([1.0, 2, 3, 5, 4], [3.0, 2, 1, 5, 4])  # rho 0.9 and 0.5
    words = run_node([{"kind": "spearman", "a": [1.0, 2, 3, 4, 5], "b": b} for b in orders], tmp_path)
    assert [w["words"].split(":")[0] for w in words] == ["high", "moderate"]


@needs_node
def test_bad_options_are_refused_in_one_line(tmp_path):
    program = to_program(cnnlab.create_model("lenet5"), (1, 32, 32)).to_json()
    x = floats(torch.zeros(1, 1, 32, 32))
    jobs = [{"kind": "error", "program": program, "input": x, "options": options}
            for options in ({"window": 33}, {"stride": 0}, {"target": 10}, {"window": 2.5})]  # fmt: skip
    errors = [found["error"] for found in run_node(jobs, tmp_path)]
    assert errors == ["an occlusion window of 33 does not fit the 32x32 input",
                      "stride must be a whole number of at least 1, got 0",
                      "target must be a class index from 0 to 9, got 10",
                      "window must be a whole number of at least 1, got 2.5"]  # fmt: skip
    assert all("\n" not in error for error in errors)


def test_the_script_reaches_nothing_outside_the_page():
    script = (STATIC / "occlusion.js").read_text(encoding="utf-8")
    for word in ("fetch(", "XMLHttpRequest", "eval(", "new Function", "http://", "https://", "import("):
        assert word not in script, word
