"""How one image file becomes a model's input: decoded by PIL, resized and cropped by torchvision's transforms.

The image folders (:mod:`cnnlab.data.folder`) stream their files through these transforms one image at a time;
:mod:`cnnlab.data.preprocess` prepares a single photo for a model trained on a folder with
:func:`eval_transform`. The training transform's augmentations take their ranges from
:data:`~cnnlab.data.facts.AUGMENTATION`, as the in-memory pipeline's batched ones do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image, UnidentifiedImageError

from cnnlab.data.facts import AUGMENTATION
from cnnlab.data.loader import Normalization

__all__ = [
    "Transform",
    "UnreadableImageError",
    "affine_transform",
    "eval_resize",
    "eval_transform",
    "image_mode",
    "open_image",
    "train_transform",
]

SMALL_INPUT = 64  # model inputs up to this size get Resize + RandomCrop instead of RandomResizedCrop

Transform = Callable[[Image.Image], torch.Tensor]


class UnreadableImageError(ValueError):
    """An image file that PIL cannot decode (or transform); the message names the file."""


def image_mode(channels: int) -> str:
    """The PIL mode images are converted to for a model with ``channels`` input channels."""
    modes = {1: "L", 3: "RGB"}
    if channels not in modes:
        raise ValueError(f"image folders give grayscale or RGB images, but the model takes {channels} channels")
    return modes[channels]


def open_image(path: str, mode: str) -> Image.Image:
    """Decode ``path`` fully and convert it to ``mode``.

    Raises:
        UnreadableImageError: the file is not an image PIL can decode, or is truncated.
    """
    try:
        with Image.open(path) as image:
            return image.convert(mode)  # decodes now, so a truncated file fails here and not in a transform
    except UnidentifiedImageError:
        raise UnreadableImageError(f"cannot read image {path}: not an image format PIL recognises") from None
    except Exception as error:  # PIL raises OSError, SyntaxError, ValueError, zlib.error... for broken files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UnreadableImageError(f"cannot read image {path}: {reason}") from None


def eval_resize(size: tuple[int, int]) -> int:
    """The shorter side images are resized to before the centre crop: ``input * 256 / 224`` (ImageNet's rule)."""
    return round(min(size) * 256 / 224)


def eval_transform(size: tuple[int, int], normalization: Normalization | None) -> Transform:
    """Resize the shorter side to :func:`eval_resize`, centre crop ``size``, to tensor, normalise (if given)."""
    from torchvision import transforms as T

    steps: list[Callable] = [T.Resize(eval_resize(size), antialias=True), T.CenterCrop(size), T.ToTensor()]
    if normalization is not None:
        steps.append(T.Normalize(normalization.mean, normalization.std))
    return T.Compose(steps)


def affine_transform(size: tuple[int, int]) -> Callable:
    """torchvision's ``RandomAffine`` with :data:`~cnnlab.data.facts.AUGMENTATION`'s ranges, for ``size`` images.

    The in-memory :func:`~cnnlab.data.augment.random_affine` one image at a time: the same rotation, shift in
    pixels and scale, bilinear, black (0) where pixels come in from outside.
    """
    from torchvision import transforms as T

    h, w = size
    shift, scale = AUGMENTATION.affine.shift, AUGMENTATION.affine.scale
    return T.RandomAffine(
        AUGMENTATION.affine.degrees, translate=(shift / w, shift / h), scale=(1 - scale, 1 + scale),
        interpolation=T.InterpolationMode.BILINEAR, fill=0,
    )  # fmt: skip


def train_transform(
    size: tuple[int, int],
    augment: Sequence[str],
    normalization: Normalization,
    crop_padding: int = AUGMENTATION.crop_padding,
) -> tuple[Transform, list[str]]:
    """The per-image training transform for the config's augmentation names, and what it did with them.

    * ``crop``: ``RandomResizedCrop(size)`` (Szegedy et al. 2015's scale and aspect jitter) for inputs larger
      than 64 pixels; for small inputs (LeNet, CIFAR models) an 8%-of-the-area crop would leave a few pixels,
      so ``Resize`` to :func:`eval_resize` + ``RandomCrop(size)``: the evaluation view, shifted.
      Without ``crop`` training sees the evaluation view (``Resize`` + ``CenterCrop``).
    * ``shift``: ``RandomCrop(size, padding=crop_padding)``, black borders (as the in-memory ``shift``).
    * ``affine``: :func:`affine_transform`, the in-memory ``affine``.
    * ``flip``: ``RandomHorizontalFlip`` with :data:`~cnnlab.data.facts.AUGMENTATION`'s probability.
    * ``pca`` is not a per-image transform: :class:`~cnnlab.data.folder.FolderLoader` applies it to whole batches.

    Returns:
        The transform and one note describing it.
    """
    from torchvision import transforms as T

    steps: list[Callable] = []
    if "crop" in augment and min(size) > SMALL_INPUT:
        steps.append(T.RandomResizedCrop(size, antialias=True))
    elif "crop" in augment:
        steps += [T.Resize(eval_resize(size), antialias=True), T.RandomCrop(size)]
    else:
        steps += [T.Resize(eval_resize(size), antialias=True), T.CenterCrop(size)]
    if "shift" in augment:
        steps.append(T.RandomCrop(size, padding=crop_padding, fill=0))
    if "affine" in augment:
        steps.append(affine_transform(size))
    if "flip" in augment:
        steps.append(T.RandomHorizontalFlip(AUGMENTATION.flip_probability))
    names = ", ".join(type(step).__name__ for step in steps)
    steps += [T.ToTensor(), T.Normalize(normalization.mean, normalization.std)]
    return T.Compose(steps), [f"image folder training transform: {names}; evaluation: Resize, CenterCrop"]
