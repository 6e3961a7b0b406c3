"""From an image, however it comes, to the uint8 input a trained model takes: as its training images were made.

Evaluation, prediction, the pictures and the lab must all see an image the way training saw its data. A
:class:`Preprocessing` holds what that takes (the training dataset, the input size ``(C, H, W)`` and the
normalisation ``(pixel / 255 - mean) / std``) and does it for a file, a PIL image, a NumPy array or a tensor.

Images are fitted to the model the way :func:`cnnlab.data.loader.fit_to_model` fits a dataset (the same
function does it). A model trained on handwritten digits gets one step more, so that a digit a person
draws (dark ink on white paper, any size) looks like the MNIST digits it learned from: see
:func:`normalize_digit`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from cnnlab.data.datasets import InMemoryDataset, Split
from cnnlab.data.facts import DIGIT_LAYOUTS, GRAY_DATASETS, PREPROCESSING, DigitLayout, is_folder_name
from cnnlab.data.loader import Normalization, fit_to_model
from cnnlab.data.transforms import eval_transform, image_mode
from cnnlab.errors import SettingError

__all__ = [
    "MAX_PIXELS",
    "ImageSource",
    "ImageTooLarge",
    "Preprocessing",
    "decode_image",
    "describe_source",
    "fit_image",
    "normalize_digit",
    "read_image",
    "to_pil",
]

ImageSource = str | Path | Image.Image | np.ndarray | torch.Tensor
"""What :meth:`Preprocessing.image` takes: an image file, a PIL image, or pixels as an array or tensor."""


def fit_image(image: torch.Tensor, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """Fit one uint8 image ``(C, h, w)`` to ``channels x size`` exactly as training fits a dataset.

    Gray to RGB repeats the channel, RGB to gray takes the luma; a size up to 8 pixels short is padded
    with black (LeNet-5's 28 -> 32), any other is resized with antialiasing.
    """
    split = Split(image.unsqueeze(0), torch.zeros(1, dtype=torch.long))
    dataset = InMemoryDataset("image", ("",), split, split)
    fitted, _ = fit_to_model(dataset, channels, lambda h, w: (h, w) == tuple(size), size)
    return fitted.train.images[0]


def read_image(path: str | Path) -> Image.Image:
    """Open an image file with PIL, decoded, upright, with transparency flattened onto white paper.

    Raises:
        ValueError: a missing or unreadable file (the message names it).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"image {path} does not exist" if not path.exists() else f"image {path} is not a file")
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now, so a truncated file fails here, with its name
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"cannot read image {path}: {reason}") from None
    return _on_white_paper(image, f"image {path}")


MAX_PIXELS = 40_000_000
"""The most pixels :func:`decode_image` decodes (a 40-megapixel photo): more is refused before decoding."""


class ImageTooLarge(ValueError):
    """An image with more pixels than :func:`decode_image` was allowed to decode (a decompression bomb, or a big
    image where a lower limit is set): refused before its pixels are decoded."""


def decode_image(
    data: bytes, *, name: str = "the image", max_pixels: int = MAX_PIXELS, max_side: int | None = None
) -> Image.Image:
    """The bytes of an image file (PNG, JPEG, ... what PIL reads), decoded, upright, transparency on white.

    The size in the file's header is checked before anything is decoded, so a small file that claims a huge
    image (a decompression bomb) costs nothing.

    Args:
        data: the file's bytes.
        name: what an error calls the image.
        max_pixels: the most pixels decoded. A JPEG reduced by ``max_side`` counts at the scale it is decoded at.
        max_side: reduce an image longer than this on a side to that length while decoding it (``None``: full
            size), so that its full-size pixels are held once, briefly, or never: a JPEG is decoded at 1/2, 1/4
            or 1/8 scale where that leaves at least twice ``max_side`` (libjpeg's DCT scaling), any other image is
            resized right after decoding (each pixel the average of the area it covers).

    Raises:
        ImageTooLarge: more pixels than ``max_pixels`` (one line, naming ``name``).
        ValueError: no bytes, not an image, a broken file or an image without pixels (one line, naming ``name``).
    """
    if not data:
        raise ValueError(f"{name} is empty: expected the bytes of an image file (PNG, JPEG, ...)")
    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"{name} claims more than {max_pixels:,} pixels (a decompression bomb); refused") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name} is not an image: not a format PIL recognises") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{name} is not an image file PIL can read ({_reason(error)})") from None
    with opened:
        width, height = opened.size
        if width < 1 or height < 1:
            raise ValueError(f"{name} is a {width}x{height} image: it has no pixels")
        shrink = max_side is not None and max(width, height) > max_side
        if shrink:
            opened.draft(None, (2 * max_side, 2 * max_side))  # JPEG only; a no-op for other formats
        decoded_width, decoded_height = opened.size
        if decoded_width * decoded_height > max_pixels:
            raise ImageTooLarge(
                f"{name} is {width}x{height} = {width * height:,} pixels; at most {max_pixels:,} are decoded"
            )
        try:
            opened.load()
            image = _thumbnail(opened, max_side) if shrink and max(opened.size) > max_side else opened
            image = ImageOps.exif_transpose(image)  # upright, and a copy: `opened` is closed below
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise ValueError(f"{name} is a broken image file ({_reason(error)})") from None
    return _on_white_paper(image, name)


