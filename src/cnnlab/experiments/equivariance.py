"""A convolution of a shifted image is the shifted feature map; pooling makes features change little.

The lecture: shared weights "extract the same feature at different positions in the image", and pooling
gives "invariance to small translations". The first is exact: away from the borders, conv(shift(x)) equals
shift(conv(x)) to the last bit. The second is approximate, and measured: the relative change of a
two-stage feature vector (conv -> ReLU -> [pool] -> conv -> ReLU -> [pool], LeNet-5's layout) when the input
digit moves by 0-4 pixels, without pooling and with max, mean and learned (mixed, Lp) pooling.

The convolutions have random weights: equivariance holds for any kernel, and the pooling effect comes from the
pooling, not from what the kernels learned. Each seed draws its own kernels and its own test digits.

Measurable form: the largest |conv(shift x) - shift(conv x)| away from the borders, over every seed, shift and
digit, below :data:`EXACT` (1e-5: float32 rounding; it is an identity, judged as it is); and for each pooling
type, the relative change of the features without pooling minus with it, at shifts of 1 and 2 pixels (their
mean, in points), above 0 on each seed (:data:`LESS`: pooling makes the features change less), judged by the
95 % Student's t interval over the seeds. No paper gives a number for these: LeCun et al. 1998 (Sec. II-A)
state both properties in words.
"""

from __future__ import annotations

import statistics

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data.datasets import load_dataset
from cnnlab.data.loader import Normalization
from cnnlab.experiments._base import ExperimentResult, Settings, register
from cnnlab.experiments._scaffold import CANVAS, finish, for_slides, save_figure, verdict_of
from cnnlab.experiments._verdict import Judgement, judge, judge_exact
from cnnlab.layers.pooling import LearnedLPPool2d, MixedPool2d
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["equivariance_experiment", "plot_equivariance", "shift_right"]

CLAIM = "convolution commutes with shifts (exactly, away from borders); pooling makes features change little"
SHIFTS = (0, 1, 2, 3, 4)
POOLS = ("none", "max", "mean", "mixed", "lp")
PRESETS = {"quick": {"images": 64, "seeds": tuple(range(10))}, "full": {"images": 1000, "seeds": tuple(range(10))}}
EXACT = 1e-5  # conv(shift x) and shift(conv x) agree to float32 rounding: the identity holds
LESS = 0.0  # pooling's features change less than the unpooled ones: the difference (points) is above this
SMALL = (1, 2)  # the "small translations" (pixels) the pooling part is judged at


def shift_right(x: torch.Tensor, pixels: int, fill: float) -> torch.Tensor:
    """Move images ``pixels`` to the right; the columns that come in are ``fill`` (the background)."""
    if pixels == 0:
        return x.clone()
    out = torch.full_like(x, fill)
    out[..., pixels:] = x[..., :-pixels]
    return out


def _pool(kind: str, channels: int) -> nn.Module:
    return {
        "none": nn.Identity(),
        "max": nn.MaxPool2d(2),
        "mean": nn.AvgPool2d(2),
        "mixed": MixedPool2d(2, num_channels=channels),  # an even mix at initialisation
        "lp": LearnedLPPool2d(2, num_channels=channels),  # p = 2 at initialisation
    }[kind]


