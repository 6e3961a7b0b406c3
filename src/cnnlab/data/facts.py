"""Facts about datasets that several parts of cnnlab rely on, stated once. Imports nothing heavy.

The command line reads its choices from here while it builds its parser, before torch is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AUGMENTATION",
    "BUNDLED_DATASETS",
    "DATASET_NAMES",
    "DIGIT_LAYOUTS",
    "FOLDER_PREFIX",
    "GRAY_DATASETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PREPROCESSING",
    "SPLITS",
    "TORCHVISION_DATASETS",
    "AffineRanges",
    "AugmentationConstants",
    "DigitLayout",
    "ElasticField",
    "image_channels",
    "is_folder_name",
]

BUNDLED_DATASETS = ("mnist5k", "digits")
"""The datasets that ship with cnnlab's dependencies: no data directory, no download."""

TORCHVISION_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100"}
"""The datasets torchvision reads (or downloads) into a data directory, and their ``torchvision.datasets`` class."""

DATASET_NAMES = (*BUNDLED_DATASETS, *TORCHVISION_DATASETS)
"""The datasets held in memory, by name, in the order help texts list them (:data:`cnnlab.data.datasets.DATASETS`
loads each)."""

FOLDER_PREFIX = "folder:"
"""``folder:PATH`` names an image folder, streamed from disk (:mod:`cnnlab.data.folder`)."""

GRAY_DATASETS = frozenset({"mnist5k", "mnist", "digits", "fashion-mnist"})
"""Datasets of single-channel images: a photo given to a model trained on one is turned gray first."""


def image_channels(name: str) -> int:
    """The channels of a dataset's images, known from its name: 1 for the gray ones, else 3 (RGB)."""
    return 1 if name in GRAY_DATASETS else 3


# The statistics of ImageNet's training images (torchvision's, used by the papers' reference code too):
# the stand-in normalisation of colour models with random weights, and what torchvision-compatible
# models undo when they take torchvision's preprocessing.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

SPLITS = ("test", "val", "train")
"""``test``: a dataset's test split; ``val`` and ``train``: the parts a run carved with its own seed."""

PREPROCESSING = ("auto", "digit", "resize")
"""How an image becomes a model's input: ``digit`` rebuilds it the MNIST way, ``resize`` only converts the
channels and pads or resizes, ``auto`` picks ``digit`` for digit models unless the image already looks like
their training data (:class:`cnnlab.data.preprocess.Preprocessing`)."""


@dataclass(frozen=True)
class AffineRanges:
    """``affine``: small random rotations, translations and scalings (LeCun et al. 1998, Sec. III-B).

    Attributes:
        degrees: the largest rotation either way, in degrees.
        shift: the largest translation either way, in pixels.
        scale: the largest relative change of size either way (0.1: 90% to 110%).
    """

    degrees: float = 10.0
    shift: float = 2.0
    scale: float = 0.1


@dataclass(frozen=True)
class ElasticField:
    """``elastic``: a random displacement field (Simard et al. 2003, Sec. 2: alpha 34 and sigma 4 for 28x28 digits).

    Attributes:
        alpha: how far the pixels move, in pixels.
        sigma: the width of the Gaussian that smooths the displacements, in pixels.
    """

    alpha: float = 34.0
    sigma: float = 4.0


@dataclass(frozen=True)
class AugmentationConstants:
    """The constants of every augmentation, read by both pipelines that apply them.

    The batched in-memory pipeline (:mod:`cnnlab.data.augment`) and the image folders' per-image torchvision
    transforms (:func:`cnnlab.data.transforms.train_transform`) take their ranges from here, so that an
    augmentation means the same on digits held in memory and on photos streamed from disk. The settings a
    training run may change (``crop_padding``, ``elastic_alpha``, ``elastic_sigma``) default to these values.

    Attributes:
        crop_padding: ``shift`` and ``crop``: pixels of padding on each side before a window of the original size
            is cut at random (He et al. 2016, Sec. 4.2: 4 for CIFAR's 32x32 images).
        flip_probability: ``flip``: the chance that an image is mirrored left-right (Krizhevsky et al. 2012,
            Sec. 4.1).
        affine: ``affine``'s ranges.
        elastic: ``elastic``'s displacement field.
        pca_std: ``pca``: the standard deviation of the per-image coefficients of AlexNet's colour noise
            (Krizhevsky et al. 2012, Sec. 4.1: 0.1).
    """

    crop_padding: int = 4
    flip_probability: float = 0.5
    affine: AffineRanges = AffineRanges()
    elastic: ElasticField = ElasticField()
    pca_std: float = 0.1


AUGMENTATION = AugmentationConstants()
"""The one table of augmentation constants (:class:`AugmentationConstants`)."""


def is_folder_name(name: str) -> bool:
    """Whether a dataset name is an image folder (``folder:PATH``)."""
    return name.startswith(FOLDER_PREFIX)


@dataclass(frozen=True)
class DigitLayout:
    """Where a digit sits in a dataset's images.

    Attributes:
        field: side of the square the digit is centred in.
        box: side of the box the digit is scaled to fit (aspect ratio kept).
        border: background pixels added around the field (mnist5k pads 28 to 32 for LeNet-5).
    """

    field: int
    box: int
    border: int = 0

    @property
    def image_size(self) -> int:
        return self.field + 2 * self.border


# LeCun et al.'s MNIST: "normalized to fit in a 20x20 pixel box while preserving their aspect ratio ...
# centered in a 28x28 image by computing the center of mass of the pixels". scikit-learn's digits fill
# their 8x8 grid.
DIGIT_LAYOUTS: dict[str, DigitLayout] = {
    "mnist5k": DigitLayout(field=28, box=20, border=2),
    "mnist": DigitLayout(field=28, box=20),
    "digits": DigitLayout(field=8, box=8),
}
