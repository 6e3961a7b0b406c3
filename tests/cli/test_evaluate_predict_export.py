"""``cnnlab evaluate``, ``predict`` and ``export`` on a LeNet-5 trained once for this module (two epochs)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cnnlab.checkpoint import save_checkpoint
from cnnlab.data.datasets import load_dataset
from cnnlab.models import create_model
from cnnlab.run import Run, train
from cnnlab.training.config import resolve_config
from tests._checkpoints import write_checkpoint

# Slow: most tests use the LeNet-5 the module's fixture trains (2 epochs); ONNX exports take 2-4 s.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run of `cnnlab train lenet5` (the paper's recipe, 2 of its 22 epochs, with a validation split of 400
    digits: about 90% test accuracy)."""
    out = tmp_path_factory.mktemp("lenet5-run")
    config = resolve_config("lenet5", epochs=2, val_fraction=0.1, output=str(out))
    train(config, progress=False, log=lambda _line: None)
    return out


@pytest.fixture(scope="module")
def drawings(tmp_path_factory):
    """Digits drawn as a person would: black ink on a white 200x200 canvas, lines about 14 pixels wide."""
    folder = tmp_path_factory.mktemp("drawings")
    strokes = {
        "one": [[(100, 30), (100, 170)]],
        "seven": [[(55, 45), (150, 45), (90, 165)]],
    }
    paths = {}
    for name, lines in strokes.items():
        image = Image.new("L", (200, 200), 255)
        pen = ImageDraw.Draw(image)
        for line in lines:
            pen.line(line, fill=0, width=14)
        paths[name] = folder / f"{name}.png"
        image.save(paths[name])
    return paths


def onnx_ready():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


needs_onnx = pytest.mark.skipif(
    not onnx_ready(),
    reason="ONNX export needs onnx, onnxscript and onnxruntime (pip install onnx onnxscript onnxruntime)",
)


# -------------------------------------------------------------------------------------------------
# evaluate


