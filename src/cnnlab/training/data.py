"""From a config to batches: load the dataset, fit it to the model, split off validation, augment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlab.data import BatchLoader, InMemoryDataset, Normalization, fit_to_model, load_dataset
from cnnlab.data.augment import PCAColourNoise, random_affine, random_crop, random_flip
from cnnlab.data.loader import Augmentation
from cnnlab.models import ImageClassifier, get_spec
from cnnlab.training.config import TrainConfig
from cnnlab.training.distributed import Distributed

__all__ = ["PreparedData", "load_training_dataset", "prepare_data"]

EVAL_BATCH = 500


@dataclass
class PreparedData:
    """The loaders of one run and what a checkpoint must remember to use the model later."""

    train: BatchLoader
    val: BatchLoader | None
    test: BatchLoader
    classes: tuple[str, ...]
    channels: int
    image_size: tuple[int, int]
    normalization: Normalization
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def description(self) -> dict[str, Any]:
        """Stored in checkpoints, so evaluation and prediction preprocess exactly as training did."""
        return {
            "classes": list(self.classes),
            "input_size": [self.channels, *self.image_size],
            "normalization": {"mean": list(self.normalization.mean), "std": list(self.normalization.std)},
        }


def load_training_dataset(config: TrainConfig) -> InMemoryDataset:
    """The dataset the config names (image folders are not kept in memory; see :mod:`cnnlab.data.folder`)."""
    return load_dataset(config.data, config.data_dir, config.download)


def _normalization(config: TrainConfig, dataset: InMemoryDataset) -> Normalization:
    if config.normalization == "lenet":
        lenet = Normalization.lenet()
        return Normalization(lenet.mean * dataset.channels, lenet.std * dataset.channels)
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
    config: TrainConfig, dataset: InMemoryDataset, model: ImageClassifier, dist: Distributed
) -> PreparedData:
    """Fit ``dataset`` to ``model`` and build the training, validation and test loaders.

    Raises:
        ValueError: the batch size does not split evenly across processes, or the data cannot be fitted.
    """
    if config.batch_size % dist.world_size:
        raise ValueError(f"batch size {config.batch_size} does not split evenly across {dist.world_size} processes")
    spec = get_spec(config.model)
    (min_h, max_h), (min_w, max_w) = model.input_size_range()

    def accepts(h: int, w: int) -> bool:
        return min_h <= h and min_w <= w and (max_h is None or h <= max_h) and (max_w is None or w <= max_w)

    dataset, notes = fit_to_model(dataset, model.in_channels, accepts, spec.input_size[1:])
    if config.val_fraction:
        dataset = dataset.with_validation(config.val_fraction, seed=config.seed)
    normalization = _normalization(config, dataset)
    augment = _augmentations(config, dataset, normalization, notes)
    common = {"normalization": normalization, "device": dist.device, "channels_last": config.channels_last}
    train = BatchLoader(
        dataset.train, config.batch_size // dist.world_size, shuffle=True, drop_last=True, augment=augment,
        seed=config.seed, rank=dist.rank, world_size=dist.world_size, **common,
    )  # fmt: skip
    if len(train) == 0:
        raise ValueError(f"batch size {config.batch_size} is larger than the {len(dataset.train)} training images")
    val = BatchLoader(dataset.val, EVAL_BATCH, **common) if dataset.val is not None else None
    test = BatchLoader(dataset.test, EVAL_BATCH, **common)
    return PreparedData(train, val, test, dataset.classes, dataset.channels, dataset.image_size, normalization, notes)
