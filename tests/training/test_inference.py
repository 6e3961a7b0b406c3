import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cnnlab.data import InMemoryDataset, Split, fit_to_model, load_dataset
from cnnlab.models import create_model
from cnnlab.training import resolve_config
from cnnlab.training.checkpoint import save_checkpoint
from cnnlab.training.inference import (
    DIGIT_LAYOUTS,
    PREPROCESSING,
    evaluation_data,
    fit_image,
    load_image,
    load_trained_model,
    normalize_digit,
    resolve_checkpoint,
)

MNIST = DIGIT_LAYOUTS["mnist5k"]


def write_checkpoint(path, model="lenet5", *, classes=10, data="mnist5k", val_fraction=0.1, seed=0, **extra):
    """A checkpoint as `cnnlab train` writes it, of an untrained model: enough to load and run."""
    torch.manual_seed(seed)
    network = create_model(model, num_classes=classes)
    c, h, w = network.spec.input_size
    config = resolve_config(model, data=data, val_fraction=val_fraction, seed=seed).to_dict()
    state = {
        "model": model, "config": config, "model_state": network.state_dict(), "epoch": 3,
        "classes": [str(i) for i in range(classes)], "input_size": [c, h, w],
        "normalization": {"mean": [0.1] * c, "std": [0.3] * c}, **extra,
    }  # fmt: skip
    save_checkpoint(path, state)
    return network


def draw(size=(200, 200), lines=(((100, 30), (100, 170)),), width=14, ink=0, paper=255, mode="L"):
    """A digit drawn with straight strokes, dark ink on white paper by default."""
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    for line in lines:
        pen.line(line, fill=ink, width=width)
    return image


SEVEN = (((55, 45), (150, 45), (90, 165)),)


def stroke_width(image):
    mask = np.pad(np.asarray(image) > 64, 1)
    boundary = (mask[:, 1:] != mask[:, :-1]).sum() + (mask[1:] != mask[:-1]).sum()
    return 2 * mask.sum() / boundary


# -------------------------------------------------------------------------------------------------
# loading


def test_run_directory_uses_best_then_last(tmp_path):
    write_checkpoint(tmp_path / "last.pt")
    assert resolve_checkpoint(tmp_path) == tmp_path / "last.pt"
    write_checkpoint(tmp_path / "best.pt")
    assert resolve_checkpoint(tmp_path) == tmp_path / "best.pt"
    assert resolve_checkpoint(tmp_path / "last.pt") == tmp_path / "last.pt"


