"""A trained model ready to use: from a run directory or checkpoint to the model and its preprocessing.

Evaluation, prediction and export must see images exactly as training did. A checkpoint remembers what
that takes: the class names, the input size ``[C, H, W]`` the model was trained on, the normalisation
``(pixel / 255 - mean) / std`` and the run's configuration (dataset, split seed, logit temperature).

Image files are fitted to the model the way :func:`cnnlab.data.fit_to_model` fits a dataset (the same
function does it). A model trained on handwritten digits gets one step more, so that a digit a person
draws (dark ink on white paper, any size) looks like the MNIST digits it learned from: see
:func:`normalize_digit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.data import BatchLoader, InMemoryDataset, Normalization, Split, fit_to_model, load_dataset
from cnnlab.data.folder import eval_transform, evaluation_loader, image_mode, is_folder_name, load_folder_dataset
from cnnlab.models import ImageClassifier, create_model, get_spec
from cnnlab.training.checkpoint import load_checkpoint
from cnnlab.training.config import TrainConfig

__all__ = [
    "DIGIT_LAYOUTS",
    "PREPROCESSING",
    "DigitLayout",
    "EvaluationData",
    "TrainedModel",
    "evaluation_data",
    "fit_image",
    "load_image",
    "load_trained_model",
    "normalize_digit",
    "resolve_checkpoint",
]

PREPROCESSING = ("auto", "digit", "resize")
"""How :func:`load_image` fits a file: ``digit`` rebuilds it the MNIST way, ``resize`` only converts the
channels and pads or resizes, ``auto`` picks ``digit`` for digit models unless the image already looks
like their training data."""

# Datasets whose images are single-channel: a photo is turned gray first, as the training images were.
GRAY_DATASETS = frozenset({"mnist5k", "mnist", "digits", "fashion-mnist"})


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


@dataclass(frozen=True)
class TrainedModel:
    """A model in eval mode with everything needed to feed it as it was trained.

    Attributes:
        model: the network, in eval mode, on the CPU.
        name: its registry name.
        checkpoint: the file it was read from.
        config: the run's training configuration.
        classes: class names, by output index.
        input_size: ``(C, H, W)`` the model was trained on.
        normalization: what turns uint8 pixels into the model's input.
        epoch: epochs trained when the checkpoint was written.
    """

    model: ImageClassifier
    name: str
    checkpoint: Path
    config: TrainConfig
    classes: tuple[str, ...]
    input_size: tuple[int, int, int]
    normalization: Normalization
    epoch: int = 0

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def logit_temperature(self) -> float:
        """Probabilities are ``softmax(logits / T)``: the temperature the model was trained at."""
        return self.config.logit_temperature

    @property
    def digit_layout(self) -> DigitLayout | None:
        """How digits sit in the training images, or ``None`` if the model was not trained on digits."""
        return DIGIT_LAYOUTS.get(self.config.data)

    @property
    def gray_data(self) -> bool:
        """Whether the training images were single-channel (unknown datasets: as the model's input)."""
        return self.config.data in GRAY_DATASETS or self.input_size[0] == 1

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """``softmax(logits / T)`` for uint8 images ``(N, C, H, W)`` already fitted to :attr:`input_size`."""
        logits = self.model(self.normalization.apply(images)).float()
        return torch.softmax(logits / self.logit_temperature, dim=1)

    def preprocessing(self) -> dict[str, Any]:
        """What another runtime needs to feed the model (written next to an ONNX export)."""
        layout = self.digit_layout
        return {
            "model": self.name,
            "classes": list(self.classes),
            "input_size": list(self.input_size),
            "normalization": {"mean": list(self.normalization.mean), "std": list(self.normalization.std)},
            "pixel_scale": "x = (pixel / 255 - mean) / std per channel, pixel in 0..255",
            "logit_temperature": self.logit_temperature,
            "probabilities": "softmax(logits / logit_temperature)",
            "channels": "gray" if self.gray_data else "rgb",
            "dataset": self.config.data,
            "digits": None if layout is None else {"field": layout.field, "box": layout.box, "border": layout.border},
        }


def resolve_checkpoint(path: str | Path) -> Path:
    """The checkpoint a run directory stands for (``best.pt``, else ``last.pt``), or ``path`` itself.

    Raises:
        ValueError: nothing there, or a directory without checkpoints.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise ValueError(f"{path} is not a cnnlab run directory (it has no best.pt or last.pt)")
    if not path.exists():
        raise ValueError(f"{path} does not exist (expected a run directory or a .pt checkpoint)")
    return path


_REQUIRED_KEYS = ("model", "config", "model_state", "classes", "input_size", "normalization")


def load_trained_model(path: str | Path) -> TrainedModel:
    """Rebuild the model of a run directory or checkpoint, with its weights, in eval mode.

    Raises:
        ValueError: missing, corrupt or foreign file; a model this cnnlab does not have; weights that do
            not fit the model.
    """
    checkpoint = resolve_checkpoint(path)
    try:
        state = load_checkpoint(checkpoint)
    except ValueError:
        raise
    except Exception as error:  # torch's weights-only unpickler raises KeyError, IndexError ... on some junk
        raise ValueError(f"{checkpoint} is corrupt or not a checkpoint ({type(error).__name__}: {error})") from None
    missing = [key for key in _REQUIRED_KEYS if key not in state]
    if missing:
        raise ValueError(f"{checkpoint} lacks {', '.join(missing)}: not a checkpoint of a cnnlab training run")
    name = state["model"]
    try:
        get_spec(name)
    except ValueError as error:
        raise ValueError(f"{checkpoint} holds a model this cnnlab does not have: {error}") from None
    config = TrainConfig.from_dict(state["config"])
    classes = tuple(str(c) for c in state["classes"])
    channels, height, width = (int(v) for v in state["input_size"])
    model = create_model(name, num_classes=len(classes), in_channels=channels, **config.model_args)
    try:
        model.load_state_dict(state["model_state"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise ValueError(f"{checkpoint}: the weights do not fit {name} ({first})") from None
    model.eval()
    normalization = Normalization(tuple(state["normalization"]["mean"]), tuple(state["normalization"]["std"]))
    epoch = int(state.get("epoch", 0))
    return TrainedModel(model, name, checkpoint, config, classes, (channels, height, width), normalization, epoch)


# -------------------------------------------------------------------------------------------------
# evaluation data


@dataclass(frozen=True)
class EvaluationData:
    """One split of a dataset, fitted to a trained model, as batches."""

    dataset: str
    split: str
    loader: BatchLoader
    classes: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def evaluation_data(
    trained: TrainedModel,
    data: str | None = None,
    data_dir: str | None = None,
    split: str = "test",
    batch_size: int = 500,
    download: bool = False,
) -> EvaluationData:
    """The ``split`` of the run's dataset (or of ``data``), prepared the way the run prepared it.

    The images are fitted to the model with :func:`cnnlab.data.fit_to_model`, the validation part is
    carved with the run's seed and ``val_fraction`` (so ``train`` is what the run trained on and ``val``
    what it selected the best epoch on), and the normalisation is the checkpoint's.

    Args:
        trained: the model.
        data: another dataset with as many classes (default: the run's).
        data_dir: where torchvision's datasets are (default: the run's).
        split: ``test``, ``val`` or ``train``.
        batch_size: images per batch.
        download: let torchvision fetch a missing dataset.

    Raises:
        ValueError: unknown or missing dataset, a different number of classes, no validation split.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    config = trained.config
    name = data or config.data
    if is_folder_name(name):
        return _folder_evaluation_data(trained, name, split, batch_size)
    dataset = load_dataset(name, data_dir if data_dir is not None else config.data_dir, download)
    if dataset.num_classes != trained.num_classes:
        raise ValueError(
            f"{name} has {dataset.num_classes} classes and the {trained.name} of {trained.checkpoint} was "
            f"trained on {trained.num_classes}: evaluate on a dataset with the same classes"
        )
    notes = []
    if dataset.classes != trained.classes:
        notes.append(f"{name}'s class names differ from the run's; classes are matched by index")
    model = trained.model
    (min_h, max_h), (min_w, max_w) = model.input_size_range()

    def accepts(h: int, w: int) -> bool:
        return min_h <= h and min_w <= w and (max_h is None or h <= max_h) and (max_w is None or w <= max_w)

    dataset, fit_notes = fit_to_model(dataset, model.in_channels, accepts, get_spec(trained.name).input_size[1:])
    notes.extend(fit_notes)
    if split != "test" and config.val_fraction:
        dataset = dataset.with_validation(config.val_fraction, seed=config.seed)
    chosen = {"train": dataset.train, "val": dataset.val, "test": dataset.test}[split]
    if chosen is None:
        raise ValueError(f"the run of {trained.checkpoint} held out no validation split (val_fraction 0)")
    loader = BatchLoader(chosen, batch_size, trained.normalization)
    return EvaluationData(name, split, loader, dataset.classes, notes)


