"""Image folders streamed from disk: torchvision's ``ImageFolder`` rules and transforms, in worker processes.

``--data folder:PATH`` accepts two layouts:

* ``PATH/train/<class>/*.jpg`` with ``PATH/test/<class>/*`` (or ``PATH/val/<class>/*`` when there is no
  ``test/``; when both exist ``test/`` is the test split and ``val/`` is left alone);
* ``PATH/<class>/*.jpg``: a fixed 80/20 test split is carved out of every class (seed 0, whatever ``--seed``
  says, so runs with different seeds are tested on the same images). Every class needs 2 images or more.

Classes and files follow ``torchvision.datasets.ImageFolder``: class folders sorted by name, files kept by
extension (``.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp``, any case), everything else ignored. The
test split must have exactly the training split's classes.

Images are decoded, converted to the model's channels (PIL ``convert("L")`` or ``convert("RGB")``) and
transformed (:mod:`cnnlab.data.transforms`, whose names this module also offers) one at a time in
``DataLoader`` worker processes, so a folder never has to fit in memory. Each
training image's random transform is seeded by (seed, epoch, image), so an epoch is the same whatever the
number of workers or processes, and a resumed run replays it exactly.

A file that cannot be decoded is not found up front (opening every file of a large folder before training
would take minutes); the worker reports it to the main process, which raises :class:`UnreadableImageError`
naming the file instead of a worker's traceback.
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Unpack

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cnnlab.data.datasets import stratified_choice
from cnnlab.data.facts import FOLDER_PREFIX, is_folder_name
from cnnlab.data.loader import LoaderOptions, Normalization, ShardedLoader, Sharding
from cnnlab.data.transforms import (
    Transform,
    UnreadableImageError,
    eval_resize,
    eval_transform,
    image_mode,
    open_image,
    train_transform,
)
from cnnlab.errors import SettingError

__all__ = [
    "FolderDataset",
    "FolderLoader",
    "FolderStatistics",
    "ImageFiles",
    "UnreadableImageError",
    "estimate_statistics",
    "eval_resize",
    "eval_transform",
    "evaluation_loader",
    "image_mode",
    "load_folder_dataset",
    "train_transform",
]

TEST_FRACTION = 0.2  # of every class, when the folder has no test split of its own
SPLIT_SEED = 0  # the carved test split never changes with --seed
STATS_IMAGES = 500  # training images the normalisation is estimated from

Sample = tuple[str, int]  # (file path, class index), as ImageFolder lists them


@dataclass(frozen=True)
class FolderDataset:
    """The files of an image folder, split into train, (optional) validation and test lists.

    Attributes:
        name: the dataset name, ``folder:PATH``.
        root: the folder.
        classes: class folder names, sorted; a sample's label indexes them.
        train, test, val: ``(path, label)`` lists that never share a file.
        layout: how the test split was found, for the run's notes.
    """

    name: str
    root: Path
    classes: tuple[str, ...]
    train: tuple[Sample, ...]
    test: tuple[Sample, ...]
    val: tuple[Sample, ...] | None = None
    layout: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def with_validation(self, fraction: float, seed: int = 0) -> FolderDataset:
        """Carve a validation part out of the training part: the same fraction of every class."""
        train, val = _stratified_split(self.train, self.num_classes, fraction, seed)
        return replace(self, train=train, val=val)


def _labels(samples: Sequence[Sample]) -> torch.Tensor:
    return torch.tensor([label for _, label in samples], dtype=torch.long)


def _stratified_split(
    samples: Sequence[Sample], num_classes: int, fraction: float, seed: int, at_least_one: bool = False
) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
    """:func:`~cnnlab.data.datasets.stratified_choice`'s files go to the second part; both keep the file order."""
    chosen = set(stratified_choice(_labels(samples), num_classes, fraction, seed, at_least_one=at_least_one).tolist())
    rest = tuple(s for i, s in enumerate(samples) if i not in chosen)
    return rest, tuple(s for i, s in enumerate(samples) if i in chosen)