def _thumbnail(image: Image.Image, max_side: int) -> Image.Image:
    """A decoded image at ``max_side`` on its longer side, its EXIF kept (the orientation is applied after).

    Each pixel is the average of the area it covers: no filter that overshoots, so that floats in 0..1 stay
    in 0..1 and 16-bit pixels in range. Palette and 1-bit images are resized in colour or gray, so that a thin
    stroke is averaged (not dropped by the nearest-neighbour resize PIL gives those modes).
    """
    exif = image.getexif()
    if image.mode in ("1", "P", "PA"):
        image = image.convert("L" if image.mode == "1" else "RGBA")
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.resize(size, Image.Resampling.BOX)
    small.info["exif"] = exif.tobytes()
    return small


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


_DEEP_MODES = ("F", "I", "I;16", "I;16B", "I;16L", "I;16N")
"""PIL's modes of one channel deeper than 8 bits: 32-bit floats, 32-bit integers, 16-bit integers."""


def _eight_bit(image: Image.Image, name: str) -> Image.Image:
    """An image PIL would convert wrongly, as 8-bit pixels: floats, 16- and 32-bit integers, and CIELAB.

    PIL's own conversion to ``L`` or ``RGB`` clips deep pixels at 255 instead of scaling them: a float TIFF in
    0..1 would become black (blank), a 16-bit image white wherever it is lighter than 255 of 65,535. Floats in
    0..1 are scaled by 255 (as an array's floats are), 16-bit pixels by 255/65,535; floats and 32-bit integers
    from 0 to at most 255 are 8-bit values already, to at most 65,535 16-bit ones. A CIELAB TIFF goes through
    sRGB (PIL has no plain conversion from ``LAB``).

    Raises:
        ValueError: values that are not finite, below 0, or above 65,535 (no convention says what they mean).
    """
    if image.mode == "LAB":
        from PIL import ImageCms

        lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
        return ImageCms.applyTransform(image, ImageCms.buildTransform(lab, srgb, "LAB", "RGB"))  # type: ignore[return-value]
    if image.mode not in _DEEP_MODES:
        return image
    pixels = np.asarray(image, dtype=np.float64)
    if not np.isfinite(pixels).all():
        raise ValueError(f"{name} holds values that are not finite numbers")
    low, high = float(pixels.min()), float(pixels.max())
    if image.mode.startswith("I;16"):
        top = 65535.0
    else:
        tops = (1.0, 255.0, 65535.0) if image.mode == "F" else (255.0, 65535.0)
        top = next((t for t in tops if low >= 0 and high <= t), 0.0)
    if not top:
        ranges = "0..1, 0..255 or 0..65535" if image.mode == "F" else "0..255 or 0..65535"
        kind = "floats" if image.mode == "F" else "integers"
        raise ValueError(f"{name} holds {kind} from {low:g} to {high:g}; expected pixels in {ranges}")
    return Image.fromarray(np.round(pixels * (255 / top)).astype(np.uint8))


def _on_white_paper(image: Image.Image, name: str = "the image") -> Image.Image:
    """A drawing saved with a transparent background has "black" there: put it on white paper instead.

    Deep pixels (floats, 16 bits) and CIELAB become 8-bit first (:func:`_eight_bit`), so that every later
    conversion is PIL's plain one; ``name`` is what an error calls the image.
    """
    image = _eight_bit(image, name)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return image


