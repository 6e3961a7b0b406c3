"""The Python API as the README shows it: its snippet runs as written, and each call returns what it says.

The README's "From Python and Jupyter" block is executed once, in a scratch directory, with the names it says
stand for the user's own things (``my_module``, ``pil_image``, ``tensor``, ``seven.png``). The tests then
check what it produced: types, numbers equal to what the command line prints for the same run, HTML that is
well formed and holds the key numbers, pictures that are not blank.
"""

import html.parser
import json
import re
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw
from torch import nn

import cnnlab
from cnnlab.cli.main import main
from cnnlab.data.datasets import load_dataset
from tests._pictures import check_picture

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_snippet() -> str:
    """The first Python block under the README's "From Python and Jupyter" heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## From Python and Jupyter") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def seven() -> Image.Image:
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(55, 45), (150, 45), (90, 165)], fill=0, width=14)
    return image


@pytest.fixture(scope="module")
def snippet(tmp_path_factory):
    """The README's snippet, run as written; its variables, and the directory it ran in."""
    folder = tmp_path_factory.mktemp("readme")
    seven().save(folder / "seven.png")
    namespace = {
        "my_module": nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 4, 3)),
        "pil_image": seven(),
        "tensor": load_dataset("mnist5k").test.images[685],  # a 7, as the dataset holds it: (1, 32, 32) uint8
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        exec(compile(readme_snippet(), str(README), "exec"), namespace)
    return namespace, folder


def test_every_public_name_is_declared_once_and_loads(capsys):
    required = {"summary", "train", "Run", "show", "experiment", "ModelSummary", "Evaluation", "ExperimentResult",
                "RunSummary", "Prediction", "create_model", "list_models"}  # fmt: skip
    assert required <= set(cnnlab.__all__)
    for name in cnnlab.__all__:
        assert getattr(cnnlab, name) is not None
    assert cnnlab.summary is cnnlab.api.summary and cnnlab.show.__name__ == "cnnlab.show"
    help(cnnlab)  # pydoc sees every public name, as an editor does through the stub
    text = capsys.readouterr().out
    assert all(name in text for name in ("Run", "train", "summary", "experiment"))
    with pytest.raises(AttributeError, match="has no attribute 'trian'"):
        cnnlab.trian  # noqa: B018


def test_the_snippet_uses_only_public_names():
    code = readme_snippet()
    used = set(re.findall(r"cnnlab\.(\w+)", code))
    assert used <= set(cnnlab.__all__), used - set(cnnlab.__all__)


@pytest.mark.slow
def test_train_returns_the_run_with_its_config_metrics_and_summary(snippet):
    namespace, folder = snippet
    run = namespace["run"]
    assert isinstance(run, cnnlab.Run) and run.path.parent == Path("runs") and (folder / run.path).is_dir()
    assert isinstance(run.config, cnnlab.TrainConfig) and run.config.epochs == 5 and run.config.model == "lenet5"
    assert [m.epoch for m in run.metrics] == [1, 2, 3, 4, 5] and all(
        isinstance(m, cnnlab.EpochMetrics) for m in run.metrics
    )
    summary = run.summary
    assert isinstance(summary, cnnlab.RunSummary) and summary.epochs == 5 and summary.test_images == 1000
    assert summary.test_top1 > 0.9 and summary.params == 60_000
    assert isinstance(namespace["model"], nn.Module) and not namespace["model"].training


@pytest.mark.slow
def test_summary_of_a_name_and_of_any_module(snippet, capsys):
    googlenet = cnnlab.summary("googlenet")
    assert isinstance(googlenet, cnnlab.ModelSummary) and googlenet.trainable_params == 6_998_552
    assert main(["summary", "googlenet"]) == 0
    assert capsys.readouterr().out == str(googlenet) + "\n"  # the command prints the value's str()
    mine = cnnlab.summary(snippet[0]["my_module"], input_size=(3, 64, 64))
    assert [layer.output_shape for layer in mine.layers][-1] == (4, 30, 30)
    assert mine.trainable_params == (3 * 9 * 8 + 8) + (8 * 9 * 4 + 4)
    with pytest.raises(ValueError, match="does not take an input of 1x64x64"):
        cnnlab.summary(snippet[0]["my_module"], input_size=(1, 64, 64))


