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


FIGURES = {
    "weights": _weights,
    "degradation": _degradation,
}


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


def _accuracy_axes(figure):
    return [axis for axis in figure.axes if ("top-1" in axis.get_ylabel() and "minus" not in axis.get_ylabel())
            or "error (%)" in axis.get_ylabel()]  # fmt: skip


def test_accuracy_and_error_axes_start_at_zero(drawn):
    name, figure, _ = drawn
    for axis in _accuracy_axes(figure):
        assert axis.get_ylim()[0] == 0, f"{name}: {axis.get_ylabel()!r} starts at {axis.get_ylim()[0]}"


@pytest.mark.parametrize("name", ["weights", "degradation"])
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
