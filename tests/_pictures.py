"""Checks every picture test makes: the file decodes, has the size it should, and is not blank."""

from pathlib import Path

import numpy as np
from PIL import Image


def check_picture(path: str | Path, size: tuple[int, int] | None = None, min_variance: float = 50.0) -> np.ndarray:
    """Decode ``path`` fully; check its ``(width, height)`` and that its pixels vary; return them (RGB)."""
    with Image.open(path) as image:
        image.load()
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
        if size is not None:
            assert image.size == size, (path, image.size, size)
    assert pixels.var() > min_variance, f"{path} is blank (pixel variance {pixels.var():.1f})"
    return pixels