def _pixels_to_pil(pixels: np.ndarray, name: str) -> Image.Image:
    """``(H, W)``, ``(H, W, C)`` or ``(C, H, W)`` pixels, uint8 0..255 or floats 0..1, as a PIL image."""
    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # channels first, as PyTorch keeps them
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or min(array.shape[:2]) < 1:
        raise ValueError(
            f"{name} has shape {tuple(np.shape(pixels))}; expected an image (H, W), (H, W, C) or (C, H, W) "
            "with 1, 3 or 4 channels"
        )
    if array.dtype == np.uint8:
        pass
    elif np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.bool_):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} holds values that are not finite numbers")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise ValueError(f"{name} holds floats from {low:g} to {high:g}; expected pixels in 0..1 (or uint8 0..255)")
        array = np.round(array.astype(np.float32) * 255).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"{name} holds integers outside 0..255")
        array = array.astype(np.uint8)
    else:
        raise ValueError(f"{name} holds {array.dtype} values; expected pixels (uint8 0..255 or floats 0..1)")
    return _on_white_paper(Image.fromarray(np.ascontiguousarray(array)))


def to_pil(source: ImageSource, name: str = "image") -> Image.Image:
    """Any image source (see :data:`ImageSource`) as a decoded PIL image; transparency goes on white paper.

    Raises:
        ValueError: a missing or unreadable file, or pixels that are not an image.
    """
    if isinstance(source, str | Path):
        return read_image(source)
    if isinstance(source, Image.Image):
        return _on_white_paper(source, name)
    if isinstance(source, torch.Tensor):
        return _pixels_to_pil(source.detach().cpu().numpy(), name)
    if isinstance(source, np.ndarray):
        return _pixels_to_pil(source, name)
    kind = type(source).__name__
    raise ValueError(
        f"{name} is {'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}; expected an image file's path, a PIL "
        "image, a NumPy array or a tensor"
    )


def describe_source(source: ImageSource, index: int = 0) -> str:
    """How an image source is named in results and messages: its path, else its kind and position."""
    if isinstance(source, str | Path):
        return str(source)
    kind = "PIL image" if isinstance(source, Image.Image) else type(source).__name__
    return f"{kind} #{index}"


