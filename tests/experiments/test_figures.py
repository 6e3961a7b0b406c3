"""Every experiment's figure against the slide standard, drawn in a moment from made-up results of two seeds.

Each experiment draws its figure from its numbers with a function of its own (``draw_NAME``); here each is given
small numbers of the shape its experiment records, and the figure is read back from its SVG: every text is at
least 18 points once the figure fills a 16:9 slide, the figure is landscape, accuracy axes start at zero, and the
seeds show as dots with an error bar.
"""

from __future__ import annotations

import pytest
from matplotlib.container import ErrorbarContainer

from cnnlab.experiments._scaffold import save_figure
from cnnlab.viz.slide import read_svg

CONDITION = "digits, 2 epochs of batch 32, 2 seeds; the paper: CIFAR-10, 64k iterations of batch 128"


def _degradation():
    from cnnlab.experiments.degradation import draw_degradation

    def run(final, curve):
        return {"train_error": final, "curve_train_error": curve, "curve_val_error": [e * 1.1 for e in curve]}

    networks = {
        "plain20": {"label": "plain-20", "train_error": 0.02, "runs": [run(0.01, [0.5, 0.1]), run(0.03, [0.6, 0.2])]},
        "plain56": {"label": "plain-56", "train_error": 0.7, "runs": [run(0.65, [0.8, 0.4]), run(0.75, [0.9, 0.42])]},
        "resnet20": {"label": "ResNet-20", "train_error": 0.0, "runs": [run(0.0, [0.4, 0.05])] * 2},
        "resnet56": {"label": "ResNet-56", "train_error": 0.0, "runs": [run(0.0, [0.45, 0.04])] * 2},
    }
    return draw_degradation(networks, "digits, 2 epochs, mean of 2 seeds", None, CONDITION)


def _weights():
    from cnnlab.experiments.weights import _arithmetic, draw_weights, parameter_story

    accuracy = {
        "mlp": {"runs": [0.95, 0.955], "params": 338_610},
        "locally_connected_net": {"runs": [0.96, 0.962], "params": 423_038},
        "lenet5_modern": {"runs": [0.97, 0.975], "params": 61_706},
    }
    return draw_weights(_arithmetic(), accuracy, parameter_story(), None, CONDITION)


def _auxiliary():
    from cnnlab.experiments.auxiliary import draw_auxiliary

    def depth(gain):
        norms = [[1e-3 * (1 + step % 3) for step in range(12)]] * 2
        doubled = [[2 * v for v in n] for n in norms]
        return {"steps_per_epoch": 4, "first_layer_norms": {"without": norms, "with": doubled},
                "ratio": [1.8, 2.1], "test_top1": {"with": [0.9 + gain, 0.91], "without": [0.9, 0.905]}}  # fmt: skip

    return draw_auxiliary({"13 layers": depth(0.01), "7 layers": depth(-0.01)}, None, CONDITION)


def _connectivity():
    from cnnlab.experiments._verdict import judge
    from cnnlab.experiments.connectivity import draw_connectivity

    results = {"Table I (sparse)": {"c3_params": 1_516, "runs": [0.97, 0.975]},
               "dense": {"c3_params": 2_416, "runs": [0.972, 0.971]}}  # fmt: skip
    difference = judge("Table I minus dense (points)", [-0.2, 0.4], -0.5, spec="+.2f")
    return draw_connectivity(results, difference, None, CONDITION)


def _data_efficiency():
    from cnnlab.experiments.data_efficiency import draw_data_efficiency

    accuracy = {"mlp": {100: [0.6, 0.62], 4000: [0.93, 0.94]}, "lenet5_modern": {100: [0.7, 0.75], 4000: [0.97, 0.98]}}
    return draw_data_efficiency(accuracy, None, CONDITION)


def _equivariance():
    import torch
    from torch import nn

    from cnnlab.experiments.equivariance import POOLS, SHIFTS, plot_equivariance

    torch.manual_seed(0)
    changes = {kind: [0.1 * shift / (1 + index) for shift in SHIFTS] for index, kind in enumerate(POOLS)}
    return plot_equivariance(torch.rand(1, 1, 16, 16), nn.Conv2d(1, 1, 3), 0.0, changes, True, CONDITION)


def _factorisation():
    from cnnlab.experiments.factorisation import draw_factorisation

    arithmetic = [{"kernel": k, "weights_large": k * k, "weights_stack": 9 * (k - 1) // 2, "measured_large": k,
                   "measured_stack": k} for k in (5, 7)]  # fmt: skip
    results = {
        "5x5 + 7x7": {"runs": [0.95, 0.96], "params": 21_706},
        "3x3 stacks": {"runs": [0.96, 0.97], "params": 14_330},
    }
    return draw_factorisation(arithmetic, results, None, CONDITION)


