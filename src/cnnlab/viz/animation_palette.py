"""The frames' palette: an animation's GIF frames share one palette of :data:`PALETTE_SIZE` colours, and each
frame is painted as indices into it (a cell drawn once, pasted wherever it appears)."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["PALETTE_SIZE", "Indexer", "nearest", "palette_image", "paste", "snapped"]

PALETTE_SIZE = 64  # colours of the frames (the cells' few, and their text's antialiasing); index 64 stays unused


def nearest(palette: Image.Image, colour: tuple[int, int, int]) -> int:
    entries = np.array(palette.getpalette()[: 3 * 256], dtype=np.int32).reshape(-1, 3)
    return int(((entries - np.array(colour)) ** 2).sum(axis=1).argmin())


def snapped(palette: Image.Image, colours: list[tuple[int, ...]]) -> Image.Image:
    """The palette with its entry nearest each of ``colours`` set to it exactly: white stays white."""
    entries = np.array(palette.getpalette()[: 3 * PALETTE_SIZE], dtype=np.int32).reshape(-1, 3)
    taken: set[int] = set()
    for colour in dict.fromkeys(colour[:3] for colour in colours):  # each once, in order
        distances = ((entries - np.array(colour)) ** 2).sum(axis=1)
        distances[list(taken)] = np.iinfo(np.int32).max
        index = int(distances.argmin())
        entries[index] = colour
        taken.add(index)
    palette.putpalette(entries.astype(np.uint8).reshape(-1).tolist())
    return palette


class Indexer:
    """An RGB picture as indices of the palette entry nearest each pixel's colour, exactly.

    (Pillow's own mapping looks colours up in a coarse cache, which can send white to a near-white.)
    """

    def __init__(self, palette: Image.Image) -> None:
        self.entries = np.array(palette.getpalette()[: 3 * PALETTE_SIZE], dtype=np.int32).reshape(-1, 3)
        self.known: dict[int, int] = {}

    def __call__(self, image: Image.Image) -> np.ndarray:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int32)
        packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
        colours, inverse = np.unique(packed, return_inverse=True)
        for colour in colours.tolist():
            if colour not in self.known:
                rgb = np.array([colour >> 16, (colour >> 8) & 255, colour & 255])
                self.known[colour] = int(((self.entries - rgb) ** 2).sum(axis=1).argmin())
        lookup = np.array([self.known[colour] for colour in colours.tolist()], dtype=np.uint8)
        return lookup[inverse.reshape(packed.shape)]


def paste(frame: np.ndarray, box: tuple[int, int, int, int], tile: np.ndarray) -> None:
    left, top = box[0], box[1]
    frame[top : top + tile.shape[0], left : left + tile.shape[1]] = tile


def palette_image(indexed: np.ndarray, palette: Image.Image) -> Image.Image:
    image = Image.fromarray(indexed, mode="P")
    image.putpalette(palette.getpalette())
    return image
