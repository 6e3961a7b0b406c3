"""From a config to batches: load the dataset, fit it to the model, split off validation, augment.

In-memory datasets become :class:`BatchLoader` s; image folders (``folder:PATH``) become
:class:`FolderLoader` s that decode files in worker processes. Both give the loop the same surface.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from cnnlab.data.augment import PCAColourNoise, random_affine, random_crop, random_elastic, random_flip
from cnnlab.data.datasets import InMemoryDataset, Split, load_dataset
from cnnlab.data.facts import is_folder_name
from cnnlab.data.folder import (
    FolderDataset,
    FolderLoader,
    ImageFiles,
    estimate_statistics,
    evaluation_loader,
    image_mode,
    load_folder_dataset,
    train_transform,
)
from cnnlab.data.loader import Augmentation, BatchLoader, Normalization, fit_to_model
from cnnlab.errors import SettingError
from cnnlab.models import ImageClassifier, get_spec
from cnnlab.training.config import TrainConfig
from cnnlab.training.distributed import Distributed

__all__ = ["PreparedData", "carve_splits", "load_training_dataset", "prepare_data"]

EVAL_BATCH = 500


@dataclass
class PreparedData:
    """The loaders of one run and what a checkpoint must remember to use the model later."""

    train: BatchLoader | FolderLoader
    val: BatchLoader | FolderLoader | None
    test: BatchLoader | FolderLoader
    classes: tuple[str, ...]
    channels: int
    image_size: tuple[int, int]
    normalization: Normalization
    notes: list[str] = field(default_factory=list)
    train_and_val: BatchLoader | FolderLoader | None = None  # the folded epochs' (``fold_val_epochs``)
    fold_from: int = 0  # the first epoch (from 0) that trains on ``train_and_val``
    augment_until: int | None = None  # the first epoch without augmentation (``augment_off_epochs``), if any

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def folded(self, epoch: int) -> bool:
        """Whether ``epoch`` (from 0) trains on the validation images too, and so cannot be validated."""
        return self.train_and_val is not None and epoch >= self.fold_from

    def steps(self, epoch: int) -> int:
        """Optimisation steps in ``epoch`` (from 0): more when it is folded."""
        return len(self.train_and_val if self.folded(epoch) and self.train_and_val is not None else self.train)

    def training_loader(self, epoch: int) -> BatchLoader | FolderLoader:
        """The batches of ``epoch`` (from 0): with the validation images when folded, augmented or not."""
        loader = self.train_and_val if self.folded(epoch) and self.train_and_val is not None else self.train
        loader.set_epoch(epoch)
        if isinstance(loader, BatchLoader):  # image folders refuse augment_off_epochs (see _prepare_folder)
            loader.augmenting = self.augment_until is None or epoch < self.augment_until
        return loader

    def description(self) -> dict[str, Any]:
        """Stored in checkpoints, so evaluation and prediction preprocess exactly as training did."""
        return {
            "classes": list(self.classes),
            "input_size": [self.channels, *self.image_size],
            "normalization": {"mean": list(self.normalization.mean), "std": list(self.normalization.std)},
        }


def carve_splits(config: TrainConfig, dataset: InMemoryDataset) -> InMemoryDataset:
    """The validation part held out of the training part, then the training images kept (``train_images``)."""
    if config.val_fraction:
        dataset = dataset.with_validation(config.val_fraction, seed=config.seed)
    if config.train_images:
        try:
            dataset = dataset.with_train_images(config.train_images, seed=config.seed)
        except ValueError as error:
            raise SettingError(f"<train_images>: {error}") from None
    return dataset


def load_training_dataset(config: TrainConfig) -> InMemoryDataset | FolderDataset:
    """The dataset the config names; an image folder is only listed here (see :mod:`cnnlab.data.folder`)."""
    if is_folder_name(config.data):
        return load_folder_dataset(config.data)
    return load_dataset(config.data, config.data_dir, config.download)


def _lenet_normalization(channels: int) -> Normalization:
    lenet = Normalization.lenet()
    return Normalization(lenet.mean * channels, lenet.std * channels)


def _normalization(config: TrainConfig, dataset: InMemoryDataset) -> Normalization:
    if config.normalization == "lenet":
        return _lenet_normalization(dataset.channels)
    return Normalization.of(dataset.train)


def _augmentations(
    config: TrainConfig, dataset: InMemoryDataset, normalization: Normalization, notes: list[str]
) -> tuple[Augmentation, ...]:
    background = normalization.background()
    chosen: list[Augmentation] = []
    for name in config.augment:
        if name == "shift":
            chosen.append(lambda x, g: random_crop(x, config.crop_padding, g, fill=background))
        elif name == "affine":
            chosen.append(lambda x, g: random_affine(x, g, fill=background))
        elif name == "elastic":
            elastic = partial(random_elastic, alpha=config.elastic_alpha, sigma=config.elastic_sigma, fill=background)
            chosen.append(elastic)
        elif name == "crop":
            chosen.append(lambda x, g: random_crop(x, config.crop_padding, g))
        elif name == "flip":
            if dataset.flips:
                chosen.append(random_flip)
            else:
                notes.append(f"no horizontal flips: {dataset.name} images are not mirror-symmetric")
        elif name == "pca":
            if dataset.channels == 3:
                sample = dataset.train.images[:20_000]
                chosen.append(PCAColourNoise(normalization.apply(sample)))
            else:
                notes.append("no PCA colour noise: the images are not RGB")
    return tuple(chosen)


def prepare_data(
    config: TrainConfig, dataset: InMemoryDataset | FolderDataset, model: ImageClassifier, dist: Distributed
) -> PreparedData:
    """Fit ``dataset`` to ``model`` and build the training, validation and test loaders.

    Raises:
        ValueError: the batch size does not split evenly across processes, or the data cannot be fitted
            (for an image folder also: a sampled image cannot be decoded).
    """
    if config.batch_size % dist.world_size:
        raise ValueError(f"batch size {config.batch_size} does not split evenly across {dist.world_size} processes")
    if isinstance(dataset, FolderDataset):
        return _prepare_folder(config, dataset, model, dist)
    spec = get_spec(config.model)
    dataset, notes = fit_to_model(dataset, model.in_channels, model.accepts_size, spec.input_size[1:])
    dataset = carve_splits(config, dataset)
    normalization = _normalization(config, dataset)
    augment = _augmentations(config, dataset, normalization, notes)
    common = {"normalization": normalization, "device": dist.device, "channels_last": config.channels_last}
    # A core the model leaves idle makes the next batches (one intra-op thread on a 2-core machine).
    spare_core = dist.device.type == "cpu" and torch.get_num_threads() < (os.cpu_count() or 1)

    def training_loader(split: Split) -> BatchLoader:
        return BatchLoader(
            split, config.batch_size // dist.world_size, shuffle=True, drop_last=True, augment=augment,
            seed=config.seed, rank=dist.rank, world_size=dist.world_size, prefetch=spare_core, **common,
        )  # fmt: skip

    train = training_loader(dataset.train)
    if len(train) == 0:
        raise ValueError(f"batch size {config.batch_size} is larger than the {len(dataset.train)} training images")
    val = BatchLoader(dataset.val, EVAL_BATCH, **common) if dataset.val is not None else None
    if val is None:
        notes.append(
            f"no validation split: every epoch trains on all {len(dataset.train):,} training images and the result "
            "is the final weights"
        )
    test = BatchLoader(dataset.test, EVAL_BATCH, **common)
    both = None
    if config.folded_epochs and dataset.val is not None:
        both = training_loader(dataset.train.joined(dataset.val))
        notes.append(_fold_note(config, len(dataset.val)))
    augment_until = config.epochs - config.augment_off_epochs if config.augment_off_epochs else None
    return PreparedData(
        train, val, test, dataset.classes, dataset.channels, dataset.image_size, normalization, notes, both,
        config.epochs - config.folded_epochs, augment_until,
    )  # fmt: skip


def _fold_note(config: TrainConfig, val_images: int) -> str:
    epochs = config.folded_epochs
    return (
        f"the last {epochs} epoch{'s' if epochs > 1 else ''} also train on the {val_images:,} validation images "
        "and are not validated: the result is the final weights"
    )


def _prepare_folder(
    config: TrainConfig, dataset: FolderDataset, model: ImageClassifier, dist: Distributed
) -> PreparedData:
    """Loaders that decode an image folder's files in ``config.workers`` processes, at the model's input size.

    The images are converted to the model's channels and resized and cropped to its default input size
    (:func:`~cnnlab.data.folder.train_transform`); the normalisation is estimated once from the first 500
    training images of a seeded order; PCA colour noise is applied to whole batches, as in memory.
    """
    size, channels = get_spec(config.model).input_size[1:], model.in_channels
    mode = image_mode(channels)
    notes = [dataset.layout]
    for setting in ("train_images", "augment_off_epochs"):
        if getattr(config, setting):
            raise SettingError(
                f"<{setting}> applies to in-memory datasets (digits, MNIST, CIFAR), not to image folders"
            )
    if config.val_fraction:
        dataset = dataset.with_validation(config.val_fraction, seed=config.seed)
    pca = "pca" in config.augment and channels == 3
    if "pca" in config.augment and not pca:
        notes.append("no PCA colour noise: the model does not take RGB images")
    stats = None
    if config.normalization != "lenet" or pca:  # decoding 500 images costs seconds: only when they are used
        stats = estimate_statistics(dataset.train, mode, size, seed=config.seed, workers=config.workers)
    if stats is None or config.normalization == "lenet":
        normalization = _lenet_normalization(channels)
    else:
        normalization = stats.normalization
        mean, std = (", ".join(f"{v:.3f}" for v in values) for values in (normalization.mean, normalization.std))
        notes.append(f"normalisation from {stats.images} training images: mean {mean}, std {std}")
    transform, transform_notes = train_transform(size, config.augment, normalization, config.crop_padding)
    notes += transform_notes
    augment: tuple[Augmentation, ...] = ()
    if pca and stats is not None:
        augment = (PCAColourNoise(normalization.apply(stats.pixels)),)
    notes.append(f"images converted to {mode} (PIL) and to {size[0]}x{size[1]} for the model")
    common = {"workers": config.workers, "device": dist.device, "channels_last": config.channels_last}

    def training_loader(files: tuple[tuple[str, int], ...]) -> FolderLoader:
        return FolderLoader(
            ImageFiles(files, transform, mode, size), config.batch_size // dist.world_size, shuffle=True,
            drop_last=True, augment=augment, seed=config.seed, rank=dist.rank, world_size=dist.world_size, **common,
        )  # fmt: skip

    train = training_loader(dataset.train)
    if len(train) == 0:
        raise ValueError(f"batch size {config.batch_size} is larger than the {len(dataset.train)} training images")

    def loader(files: tuple[tuple[str, int], ...]) -> FolderLoader:
        # Decoded images are large (224x224x3 floats: 600 kB): training-sized batches, not EVAL_BATCH.
        return evaluation_loader(files, channels, size, normalization, config.batch_size, **common)

    val = loader(dataset.val) if dataset.val else None
    both = None
    if config.folded_epochs and dataset.val:
        both = training_loader(dataset.train + dataset.val)
        notes.append(_fold_note(config, len(dataset.val)))
    return PreparedData(
        train, val, loader(dataset.test), dataset.classes, channels, size, normalization, notes, both,
        config.epochs - config.folded_epochs,
    )  # fmt: skip