def _scan(directory: Path, root: Path) -> tuple[tuple[str, ...], list[Sample]]:
    """Class names and files of one split folder, by ImageFolder's rules, with errors that say what to do."""
    from torchvision.datasets import ImageFolder  # torchvision takes a second or two to import: only when used

    try:
        found = ImageFolder(str(directory), allow_empty=False)
    except FileNotFoundError as error:
        if "class folder" in str(error):  # torchvision: "Couldn't find any class folder in ..."
            raise ValueError(
                f"no class folders in {directory}: expected {root}/<class>/<images>, or {root}/train/<class>/"
                f"<images> with {root}/test/ (or val/) beside it"
            ) from None
        # torchvision: "Found no valid file for the classes a, b. Supported extensions are: .jpg, ..."
        raise ValueError(f"{directory}: {error}") from None
    return tuple(found.classes), list(found.samples)


def _check_several(classes: tuple[str, ...], directory: Path) -> None:
    if len(classes) < 2:
        raise ValueError(f"{directory} has one class folder ({classes[0]}); a classifier needs at least two")


def _check_same_classes(train: tuple[str, ...], test: tuple[str, ...], train_dir: Path, test_dir: Path) -> None:
    if train == test:
        return
    missing, extra = sorted(set(train) - set(test)), sorted(set(test) - set(train))
    parts = ([f"missing from {test_dir}: {', '.join(missing)}"] if missing else []) + (
        [f"not in {train_dir}: {', '.join(extra)}"] if extra else []
    )
    raise ValueError(f"the test split must have the training split's classes; {'; '.join(parts)}")


def load_folder_dataset(name: str | Path) -> FolderDataset:
    """List an image folder's classes and files (nothing is decoded yet).

    Args:
        name: ``folder:PATH`` or a path; ``~`` is expanded.

    Raises:
        ValueError: no such folder, no class folders, a class folder without images, a single class, test
            classes that differ from the training classes, or a class too small to split.
    """
    text = str(name)
    path = text.removeprefix(FOLDER_PREFIX)
    if not path:
        raise SettingError("folder: needs a path, e.g. <data=folder:~/imagenette>")
    label = text if is_folder_name(text) else FOLDER_PREFIX + text
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise ValueError(f"image folder {root} is not a directory")
    if (root / "train").is_dir():
        test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
        if test_dir is None:
            raise ValueError(f"{root} has train/ but neither test/ nor val/ beside it")
        classes, train = _scan(root / "train", root)
        _check_several(classes, root / "train")
        test_classes, test = _scan(test_dir, root)
        _check_same_classes(classes, test_classes, root / "train", test_dir)
        layout = f"{label}: training images from {root / 'train'}, test images from {test_dir}"
    else:
        classes, samples = _scan(root, root)
        _check_several(classes, root)
        counts = torch.bincount(_labels(samples), minlength=len(classes)).tolist()
        small = [c for c, count in zip(classes, counts, strict=True) if count < 2]
        if small:
            raise ValueError(f"class folder(s) {', '.join(small)} of {root} need 2 images or more to split")
        train, test = _stratified_split(samples, len(classes), TEST_FRACTION, SPLIT_SEED, at_least_one=True)
        layout = f"{label}: a fixed stratified 80/20 train/test split of {root} (seed {SPLIT_SEED})"
    return FolderDataset(label, root, classes, tuple(train), tuple(test), layout=layout)