def test_evaluate_reproduces_the_runs_test_accuracy(run, run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    code, out, _ = run("evaluate", str(run_dir))
    assert code == 0
    assert f"on 1,000 mnist5k test images\ntop-1 {summary['test_top1']:.2%}   top-5 {summary['test_top5']:.2%}" in out
    table = out.split("\n\n")[1].splitlines()
    assert table[0].split() == ["class", "images", "accuracy"] and len(table) == 11
    assert (run_dir / "confusion-mnist5k-test.png").is_file()
    assert f"confusion matrix: {run_dir / 'confusion-mnist5k-test.png'}" in out


def test_evaluate_json_on_the_validation_split_of_a_checkpoint_file(run, run_dir, tmp_path):
    summary = json.loads((run_dir / "summary.json").read_text())
    code, out, _ = run(
        "evaluate", str(run_dir / "best.pt"), "--split", "val", "--format", "json", "--out", str(tmp_path)
    )
    report = json.loads(out)
    assert code == 0 and report["split"] == "val" and report["images"] == 400
    assert report["top1"] == pytest.approx(summary["val_top1"])  # the accuracy best.pt was chosen by
    assert sum(row["images"] for row in report["per_class"]) == 400 == sum(map(sum, report["confusion"]))
    for row, counts, index in zip(report["per_class"], report["confusion"], range(10), strict=True):
        assert row["class"] == str(index) and row["accuracy"] == pytest.approx(counts[index] / sum(counts))
    png = tmp_path / "confusion-mnist5k-val.png"
    assert report["confusion_png"] == str(png)
    with Image.open(png) as picture:
        assert picture.format == "PNG" and min(picture.size) >= 300


def test_evaluate_on_another_digit_dataset(run, run_dir, tmp_path):
    code, out, _ = run("evaluate", str(run_dir), "--data", "digits", "--out", str(tmp_path))
    assert code == 0
    assert out.startswith("note: digits: 8x8 images resized to 32x32 for the model\n")
    assert "on 360 digits test images" in out and (tmp_path / "confusion-digits-test.png").is_file()


# -------------------------------------------------------------------------------------------------
# predict


@pytest.mark.parametrize("digit", ["one", "seven"])
def test_predict_reads_a_digit_drawn_in_black_on_white(run, run_dir, drawings, digit):
    code, out, _ = run("predict", str(run_dir), str(drawings[digit]), "--format", "json")
    result = json.loads(out)["images"][0]
    assert code == 0 and result["image"] == str(drawings[digit])
    best = result["predictions"][0]
    assert best["class"] == {"one": "1", "seven": "7"}[digit] and best["probability"] > 0.5, result
    assert len(result["predictions"]) == 5
    assert [p["probability"] for p in result["predictions"]] == sorted(
        (p["probability"] for p in result["predictions"]), reverse=True
    )


def test_predict_on_test_images_saved_as_png_reproduces_the_model(run, run_dir, tmp_path):
    test = load_dataset("mnist5k").test
    paths = []
    for index in range(12):
        paths.append(tmp_path / f"test-{index}.png")
        Image.fromarray(test.images[index, 0].numpy()).save(paths[-1])
    trained = Run(run_dir).trained()
    expected = trained.probabilities(test.images[:12])  # softmax(logits / 16) of the normalised tensors
    code, out, _ = run("predict", str(run_dir), *map(str, paths), "--top-k", "10", "--format", "json")
    assert code == 0
    for result, probabilities in zip(json.loads(out)["images"], expected, strict=True):
        got = torch.zeros(10)
        for guess in result["predictions"]:
            got[guess["index"]] = guess["probability"]
        torch.testing.assert_close(got, probabilities, atol=1e-6, rtol=1e-5)
    accuracy = (expected.argmax(1) == test.labels[:12]).float().mean()
    assert accuracy >= 0.75  # a trained model, so the comparison means something


def test_predict_text_shows_top_k_per_image(run, run_dir, drawings):
    code, out, _ = run("predict", str(run_dir), str(drawings["one"]), str(drawings["seven"]), "-k", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 8
    assert lines[0] == str(drawings["one"]) and lines[1].split()[0] == "1" and lines[1].endswith("%")
    assert lines[4] == str(drawings["seven"]) and lines[5].split()[0] == "7"
    code, out, _ = run("predict", str(run_dir), str(drawings["one"]), "--top-k", "50", "--format", "json")
    assert len(json.loads(out)["images"][0]["predictions"]) == 10  # no more than there are classes


def test_predict_saves_what_the_model_sees(run, run_dir, drawings, tmp_path):
    code, _, _ = run("predict", str(run_dir), str(drawings["seven"]), "--save-input", str(tmp_path))
    with Image.open(tmp_path / "seven.input.png") as seen:
        assert code == 0 and seen.size == (32, 32) and seen.mode == "L"
        assert seen.getpixel((0, 0)) == 0 and np.asarray(seen).max() == 255  # light ink on black, as MNIST


# -------------------------------------------------------------------------------------------------
# export


@needs_onnx
def test_export_onnx_agrees_with_pytorch_on_test_images(run, run_dir, tmp_path):
    import onnxruntime

    out_file = tmp_path / "digits.onnx"
    code, out, _ = run("export", str(run_dir), "--format", "onnx", "--out", str(out_file))
    assert code == 0 and out_file.is_file() and "checked with onnxruntime" in out
    metadata = json.loads((tmp_path / "digits.json").read_text())
    trained = Run(run_dir).trained()
    assert metadata["classes"] == list("0123456789") and metadata["input_size"] == [1, 32, 32]
    assert metadata["logit_temperature"] == 16.0 and metadata["normalization"]["mean"] == list(
        trained.normalization.mean
    )
    images = load_dataset("mnist5k").test.images[:64]
    x = trained.normalization.apply(images)
    session = onnxruntime.InferenceSession(str(out_file), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": x.numpy()})
    with torch.no_grad():
        expected = trained.model(x)
    # LeNet-5's RBF logits are minus squared distances in the hundreds: 1e-4 relative to them
    torch.testing.assert_close(torch.from_numpy(logits), expected, atol=1e-4, rtol=1e-6)


@needs_onnx
@pytest.mark.parametrize("model", ["lenet5", "resnet20"])
def test_export_onnx_matches_pytorch_at_any_batch_size(run, tmp_path, model):
    import onnx
    import onnxruntime

    write_checkpoint(tmp_path / "last.pt", model)
    code, out, _ = run("export", str(tmp_path))  # default: MODEL.onnx and MODEL.json next to the checkpoint
    path, metadata_path = tmp_path / f"{model}.onnx", tmp_path / f"{model}.json"
    assert code == 0 and path.is_file() and f"model:         {path}" in out and "checked with onnxruntime" in out
    trained = Run(tmp_path).trained()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 4):
        x = torch.randn(batch, *trained.input_size, generator=torch.Generator().manual_seed(batch))
        (logits,) = session.run(["logits"], {"input": x.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(logits), trained.model(x), atol=1e-4, rtol=1e-6)
    metadata = json.loads(metadata_path.read_text())
    channels = trained.input_size[0]
    assert metadata["model"] == model and metadata["input_size"] == list(trained.input_size)
    assert metadata["normalization"] == {"mean": [0.1] * channels, "std": [0.3] * channels}
    stored = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(stored["cnnlab"]) == metadata


def test_export_without_the_onnx_packages_says_what_to_install(fails, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    write_checkpoint(tmp_path / "best.pt")
    assert "ONNX export needs the onnxscript package(s): pip install onnxscript" in fails("export", str(tmp_path))


# -------------------------------------------------------------------------------------------------
# bad input: one line, exit code 2


def test_missing_runs_and_directories_that_are_not_runs(fails, tmp_path):
    for command in (["evaluate"], ["predict"], ["export"]):
        extra = ["x.png"] if command == ["predict"] else []
        assert "does not exist" in fails(*command, str(tmp_path / "nowhere"), *extra)
        assert "is not a cnnlab run directory" in fails(*command, str(tmp_path), *extra)


def test_corrupt_and_unknown_checkpoints(fails, tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x89junk\x00" * 100)
    assert "junk.pt is corrupt or not a checkpoint" in fails("evaluate", str(tmp_path / "junk.pt"))
    (tmp_path / "zeros.pt").write_bytes(bytes(4096))
    assert "zeros.pt is corrupt or not a checkpoint" in fails("predict", str(tmp_path / "zeros.pt"), "a.png")
    network = create_model("lenet5")
    save_checkpoint(tmp_path / "alien.pt", {
        "model": "lenet6", "config": resolve_config("lenet5").to_dict() | {"model": "lenet6"},
        "model_state": network.state_dict(), "classes": list("0123456789"), "input_size": [1, 32, 32],
        "normalization": {"mean": [0.0], "std": [1.0]},
    })  # fmt: skip
    message = fails("export", str(tmp_path / "alien.pt"))
    assert "a model this cnnlab does not have: unknown model 'lenet6'; did you mean" in message


def test_bad_images_are_named(fails, run_dir, drawings, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    message = fails("predict", str(run_dir), str(drawings["one"]), str(tmp_path / "broken.png"))
    assert message.startswith("cnnlab predict: error: cannot read image") and "broken.png" in message
    assert "missing.png does not exist" in fails("predict", str(run_dir), str(tmp_path / "missing.png"))
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    assert "found no digit in" in fails("predict", str(run_dir), str(tmp_path / "blank.png"))


def test_bad_options(fails, run_dir, drawings, tmp_path):
    (tmp_path / "file").write_text("")
    assert "is a file; it names the directory" in fails("evaluate", str(run_dir), "--out", str(tmp_path / "file"))
    assert "argument -k/--top-k: expected a positive whole number, got 0" in fails(
        "predict", str(run_dir), str(drawings["one"]), "--top-k", "0"
    )
    assert "invalid choice: 'xml'" in fails("evaluate", str(run_dir), "--format", "xml")
    assert "invalid choice: 'yaml'" in fails("predict", str(run_dir), str(drawings["one"]), "--format", "yaml")
    assert "invalid choice: 'tflite'" in fails("export", str(run_dir), "--format", "tflite")
    assert "invalid choice: 'holdout'" in fails("evaluate", str(run_dir), "--split", "holdout")
    assert "the ONNX file must end in .onnx" in fails("export", str(run_dir), "--out", "model.bin")


def test_evaluate_on_data_with_other_classes(fails, tmp_path):
    write_checkpoint(tmp_path / "best.pt", classes=5)
    message = fails("evaluate", str(tmp_path), "--data", "digits")
    assert "digits has 10 classes and the lenet5 of" in message and "was trained on 5" in message
    assert "unknown dataset 'digitz'" in fails("evaluate", str(tmp_path), "--data", "digitz")


def test_predict_goes_on_past_a_bad_image_and_reads_directories(run, run_dir, drawings, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    Image.new("L", (64, 64), 255).save(folder / "blank.png")
    (folder / "notes.txt").write_text("not an image: skipped, as ImageFolder skips it")
    code, out, err = run("predict", str(run_dir), str(drawings["seven"]), str(folder), "-k", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (
        err.startswith("cnnlab predict: error: found no digit in") and "(2 of 3 images could not be classified)" in err
    )
    assert out.startswith(f"{drawings['seven']}\n  7 ") and "blank.png\n  error: found no digit" in out
    assert "broken.png\n  error: cannot read image" in out and "notes.txt" not in out
    code, out, _ = run("predict", str(run_dir), str(folder), "--format", "json")
    images = json.loads(out)["images"]
    assert code == 2 and [sorted(image) for image in images] == [["error", "image"], ["error", "image"]]
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("predict", str(run_dir), str(empty))
    assert code == 2 and "no image files in" in err
