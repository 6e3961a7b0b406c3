"""``cnnlab show`` and ``cnnlab report`` on a LeNet-5 trained for one epoch and on registry models."""

import base64
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from cnnlab.report import SECTIONS
from cnnlab.run import train
from cnnlab.training.config import resolve_config
from tests._pictures import check_picture

# Slow: most tests read the LeNet-5 the module's fixture trains; the report opens in Chromium.
pytestmark = pytest.mark.slow

GRID_LINE = re.compile(r"^(\S+)  (\d+)x\d+x\d+: (\d+) maps (?:in (\d+)x(\d+)|as bars), (\d+)x(\d+) px$")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run of `cnnlab train lenet5 --epochs 1` (about 3 s)."""
    out = tmp_path_factory.mktemp("runs") / "lenet5-a"
    train(resolve_config("lenet5", epochs=1, output=str(out)), progress=False, log=lambda _line: None)
    return out


def grids(out: str) -> list[tuple[Path, int, int, int, int, tuple[int, int]]]:
    """(file, channels, tiles, rows, cols, size) of each feature-map line `cnnlab show feature-maps` prints."""
    found = []
    for line in out.strip().splitlines():
        match = GRID_LINE.match(line)
        assert match, line
        path, channels, tiles, rows, cols, width, height = match.groups()
        rows, cols = (rows, cols) if rows else (1, tiles)  # maps of 1x1: one row of bars
        found.append((Path(path), int(channels), int(tiles), int(rows), int(cols), (int(width), int(height))))
    return found


def check_grids(out: str, names: list[str]) -> None:
    found = grids(out)
    assert [path.stem if path.suffix == ".png" else path.name for path, *_ in found] == names
    for path, channels, tiles, rows, cols, size in found:
        assert tiles == channels and rows * cols >= tiles > (rows - 1) * cols
        check_picture(path, size)


# -------------------------------------------------------------------------------------------------
# feature maps


def test_feature_maps_of_a_run_default_overview(run, run_dir):
    code, out, _ = run("show", "feature-maps", str(run_dir))
    assert code == 0
    check_grids(out, ["c1", "s2", "c3", "s4"])
    assert all(path.parent == run_dir / "pictures" / "feature-maps" / "mnist5k-test-685" for path, *_ in grids(out))


def test_feature_maps_of_two_images_are_kept_apart(run, run_dir, tmp_path):
    three, seven = tmp_path / "three.png", tmp_path / "my seven!.png"
    Image.new("L", (28, 28)).save(three)
    Image.linear_gradient("L").resize((28, 28)).save(seven)
    for image in (three, seven):
        code, _, _ = run("show", "feature-maps", str(run_dir), "--image", str(image), "--layers", "c1")
        assert code == 0
    folder = run_dir / "pictures" / "feature-maps"
    first, second = folder / "three" / "c1.png", folder / "my-seven" / "c1.png"
    assert first.is_file() and second.is_file() and first.read_bytes() != second.read_bytes()


def test_feature_maps_all_layers_and_a_shared_module(run, run_dir, tmp_path):
    code, out, _ = run("show", "feature-maps", str(run_dir), "--layers", "all", "squash", "--out", str(tmp_path))
    assert code == 0
    check_grids(out, ["c1", "s2", "c3", "s4", "c5", "squash"])
    assert re.search(r"/c5\.png  120x1x1: 120 maps as bars, \d+x\d+ px$", out, re.M)  # 1x1 maps: a bar chart
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["c1.png", "s2.png", "c3.png", "s4.png", "c5.png", "squash.png"]
    )


def test_feature_maps_of_a_branching_model_with_random_weights(run, tmp_path):
    code, out, _ = run(
        "show", "feature-maps", "googlenet", "--layers", "inception3a,conv2.conv", "--out", str(tmp_path)
    )
    assert code == 0
    check_grids(out, ["inception3a", "conv2.conv"])
    assert [(channels, tiles) for _, channels, tiles, *_ in grids(out)] == [(256, 256), (64, 64)]


def test_feature_maps_of_an_image_file_as_svg(run, tmp_path):
    photo = tmp_path / "photo.png"
    Image.linear_gradient("L").convert("RGB").resize((64, 48)).save(photo)
    code, out, _ = run("show", "feature-maps", "resnet20", "--image", str(photo), "--layers", "layer2.0",
                       "--format", "svg", "--scale", "channel", "--out", str(tmp_path / "maps"))  # fmt: skip
    assert code == 0
    ((path, channels, tiles, *_),) = grids(out)
    assert path.name == "layer2.0.svg" and channels == tiles == 32
    assert path.read_text().startswith("<?xml")


def test_list_layers_shows_shapes_fields_and_what_all_means(run):
    code, out, _ = run("show", "feature-maps", "googlenet", "--list-layers")
    assert code == 0
    assert re.search(r"^inception3a +Inception +256x28x28 +59 +8 +\*", out, re.M)
    assert re.search(r"^inception3a\.branch1 +ConvBlock +64x28x28 +27 +8 *$", out, re.M)  # not in `all`
    assert re.search(r"^fc +Linear +1000 +all +-", out, re.M)
    assert "--layers all shows" in out


def test_default_out_for_a_model_name_is_the_working_directory(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("show", "feature-maps", "lenet5", "--layers", "c1")
    assert code == 0 and out.startswith("pictures/lenet5/feature-maps/mnist5k-test-685/c1.png  6x28x28")
    assert (tmp_path / "pictures" / "lenet5" / "feature-maps" / "mnist5k-test-685" / "c1.png").is_file()
    code, out, _ = run("show", "feature-maps", "resnet20", "--layers", "conv1")
    assert code == 0 and out.startswith("pictures/resnet20/feature-maps/china/conv1.png  16x32x32")


# -------------------------------------------------------------------------------------------------
# filters, receptive fields, curves, confusion


def test_filters_first_layer_gray_rgb_and_a_later_layer(run, run_dir, tmp_path):
    code, out, _ = run("show", "filters", str(run_dir))
    assert code == 0 and out.startswith(f"{run_dir / 'pictures' / 'filters-c1.png'}  6x1x5x5: 6 tiles in 2x3")
    check_picture(run_dir / "pictures" / "filters-c1.png")
    code, out, _ = run("show", "filters", "resnet20", "--out", str(tmp_path))
    assert code == 0 and "16x3x3x3: 16 tiles in 3x6" in out  # landscape, for a slide
    pixels = check_picture(tmp_path / "filters-conv1.png")
    assert abs(pixels[..., 0] - pixels[..., 2]).mean() > 5  # RGB kernels, in colour
    code, out, _ = run("show", "filters", str(run_dir), "--layer", "c3", "--out", str(tmp_path))
    assert code == 0 and "16x6x5x5: 96 tiles in 6x16" in out
    code, out, _ = run("show", "filters", str(run_dir), "--list-layers")
    assert re.search(r"^c3 +SparseConv2d +16x6x5x5$", out, re.M)


def test_receptive_field_of_a_run_and_of_a_branching_model(run, run_dir, tmp_path):
    code, out, _ = run(
        "show", "receptive-field", str(run_dir), "--layer", "s4", "--unit", "4,4", "--out", str(tmp_path)
    )
    assert code == 0
    assert "unit (4, 4) of 5x5: a 16x16 field: rows 16-31, columns 16-31 of the 32x32 input" in out
    check_picture(tmp_path / "receptive-field-s4-4-4.png")
    with Image.open(tmp_path / "receptive-field-s4-4-4.png") as picture:  # landscape, within the slide-sized canvas
        assert picture.size[1] == 484 and picture.size[1] < picture.size[0] <= 860
    code, out, _ = run("show", "receptive-field", "googlenet", "--layer", "inception4a", "--unit", "0,13",
                       "--out", str(tmp_path))  # fmt: skip
    assert code == 0
    # 171-pixel field, jump 16, first centre at 14 (conv1 s2, then three stride-2 pools each move it by
    # one step of their input): unit (0, 13) is centred at (14, 222) and spans -71..99 x 137..307
    assert "a 171x171 field: rows 0-99, columns 137-223 of the 224x224 input" in out
    assert "71 px past the top, 84 px past the right: zero padding" in out
    check_picture(tmp_path / "receptive-field-inception4a-0-13.png")
    with Image.open(
        tmp_path / "receptive-field-inception4a-0-13.png"
    ) as picture:  # landscape, within the slide-sized canvas
        assert picture.size[1] == 484 and picture.size[1] < picture.size[0] <= 860


def test_curves_of_several_runs(run, run_dir, tmp_path):
    other = tmp_path / "lenet5-b"
    shutil.copytree(run_dir, other)
    code, out, _ = run("show", "curves", str(run_dir), str(other / "best.pt"), "--out", str(tmp_path / "cmp"))
    assert code == 0 and out.strip() == str(tmp_path / "cmp" / "curves.png")
    # two runs: a legend below, one row (lenet5's recipe has no validation split: no "validation" line style)
    check_picture(tmp_path / "cmp" / "curves.png", (800, 481))


def test_curves_of_one_run_go_to_its_pictures_and_leave_its_record_alone(run, run_dir):
    before = (run_dir / "curves.png").read_bytes()
    code, out, _ = run("show", "curves", str(run_dir))
    assert code == 0 and out.strip() == str(run_dir / "pictures" / "curves.png")
    assert (run_dir / "curves.png").read_bytes() == before  # the training's own, as it wrote it
    check_picture(run_dir / "pictures" / "curves.png", (800, 450))


def test_confusion_of_a_run(run, run_dir, tmp_path):
    code, out, _ = run("show", "confusion", str(run_dir), "--out", str(tmp_path))
    assert code == 0 and "lenet5 on mnist5k test: top-1" in out
    check_picture(tmp_path / "confusion-mnist5k-test.png", (720, 540))


# -------------------------------------------------------------------------------------------------
# mistakes: one line, exit 2


def test_bad_input_is_one_line(fails, run_dir, tmp_path):
    assert "lenet5 has no layer 'c4'; did you mean" in fails("show", "feature-maps", "lenet5", "--layers", "c4")
    assert "Layers with feature maps: c1, squash, s2, c3, s4, c5" in fails(
        "show", "feature-maps", str(run_dir), "--layers", "c4"
    )
    assert "f6 (Linear) outputs a vector of 84, not feature maps" in fails(
        "show", "feature-maps", "lenet5", "--layers", "f6"
    )
    assert "unit (5, 0) is outside s4's 5x5 map (rows 0-4, columns 0-4)" in fails(
        "show", "receptive-field", "lenet5", "--layer", "s4", "--unit", "5,0"
    )
    assert "expected Y,X" in fails("show", "receptive-field", "lenet5", "--layer", "s4", "--unit", "5")
    assert "--layer NAME and --unit Y,X" in fails("show", "receptive-field", "lenet5")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    assert f"cannot read image {junk}" in fails("show", "feature-maps", "lenet5", "--image", str(junk))
    assert "does not exist" in fails("show", "receptive-field", "resnet20", "--layer", "conv1", "--unit", "0,0",
                                     "--image", str(tmp_path / "missing.jpg"))  # fmt: skip
    assert "lenet6 is neither a run directory, a checkpoint nor a model name; did you mean lenet5" in fails(
        "show", "filters", "lenet6"
    )
    assert "no convolution 'f6'; layers with kernels: c1, c3, c5" in fails("show", "filters", "lenet5", "--layer", "f6")
    assert "is not a cnnlab run directory" in fails("show", "curves", str(tmp_path))
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "config.json").write_text("{}")  # a run that never finished an epoch
    assert "has no metrics yet" in fails("show", "curves", str(tmp_path / "fresh"))
    assert "is a file" in fails("show", "filters", "lenet5", "--out", str(junk))
    assert "no best.pt or last.pt" in fails("report", str(tmp_path))


def test_show_alone_prints_its_help(run):
    code, out, _ = run("show")
    assert code == 0 and "feature-maps" in out and "receptive-field" in out


# -------------------------------------------------------------------------------------------------
# the report


@pytest.fixture(scope="module")
def report(run_dir):
    from cnnlab.cli.main import main

    out = run_dir / "report.html"
    assert main(["report", str(run_dir), "--out", str(out), "--worst", "8"]) == 0
    return out


def test_report_is_one_self_contained_page(report):
    page = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert re.search(f'<section id="{section}"( class="wide")?>', page), section
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == page.count("<img ") >= 7  # curves, confusion, filters, the test image, 4 maps, worst
    with tempfile.TemporaryDirectory() as folder:
        for index, uri in enumerate(uris):
            path = Path(folder) / f"{index}.png"
            path.write_bytes(base64.b64decode(uri))
            check_picture(path)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 may spell anything
    assert "http" not in text and "<script" not in text and "url(" not in text and "@import" not in text
    assert all(src == "" for src in re.findall(r'src="([^"]*)"', text))
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', text))
    assert "the 8 test images with the highest loss" not in text  # drawn into the picture, not the page
    assert "Worst-classified test images" in text and "lenet5 on mnist5k: run report" in text


def _table(page: str, first_header: str) -> list[list[str]]:
    """The body rows of the first table whose first header is ``first_header``, as cell texts."""
    table = re.search(rf"<table>\s*<thead><tr><th>{first_header}</th>.*?</tbody>", page, re.S).group(0)
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(<td.*?)</tr>", table)]


def test_report_shows_only_the_settings_the_run_used(report, run_dir):
    import json

    page = report.read_text(encoding="utf-8")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["optimizer"] == "adamw" and config["schedule"] == "onecycle"  # LeNet-5's recipe
    settings = {row[0]: row[1] for row in _table(page, "setting")}
    assert {"model", "lr", "optimizer", "schedule", "epochs", "augment"} <= set(settings)
    assert not {"momentum", "rmsprop_alpha", "rmsprop_eps", "gamma", "milestones", "step_epochs"} & set(settings)
    assert "Left out, as they change nothing in this run:" in page and "rmsprop_alpha" in page


def test_report_says_when_how_long_where_and_with_what(report, run_dir):
    import json

    import torch

    import cnnlab

    page = report.read_text(encoding="utf-8")
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", page))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}", facts["finished"])
    assert summary["wall_seconds"] >= summary["train_seconds"] > 0
    assert facts["wall time"].startswith(f"{summary['wall_seconds']:.1f} s (") and "1 epochs" in facts["wall time"]
    assert facts["device"] == "cpu"
    assert facts["versions"] == f"torch {torch.__version__}, cnnlab {cnnlab.__version__}"


def test_report_has_the_learning_rate_and_each_class_as_text(report, run_dir):
    import json

    page = report.read_text(encoding="utf-8")
    assert 'alt="learning rate per epoch"' in page and "(adamw, onecycle schedule)" in page
    rows = _table(page, "class")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [row[0] for row in rows] == [str(digit) for digit in range(10)]
    assert sum(int(row[1].replace(",", "")) for row in rows) == summary["test_images"]
    for name, images, correct, accuracy, _taken_for in rows:
        assert accuracy == f"{int(correct) / int(images.replace(',', '')):.2%}"
        assert accuracy == f"{summary['per_class_accuracy'][name]:.2%}"  # the best checkpoint, as the trainer saw it


def test_report_draws_the_first_layer_filters_large(report):
    page = report.read_text(encoding="utf-8")
    uri = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="the 6 kernels of c1"', page).group(1)
    with Image.open(io.BytesIO(base64.b64decode(uri))) as picture:
        assert picture.size[0] >= 3 * 160  # three 5x5 kernels a row, 160 pixels each


def chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const decoded = images.filter((image) => image.complete && image.naturalWidth > 0).length;
  const sections = [...document.querySelectorAll("section[id] > h2")].map((h) => h.parentElement.id);
  document.body.dataset.check = decoded + "/" + images.length + " " + sections.join(",");
});
</script>
</body>"""


@pytest.mark.skipif(
    chromium() is None,
    reason="Chromium is not installed: `.ci/run` installs Debian's chromium package (apt-get install -y chromium)",
)
def test_report_loads_in_headless_chromium_with_every_image_decoded(report, tmp_path):
    """The page as a browser sees it: a copy with a check appended writes what loaded into the DOM."""
    page = tmp_path / "checked.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", CHECK), encoding="utf-8")
    profile = tmp_path / "profile"
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", f"--user-data-dir={profile}",
        "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'data-check="(\d+)/(\d+) ([^"]*)"', done.stdout)
    assert match, done.stdout[:500]
    decoded, images, sections = int(match[1]), int(match[2]), match[3].split(",")
    assert decoded == images == report.read_text().count("<img ")
    assert sections == list(SECTIONS)