class ImageFiles(Dataset):
    """Image files decoded and transformed one at a time, by a ``DataLoader``'s workers.

    Items are asked for as ``(index, seed)``: with a seed the transform's random numbers come from it,
    without one the transform must be deterministic.

    An unreadable file does not raise in the worker, where it would reach the user as a traceback: the
    item comes back as a blank image with label ``-1 - index``, and :class:`FolderLoader` raises
    :class:`UnreadableImageError` for that file in the main process.

    Args:
        samples: ``(path, label)`` pairs.
        transform: PIL image -> ``(C, H, W)`` tensor of the model's input size.
        mode: PIL mode of the model's channels (:func:`image_mode`).
        size: the transform's output ``(H, W)``, the shape of a blank image.
    """

    def __init__(self, samples: Sequence[Sample], transform: Transform, mode: str, size: tuple[int, int]) -> None:
        self.samples, self.transform, self.mode = tuple(samples), transform, mode
        self.blank_shape = (len(mode), *size)  # "L": 1 channel, "RGB": 3

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int, seed: int | None = None) -> tuple[torch.Tensor, int]:
        """The transformed image ``index`` and its label; raises :class:`UnreadableImageError` naming a bad file."""
        path, label = self.samples[index]
        image = open_image(path, self.mode)
        try:
            if seed is None:
                return self.transform(image), label
            with torch.random.fork_rng(devices=[]):  # torchvision draws from the global RNG: keep the caller's
                torch.manual_seed(seed)
                return self.transform(image), label
        except Exception as error:  # a transform that fails on an odd image (e.g. a zero-width one)
            raise UnreadableImageError(f"cannot transform image {path}: {error}") from None

    def __getitem__(self, key: tuple[int, int | None]) -> tuple[torch.Tensor, int]:
        index, seed = key
        try:
            return self.load(index, seed)
        except UnreadableImageError:
            return torch.zeros(self.blank_shape), -1 - index


class _ShardSampler(Sampler[tuple[int, int | None]]):
    """The loader's :class:`~cnnlab.data.loader.Sharding` (order and share), as ``(index, seed)`` keys for
    :class:`ImageFiles`.

    It holds the sharding, not the loader: the DataLoader that holds this sampler must not keep the
    :class:`FolderLoader` alive (see ``_DATA_LOADERS``).
    """

    def __init__(self, sharding: Sharding) -> None:
        self.sharding = sharding

    def order(self) -> list[int]:
        return self.sharding.order().tolist()

    def __len__(self) -> int:
        return len(self.sharding)

    def __iter__(self) -> Iterator[tuple[int, int | None]]:
        seed, epoch, shuffle = self.sharding.seed, self.sharding.epoch, self.sharding.shuffle
        for index in self.order():
            # One seed per (run seed, epoch, image): the same augmentation for any worker count or shard.
            yield index, ((seed * 1_000_003 + epoch) * 10_000_019 + index) % 2**63 if shuffle else None


# The DataLoader of every live FolderLoader, with its persistent worker processes. Held here, not by the
# FolderLoader: a FolderLoader in a reference cycle (a Trainer kept by a traceback) is freed by the garbage
# collector, which first closes the worker queues of everything it frees, so that the DataLoader's shutdown
# could no longer reach its workers and waited 5 s for each of them. From here it is released by a
# finalizer while its queues still work.
_DATA_LOADERS: dict[int, DataLoader] = {}
_KEYS = itertools.count()