def _global_pooling():
    from cnnlab.experiments.global_pooling import ZOO, draw_global_pooling

    zoo = {name: {"head": 10_000 if kind == "gap" else 50_000_000, "params": 60_000_000} for name, kind in ZOO.items()}
    curve = {label: [{"width": w, "params": int(20_000 * w * (1 + index)), "mean": 0.9 * w, "runs": [0.9 * w - 0.01,
                      0.9 * w + 0.01]} for w in (0.5, 1)]
             for index, label in enumerate(("fully connected", "1x1 + global pooling"))}  # fmt: skip
    return draw_global_pooling(zoo, curve, "head_twin, 2 epochs, no batch norm", None, CONDITION)


def _learned_features():
    import torch

    from cnnlab.experiments.learned_features import PAPER_ERRORS, draw_learned_features

    methods = [{"name": name, "kind": "learned" if name.startswith(("LeNet", "MLP")) else "two-step",
                "test_error_percent": 1.0 + index, "paper_error_percent": paper, "seconds": 2.0 + index}
               for index, (name, paper) in enumerate(PAPER_ERRORS.items())]  # fmt: skip
    runs = {"LeNet-5": [1.0, 1.2], "LeNet-1": [2.0, 2.5]}
    filters = {variant: torch.randn(6, 1, 5, 5) for variant in ("learned", "random", "handmade")}
    bank_runs = {variant: [0.9, 0.92] for variant in filters}
    return draw_learned_features(methods, runs, filters, bank_runs, None, CONDITION)


def _locality():
    import numpy as np

    from cnnlab.experiments.locality import draw_locality

    curves = {
        "mnist5k": [{d: 1 / d for d in range(1, 12)}] * 2,
        "photo patches": [{d: 0.9**d for d in range(1, 12)}] * 2,
    }
    grid = np.linspace(-1, 1, 15)
    maps = {name: np.exp(-np.add.outer(grid**2, grid**2) * 3) for name in curves}
    return draw_locality(curves, maps, True, CONDITION)


def _pooling():
    from cnnlab.experiments.pooling import draw_pooling

    results = {pool: {"runs": [0.97, 0.975], "learned": []} for pool in ("max", "mean")}
    results["mixed"] = {"runs": [0.96, 0.97], "learned": [{"s2": [0.4, 0.6], "s4": [0.5, 0.7]}] * 2}
    results["lp"] = {"runs": [0.96, 0.965], "learned": [{"s2": [2.0, 2.5], "s4": [3.0, 1.5]}] * 2}
    return draw_pooling(results, None, CONDITION)


def _regularisation():
    from cnnlab.experiments.regularisation import draw_regularisation

    results = {name: {"test": [0.9 + 0.01 * index, 0.91], "gaps": [0.1 - 0.02 * index, 0.09]}
               for index, name in enumerate(("plain", "dropout", "augmentation", "both"))}  # fmt: skip
    return draw_regularisation(results, None, CONDITION)


def _relu():
    from cnnlab.experiments._verdict import judge
    from cnnlab.experiments.relu import draw_relu

    def depth(ratio):
        curves = [[0.5, 0.2, 0.1], [0.55, 0.25, 0.12]]
        return {"relu": {"chosen_lr": 0.03, "training_error": curves},
                "tanh": {"chosen_lr": 0.01, "training_error": [[2 * e for e in c] for c in curves]},
                "ratio": [ratio, ratio + 0.5]}  # fmt: skip

    depths = {"4 layers": depth(2.0), "8 layers": depth(3.0)}
    judgements = [judge("ratio", d["ratio"], 1.0) for d in depths.values()]
    return draw_relu(depths, 0.25, judgements, None, CONDITION)


def _upsampling():
    import torch

    from cnnlab.experiments.upsampling import draw_upsampling

    torch.manual_seed(0)
    panels = [(torch.rand(16, 16), "16x16 input"), (torch.rand(35, 35), "zeros in, 35x35"),
              (torch.randn(4, 4), "kernel, flipped"), (torch.rand(32, 32), "32x32 output"),
              (torch.rand(32, 32), "original 32x32")]  # fmt: skip
    return draw_upsampling(panels, False, CONDITION)


FIGURES = {
    "auxiliary": _auxiliary,
    "degradation": _degradation,
    "data-efficiency": _data_efficiency,
    "equivariance": _equivariance,
    "factorisation": _factorisation,
    "global-pooling": _global_pooling,
    "learned-features": _learned_features,
    "lenet-connectivity": _connectivity,
    "locality": _locality,
    "pooling": _pooling,
    "regularisation": _regularisation,
    "relu": _relu,
    "upsampling": _upsampling,
    "weights": _weights,
}
"""Every registered experiment's figure, drawn from made-up numbers (a test below checks none is missing)."""


