"""``cnnlab show`` pictures on a 16:9 slide: every text 18 pt or more and landscape, read back from the SVGs the
commands write; ``--title short|full|none``; each layer's picture its own size with ``--layers all``."""

from pathlib import Path

import pytest

from cnnlab.run import train
from cnnlab.training.config import resolve_config
from cnnlab.viz.slide import read_svg

# Slow: a LeNet-5 trained for one epoch, and GoogLeNet, AlexNet and ResNet-20 built and run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run of `cnnlab train lenet5 --epochs 1` (about 3 s)."""
    out = tmp_path_factory.mktemp("runs") / "lenet5-a"
    train(resolve_config("lenet5", epochs=1, output=str(out)), progress=False, log=lambda _line: None)
    return out


def svgs(out: str) -> list[Path]:
    """The SVG files a command printed (its lines start with one)."""
    return [Path(line.split()[0]) for line in out.splitlines() if line.split() and line.split()[0].endswith(".svg")]


def written(run, *args: str) -> list[Path]:
    code, out, err = run("show", *args, "--format", "svg")
    assert code == 0, err
    found = svgs(out)
    assert found and all(path.is_file() for path in found), out
    return found


def assert_on_a_slide(paths: list[Path], aspect: float = 1.2) -> None:
    for path in paths:
        check = read_svg(path)
        assert check.passes, (path.name, str(check), check.below())
        assert check.aspect >= aspect, (path.name, str(check))


COMMANDS = {
    "feature-maps lenet5": ["feature-maps", "lenet5"],
    "feature-maps resnet20": ["feature-maps", "resnet20"],
    "feature-maps googlenet": ["feature-maps", "googlenet", "--layers", "inception3a", "inception4e", "conv1.conv"],
    "feature-maps lenet5 all": ["feature-maps", "lenet5", "--layers", "all"],
    "filters lenet5": ["filters", "lenet5"],
    "filters alexnet": ["filters", "alexnet"],
    "receptive-field googlenet": ["receptive-field", "googlenet", "--layer", "inception4a", "--unit", "6,4"],
    "receptive-field lenet5": ["receptive-field", "lenet5", "--layer", "c3", "--unit", "4,4"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("title", ["short", "full"])
def test_pictures_of_models_read_at_18_pt_on_a_slide(run, tmp_path, command, title):
    paths = written(run, *COMMANDS[command], "--title", title, "--out", str(tmp_path))
    assert_on_a_slide(paths)


def test_feature_maps_of_a_trained_run_on_a_slide_with_its_titles(run, run_dir, tmp_path):
    for title in ("short", "full", "none"):
        paths = written(run, "feature-maps", str(run_dir), "--layers", "c1", "c3", "--title", title,
                        "--out", str(tmp_path / title))  # fmt: skip
        assert [path.stem for path in paths] == ["c1", "c3"]
        assert_on_a_slide(paths)
        texts = [" ".join(text.text for text in read_svg(path).texts) for path in paths]
        if title == "short":
            assert "c1: 6 maps of 28x28" in texts[0] and "c3: 16 maps of 10x10" in texts[1]
            assert not any("best.pt" in text or "moving average" in text for text in texts)
        elif title == "full":
            assert all("best.pt" in text and "moving average of the weights" in text for text in texts), texts
            assert "c3 (SparseConv2d): 16 maps of 10x10, values" in texts[1]
        else:
            assert not any("maps of" in text for text in texts)
        assert all("input" in text for text in texts)  # the input's panel, whatever the title


def test_all_layers_are_each_their_own_size(run, run_dir, tmp_path):
    paths = written(run, "feature-maps", str(run_dir), "--layers", "all", "--out", str(tmp_path))
    assert [path.stem for path in paths] == ["c1", "s2", "c3", "s4", "c5"]
    assert_on_a_slide(paths)
    sizes = {path.stem: (read_svg(path).width, read_svg(path).height) for path in paths}
    assert sizes["c1"] != sizes["c3"] and sizes["c3"] != sizes["c5"]  # none padded to the widest


@pytest.mark.parametrize("method", ["gradient", "gradcam", "occlusion"])
def test_saliency_of_a_trained_run_with_its_random_twin_on_a_slide(run, run_dir, tmp_path, method):
    code, out, err = run("show", "saliency", str(run_dir), "--method", method, "--compare-random", "--format", "svg",
                         "--out", str(tmp_path))  # fmt: skip
    assert code == 0, err
    (path,) = [Path(line) for line in out.splitlines() if line.endswith(".svg")]
    assert_on_a_slide([path])
    text = " ".join(text.text for text in read_svg(path).texts)
    assert "Why 7?" in text and "rank correlation" in text and "best.pt" not in text
    code, out, _ = run("show", "saliency", str(run_dir), "--method", method, "--format", "svg", "--title", "full",
                       "--out", str(tmp_path / "full"))  # fmt: skip
    (path,) = [Path(line) for line in out.splitlines() if line.endswith(".svg")]
    assert code == 0 and "best.pt" in " ".join(text.text for text in read_svg(path).texts)
    assert_on_a_slide([path])


def test_receptive_field_titles(run, tmp_path):
    found = {}
    for title in ("short", "full", "none"):
        (path,) = written(run, "receptive-field", "lenet5", "--layer", "c3", "--unit", "4,4", "--title", title,
                          "--out", str(tmp_path / title))  # fmt: skip
        found[title] = " ".join(text.text for text in read_svg(path).texts)
    assert "c3, unit (4, 4): a 14x14 field" in found["short"] and "random weights" not in found["short"]
    assert "c3 (SparseConv2d), unit (4, 4) of 10x10" in found["full"] and "random weights" in found["full"]
    assert "unit (4, 4)" not in found["none"] and "a 14x14 field" in found["none"]
    assert all("rows 8-21" in text for text in found.values()), found


def test_every_show_picture_takes_a_title(run):
    for picture in ("feature-maps", "filters", "receptive-field", "curves", "confusion", "saliency"):
        code, out, _ = run("show", picture, "--help")
        assert code == 0 and "--title {full,short,none}" in out, picture