def _border_median(pixels: np.ndarray) -> float:
    """The typical value of the outer ring of an image: its background."""
    ring = max(1, min(pixels.shape) // 20)
    border = np.concatenate(
        [pixels[:ring].ravel(), pixels[-ring:].ravel(), pixels[:, :ring].ravel(), pixels[:, -ring:].ravel()]
    )
    return float(np.median(border))


# MNIST's strokes are about 2.3 pixels wide in its 28x28 images (median over mnist5k, estimated as
# 2 x area / boundary length of the pixels above 64); the 10th percentile is 1.7, the 90th 3.0.
MNIST_STROKE_WIDTH = 2.3
THINNEST_STROKE = 1.7
THICKEST_STROKE = 3.0  # MNIST's 90th percentile
INK_THRESHOLD = 64  # of 255: a quarter of full ink, the stroke and not its faint antialiased halo


def _ink(gray: np.ndarray, name: str) -> np.ndarray:
    """Ink as light on black, 0..255: a light background is inverted, the background level removed."""
    pixels = gray.astype(np.float32)
    background = _border_median(pixels)
    if background > 127.5:  # light paper, dark ink
        pixels, background = 255 - pixels, 255 - background
    ink = np.clip(pixels - background, 0, None)
    if ink.max() < 24:  # under 10% contrast: noise, not a stroke
        raise ValueError(f"found no digit in {name}: the image is blank (no ink darker or lighter than its background)")
    return ink * (255 / ink.max())


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    return ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: a stroke of width w and length L has area wL and boundary ~2L."""
    mask = np.pad(ink > INK_THRESHOLD, 1)  # a stroke that touches the edge has a boundary there too
    boundary = (mask[:, 1:] != mask[:, :-1]).sum() + (mask[1:] != mask[:-1]).sum()
    return 2 * float(mask.sum()) / max(float(boundary), 1.0)


def _normalize_stroke(ink: np.ndarray, box: int) -> np.ndarray:
    """Bring the stroke width near MNIST's, as it will be once the digit is scaled to fit ``box``.

    A pen line on a large canvas would otherwise shrink to a faint trace under a pixel wide, and a
    marker would fill the box. Large pictures are first reduced by max pooling, which keeps every line
    at full ink, to at most 4x the box. Thick strokes are thinned by at most a quarter of their width
    each side, so that the thin parts of a brush stroke survive.
    """
    image = torch.from_numpy(np.ascontiguousarray(ink))[None, None]
    factor = max(image.shape[2:]) // (4 * box)
    if factor > 1:
        image = F.max_pool2d(image, factor, stride=factor, ceil_mode=True)
    scale = box / max(image.shape[2:])
    width = _stroke_width(image[0, 0].numpy())
    if width * scale < THINNEST_STROKE:
        grow = max(1, round((MNIST_STROKE_WIDTH / scale - width) / 2))
        padded = F.pad(image, (grow,) * 4)  # strokes on the edge grow outwards too
        image = F.max_pool2d(padded, 2 * grow + 1, stride=1, padding=grow)
    elif width * scale > THICKEST_STROKE:
        shrink = min(round((width - MNIST_STROKE_WIDTH / scale) / 2), int(width / 4))
        if shrink >= 1:
            image = -F.max_pool2d(-image, 2 * shrink + 1, stride=1, padding=shrink)
            return _crop_to_ink(image[0, 0].numpy())
    return image[0, 0].numpy()


def _place(patch: np.ndarray, layout: DigitLayout) -> np.ndarray:
    """Put ``patch`` with its centre of mass at the centre of the field, inside the field."""
    h, w = patch.shape
    mass = patch.sum()
    centre_y = float((patch.sum(axis=1) * np.arange(h)).sum() / mass)
    centre_x = float((patch.sum(axis=0) * np.arange(w)).sum() / mass)
    middle = (layout.field - 1) / 2
    top = layout.border + min(max(round(middle - centre_y), 0), layout.field - h)
    left = layout.border + min(max(round(middle - centre_x), 0), layout.field - w)
    out = np.zeros((layout.image_size, layout.image_size), dtype=np.float32)
    out[top : top + h, left : left + w] = patch
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def normalize_digit(gray: np.ndarray, layout: DigitLayout, name: str = "image") -> np.ndarray:
    """Turn a picture of one digit into the MNIST convention: light ink on black, scaled and centred.

    Steps: a light background (the median of the image's outer ring) means dark ink on paper, so the
    image is inverted; the background level is subtracted and the ink stretched to 0..255 (a photo of
    gray paper becomes black); the ink's bounding box is cut out; strokes that would end up thinner than
    MNIST's are thickened; the digit is scaled, aspect ratio kept, to fit ``layout.box`` (MNIST: 20x20)
    and placed so that its centre of mass is at the centre of a ``layout.field`` square (MNIST: 28x28),
    as LeCun et al. built MNIST; ``layout.border`` black pixels are added around (mnist5k: 28 -> 32,
    LeNet-5's input).

    Args:
        gray: the picture, 2-D, values 0..255.
        layout: where digits sit in the training images.
        name: the file, for the error message.

    Raises:
        ValueError: no ink in the picture.
    """
    ink = _normalize_stroke(_crop_to_ink(_ink(gray, name)), layout.box)
    h, w = ink.shape
    scale = layout.box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    patch = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    patch = np.clip(patch, 0, None)
    patch *= 255 / max(float(patch.max()), 1e-6)
    return _place(patch, layout)


@dataclass(frozen=True)
class Preprocessing:
    """How images become a model's input, as its training data did.

    Attributes:
        dataset: the dataset the model was trained on (``mnist5k``, ``cifar10``, ``folder:PATH``, ...).
        input_size: ``(C, H, W)`` the model takes.
        normalization: what turns uint8 pixels into the model's input.
    """

    dataset: str
    input_size: tuple[int, int, int]
    normalization: Normalization

    @property
    def digit_layout(self) -> DigitLayout | None:
        """How digits sit in the training images, or ``None`` if the model was not trained on digits."""
        return DIGIT_LAYOUTS.get(self.dataset)

    @property
    def gray(self) -> bool:
        """Whether the training images were single-channel (unknown datasets: as the model's input)."""
        return self.dataset in GRAY_DATASETS or self.input_size[0] == 1

    def _looks_like_training_data(self, gray: np.ndarray, layout: DigitLayout) -> bool:
        """A dataset image saved to a file (its size, light ink on black) needs no rebuilding."""
        sizes = {(layout.field, layout.field), (layout.image_size, layout.image_size), tuple(self.input_size[1:])}
        return gray.shape in sizes and _border_median(gray.astype(np.float32)) <= 127.5

    def image(self, source: ImageSource, mode: str = "auto", name: str | None = None) -> torch.Tensor:
        """The image as the uint8 tensor ``(C, H, W)`` the model takes (before :meth:`normalize`).

        Args:
            source: an image file's path, a PIL image, or pixels (``(H, W)``, ``(H, W, C)`` or ``(C, H, W)``;
                uint8 0..255 or floats 0..1) as a NumPy array or tensor.
            mode: one of :data:`~cnnlab.data.facts.PREPROCESSING`.
            name: what to call the image in an error (default: its path, or its kind).

        Raises:
            ValueError: a missing or unreadable file, pixels that are not an image, a blank digit, or the
                ``digit`` mode for a model not trained on digits.
        """
        if mode not in PREPROCESSING:
            raise SettingError(f"<preprocess> must be one of {', '.join(PREPROCESSING)}, got {mode!r}")
        layout = self.digit_layout
        if mode == "digit" and layout is None:
            raise SettingError(
                f"<preprocess=digit> is for models trained on digits; this one was trained on {self.dataset}"
            )
        name = name or describe_source(source)
        image = to_pil(source, name)
        channels, height, width = self.input_size
        if is_folder_name(self.dataset) and mode == "auto":
            # as the run evaluated its folder: shorter side resized, centre crop, in the model's channels
            pixels = eval_transform((height, width), None)(image.convert(image_mode(channels)))
            return (pixels * 255).round().to(torch.uint8)
        gray = np.asarray(image.convert("L"))
        if layout is not None and (
            mode == "digit" or (mode == "auto" and not self._looks_like_training_data(gray, layout))
        ):
            pixels = torch.from_numpy(normalize_digit(gray, layout, name)).unsqueeze(0)
        elif self.gray:
            pixels = torch.from_numpy(gray.copy()).unsqueeze(0)
        else:
            pixels = torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)
        return fit_image(pixels, channels, (height, width))

    def as_drawn(self, source: ImageSource, name: str | None = None) -> torch.Tensor:
        """A digit model's input with the digit left where it was drawn: "centre the digit" off in the lab and
        the published page, so that moving a digit shows what translation does to the network.

        The whole picture, light ink on black (light paper is inverted), is scaled to the digit field and put in
        the training images' border, then fitted to the model. A picture that already is a training image (its
        size, light ink on black) passes as :meth:`image` passes it. A model not trained on digits gets
        :meth:`image` (there is no digit to centre).

        Raises:
            ValueError: a missing or unreadable file, or pixels that are not an image.
        """
        layout = self.digit_layout
        if layout is None:
            return self.image(source, name=name)
        name = name or describe_source(source)
        gray = np.asarray(to_pil(source, name).convert("L"))
        if self._looks_like_training_data(gray, layout):
            return self.image(gray, name=name)
        if _border_median(gray.astype(np.float32)) > 127.5:  # light paper, dark ink
            gray = 255 - gray
        pixels = torch.from_numpy(gray.copy()).unsqueeze(0)
        pixels = fit_image(pixels, 1, (layout.field, layout.field))
        pixels = fit_image(pixels, 1, (layout.image_size, layout.image_size))  # the border (28 -> 32)
        channels, height, width = self.input_size
        return fit_image(pixels, channels, (height, width))

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images ``(N, C, H, W)`` or one ``(C, H, W)`` -> the model's float input ``(N, C, H, W)``."""
        return self.normalization.apply(images if images.dim() == 4 else images.unsqueeze(0))

    def to_dict(self) -> dict[str, Any]:
        """What another runtime needs to turn pixels into this model's input (written beside an export)."""
        layout = self.digit_layout
        return {
            "input_size": list(self.input_size),
            "normalization": {"mean": list(self.normalization.mean), "std": list(self.normalization.std)},
            "pixel_scale": "x = (pixel / 255 - mean) / std per channel, pixel in 0..255",
            "channels": "gray" if self.gray else "rgb",
            "dataset": self.dataset,
            "digits": None if layout is None else {"field": layout.field, "box": layout.box, "border": layout.border},
        }
