"""Each experiment on a tiny budget: its structure, files, and the invariants that hold at any budget."""

import json
import re

import pytest
import torch
from PIL import Image

from cnnlab.experiments import Settings, list_experiments, run_experiment
from cnnlab.experiments._verdict import overall
from cnnlab.viz.slide import read_svg


def _check_files(result, out):
    record = json.loads((out / "results.json").read_text())
    assert record["name"] == result.name and record["claim"]
    assert record["held"] in (True, False, None) and record["held"] == result.held
    spoken = {True: "the claim held on this run", False: "the claim did not hold on this run", None: "inconclusive"}
    assert record["verdict"].splitlines()[-1].startswith(f"Verdict: {spoken[record['held']]}")
    assert record["judgements"] and result.held == overall(result.judgements)  # every claim in measurable parts
    for judgement, written in zip(result.judgements, record["judgements"], strict=True):
        assert written["threshold"] == judgement.threshold and len(written["per_seed"]) >= 1
        assert f"- {judgement.sentence()}" in record["verdict"].splitlines()
    assert record["seconds"] > 0
    image = Image.open(result.figure)
    pixels = torch.tensor(list(image.convert("L").tobytes()), dtype=torch.float)
    assert image.size[0] >= 600 and pixels.std() > 10  # a real picture, not a blank
    check = read_svg(result.figure.with_suffix(".svg"))  # and its SVG beside it, for a slide
    assert check.passes and check.aspect > 1.3, check
    assert all(len(row) == len(result.headers) for row in result.rows)
    return record


def test_the_experiments_are_registered_in_the_lectures_order():
    assert list_experiments() == [
        "learned-features",
        "locality",
        "weights",
        "data-efficiency",
        "equivariance",
        "pooling",
        "upsampling",
        "lenet-connectivity",
        "relu",
        "regularisation",
        "factorisation",
        "global-pooling",
        "auxiliary",
        "degradation",
    ]


@pytest.mark.slow
def test_locality_on_one_seed(tmp_path):
    from tests.experiments.test_verdicts_d import judged_record

    result = run_experiment("locality", Settings("quick", tmp_path, seeds=(0,)))
    record = judged_record(result, tmp_path)  # the three-way verdict's checks
    curves = record["data"]["curves"]
    assert set(curves) == {"mnist5k", "photo patches"} and all(len(runs) == 1 for runs in curves.values())
    for (curve,) in curves.values():
        distances = [int(d) for d in curve]
        assert distances == sorted(distances) and distances[0] == 1 and all(-1 <= v <= 1 for v in curve.values())


@pytest.mark.slow
def test_factorisation_keeps_the_field_and_counts_the_weights(tmp_path):
    from cnnlab.experiments.factorisation import measured_field, stack
    from tests.experiments.test_verdicts_d import judged_record

    result = run_experiment("factorisation", Settings("quick", tmp_path, epochs=1, seeds=(0,)))
    record = judged_record(result, tmp_path)  # the three-way verdict's checks
    for row in record["data"]["arithmetic"]:
        k, layers = row["kernel"], row["stack_layers"]
        assert row["field_large"] == row["field_stack"] == row["measured_large"] == row["measured_stack"] == k
        assert (row["weights_large"], row["weights_stack"]) == (k * k, 9 * layers) and layers == (k - 1) // 2
    twins = record["data"]["twins"]
    assert twins["5x5 + 7x7"]["params"] == 21_706 and twins["3x3 stacks"]["params"] == 14_330
    assert twins["5x5 + 7x7"]["fields"] == twins["3x3 stacks"]["fields"] == {"pool1": 14, "pool2": 42}
    assert measured_field(stack(3, 4)) == 9 and measured_field(stack(5, 2)) == 9  # any stack: 1 + sum(k - 1)


@pytest.mark.slow
def test_learned_features_keeps_the_frozen_filters_frozen(tmp_path):
    from cnnlab.models.twins import handmade_filters

    # The smallest data (scikit-learn's 8x8 digits); one seed: the verdict is inconclusive (no interval).
    result = run_experiment("learned-features", Settings("quick", tmp_path, data="digits", epochs=1, seeds=(0,)))
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["held"] is None and "inconclusive" in record["verdict"] and Image.open(result.figure).size[0] >= 600
    variants = record["data"]["variants"]
    assert variants["random"]["filters_moved"] == variants["handmade"]["filters_moved"] == [0.0]
    assert variants["learned"]["filters_moved"][0] > 0  # trained end to end, the filters changed
    assert (variants["learned"]["trainable"], variants["random"]["trainable"]) == (15_898, 15_690)
    from cnnlab.run import Run

    handmade = Run(tmp_path / "runs" / "filter-bank-handmade-seed0").model("last").conv.weight
    assert torch.allclose(handmade, handmade_filters(8, 5))
    bank = handmade_filters(8, 5)[:, 0]
    assert torch.allclose(bank.flatten(1).norm(dim=1), torch.ones(8)) and bank.sum(dim=(1, 2)).abs().max() < 1e-5