@pytest.mark.slow
def test_evaluate_equals_what_the_command_prints(snippet, capsys):
    namespace, folder = snippet
    run = cnnlab.Run(folder / namespace["run"].path)
    evaluation = run.evaluate()
    assert isinstance(evaluation, cnnlab.Evaluation) and evaluation.top1 == pytest.approx(run.summary.test_top1)
    assert main(["evaluate", str(run.path), "--format", "json", "--out", str(folder / "eval")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in printed.items() if k != "confusion_png"} == evaluation.to_dict()
    assert main(["evaluate", str(run.path), "--out", str(folder / "eval")]) == 0
    assert capsys.readouterr().out.startswith(str(evaluation) + "\n\nconfusion matrix: ")
    assert sum(c.images for c in evaluation.per_class) == 1000 == sum(map(sum, evaluation.confusion))


@pytest.mark.slow
def test_predict_takes_files_pil_images_and_tensors_alike(snippet):
    namespace, folder = snippet
    run = cnnlab.Run(folder / namespace["run"].path)
    predictions = run.predict([folder / "seven.png", seven(), namespace["tensor"]], k=3)
    assert all(isinstance(p, cnnlab.Prediction) and len(p.top) == 3 for p in predictions)
    assert [p.label for p in predictions] == ["7", "7", "7"]
    assert torch.equal(predictions[0].input, predictions[1].input)  # a file and its PIL image are one image
    assert predictions[1].image == "PIL image #1" and predictions[2].image == "Tensor #2"
    assert predictions[0].to_dict()["predictions"][0]["class"] == "7"


@pytest.mark.slow
def test_export_and_report_write_their_files(snippet):
    _, folder = snippet
    assert (folder / "lenet5.onnx").stat().st_size > 100_000 and (folder / "lenet5.json").is_file()
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "lenet5 on mnist5k: run report" in page and "<script" not in page


@pytest.mark.slow
def test_pictures_are_figures_with_their_tiles_and_not_blank(snippet, tmp_path):
    fig = snippet[0]["fig"]
    assert isinstance(fig, cnnlab.show.Picture) and [g.name for g in fig.grids] == ["c1", "c3"]
    assert [g.tiles for g in fig.grids] == [6, 16]
    check_picture(fig.save(tmp_path / "maps.png"), fig.size)
    field = cnnlab.show.receptive_field("googlenet", layer="inception4a", unit=(6, 4))
    assert "inception4a" in field.about and "field" in field.about
    curves = cnnlab.show.curves(snippet[1] / snippet[0]["run"].path)
    for picture in (field, cnnlab.show.filters("alexnet"), curves, cnnlab.show.connectivity()):
        check_picture(picture.save(tmp_path / "p.png"), picture.size)


@pytest.mark.slow
def test_saliency_explains_the_run_s_answer_beside_its_random_twin(snippet, tmp_path):
    why = snippet[0]["why"]
    assert isinstance(why, cnnlab.Saliency) and why.method == "occlusion" and why.map.shape == (32, 32)
    run = cnnlab.Run(snippet[1] / snippet[0]["run"].path)  # the snippet ran in its own directory
    prediction = run.predict([snippet[1] / "seven.png"], k=1)[0]
    assert why.predicted_label == prediction.top[0].label
    assert why.random is not None and -1 <= why.correlation <= 1
    check_picture(why.save(tmp_path / "why.png"), why.figure().size)


@pytest.mark.slow
def test_the_experiment_result_has_rows_a_figure_and_a_verdict(snippet):
    result = snippet[0]["result"]
    # One seed has no spread to measure: the README's example is inconclusive by design, and says so
    assert isinstance(result, cnnlab.ExperimentResult) and result.held is None
    assert [row[0] for row in result.rows] == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    assert "on one seed, no interval" in result.verdict and Path(result.figure).name == "degradation.png"
    assert str(result).startswith("degradation: ") and result.verdict in str(result)
    assert result.to_dict()["data"]["seeds"] == [0]


class _Checker(html.parser.HTMLParser):
    """Well-formed HTML: every element closed in order (void elements excepted), no scripts."""

    VOID = frozenset({"br", "img", "hr", "meta", "input", "col", "wbr"})

    def __init__(self):
        super().__init__()
        self.open, self.problems, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "script" or any(name.startswith("on") for name, _ in attrs):
            self.problems.append(f"script: {tag}")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data):
        self.text.append(data)


def _checked(markup: str) -> str:
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert not checker.problems and not checker.open, (checker.problems, checker.open)
    return "".join(checker.text)


@pytest.mark.slow
def test_rich_display_is_plain_well_formed_html_with_the_key_numbers(snippet):
    namespace, folder = snippet
    run = cnnlab.Run(folder / namespace["run"].path)
    evaluation = run.evaluate()
    summary = cnnlab.summary("lenet5")
    result = namespace["result"]
    assert "60,000" in _checked(summary._repr_html_()) and "415,680" in _checked(summary._repr_html_())
    assert f"{evaluation.top1:.2%}" in _checked(evaluation._repr_html_())
    text = _checked(run._repr_html_())
    assert f"{run.summary.test_top1:.2%}" in text and str(run.path) in text
    assert result.verdict in _checked(result._repr_html_())
    assert "784x" in _checked(cnnlab.compare_layers((1, 32, 32), 6, 5)._repr_html_())
    for value in (summary, evaluation, run, result):
        assert json.dumps(value.to_dict())  # plain data


@pytest.mark.slow
def test_draw_and_animate_as_the_snippet_calls_them(snippet):
    namespace, folder = snippet
    boxes = cnnlab.draw("lenet5").boxes
    drawn = (folder / "lenet5.svg").read_text()
    assert drawn.count("C1: feature maps") == 1 and drawn.count("6@28x28") == 1 and len(boxes) == 8
    movie = namespace["movie"]
    assert isinstance(movie, cnnlab.Animation) and len(movie.frames) == 9 and movie.outputs.shape == (3, 3)
    shown = movie._repr_html_()  # Jupyter shows the player, its settings those of the snippet's call
    assert shown.startswith("<iframe srcdoc=")
    assert '"kind":"conv","input":[5,5],"kernel":[3,3],"stride":[2,2],"padding":[1,1]' in html.unescape(shown)