class _TwoStages(nn.Module):
    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, pool: str) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2
        self.pool1, self.pool2 = _pool(pool, conv1.out_channels), _pool(pool, conv2.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(F.relu(self.conv1(x)))
        return self.pool2(F.relu(self.conv2(x))).flatten(1)


def _relative_change(network: nn.Module, x: torch.Tensor, fill: float) -> list[float]:
    base = network(x)
    changes = []
    for s in SHIFTS:
        moved = network(shift_right(x, s, fill))
        changes.append(((moved - base).norm(dim=1) / base.norm(dim=1).clamp(min=1e-12)).mean().item())
    return changes


@for_slides
def plot_equivariance(
    x: torch.Tensor,
    conv: nn.Conv2d,
    fill: float,
    changes: dict[str, list[float]],
    held: bool | None = None,
    condition: str = "",
) -> Picture:
    """The digit and its shift, the map of each and their difference (a colour bar: zero inside, not only dark),
    and the change of the pooled features against the shift.

    The three feature maps are signed: they share one diverging colour scale centred on zero; so does the
    difference, on its own scale.
    """
    from matplotlib.ticker import MaxNLocator

    figure = new_picture(*CANVAS)
    grid = figure.add_gridspec(2, 4, width_ratios=[1, 1, 1.3, 2.0])
    image, moved = x[0, 0], shift_right(x[:1], 3, fill)[0, 0]
    with torch.no_grad():
        feature, feature_moved = conv(x[:1])[0, 0], conv(shift_right(x[:1], 3, fill))[0, 0]
    feature_shifted = shift_right(feature[None, None], 3, 0.0)[0, 0]
    difference = feature_moved - feature_shifted
    reach = max(float(m.abs().max()) for m in (feature, feature_moved, feature_shifted)) or 1.0
    bound = float(difference.abs().max()) or 1.0
    signed = {"cmap": "RdBu_r", "vmin": -reach, "vmax": reach}
    panels = [
        (image, "digit", {"cmap": "gray"}), (moved, "shifted 3 px", {"cmap": "gray"}),
        (feature, "conv(digit)", signed), (feature_moved, "conv(shifted)", signed),
        (feature_shifted, "shift(conv)", signed),
        (difference, "difference", {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}),
    ]  # fmt: skip
    for index, (picture, title, style) in enumerate(panels):
        axis = figure.add_subplot(grid[index // 3, index % 3])
        shown = axis.imshow(picture.numpy(), **style)
        axis.set_title(title)
        axis.axis("off")
    bar = figure.colorbar(shown, ax=axis, fraction=0.08, pad=0.04)  # beside the difference, which it scales
    bar.locator = MaxNLocator(3)  # a few ticks: the bar is short
    bar.update_ticks()
    curve = figure.add_subplot(grid[:, 3])
    for kind, values in changes.items():
        curve.plot(SHIFTS, [100 * value for value in values], "o-",
                   label="no pooling" if kind == "none" else kind)  # fmt: skip
    curve.set(xlabel="shift (pixels)", ylabel="change of the features (%)", ylim=(0, None),
              title="two conv stages")  # fmt: skip
    curve.grid(alpha=0.3)
    curve.legend(title="pooling")
    return finish(figure, held, condition)


@register(
    "equivariance",
    CLAIM,
    lecture=50,
    about="a convolution of a shifted image is the shifted feature map; pooling absorbs small shifts",
)
def equivariance_experiment(settings: Settings) -> ExperimentResult:
    """Exactness of conv(shift(x)) = shift(conv(x)) away from borders, and feature change vs shift with pooling."""
    preset, seeds = settings.preset_and_seeds(PRESETS)
    dataset = load_dataset(settings.data or "mnist5k", settings.data_dir, settings.download)
    normalization = Normalization.lenet() if dataset.channels == 1 else Normalization.of(dataset.train)
    fill = normalization.background()
    measured = [_measure(normalization.apply(_digits(dataset.test.images, preset["images"], seed)), fill, seed)
                for seed in seeds]  # fmt: skip
    errors = [max(error[s] for error, _ in measured) for s in range(len(SHIFTS))]  # the worst seed at each shift
    changes = {kind: [statistics.fmean(change[kind][s] for _, change in measured) for s in range(len(SHIFTS))]
               for kind in POOLS}  # fmt: skip
    judgements = _judgements(errors, [change for _, change in measured])
    best = min((k for k in POOLS if k != "none"), key=lambda k: changes[k][1])
    condition = (
        f"{preset['images']} {settings.data or 'mnist5k'} test digits and random 5x5 kernels (8 then 16 maps) per "
        f"seed, {len(seeds)} seeds, learned poolings at their initial values; the papers state both in words only"
    )
    held, verdict = verdict_of(
        f"Away from the borders the feature map of a shifted digit equals the shifted feature map up to "
        f"{max(errors):.1e}; a 1-pixel shift changes the two-stage features by {changes['none'][1]:.0%} without "
        f"pooling and by {changes[best][1]:.0%} with {best} pooling (mean of {len(seeds)} seeds).",
        judgements,
        condition,
    )
    headers = ["", *(f"shift {s} px" for s in SHIFTS)]
    rows: list[list[object]] = [["max |conv(shift x) - shift(conv x)|, interior", *(f"{e:.1e}" for e in errors)]]
    for kind in POOLS:
        label = "feature change, no pooling" if kind == "none" else f"feature change, {kind} pooling"
        rows.append([label, *(f"{v:.1%}" for v in changes[kind])])
    x = normalization.apply(_digits(dataset.test.images, preset["images"], seeds[0]))
    picture = plot_equivariance(x, _kernels(dataset.channels, seeds[0])[0], fill, changes, held, condition)
    figure = save_figure(picture, settings.out, "equivariance")
    data = {"shifts": list(SHIFTS), "equivariance_error": errors, "relative_change": changes,
            "relative_change_per_seed": [change for _, change in measured], "images": preset["images"],
            "seeds": list(seeds)}  # fmt: skip
    return ExperimentResult("equivariance", CLAIM, held, verdict, headers, rows, data, figure, judgements)


def _digits(images: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """``count`` test digits drawn by ``seed`` (seed 0: the first ``count``, as before there were seeds)."""
    if seed == 0:
        return images[:count]
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:count]]


def _kernels(channels: int, seed: int) -> tuple[nn.Conv2d, nn.Conv2d]:
    """The two random convolutions of ``seed``, without touching the caller's random state."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Conv2d(channels, 8, 5), nn.Conv2d(8, 16, 5)


def _measure(x: torch.Tensor, fill: float, seed: int) -> tuple[list[float], dict[str, list[float]]]:
    """One seed: the interior equivariance error at each shift, and each pooling's relative feature change."""
    conv1, conv2 = _kernels(x.shape[1], seed)
    with torch.no_grad():
        maps = conv1(x)
        errors = []
        for s in SHIFTS:
            moved = conv1(shift_right(x, s, fill))
            # Away from the borders: the last s columns of the map fell off, the first s came from the fill.
            errors.append((moved[..., s:] - maps[..., : maps.shape[-1] - s]).abs().max().item())
        changes = {kind: _relative_change(_TwoStages(conv1, conv2, kind), x, fill) for kind in POOLS}
    return errors, changes


def _judgements(errors: list[float], per_seed: list[dict[str, list[float]]]) -> list[Judgement]:
    """The exact identity, then each pooling's smaller change at small shifts, paired with no pooling per seed."""

    def smaller(change: dict[str, list[float]], kind: str) -> float:
        return 100 * statistics.fmean(change["none"][s] - change[kind][s] for s in SMALL)

    small = " and ".join(map(str, SMALL))
    return [
        judge_exact("max |conv(shift x) - shift(conv x)| away from the borders, every seed and shift", max(errors),
                    EXACT, above=False, spec=".1e"),
        *(judge(f"feature change without pooling minus with {kind} pooling, {small} px shifts, per seed (points)",
                [smaller(change, kind) for change in per_seed], LESS, spec="+.1f")
          for kind in POOLS if kind != "none"),
    ]  # fmt: skip
