"""`cnnlab show curves` and `cnnlab show confusion` as SVG, read back against the slide standard: text of 18 points
or more on a 16:9 slide, 16:9 curves and 4:3 confusion matrices, and no word of validation for a run without it."""

import pytest

from cnnlab.viz.slide import read_svg
from tests._report_runs import train_lenet5

pytestmark = pytest.mark.slow  # trains two networks


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return {validation: train_lenet5(folder, validation=validation) for validation in (True, False)}


@pytest.mark.parametrize("validation", [True, False], ids=["validation", "no-validation"])
def test_curves_svg_is_slide_ready_and_names_what_it_draws(run, runs, tmp_path, validation):
    code, out, _ = run("show", "curves", str(runs[validation]), "--format", "svg", "--out", str(tmp_path))
    assert code == 0 and out.strip() == str(tmp_path / "curves.svg")
    svg = (tmp_path / "curves.svg").read_text(encoding="utf-8")
    check = read_svg(svg)
    assert check.passes, check.below()
    assert check.aspect == pytest.approx(16 / 9, abs=0.01)
    assert "training" in svg and ("validation" in svg) == validation


def test_curves_of_two_runs_svg(run, runs, tmp_path):
    code, _, _ = run("show", "curves", str(runs[True]), str(runs[False]), "--format", "svg", "--out", str(tmp_path))
    assert code == 0
    check = read_svg(tmp_path / "curves.svg")
    assert check.passes, check.below()
    assert 1.3 < check.aspect <= 16 / 9 + 0.01


def test_confusion_svg_is_slide_ready(run, runs, tmp_path):
    code, out, _ = run("show", "confusion", str(runs[False]), "--format", "svg", "--out", str(tmp_path))
    assert code == 0 and "lenet5 on mnist5k test: top-1" in out
    svg = tmp_path / "confusion-mnist5k-test.svg"
    check = read_svg(svg)
    assert check.passes, check.below()
    assert check.aspect == pytest.approx(4 / 3, abs=0.01)
    assert "mnist5k test: top-1" in svg.read_text(encoding="utf-8")  # the short title


def test_title_and_aspect_reach_the_curves_and_the_confusion_matrix(run, runs, tmp_path):
    code, _, _ = run("show", "curves", str(runs[True]), "--format", "svg", "--out", str(tmp_path / "wide"),
                     "--aspect", "2:1", "--title", "none")  # fmt: skip
    assert code == 0
    check = read_svg(tmp_path / "wide" / "curves.svg")
    assert check.aspect == pytest.approx(2, abs=0.01) and check.passes, check.below()
    code, _, _ = run("show", "confusion", str(runs[False]), "--format", "svg", "--out", str(tmp_path / "full"),
                     "--title", "full")  # fmt: skip
    assert code == 0
    assert "best.pt" in (tmp_path / "full" / "confusion-mnist5k-test.svg").read_text(encoding="utf-8")
    code, _, _ = run("show", "confusion", str(runs[False]), "--format", "svg", "--out", str(tmp_path / "bare"),
                     "--title", "none")  # fmt: skip
    assert code == 0
    assert "top-1" not in (tmp_path / "bare" / "confusion-mnist5k-test.svg").read_text(encoding="utf-8")


def test_a_bad_aspect_is_one_line_and_exit_2(run, runs, tmp_path):
    code, _, err = run("show", "curves", str(runs[True]), "--aspect", "wide", "--out", str(tmp_path))
    assert code == 2 and "WIDTH:HEIGHT" in err and err.count("\n") == 1 and not list(tmp_path.iterdir())
