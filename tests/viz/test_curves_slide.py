"""The training curves to the slide standard: a legend and caption that name only the lines drawn (no validation
for a run without one), the accuracy axis from zero, short titles by default, text of 18 points on a 16:9 slide."""

import pytest

from cnnlab.errors import SettingError
from cnnlab.run import EpochMetrics
from cnnlab.viz.curves import curves_caption, plot_curves
from cnnlab.viz.figure import Picture
from cnnlab.viz.slide import read_svg


def epochs(count: int = 5, validation: bool = True, first_loss: float = 1.0) -> list[EpochMetrics]:
    def row(e: int) -> EpochMetrics:
        val = (1.2 * first_loss / e, 0.45 + e / 20, 0.9) if validation else (None, None, None)
        return EpochMetrics(e, 0.1, first_loss / e, 0.5 + e / 20, 0.9, *val, 100.0, 1.0)

    return [row(e) for e in range(1, count + 1)]


def legend_texts(picture: Picture) -> list[str]:
    legends = [axis.get_legend() for axis in picture.axes if axis.get_legend()] + list(picture.legends)
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def svg_of(picture: Picture, tmp_path) -> str:
    return picture.save(tmp_path / "curves.svg").read_text(encoding="utf-8")


def test_a_run_without_validation_is_never_said_to_have_one(tmp_path):
    runs = [("lenet5", epochs(validation=False))]
    picture = plot_curves(runs)
    assert legend_texts(picture) == ["training"]
    caption = curves_caption(runs)
    assert caption == "5 epochs; training dashed: on the training images, as they were trained on."
    svg = svg_of(picture, tmp_path)
    assert "validation" not in svg and ">val<" not in svg


def test_a_run_with_validation_names_both_and_their_styles():
    runs = [("lenet5", epochs())]
    picture = plot_curves(runs)
    assert legend_texts(picture) == ["training", "validation"]
    styles = {line.get_label(): line.get_linestyle() for line in picture.axes[1].get_lines()}
    assert styles == {"training": "--", "validation": "-"}
    assert curves_caption(runs) == "5 epochs; training dashed, validation solid."


@pytest.mark.parametrize(("validated", "kinds"), [((False, False), ["training"]),
                                                  ((True, False), ["training", "validation"])])  # fmt: skip
def test_several_runs_share_one_legend_of_what_any_of_them_drew(validated, kinds):
    runs = [(f"run-{i}", epochs(validation=v)) for i, v in enumerate(validated)]
    picture = plot_curves(runs)
    assert legend_texts(picture) == ["run-0", "run-1", *kinds]
    assert ("validation" in curves_caption(runs)) == any(validated)


@pytest.mark.parametrize("validation", [True, False])
def test_accuracy_axis_starts_at_zero(validation):
    _, accuracy = plot_curves([("a", epochs(validation=validation))]).axes
    assert accuracy.get_ylim() == (0, 100)


def test_loss_axis_from_zero_within_a_decade_logarithmic_in_plain_numbers_beyond(tmp_path):
    loss, _ = plot_curves([("a", epochs(3))]).axes  # losses 1 to 0.33
    assert loss.get_yscale() == "linear" and loss.get_ylim()[0] == 0
    picture = plot_curves([("a", epochs(40, first_loss=3.0))])  # 3.6 to 0.075: more than a decade
    loss, _ = picture.axes
    assert loss.get_yscale() == "log"
    picture.canvas.draw()
    labels = [label.get_text() for label in loss.get_yticklabels() if label.get_text()]
    assert labels and not any("$" in label or "^" in label for label in labels), labels  # no 10^x in superscripts


@pytest.mark.parametrize(
    "runs",
    [
        [("lenet5", epochs(validation=False))],
        [("lenet5", epochs())],
        [("lenet5-mnist5k-20261125-045010", epochs()), ("lenet5-mnist5k-20261125-045011", epochs(3, False))],
    ],
    ids=["no-validation", "validation", "two-runs"],
)
def test_text_is_18_points_on_a_slide_and_one_run_is_16_to_9(tmp_path, runs):
    check = read_svg(plot_curves(runs).save(tmp_path / "curves.svg"))
    assert check.passes, check.below()
    if len(runs) == 1:
        assert check.aspect == pytest.approx(16 / 9, abs=0.01)
    else:
        assert 1.3 < check.aspect < 16 / 9  # the shared legend's rows below


def test_titles_short_by_default_full_and_none():
    runs = [("lenet5-a", epochs()), ("lenet5-b", epochs())]
    short = plot_curves(runs)
    assert [axis.get_title() for axis in short.axes] == ["loss", "top-1 accuracy (%)"]
    assert short._suptitle is None
    full = plot_curves(runs, title="full")
    assert full._suptitle.get_text() == "lenet5-a, lenet5-b"
    bare = plot_curves(runs, title="none")
    assert [axis.get_title() for axis in bare.axes] == ["", ""] and bare._suptitle is None
    assert [axis.get_ylabel() for axis in bare.axes] == ["loss", "top-1 accuracy (%)"]
    with pytest.raises(SettingError, match="a title is one of full, short, none"):
        plot_curves(runs, title="long")


def test_an_aspect_other_than_16_to_9(tmp_path):
    check = read_svg(plot_curves([("a", epochs())], aspect=4 / 3).save(tmp_path / "curves.svg"))
    assert check.aspect == pytest.approx(4 / 3, abs=0.01) and check.passes