def _folder_evaluation_data(trained: TrainedModel, name: str, split: str, batch_size: int) -> EvaluationData:
    """An image folder's split, decoded and resized as the run evaluated it (resize + centre crop)."""
    config = trained.config
    folder = load_folder_dataset(name)
    if folder.num_classes != trained.num_classes:
        raise ValueError(
            f"{name} has {folder.num_classes} classes and the {trained.name} of {trained.checkpoint} was "
            f"trained on {trained.num_classes}: evaluate on a folder with the same classes"
        )
    if split != "test" and config.val_fraction:
        folder = folder.with_validation(config.val_fraction, seed=config.seed)
    chosen = {"train": folder.train, "val": folder.val, "test": folder.test}[split]
    if chosen is None:
        raise ValueError(f"the run of {trained.checkpoint} held out no validation split (val_fraction 0)")
    channels, height, width = trained.input_size
    loader = evaluation_loader(chosen, channels, (height, width), trained.normalization, batch_size)
    return EvaluationData(name, split, loader, folder.classes, [folder.layout])


# -------------------------------------------------------------------------------------------------
# image files


def fit_image(image: torch.Tensor, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """Fit one uint8 image ``(C, h, w)`` to ``channels x size`` exactly as training fits a dataset.

    Gray to RGB repeats the channel, RGB to gray takes the luma; a size up to 8 pixels short is padded
    with black (LeNet-5's 28 -> 32), any other is resized with antialiasing.
    """
    split = Split(image.unsqueeze(0), torch.zeros(1, dtype=torch.long))
    dataset = InMemoryDataset("image", ("",), split, split)
    fitted, _ = fit_to_model(dataset, channels, lambda h, w: (h, w) == tuple(size), size)
    return fitted.train.images[0]


def _read(path: Path) -> Any:
    """Open an image file with PIL, upright, with transparency flattened onto white paper."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise ValueError(f"image {path} does not exist" if not path.exists() else f"image {path} is not a file")
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now, so a truncated file fails here, with its name
            image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"cannot read image {path}: {reason}") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # A drawing saved with a transparent background has "black" there: put it on white paper instead.
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return image


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
    from PIL import Image

    ink = _normalize_stroke(_crop_to_ink(_ink(gray, name)), layout.box)
    h, w = ink.shape
    scale = layout.box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    patch = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    patch = np.clip(patch, 0, None)
    patch *= 255 / max(float(patch.max()), 1e-6)
    return _place(patch, layout)


def _looks_like_training_data(gray: np.ndarray, trained: TrainedModel, layout: DigitLayout) -> bool:
    """A dataset image saved to a file (its size, light ink on black) needs no rebuilding."""
    sizes = {(layout.field, layout.field), (layout.image_size, layout.image_size), tuple(trained.input_size[1:])}
    return gray.shape in sizes and _border_median(gray.astype(np.float32)) <= 127.5


def load_image(path: str | Path, trained: TrainedModel, preprocess: str = "auto") -> torch.Tensor:
    """An image file as the uint8 tensor ``(C, H, W)`` the model takes (before normalisation).

    Args:
        path: any format PIL reads.
        trained: the model it is for.
        preprocess: one of :data:`PREPROCESSING`.

    Raises:
        ValueError: a missing, unreadable or blank image, or ``digit`` for a model not trained on digits.
    """
    if preprocess not in PREPROCESSING:
        raise ValueError(f"preprocessing must be one of {', '.join(PREPROCESSING)}, got {preprocess!r}")
    path = Path(path)
    image = _read(path)
    layout = trained.digit_layout
    channels, height, width = trained.input_size
    if preprocess == "digit" and layout is None:
        raise ValueError(f"--preprocess digit is for models trained on digits; {trained.name} was trained on "
                         f"{trained.config.data}")  # fmt: skip
    if is_folder_name(trained.config.data) and preprocess == "auto":
        # as the run evaluated its folder: shorter side resized, centre crop, in the model's channels
        mode = image_mode(channels)
        pixels = eval_transform((height, width), None)(image.convert(mode))
        return (pixels * 255).round().to(torch.uint8)
    gray = np.asarray(image.convert("L"))
    if layout is not None and (
        preprocess == "digit" or (preprocess == "auto" and not _looks_like_training_data(gray, trained, layout))
    ):
        pixels = torch.from_numpy(normalize_digit(gray, layout, str(path))).unsqueeze(0)
    elif trained.gray_data:
        pixels = torch.from_numpy(gray.copy()).unsqueeze(0)
    else:
        pixels = torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)
    return fit_image(pixels, channels, (height, width))
