"""Upsampling by transposed convolution: zeros between the pixels, then a learned blur.

The lecture: a transposed convolution "adds zeros between the feature map, and then blurs it using a learned
convolution kernel". Here a ``ConvTranspose2d(1, 1, 4, stride=2, padding=1)`` learns to bring 16x16 digits
(2x2-averaged) back to 32x32; the same learned kernel is then applied the lecture's way
(:class:`~cnnlab.layers.ZeroInsertionConvTranspose2d`: insert zeros, pad, convolve with the flipped kernel)
and the two results are compared to the last bits. Nearest-neighbour and bilinear upsampling are the
baselines. Dumoulin & Visin, arXiv:1603.07285, Sec. 4 (Relationship 13) for the arithmetic.

Measurable form, all exact: the largest |conv_transpose2d - (zero insertion + convolution)| over the test
digits, below :data:`EXACT` (1e-5: float32 rounding; it is an identity); and the reconstruction MSE of
nearest-neighbour and of bilinear upsampling minus the learned kernel's, above :data:`BETTER` (0: the learned
blur reconstructs better). No seed is drawn: fitting one linear layer by its squared error is a convex problem,
and eight seeds (each its own start and batches) reached the same MSE to four decimals, so a seed's spread would
be nil. The paper (Dumoulin & Visin) gives the arithmetic, not an error to compare with.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data.datasets import load_dataset
from cnnlab.data.loader import Normalization
from cnnlab.experiments._base import ExperimentResult, Settings, register
from cnnlab.experiments._scaffold import CANVAS, finish, for_slides, save_figure, verdict_of
from cnnlab.experiments._verdict import Judgement, judge_exact
from cnnlab.layers.transposed import ZeroInsertionConvTranspose2d
from cnnlab.viz.figure import Picture, new_picture

__all__ = ["draw_upsampling", "upsampling_experiment"]

CLAIM = "a transposed convolution is zero insertion followed by a convolution with a learned kernel"
PRESETS = {"quick": 600, "full": 3000}  # optimisation steps
EXACT = 1e-5  # the two ways agree to float32 rounding: the identity holds
BETTER = 0.0  # a baseline's MSE minus the learned kernel's must be above this
LEARNED = "learned transposed convolution"
BASELINES = ("nearest", "bilinear")


def _learn_upsampling(low: torch.Tensor, high: torch.Tensor, steps: int) -> nn.ConvTranspose2d:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        layer = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)
        order = torch.randint(0, low.shape[0], (steps, 64))
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.02)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for batch in order:
        loss = F.mse_loss(layer(low[batch]), high[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return layer


@for_slides
def draw_upsampling(panels: list[tuple[torch.Tensor, str]], held: bool | None = None, condition: str = "") -> Picture:
    """Each picture in a row of panels: images in grey, the learned kernel (signed) on a diverging map centred on
    zero."""
    figure = new_picture(*CANVAS)
    rows = 2 if len(panels) > 4 else 1
    axes = figure.subplots(rows, -(-len(panels) // rows)).flatten()
    for axis, (picture, title) in zip(axes, panels, strict=False):
        values = picture.detach().numpy()
        if "kernel" in title:
            bound = float(abs(values).max()) or 1.0
            shown = axis.imshow(values, cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
            figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.04)  # the weights' values and sign
        else:
            axis.imshow(values, cmap="gray", interpolation="nearest")
        axis.set_title(title)
    for axis in axes:
        axis.axis("off")
    return finish(figure, held, condition)


def _judgements(difference: float, errors: dict[str, float]) -> list[Judgement]:
    """The identity, then each baseline's MSE minus the learned kernel's: all exact."""
    return [
        judge_exact("max |conv_transpose2d - zero insertion + conv2d|", difference, EXACT, above=False, spec=".1e"),
        *(judge_exact(f"MSE of {name} upsampling minus the learned kernel's", errors[name] - errors[LEARNED], BETTER,
                      spec="+.4f")
          for name in BASELINES),
    ]  # fmt: skip


@register("upsampling", CLAIM, lecture=70, about="a transposed convolution is zero insertion + a learned blur")
def upsampling_experiment(settings: Settings) -> ExperimentResult:
    """Learn a 2x transposed convolution on digits; check it equals zero insertion + convolution; compare."""
    steps = PRESETS[settings.preset] if settings.epochs is None else 50 * settings.epochs
    dataset = load_dataset(settings.data or "mnist5k", settings.data_dir, settings.download)
    normalization = Normalization.lenet() if dataset.channels == 1 else Normalization.of(dataset.train)
    gray = lambda images: normalization.apply(images)[:, :1]  # noqa: E731 - one channel is enough to see it
    high_train, high_test = gray(dataset.train.images), gray(dataset.test.images)
    low_train, low_test = F.avg_pool2d(high_train, 2), F.avg_pool2d(high_test, 2)
    learned = _learn_upsampling(low_train, high_train, steps)
    lecture = ZeroInsertionConvTranspose2d(1, 1, 4, stride=2, padding=1)
    lecture.load_state_dict(learned.state_dict())
    with torch.no_grad():
        by_pytorch, by_zeros = learned(low_test), lecture(low_test)
        equal_to = (by_pytorch - by_zeros).abs().max().item()
        size = high_test.shape[-2:]
        errors = {name: F.mse_loss(F.interpolate(low_test, size=size, mode=name), high_test).item()
                  for name in BASELINES}  # fmt: skip
        errors[LEARNED] = F.mse_loss(by_pytorch, high_test).item()
        stretched = lecture.zero_inserted(low_test[:1])[0, 0]
    judgements = _judgements(equal_to, errors)
    condition = (
        f"a 4x4 stride-2 kernel learned in {steps} Adam steps on {settings.data or 'mnist5k'} digits (2x2-averaged "
        "to 16x16); Dumoulin & Visin give the arithmetic, no error to compare"
    )
    held, verdict = verdict_of(
        f"The learned transposed convolution and zero insertion + convolution with its flipped kernel agree to "
        f"{equal_to:.1e}; its reconstruction error is {errors[LEARNED]:.4f}, nearest-neighbour upsampling's "
        f"{errors['nearest']:.4f} and bilinear's {errors['bilinear']:.4f}.",
        judgements,
        condition,
    )
    headers = ["", "value"]
    rows: list[list[object]] = [["max |conv_transpose2d - zero insertion + conv2d|", f"{equal_to:.1e}"]]
    rows += [[f"reconstruction MSE, {name}", f"{value:.4f}"] for name, value in errors.items()]
    rows.append(["optimisation steps", steps])
    panels = [
        (low_test[0, 0], "16x16 input"),
        (stretched, f"zeros in, {stretched.shape[0]}x{stretched.shape[1]}"),
        (learned.weight[0, 0].flip(-2, -1), "kernel, flipped"), (by_pytorch[0, 0], "32x32 output"),
        (high_test[0, 0], "original 32x32"),
    ]  # fmt: skip
    figure = save_figure(draw_upsampling(panels, held, condition), settings.out, "upsampling")
    data = {"max_difference": equal_to, "mse": errors, "steps": steps, "kernel": learned.weight[0, 0].tolist()}
    return ExperimentResult("upsampling", CLAIM, held, verdict, headers, rows, data, figure, judgements)