def test_missing_paths_and_directories_that_are_not_runs(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        resolve_checkpoint(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="is not a cnnlab run directory"):
        resolve_checkpoint(tmp_path)


def test_loaded_model_has_the_weights_and_is_in_eval_mode(tmp_path):
    network = write_checkpoint(tmp_path / "best.pt", "resnet20")
    trained = load_trained_model(tmp_path)
    assert not trained.model.training and trained.name == "resnet20" and trained.epoch == 3
    assert trained.input_size == (3, 32, 32) and trained.classes == tuple("0123456789")
    for key, value in network.state_dict().items():
        assert torch.equal(trained.model.state_dict()[key], value), key
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    probabilities = trained.probabilities(x)
    network.eval()
    with torch.no_grad():
        expected = torch.softmax(network((x.float() / 255 - 0.1) / 0.3), dim=1)
    torch.testing.assert_close(probabilities, expected)


def test_probabilities_use_the_runs_logit_temperature(tmp_path):
    write_checkpoint(tmp_path / "best.pt", "lenet5")  # the lenet5 recipe trains at temperature 16
    trained = load_trained_model(tmp_path)
    assert trained.logit_temperature == 16.0
    x = torch.randint(0, 256, (1, 1, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        logits = trained.model(trained.normalization.apply(x))
    torch.testing.assert_close(trained.probabilities(x), torch.softmax(logits / 16, dim=1))


def test_bad_checkpoints_are_refused_with_their_reason(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x89junk\x00" * 50)
    with pytest.raises(ValueError, match="junk.pt is corrupt or not a checkpoint"):
        load_trained_model(tmp_path / "junk.pt")
    write_checkpoint(tmp_path / "alien.pt", model="lenet5")
    state = torch.load(tmp_path / "alien.pt", weights_only=True)
    save_checkpoint(tmp_path / "alien.pt", {**state, "model": "lenet6"})
    with pytest.raises(ValueError, match="a model this cnnlab does not have: unknown model 'lenet6'"):
        load_trained_model(tmp_path / "alien.pt")
    save_checkpoint(tmp_path / "partial.pt", {"model": "lenet5", "epoch": 1})
    with pytest.raises(ValueError, match="lacks config, model_state"):
        load_trained_model(tmp_path / "partial.pt")
    save_checkpoint(tmp_path / "mixed.pt", {**state, "model": "resnet20"})
    with pytest.raises(ValueError, match="the weights do not fit resnet20"):
        load_trained_model(tmp_path / "mixed.pt")


# -------------------------------------------------------------------------------------------------
# evaluation data


def test_evaluation_data_is_the_runs_split(tmp_path):
    write_checkpoint(tmp_path / "best.pt", val_fraction=0.1, seed=3)
    trained = load_trained_model(tmp_path)
    full = load_dataset("mnist5k")
    carved = full.with_validation(0.1, seed=3)
    for split, expected in (("test", full.test), ("val", carved.val), ("train", carved.train)):
        data = evaluation_data(trained, split=split)
        assert torch.equal(data.loader.images, expected.images) and torch.equal(data.loader.labels, expected.labels)
        assert data.loader.normalization == trained.normalization and data.dataset == "mnist5k"


def test_evaluation_on_another_dataset_is_fitted_like_training(tmp_path):
    write_checkpoint(tmp_path / "best.pt")
    data = evaluation_data(load_trained_model(tmp_path), data="digits")
    assert data.loader.images.shape[1:] == (1, 32, 32) and len(data.loader.labels) == 360
    assert data.notes == ["digits: 8x8 images resized to 32x32 for the model"]


def test_evaluation_data_refuses_other_classes_and_a_missing_validation_split(tmp_path):
    write_checkpoint(tmp_path / "five.pt", classes=5)
    with pytest.raises(ValueError, match="mnist5k has 10 classes and the lenet5 of .* was trained on 5"):
        evaluation_data(load_trained_model(tmp_path / "five.pt"))
    write_checkpoint(tmp_path / "noval.pt", val_fraction=0.0)
    with pytest.raises(ValueError, match="held out no validation split"):
        evaluation_data(load_trained_model(tmp_path / "noval.pt"), split="val")


# -------------------------------------------------------------------------------------------------
# images


@pytest.mark.parametrize(
    ("size", "channels", "target"), [(28, 1, 32), (8, 1, 32), (32, 1, 32), (28, 3, 32), (40, 1, 32)]
)
def test_fit_image_is_fit_to_model(size, channels, target):
    images = torch.randint(0, 256, (3, 1, size, size), dtype=torch.uint8)
    dataset = InMemoryDataset(
        "x",
        ("a",),
        Split(images, torch.zeros(3, dtype=torch.long)),
        Split(images[:1], torch.zeros(1, dtype=torch.long)),
    )
    fitted, _ = fit_to_model(dataset, channels, lambda h, w: h == w == target, (target, target))
    for image, expected in zip(images, fitted.train.images, strict=True):
        assert torch.equal(fit_image(image, channels, (target, target)), expected)


def test_digit_follows_the_mnist_convention():
    digit = normalize_digit(np.asarray(draw(size=(300, 240), lines=SEVEN)), MNIST)
    assert digit.shape == (32, 32) and digit.dtype == np.uint8 and digit.max() == 255
    rows, cols = np.nonzero(digit > 0)
    assert rows.max() - rows.min() + 1 <= 21 and cols.max() - cols.min() + 1 <= 21  # a 20x20 box (+ halo)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) >= 18
    assert digit[:2].max() == digit[-2:].max() == digit[:, :2].max() == digit[:, -2:].max() == 0  # 28 -> 32 border
    weights = digit.astype(float) / digit.sum()
    centre = ((weights.sum(1) * np.arange(32)).sum(), (weights.sum(0) * np.arange(32)).sum())
    assert np.allclose(centre, 15.5, atol=0.75)  # centre of mass at the centre of the field


def test_digit_does_not_depend_on_ink_colour_canvas_or_position():
    reference = normalize_digit(np.asarray(draw(lines=SEVEN)), MNIST).astype(int)
    light_on_dark = normalize_digit(np.asarray(draw(lines=SEVEN, ink=250, paper=10)), MNIST).astype(int)
    shifted = tuple(tuple((x + 120, y + 60) for x, y in line) for line in SEVEN)
    moved = normalize_digit(np.asarray(draw(size=(500, 400), lines=shifted)), MNIST).astype(int)
    gray_paper = normalize_digit(np.asarray(draw(lines=SEVEN, ink=70, paper=190)), MNIST).astype(int)
    for other in (light_on_dark, moved, gray_paper):
        assert np.abs(other - reference).mean() < 4, np.abs(other - reference).mean()


def test_thin_and_thick_strokes_come_out_near_mnist_width():
    pen = normalize_digit(np.asarray(draw(size=(1200, 1200), lines=(((600, 100), (600, 1100)),), width=3)), MNIST)
    marker = normalize_digit(np.asarray(draw(lines=SEVEN, width=45)), MNIST)
    assert 1.7 <= stroke_width(pen) <= 3.5, stroke_width(pen)
    assert stroke_width(marker) <= 4.0, stroke_width(marker)
    assert pen.max() == 255


def test_blank_pictures_have_no_digit():
    with pytest.raises(ValueError, match="found no digit in blank.png"):
        normalize_digit(np.full((50, 50), 255, dtype=np.uint8), MNIST, "blank.png")


def test_dataset_images_saved_as_files_come_back_unchanged(tmp_path):
    write_checkpoint(tmp_path / "best.pt")
    trained = load_trained_model(tmp_path)
    test = load_dataset("mnist5k").test.images[:20]
    for index, image in enumerate(test):
        Image.fromarray(image[0].numpy()).save(tmp_path / f"{index}.png")
        assert torch.equal(load_image(tmp_path / f"{index}.png", trained), image)
        cropped = tmp_path / f"{index}-28.png"  # MNIST's own 28x28 is padded to 32 like the dataset
        Image.fromarray(image[0, 2:30, 2:30].numpy()).save(cropped)
        assert torch.equal(load_image(cropped, trained), image)


def test_drawings_are_rebuilt_and_transparency_goes_on_white(tmp_path):
    write_checkpoint(tmp_path / "best.pt")
    trained = load_trained_model(tmp_path)
    draw(lines=SEVEN).save(tmp_path / "seven.png")
    transparent = draw(lines=SEVEN, ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    transparent.save(tmp_path / "transparent.png")
    draw(lines=SEVEN, ink=(20, 20, 120), paper=(250, 240, 220), mode="RGB").save(tmp_path / "blue.jpg", quality=90)
    seven = load_image(tmp_path / "seven.png", trained)
    assert seven.shape == (1, 32, 32) and seven.dtype == torch.uint8
    assert torch.equal(load_image(tmp_path / "transparent.png", trained), seven)
    assert (load_image(tmp_path / "blue.jpg", trained).int() - seven.int()).abs().float().mean() < 6
    resized = load_image(tmp_path / "seven.png", trained, "resize")
    assert resized.float().mean() > 200  # no rebuilding: white paper stays white


def test_rgb_models_get_rgb_and_gray_data_gets_gray(tmp_path):
    write_checkpoint(tmp_path / "cifar.pt", "resnet20", data="cifar10")
    write_checkpoint(tmp_path / "digits.pt", "resnet20", data="mnist5k")
    picture = Image.new("RGB", (64, 48), (200, 30, 30))
    picture.save(tmp_path / "red.png")
    colour = load_image(tmp_path / "red.png", load_trained_model(tmp_path / "cifar.pt"))
    assert colour.shape == (3, 32, 32) and colour[0].float().mean() > 190 and colour[1].float().mean() < 40
    digits = load_trained_model(tmp_path / "digits.pt")
    gray = load_image(tmp_path / "red.png", digits, "resize")
    assert gray.shape == (3, 32, 32) and torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    with pytest.raises(ValueError, match="--preprocess digit is for models trained on digits"):
        load_image(tmp_path / "red.png", load_trained_model(tmp_path / "cifar.pt"), "digit")


def test_unreadable_images_are_named(tmp_path):
    write_checkpoint(tmp_path / "best.pt")
    trained = load_trained_model(tmp_path)
    (tmp_path / "junk.png").write_bytes(b"definitely not a png")
    with pytest.raises(ValueError, match="cannot read image .*junk.png"):
        load_image(tmp_path / "junk.png", trained)
    draw().save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:120])
    with pytest.raises(ValueError, match="cannot read image .*cut.png"):
        load_image(tmp_path / "cut.png", trained)
    with pytest.raises(ValueError, match="image .*missing.png does not exist"):
        load_image(tmp_path / "missing.png", trained)


def test_the_cli_offers_the_same_preprocessing_choices():
    from cnnlab.cli.predict import PREPROCESSING as CLI_CHOICES

    assert CLI_CHOICES == PREPROCESSING