class FolderLoader(ShardedLoader):
    """Batches of ``(images, labels)`` from an image folder, as :class:`~cnnlab.data.loader.BatchLoader` gives them.

    With ``shuffle``, every epoch also draws new random per-image transforms, the same for a given seed and
    epoch. ``augment`` (AlexNet's PCA colour noise) works on whole normalised batches on the device, as in
    memory; :attr:`augmenting` turns only that off, not the per-image transforms.

    Args:
        files: the images and their transform.
        batch_size: images per batch (per process, under torchrun).
        workers: decoding processes (0: in this process); they persist across epochs.
        **options: the order, the share, the augmentation and the device (:class:`ShardedLoader`); memory is
            pinned for CUDA.
    """

    def __init__(
        self, files: ImageFiles, batch_size: int, *, workers: int = 0, **options: Unpack[LoaderOptions]
    ) -> None:
        super().__init__(len(files), batch_size, **options)
        self.files = files
        self.sampler = _ShardSampler(self.sharding)
        self.workers = workers
        self._key = next(_KEYS)
        _DATA_LOADERS[self._key] = self._data_loader()
        weakref.finalize(self, _DATA_LOADERS.pop, self._key, None)

    @property
    def loader(self) -> DataLoader:
        """The ``DataLoader`` behind this loader."""
        return _DATA_LOADERS[self._key]

    def _data_loader(self) -> DataLoader:
        return DataLoader(
            self.files,
            batch_size=self.batch_size,
            sampler=self.sampler,
            drop_last=self.drop_last,
            num_workers=self.workers,
            persistent_workers=self.workers > 0,
            pin_memory=self.device.type == "cuda",
            # Its own generator: worker seeds are not drawn from the global RNG, which the loop checkpoints.
            generator=torch.Generator().manual_seed(self.sharding.seed),
        )

    def _raise_unreadable(self, labels: torch.Tensor) -> None:
        _DATA_LOADERS[self._key] = self._data_loader()  # the old one stops its workers now
        index = -1 - int(labels[labels < 0][0])
        self.files.load(index, seed=0)  # decode it again here: raises with PIL's reason and the file's name
        path = self.files.samples[index][0]
        raise UnreadableImageError(f"cannot read image {path}: a worker failed to decode it (flaky storage?)")

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self._seed_augmentation()
        for x, y in self.loader:
            if (y < 0).any():
                self._raise_unreadable(y)
            yield self._ready(x.to(self.device, non_blocking=True)), y.to(self.device, non_blocking=True)


def evaluation_loader(
    samples: Sequence[Sample],
    channels: int,
    size: tuple[int, int],
    normalization: Normalization,
    batch_size: int,
    *,
    workers: int = 0,
    device: torch.device | str = "cpu",
    channels_last: bool = False,
) -> FolderLoader:
    """Batches of ``samples`` in file order, preprocessed as for evaluation (what a checkpoint's model expects)."""
    files = ImageFiles(samples, eval_transform(size, normalization), image_mode(channels), size)
    return FolderLoader(files, batch_size, workers=workers, device=device, channels_last=channels_last)


# -------------------------------------------------------------------------------------------------
# normalisation


@dataclass(frozen=True)
class FolderStatistics:
    """What is estimated once from a sample of training images.

    Attributes:
        normalization: per-channel mean and standard deviation of the evaluation view's pixels.
        images: how many images they come from.
        pixels: a grid of about 16x16 pixels of each sampled image, uint8 ``(N, C, h, w)``, enough for the
            3x3 colour covariance of AlexNet's PCA noise.
    """

    normalization: Normalization
    images: int
    pixels: torch.Tensor


def estimate_statistics(
    samples: Sequence[Sample],
    mode: str,
    size: tuple[int, int],
    *,
    seed: int = 0,
    count: int = STATS_IMAGES,
    workers: int = 0,
) -> FolderStatistics:
    """Per-channel mean and std of ``count`` training images taken in a seeded order, as the model sees them.

    Images are resized and centre-cropped as for evaluation (so a huge photo costs no more than a small
    one) and the moments are summed in float64 over every pixel.

    Raises:
        UnreadableImageError: a sampled file cannot be decoded.
    """
    order = torch.randperm(len(samples), generator=torch.Generator().manual_seed(seed))[:count].tolist()
    files = ImageFiles([samples[i] for i in order], eval_transform(size, None), mode, size)
    total = torch.zeros(len(mode), dtype=torch.float64)
    squares = torch.zeros_like(total)
    pixels, grids = 0, []
    step = max(1, min(size) // 16)
    for x, _ in FolderLoader(files, 50, workers=min(workers, math.ceil(len(files) / 50))):
        x = x.double()
        total += x.sum(dim=(0, 2, 3))
        squares += (x * x).sum(dim=(0, 2, 3))
        pixels += x.shape[0] * x.shape[2] * x.shape[3]
        grids.append((x[:, :, ::step, ::step] * 255).round().to(torch.uint8))
    mean = total / pixels
    std = (squares / pixels - mean * mean).clamp(min=0).sqrt().clamp(min=1e-3)
    normalization = Normalization(tuple(mean.tolist()), tuple(std.tolist()))
    return FolderStatistics(normalization, len(files), torch.cat(grids))
