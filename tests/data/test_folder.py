"""Image folders streamed from disk: layouts, split rules, transforms, determinism, sharding, bad files, a run."""

import gc
import json
import multiprocessing
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.checkpoint import load_checkpoint
from cnnlab.data.folder import (
    FolderLoader,
    ImageFiles,
    UnreadableImageError,
    estimate_statistics,
    eval_transform,
    load_folder_dataset,
    train_transform,
)
from cnnlab.data.loader import Normalization
from cnnlab.models import create_model
from cnnlab.run import train
from cnnlab.training import loop as loop_module
from cnnlab.training.config import resolve_config
from cnnlab.training.data import prepare_data
from cnnlab.training.distributed import Distributed
from cnnlab.training.loop import TrainingInterrupted

COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 60), "red": (220, 30, 30)}
IDENTITY = Normalization((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def _draw(directory: Path, colour: tuple[int, int, int], count: int, offset: int = 0) -> None:
    """``count`` 40x40 squares of one colour with stripes whose spacing varies, half PNG and half JPEG."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(offset, offset + count):
        pixels = np.zeros((40, 40, 3), np.uint8)
        pixels[8:32, 8:32] = colour
        pixels[:, :: 3 + i % 4] = 255
        Image.fromarray(pixels).save(directory / f"{i:02d}.{'png' if i % 2 else 'jpg'}")


def _flat(root: Path, per_class: int = 12) -> Path:
    for name, colour in COLOURS.items():
        _draw(root / name, colour, per_class)
    (root / "red" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    """3 classes x 12 images directly in the folder (the 80/20 split is carved)."""
    return _flat(tmp_path_factory.mktemp("flat"))


def _batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


# -------------------------------------------------------------------------------------------------
# layouts and split rules


def test_class_folders_get_a_fixed_stratified_80_20_split(flat):
    dataset = load_folder_dataset(f"folder:{flat}")
    assert dataset.classes == ("blue", "green", "red") and dataset.num_classes == 3  # sorted, as ImageFolder
    assert len(dataset.train) == 30 and len(dataset.test) == 6  # 10 + 2 of every class; notes.txt ignored
    for label in range(3):
        assert sum(y == label for _, y in dataset.test) == 2
    assert not {p for p, _ in dataset.train} & {p for p, _ in dataset.test}
    assert all(Path(p).parent.name == dataset.classes[y] for p, y in dataset.train + dataset.test)
    assert load_folder_dataset(str(flat)) == dataset  # the same split every time, "folder:" optional
    with_val = dataset.with_validation(0.1, seed=3)
    assert len(with_val.val) == 3 and with_val.test == dataset.test
    assert not {p for p, _ in with_val.val} & {p for p, _ in with_val.train}


def test_train_and_test_folders_are_used_as_they_are(tmp_path):
    for name, colour in COLOURS.items():
        _draw(tmp_path / "train" / name, colour, 4)
        _draw(tmp_path / "val" / name, colour, 2, offset=10)
    dataset = load_folder_dataset(f"folder:{tmp_path}")
    assert (len(dataset.train), len(dataset.test)) == (12, 6) and "val" in dataset.layout  # val/ without test/
    assert all("/val/" in p for p, _ in dataset.test)
    for name, colour in COLOURS.items():
        _draw(tmp_path / "test" / name, colour, 1, offset=20)
    dataset = load_folder_dataset(f"folder:{tmp_path}")
    assert len(dataset.test) == 3 and all("/test/" in p for p, _ in dataset.test)  # test/ wins over val/


def test_test_classes_must_match_the_training_classes(tmp_path):
    for name in ("cat", "dog"):
        _draw(tmp_path / "train" / name, (200, 100, 0), 2)
    for name in ("cat", "emu"):
        _draw(tmp_path / "test" / name, (200, 100, 0), 1)
    with pytest.raises(ValueError, match=r"missing from .*test: dog; not in .*train: emu"):
        load_folder_dataset(f"folder:{tmp_path}")


def test_folders_that_cannot_be_used_are_explained(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_folder_dataset(f"folder:{tmp_path / 'nowhere'}")
    with pytest.raises(ValueError, match="needs a path"):
        load_folder_dataset("folder:")
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a directory"):
        load_folder_dataset(f"folder:{tmp_path / 'file.jpg'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no class folders in"):
        load_folder_dataset(f"folder:{empty}")
    _draw(tmp_path / "one" / "cat", (9, 9, 9), 3)
    with pytest.raises(ValueError, match=r"one class folder \(cat\); a classifier needs at least two"):
        load_folder_dataset(f"folder:{tmp_path / 'one'}")
    _draw(tmp_path / "texts" / "cat", (9, 9, 9), 3)
    (tmp_path / "texts" / "dog").mkdir()
    (tmp_path / "texts" / "dog" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="no valid file for the classes dog"):
        load_folder_dataset(f"folder:{tmp_path / 'texts'}")
    _draw(tmp_path / "tiny" / "cat", (9, 9, 9), 3)
    _draw(tmp_path / "tiny" / "dog", (9, 9, 9), 1)
    with pytest.raises(ValueError, match="dog of .* need 2 images or more"):
        load_folder_dataset(f"folder:{tmp_path / 'tiny'}")
    _draw(tmp_path / "notest" / "train" / "cat", (9, 9, 9), 1)
    with pytest.raises(ValueError, match="neither test/ nor val/"):
        load_folder_dataset(f"folder:{tmp_path / 'notest'}")


# -------------------------------------------------------------------------------------------------
# transforms, normalisation


@pytest.mark.parametrize(
    ("size", "augment", "first"),
    [((32, 32), ("crop", "flip"), "Resize, RandomCrop"), ((80, 80), ("crop", "flip"), "RandomResizedCrop")],
)
def test_transforms_give_the_model_input_size(flat, size, augment, first):
    files = load_folder_dataset(flat).train
    transform, notes = train_transform(size, augment, IDENTITY)
    assert first in notes[0] and "RandomHorizontalFlip" in notes[0]
    for mode, channels in (("RGB", 3), ("L", 1)):
        x, _ = ImageFiles(files, transform, mode, size)[0, 7]
        assert x.shape == (channels, *size) and x.min() >= 0 and x.max() <= 1
        x, _ = ImageFiles(files, eval_transform(size, None), mode, size)[0, None]
        assert x.shape == (channels, *size)


def test_evaluation_resizes_the_shorter_side_then_crops_the_centre(tmp_path):
    # A 40x80 image whose middle half is white: at 32x32 (resize to 37x74, crop 32) only white remains.
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, 20:60] = 255
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    x, _ = ImageFiles([(str(tmp_path / "wide.png"), 0)], eval_transform((32, 32), None), "RGB", (32, 32))[0, None]
    assert x.shape == (3, 32, 32) and x[:, :, 3:-3].min() > 0.99


def test_normalisation_is_estimated_from_a_seeded_sample_of_training_images(flat):
    files = load_folder_dataset(flat).train
    stats = estimate_statistics(files, "RGB", (32, 32), count=len(files))
    view = ImageFiles(files, eval_transform((32, 32), None), "RGB", (32, 32))
    everything = torch.stack([view[i, None][0] for i in range(len(files))]).double()
    torch.testing.assert_close(torch.tensor(stats.normalization.mean), everything.mean((0, 2, 3)).float())
    torch.testing.assert_close(
        torch.tensor(stats.normalization.std), everything.std((0, 2, 3)).float(), rtol=2e-3, atol=0
    )
    assert stats.images == 30 and stats.pixels.dtype == torch.uint8 and stats.pixels.shape[:2] == (30, 3)
    few = estimate_statistics(files, "RGB", (32, 32), count=5, seed=1)
    again = estimate_statistics(files, "RGB", (32, 32), count=5, seed=1, workers=2)
    assert few.images == 5 and few.normalization == again.normalization and torch.equal(few.pixels, again.pixels)
    assert few.normalization != estimate_statistics(files, "RGB", (32, 32), count=5, seed=2).normalization


# -------------------------------------------------------------------------------------------------
# the loader


def _loader(flat, workers=0, **options):
    files = load_folder_dataset(flat).train
    transform, _ = train_transform((32, 32), ("crop", "flip"), IDENTITY)
    options = {"shuffle": True, "drop_last": True, "seed": 5, **options}
    return FolderLoader(ImageFiles(files, transform, "RGB", (32, 32)), 4, workers=workers, **options)


def test_batches_are_a_function_of_seed_and_epoch_whatever_the_workers(flat):
    state = torch.get_rng_state()
    in_process = _loader(flat)
    first = _batches(in_process)
    assert torch.equal(torch.get_rng_state(), state)  # the random transforms leave the global RNG alone
    assert len(first) == len(in_process) == 7 and in_process.num_images == 28
    assert first[0][0].shape == (4, 3, 32, 32) and first[0][1].dtype == torch.long
    workers = _loader(flat, workers=2)
    for epoch in (0, 1):
        in_process.set_epoch(epoch)
        workers.set_epoch(epoch)
        for (x0, y0), (x2, y2) in zip(_batches(in_process), _batches(workers), strict=True):
            assert torch.equal(x0, x2) and torch.equal(y0, y2)
    second = _batches(in_process)
    assert not torch.equal(torch.cat([y for _, y in first]), torch.cat([y for _, y in second]))
    in_process.set_epoch(0)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, _batches(in_process), strict=True))
    assert not torch.equal(first[0][0], _batches(_loader(flat, seed=6))[0][0])


def test_evaluation_keeps_the_file_order_and_the_last_batch(flat):
    files = load_folder_dataset(flat).test
    loader = FolderLoader(ImageFiles(files, eval_transform((32, 32), IDENTITY), "RGB", (32, 32)), 4)
    batches = _batches(loader)
    assert [len(y) for _, y in batches] == [4, 2] and len(loader) == 2 and loader.num_images == 6
    assert torch.cat([y for _, y in batches]).tolist() == [y for _, y in files]


def test_processes_get_disjoint_equal_shares(flat):
    shares = [torch.cat([y for _, y in _loader(flat, rank=r, world_size=2, drop_last=False)]) for r in range(2)]
    keys = [_loader(flat, rank=r, world_size=2).sampler.order() for r in range(2)]
    assert len(shares[0]) == len(shares[1]) == 15 and not set(keys[0]) & set(keys[1])
    assert len(_loader(flat, rank=1, world_size=2)) == 3  # 15 images, batches of 4, the last dropped


def test_channels_last_and_batch_augmentation(flat):
    def brighten(x, generator):
        return x + 1

    x, _ = next(iter(_loader(flat, channels_last=True, augment=(brighten,))))
    assert x.is_contiguous(memory_format=torch.channels_last) and x.min() >= 1


def test_a_loader_in_a_reference_cycle_stops_its_workers_promptly(flat, monkeypatch):
    children = len(multiprocessing.active_children())
    loader = _loader(flat, workers=2)
    _batches(loader)  # the workers start and persist
    loader.itself = loader  # a cycle (as a traceback makes): only the garbage collector frees it
    del loader
    # The DataLoader's shutdown tells each worker to stop, then joins it with a timeout (5 s). A worker still
    # alive when its join gives up was never told (its queue was closed first) and cost the whole timeout.
    waited_out = []
    join = multiprocessing.process.BaseProcess.join

    def join_and_check(process, timeout=None):
        join(process, timeout)
        if process.is_alive():
            waited_out.append(process.name)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "join", join_and_check)
    gc.collect()
    assert not waited_out  # not 5 s for each worker
    assert len(multiprocessing.active_children()) == children


# -------------------------------------------------------------------------------------------------
# unreadable files


@pytest.fixture
def broken(tmp_path):
    """The flat folder with a .jpg of junk bytes in it and a truncated PNG."""
    root = _flat(tmp_path / "broken", per_class=4)
    (root / "green" / "junk.jpg").write_bytes(b"\x00 this is not a JPEG \xff" * 20)
    data = (root / "blue" / "01.png").read_bytes()
    (root / "blue" / "cut.png").write_bytes(data[: len(data) // 2])
    return root


@pytest.mark.parametrize("workers", [0, 2])
def test_an_unreadable_image_is_named_in_one_line(broken, workers):
    samples = load_folder_dataset(broken).train + load_folder_dataset(broken).test
    for name in ("junk.jpg", "cut.png"):
        chosen = [s for s in samples if not s[0].endswith(("junk.jpg", "cut.png")) or s[0].endswith(name)]
        loader = FolderLoader(
            ImageFiles(chosen, eval_transform((32, 32), IDENTITY), "RGB", (32, 32)), 3, workers=workers
        )
        with pytest.raises(UnreadableImageError) as caught:
            _batches(loader)
        message = str(caught.value)
        assert message.startswith(f"cannot read image {broken}") and name in message and "\n" not in message
        assert isinstance(caught.value, ValueError)  # the CLI's exit code 2


# -------------------------------------------------------------------------------------------------
# training


def _prepared(flat, model, **changes):
    config = resolve_config(model, data=f"folder:{flat}", batch_size=4, device="cpu", workers=0, **changes)
    net = create_model(model, num_classes=3)
    return prepare_data(config, load_folder_dataset(config.data), net, Distributed(0, 1, torch.device("cpu")))


def test_prepared_data_honours_the_recipe(flat):
    data = _prepared(flat, "resnet20", augment=("crop", "flip", "pca"), val_fraction=0.1)
    x, _ = next(iter(data.train))
    assert x.shape == (4, 3, 32, 32) and data.channels == 3 and data.image_size == (32, 32)
    assert len(data.val.files) == 3 and len(data.test.files) == 6 and data.classes == ("blue", "green", "red")
    assert data.train.augment and any("normalisation from 27 training images" in note for note in data.notes)
    assert data.description()["normalization"]["std"] != [1.0, 1.0, 1.0]
    digits = _prepared(flat, "lenet5_modern", augment=("affine", "pca"))  # the recipe's LeNet normalisation
    assert digits.normalization == Normalization((0.1 / 1.275,), (1 / 1.275,)) and digits.channels == 1
    assert "no PCA colour noise: the model does not take RGB images" in digits.notes
    assert next(iter(digits.test))[0].shape == (4, 1, 32, 32)


def test_large_inputs_get_random_resized_crops(flat):
    data = _prepared(flat, "resnet18", augment=("crop", "flip"), val_fraction=0.0)
    assert any("RandomResizedCrop" in note for note in data.notes) and data.val is None
    assert next(iter(data.train))[0].shape == (4, 3, 224, 224) and next(iter(data.test))[0].shape == (4, 3, 224, 224)


@pytest.mark.parametrize("workers", ["0", "2"])
@pytest.mark.slow
def test_cnnlab_train_on_an_image_folder(flat, tmp_path, workers, capsys):
    from cnnlab.cli.main import main

    out = tmp_path / "run"
    args = ["train", "lenet5_modern", "--data", f"folder:{flat}", "--epochs", "1", "-b", "8", "--workers", workers]
    assert main([*args, "--output", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == f"folder:{flat}" and summary["test_images"] == 6
    assert set(summary["per_class_accuracy"]) == {"blue", "green", "red"}
    assert "test accuracy" in capsys.readouterr().out
    # the run evaluates again on its own folder, preprocessed as in training
    assert main(["evaluate", str(out), "--format", "json"]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    assert evaluation["top1"] == pytest.approx(summary["test_top1"]) and evaluation["images"] == 6
    # and predicts a 40x40 file of the folder, resized and cropped as in evaluation
    image = next((flat / "green").glob("*.png"))
    assert main(["predict", str(out), str(image), "--format", "json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["images"][0]["predictions"]
    assert {p["class"] for p in predictions} == {"blue", "green", "red"}
    assert sum(p["probability"] for p in predictions) == pytest.approx(1.0, abs=1e-4)


def test_cnnlab_train_names_an_unreadable_image(broken, tmp_path, capsys):
    from cnnlab.cli.main import main

    args = ["train", "resnet20", "--data", f"folder:{broken}", "--epochs", "1", "-b", "4", "--workers", "2"]
    assert main([*args, "--output", str(tmp_path / "run"), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert "cannot read image" in error and ("junk.jpg" in error or "cut.png" in error)


@pytest.mark.slow
def test_a_run_interrupted_mid_epoch_resumes_exactly(flat, tmp_path, monkeypatch):
    def config(name):
        settings = {"data": f"folder:{flat}", "epochs": 2, "batch_size": 4, "workers": 2, "deterministic": True}
        return resolve_config(
            "resnet20", output=str(tmp_path / name), device="cpu", augment=("crop", "flip"), **settings
        )

    def quiet(_message):
        pass

    straight = train(config("straight"), progress=False, log=quiet)

    class StopAfter(list):  # a Ctrl-C flag that goes up at the 11th check: epoch 2, step 5
        checks = 10

        def __getitem__(self, index):
            self.checks -= 1
            return self.checks < 0

    @contextmanager
    def interrupt_soon():
        yield StopAfter([False])

    monkeypatch.setattr(loop_module, "_stop_on_ctrl_c", interrupt_soon)
    with pytest.raises(TrainingInterrupted, match="epoch 2, step 5"):  # 6 steps an epoch: 27 images, batches of 4
        train(config("resumed"), progress=False, log=quiet)
    monkeypatch.undo()
    resumed = train(resume=tmp_path / "resumed", progress=False, log=quiet)
    a, b = (load_checkpoint(run.path / "last.pt")["model_state"] for run in (straight, resumed))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_in_memory_loader_points_image_folders_to_this_module():
    from cnnlab.data.datasets import load_dataset

    with pytest.raises(ValueError, match="folder:x is an image folder, streamed from disk"):
        load_dataset("folder:x")


@pytest.mark.parametrize(("setting", "value"), [("train_images", 10), ("augment_off_epochs", 2)])
def test_settings_for_data_in_memory_are_refused_for_a_folder(flat, tmp_path, setting, value):
    from cnnlab.errors import SettingError
    from cnnlab.run import train

    with pytest.raises(SettingError, match=f"^{setting} applies to in-memory datasets"):
        train("alexnet", data=f"folder:{flat}", epochs=1, output=str(tmp_path / "run"), progress=False,
              **{setting: value})  # fmt: skip
    assert not (tmp_path / "run").exists()  # refused before anything was written