@pytest.mark.slow
@pytest.mark.slow
def test_relu_and_tanh_start_alike_and_are_timed_to_the_threshold(tmp_path, monkeypatch):
    from cnnlab.experiments import relu
    from cnnlab.experiments.relu import epochs_to
    from cnnlab.models import create_model

    assert epochs_to([0.5, 0.2, 0.04], 0.05) == 2 + (0.2 - 0.05) / (0.2 - 0.04)
    assert epochs_to([0.5, 0.3], 0.05) is None and epochs_to([0.01], 0.05) < 1
    weights = []
    for activation in ("relu", "tanh"):
        torch.manual_seed(3)
        weights.append(create_model("convnet4", activation=activation, in_channels=1).state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # the same initial weights
    monkeypatch.setitem(relu.PRESETS, "quick", {**relu.PRESETS["quick"], "images": 300})  # the grid: 12 runs
    result = run_experiment("relu", Settings("quick", tmp_path, epochs=1, seeds=(0,)))
    record = _check_files(result, tmp_path)
    assert set(record["data"]["depths"]) == {"4 layers", "8 layers"} and record["held"] is None  # one seed
    for depth in record["data"]["depths"].values():
        assert set(depth["relu"]["grid_seed0"]) == {"0.03", "0.1", "0.3"}
        assert all(len(curve) == 1 for a in ("relu", "tanh") for curve in depth[a]["training_error"])
    assert record["data"]["recipe"]["schedule"] == "constant" and record["data"]["recipe"]["weight_decay"] == 0.0


@pytest.mark.slow
def test_regularisation_measures_the_gap_on_what_each_run_trained_on(tmp_path):
    from cnnlab.run import Run
    from tests.experiments.test_verdicts_d import judged_record

    result = run_experiment("regularisation", Settings("quick", tmp_path, epochs=1, seeds=(0,)))
    record = judged_record(result, tmp_path)  # the three-way verdict's checks
    variants = record["data"]["variants"]
    assert set(variants) == {"plain", "dropout", "augmentation", "both"}
    for data in variants.values():
        assert data["gaps"] == [pytest.approx(a - b) for a, b in zip(data["train"], data["test"], strict=True)]
    both = Run(tmp_path / "runs" / "head-twin-both-seed0")
    assert both.config.augment == ("affine",) and both.config.model_args["dropout"] == 0.5
    assert both.model().dropout.p == 0.5 and both.config.train_images == 500


@pytest.mark.slow
def test_auxiliary_measures_the_gradient_through_training(tmp_path, monkeypatch):
    from cnnlab.experiments import auxiliary

    monkeypatch.setitem(auxiliary.PRESETS, "quick", {**auxiliary.PRESETS["quick"], "images": 300})
    result = run_experiment("auxiliary", Settings("quick", tmp_path, epochs=1, seeds=(0,)))
    record = _check_files(result, tmp_path)
    depths = record["data"]["depths"]
    assert list(depths) == ["13 layers", "7 layers"] and record["held"] is None  # one seed: no interval
    for depth in depths.values():
        assert len(depth["by_layer_seed0"]["without"]) == depth["layers"] and depth["ratio"][0] > 0
        assert all(norm > 0 for runs in depth["first_layer_norms"].values() for norm in runs[0])


def test_correlation_falls_with_distance_only_where_the_images_are_smooth():
    from cnnlab.experiments.locality import correlation_by_distance, correlation_map, far_correlation, photo_patches

    noise = torch.randint(0, 256, (3000, 1, 12, 12), dtype=torch.uint8)
    flat = correlation_by_distance(noise)
    assert all(abs(v) < 0.1 for v in flat.values())  # independent pixels: nothing correlates
    smooth = torch.nn.functional.avg_pool2d(noise.float(), 5, stride=1, padding=2, count_include_pad=False)
    curve = correlation_by_distance(smooth.round().to(torch.uint8))
    assert (
        curve[1] > curve[2] > curve[4] > 0.0 and far_correlation(curve) < curve[4]
    )  # a 5x5 blur: 4 px apart share little
    patches = photo_patches(500, 16, seed=0)
    assert patches.shape == (500, 1, 16, 16) and patches.dtype == torch.uint8
    assert torch.equal(patches, photo_patches(500, 16, seed=0)) and not torch.equal(patches, photo_patches(500, 16, 1))
    field = correlation_map(patches, (8, 8), own_mean=True)
    assert field.shape == (16, 16) and abs(field[8, 8] - 1) < 1e-9 and field[8, 9] > field[8, 15]


def test_equivariance_is_exact_away_from_borders(tmp_path):
    from tests.experiments.test_verdicts_d import judged_record

    result = run_experiment("equivariance", Settings("quick", tmp_path))
    record = judged_record(result, tmp_path)  # the three-way verdict's checks
    assert max(record["data"]["equivariance_error"]) <= 1e-5  # at any budget: it is an identity
    changes = record["data"]["relative_change"]
    assert set(changes) == {"none", "max", "mean", "mixed", "lp"}
    assert all(values[0] == 0 for values in changes.values())  # no shift, no change
    assert all(values[4] > values[1] for values in changes.values())  # larger shifts change more


def test_the_equivariance_figure_scales_its_difference_with_a_colour_bar():
    from torch import nn

    from cnnlab.experiments.equivariance import SHIFTS, plot_equivariance

    torch.manual_seed(0)
    x, conv = torch.rand(1, 1, 16, 16), nn.Conv2d(1, 1, 3)
    figure = plot_equivariance(x, conv, 0.0, {"none": [0.1 * s for s in SHIFTS]})
    images = [axis.images[0] for axis in figure.axes if axis.images]
    difference = next(image for image in images if image.axes.get_title() == "difference")
    low, high = difference.get_clim()
    assert low == -high and high > 0 and difference.get_cmap().name == "RdBu_r"  # centred on zero
    assert difference.colorbar is not None and difference.colorbar.ax in figure.axes
    maps = [image for image in images if "conv" in image.axes.get_title()]
    assert len(maps) == 3 and len({image.get_clim() for image in maps}) == 1  # the three feature maps on one scale
    low, high = maps[0].get_clim()
    assert low == -high and maps[0].get_cmap().name == "RdBu_r"  # signed: a diverging map centred on zero


@pytest.mark.slow
def test_lenet_connectivity(tmp_path):
    result = run_experiment("lenet-connectivity", Settings("quick", tmp_path, epochs=1, seeds=(0,)))
    record = _check_files(result, tmp_path)
    variants = record["data"]["variants"]
    assert (variants["Table I (sparse)"]["c3_params"], variants["dense"]["c3_params"]) == (1_516, 2_416)
    assert (variants["Table I (sparse)"]["params"], variants["dense"]["params"]) == (60_000, 60_900)
    assert variants["Table I (sparse)"]["c3_connections"] == 151_600  # the paper's count for C3


@pytest.mark.slow
def test_pooling_reads_back_what_was_learned(tmp_path):
    from tests.experiments.test_verdicts_d import judged_record

    result = run_experiment("pooling", Settings("quick", tmp_path, epochs=1, seeds=(0,)))
    record = judged_record(result, tmp_path)  # the three-way verdict's checks
    pools = record["data"]["pools"]
    assert set(pools) == {"max", "mean", "mixed", "gated", "lp"}
    assert pools["max"]["learned"] == [{}] and pools["mean"]["learned"] == [{}]
    shares = pools["mixed"]["learned"][0]["s2 max share"]
    assert len(shares) == 6 and all(0 <= s <= 1 for s in shares)
    assert all(p >= 1 for p in pools["lp"]["learned"][0]["s4 p"]) and len(pools["lp"]["learned"][0]["s4 p"]) == 16


@pytest.mark.slow
def test_upsampling_equals_zero_insertion_at_any_budget(tmp_path):
    from tests.experiments.test_verdicts_d import judged_record

    result = run_experiment("upsampling", Settings("quick", tmp_path, epochs=1))
    record = judged_record(result, tmp_path)  # the three-way verdict's checks
    assert record["data"]["max_difference"] <= 1e-5
    assert record["data"]["steps"] == 50 and len(record["data"]["kernel"]) == 4


def test_command_line(run, fails, tmp_path):
    code, out, _ = run("experiment", "--list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == list_experiments()
    code, out, _ = run("experiment", "--help")
    listed = out.split("experiments, in the lecture's order:")[1].split("--quick (default)")[0]
    assert code == 0 and [line.split()[0] for line in listed.strip().splitlines()] == list_experiments()
    code, out, _ = run("experiment", "equivariance", "--out", str(tmp_path / "eq"))
    assert code == 0 and "the claim held on this run" in out and (tmp_path / "eq" / "results.json").exists()
    assert re.search(r"^time: \d+s$", out, re.MULTILINE)  # how long it took, under the verdict
    figure = tmp_path / "eq" / "equivariance"
    assert f"figure:  {figure}.png and {figure}.svg (text as text, for a slide)" in out  # the SVG a slide edits
    assert "unknown experiment 'weight'; did you mean weights" in fails("experiment", "weight")
    assert "which experiment?" in fails("experiment")
    assert "not allowed with argument" in fails("experiment", "weights", "--quick", "--full")