def test_every_experiment_has_its_figure_here():
    from cnnlab.experiments import list_experiments

    assert sorted(FIGURES) == sorted(list_experiments())


@pytest.fixture(params=sorted(FIGURES), scope="module")
def drawn(request, tmp_path_factory):
    """An experiment's figure from made-up numbers of two seeds, and its SVG as written beside the PNG."""
    figure = FIGURES[request.param]()
    out = tmp_path_factory.mktemp(request.param)
    png = save_figure(figure, out, request.param)
    return request.param, figure, png.with_suffix(".svg")


def test_every_figure_is_written_as_svg_beside_its_png(drawn):
    name, _, svg = drawn
    assert svg.name == f"{name}.svg" and svg.with_suffix(".png").is_file()
    assert "<text" in svg.read_text()  # text as text, for a slide to edit


def test_every_figure_reads_at_18_points_on_a_16_9_slide_and_is_landscape(drawn):
    name, _, svg = drawn
    check = read_svg(svg)
    assert check.passes, f"{name}: {check}; below 18 pt: {[text.text for text in check.below()][:8]}"
    assert check.aspect >= 1.3, f"{name} is not landscape: {check}"


def test_the_verdicts_line_takes_at_most_three_lines(drawn):
    _, figure, _ = drawn
    assert figure._suptitle is not None and 1 <= len(figure._suptitle.get_text().splitlines()) <= 3


def test_no_panel_touches_the_verdicts_line(drawn):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    name, figure, _ = drawn
    renderer = FigureCanvasAgg(figure).get_renderer()
    bottom = figure._suptitle.get_window_extent(renderer).y0
    for axis in figure.axes:
        top = axis.get_tightbbox(renderer).y1
        assert top <= bottom - 4, f"{name}: {axis.get_title()!r} reaches {top - bottom:+.0f} px into the verdict's line"


def _accuracy_axes(figure):
    """The axes of accuracies and errors in percent; a difference (points) is signed, and a log scale says so."""
    return [axis for axis in figure.axes if "(%" in axis.get_ylabel() and axis.get_yscale() == "linear"]


def test_accuracy_and_error_axes_start_at_zero(drawn):
    name, figure, _ = drawn
    for axis in _accuracy_axes(figure):
        assert axis.get_ylim()[0] == 0, f"{name}: {axis.get_ylabel()!r} starts at {axis.get_ylim()[0]}"


def test_every_log_axis_has_numbers_on_it(drawn):
    """A log axis over many decades once drew no label at all (the weights figure's 156 to 1e10 weights)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    name, figure, _ = drawn
    FigureCanvasAgg(figure).draw()
    for axis in figure.axes:
        for which, ruler, limits in (("y", axis.yaxis, axis.get_ylim()), ("x", axis.xaxis, axis.get_xlim())):
            if ruler.get_scale() != "log" or not ruler.get_visible():
                continue
            low, high = sorted(limits)
            shown = [tick for tick in ruler.get_major_ticks() if tick.label1.get_visible() and tick.label1.get_text()
                     and low <= tick.get_loc() <= high]  # fmt: skip
            assert len(shown) >= 2, f"{name}: the {which} axis {ruler.get_label_text()!r} has {len(shown)} labels"


SEEDED = [
    "auxiliary",
    "data-efficiency",
    "degradation",
    "factorisation",
    "global-pooling",
    "learned-features",
    "lenet-connectivity",
    "pooling",
    "regularisation",
    "relu",
    "weights",
]  # the figures with trained seeds


@pytest.mark.parametrize("name", SEEDED)
def test_two_seeds_draw_an_error_bar(name):
    figure = FIGURES[name]()
    assert any(isinstance(container, ErrorbarContainer) for axis in figure.axes for container in axis.containers)


def test_the_weights_figure_says_why_the_lc_net_has_more_parameters_than_the_mlp():
    figure = _weights()
    note = " ".join(figure._supxlabel.get_text().split())
    assert "Why the LC net has more parameters than the MLP (423,038 vs 338,610)" in note
    assert "C1 122,304, C3 241,600" in note and "300 and 100 units" in note


def test_the_degradation_figure_says_what_its_curves_and_bars_each_measure():
    figure = _degradation()
    note = " ".join(figure._supxlabel.get_text().split())
    assert "averaged over each epoch" in note and "running statistics" in note
    curves = figure.axes[0]
    assert len(curves.collections) == 4  # each network's final eval-mode error as an x at its curve's end
    assert [round(y, 2) for c in curves.collections for _, y in c.get_offsets()][:2] == [2.0, 70.0]
