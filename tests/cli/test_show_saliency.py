"""``cnnlab show saliency``: the three methods' pictures and maps, the random-weights check, the layers Grad-CAM
can read, and bad settings in one line each, on untrained LeNet-5 checkpoints and model names."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests._checkpoints import write_checkpoint
from tests._pictures import check_picture

DIGIT = "mnist5k-test-685"  # the bundled digit a gray model's picture shows without --image


@pytest.fixture
def run_dir(tmp_path):
    """A run directory holding an untrained LeNet-5's checkpoint."""
    write_checkpoint(tmp_path / "run" / "best.pt")
    return tmp_path / "run"


def paths(out: str) -> list[str]:
    """The files a command printed: the lines that name a file there is."""
    return [line for line in out.splitlines() if line.endswith((".png", ".svg", ".npy")) and Path(line).is_file()]


def test_a_run_s_gradient_map_goes_to_its_pictures_with_the_map_as_npy(run, run_dir):
    code, out, _ = run("show", "saliency", str(run_dir))
    assert code == 0
    picture, values = (run_dir / "pictures" / f"saliency-gradient-{DIGIT}{suffix}" for suffix in (".png", ".npy"))
    assert paths(out) == [str(picture), str(values)]
    check_picture(picture)
    saved = np.load(values)
    assert saved.shape == (32, 32) and saved.dtype == np.float32 and saved.min() >= 0 and saved.max() > 0
    assert "gradient saliency of lenet5" in out and "image: mnist5k test digit #685 (a 7)" in out
    assert "explains class" in out and "the network chose" in out and "time:" in out


def test_a_model_name_draws_random_weights_under_pictures_model(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("show", "saliency", "lenet5", "--method", "gradcam")
    assert code == 0
    assert paths(out)[0] == f"pictures/lenet5/saliency-gradcam-{DIGIT}.png"
    assert "Grad-CAM at c3 saliency of lenet5" in out  # c5's maps are 1x1: the default is c3
    check_picture(tmp_path / paths(out)[0])


def test_all_methods_a_file_each_and_the_occlusion_settings(run, run_dir, tmp_path):
    code, out, _ = run("show", "saliency", str(run_dir), "--method", "all", "--window", "6", "--stride", "3",
                       "--layer", "c1", "--out", str(tmp_path))  # fmt: skip
    assert code == 0
    names = [f"saliency-{method}-{DIGIT}{suffix}" for method in ("gradient", "gradcam", "occlusion")
             for suffix in (".png", ".npy")]  # fmt: skip
    assert paths(out) == [str(tmp_path / name) for name in names]
    assert "Grad-CAM at c1 saliency" in out and "occlusion 6x6 by 3 saliency" in out
    assert "window 6x6, stride 3, filled with the training images' mean" in out
    for name in names[::2]:
        check_picture(tmp_path / name)


def test_a_target_by_name_is_explained_and_named_in_the_file(run, run_dir, tmp_path):
    code, out, _ = run("show", "saliency", str(run_dir), "--target", "3", "--method", "occlusion",
                       "--out", str(tmp_path))  # fmt: skip
    assert code == 0
    assert paths(out)[0] == str(tmp_path / f"saliency-occlusion-{DIGIT}-3.png")
    assert "explains class 3 (p = " in out


def test_a_colour_model_s_target_by_index(run, tmp_path):
    write_checkpoint(tmp_path / "run" / "best.pt", "resnet20", data="cifar10")
    code, out, _ = run("show", "saliency", str(tmp_path / "run"), "--target", "4", "--out", str(tmp_path))
    assert code == 0
    assert "explains class 4 (p = " in out and paths(out)[0].endswith("saliency-gradient-china-4.png")


def test_compare_random_adds_the_twin_s_row_and_the_rank_correlation(run, run_dir, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert run("show", "saliency", str(run_dir), "--out", str(one))[0] == 0
    code, out, _ = run("show", "saliency", str(run_dir), "--compare-random", "--out", str(two))
    assert code == 0
    assert "random weights (same architecture, same method): Spearman rank correlation" in out
    single, double = (Image.open(folder / f"saliency-gradient-{DIGIT}.png").size for folder in (one, two))
    # a second row, in the same slide-sized canvas: the panels shrink to make room for it
    assert double[1] > single[1] + 100 and max(single[0], double[0]) <= 860 and max(single[1], double[1]) <= 484


def test_an_image_file_names_the_picture_and_svg(run, run_dir, tmp_path):
    image = Image.new("L", (100, 100), 255)
    ImageDraw.Draw(image).line([(25, 20), (75, 20), (45, 85)], fill=0, width=8)
    image.save(tmp_path / "my seven.png")
    code, out, _ = run("show", "saliency", str(run_dir), "--image", str(tmp_path / "my seven.png"),
                       "--format", "svg", "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 0
    svg, npy = paths(out)
    assert svg == str(tmp_path / "out" / "saliency-gradient-my-seven.svg") and npy.endswith("my-seven.npy")
    assert Path(svg).read_text()[:200].lstrip().startswith(("<?xml", "<svg"))
    assert "my seven.png" in out.splitlines()[3]  # image: ...


def test_list_layers_lists_what_grad_cam_reads_and_its_default(run, run_dir):
    code, out, _ = run("show", "saliency", str(run_dir), "--list-layers")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip() and line[0] != " "}
    assert {"c1", "s2", "c3", "s4"} <= set(rows) and "c5" not in rows and "f6" not in rows
    assert rows["c3"][-1] == "*" and rows["c1"][-1] != "*"  # the default: the last with maps of 2x2 or more
    assert not (run_dir / "pictures").exists()  # a list, no picture


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--target", "10"], "--target: lenet5 has 10 classes, 0-9 or a name"),
        (["--target", "cat"], "--target: lenet5 has 10 classes"),
        (["--method", "gradcam", "--layer", "c5"], "c5's maps are 1x1"),
        (["--method", "gradcam", "--layer", "nope"], "lenet5 has no layer 'nope'; Grad-CAM can read c1, s2, c3, s4"),
        (["--method", "occlusion", "--window", "40"], "--window: the occlusion square of 40 does not fit"),
        (["--layer", "c1"], "--layer says which layer Grad-CAM reads; gradient reads none (use --method gradcam)"),
        (["--window", "4"], "--window and --stride set the occlusion square; gradient has none"),
        (["--method", "smoothgrad"], "argument --method: invalid choice: 'smoothgrad'"),
        (["--method", "occlusion", "--stride", "0"], "argument --stride"),
    ],
)
def test_bad_settings_say_so_in_one_line(fails, run_dir, args, words):
    error = fails("show", "saliency", str(run_dir), *args)
    assert words in error, error
    assert error.startswith("cnnlab show saliency: error:")


def test_an_output_that_is_a_file_is_refused(fails, run_dir, tmp_path):
    (tmp_path / "taken").write_text("")
    assert "--output" in fails("show", "saliency", str(run_dir), "--output", str(tmp_path / "taken"))


def test_the_help_names_the_methods_and_the_papers(run):
    code, out, _ = run("show", "saliency", "--help")
    assert code == 0
    for words in ("gradient", "gradcam", "occlusion", "--compare-random", "Simonyan", "Selvaraju", "Zeiler",
                  "Adebayo", "examples:"):  # fmt: skip
        assert words in out
