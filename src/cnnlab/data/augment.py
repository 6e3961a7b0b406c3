"""Data augmentation on whole batches: no per-image Python in the training loop.

Each function takes a float batch ``(N, C, H, W)`` and a ``torch.Generator`` and returns a new batch.
The random numbers come from the generator, so a seeded run augments the same way every time. The default
ranges are :data:`~cnnlab.data.facts.AUGMENTATION`'s, which the image folders' transforms read too.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cnnlab.data.facts import AUGMENTATION

__all__ = ["PCAColourNoise", "random_affine", "random_crop", "random_elastic", "random_flip"]


def _uniform(n: int, low: float, high: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=generator.device).to(device) * (high - low) + low


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator, fill: float = 0.0) -> torch.Tensor:
    """Pad by ``padding`` on each side and cut a random window of the original size from each image.

    He et al. 2016, Sec. 4.2 (``AUGMENTATION.crop_padding``); with digits it is a random shift of up to
    ``padding``.
    """
    if padding == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, value=fill)
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=generator.device).to(x.device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=generator.device).to(x.device)
    rows = (top[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (N, 1, H, 1)
    cols = (left[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (N, 1, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator, p: float = AUGMENTATION.flip_probability) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (Krizhevsky et al. 2012, Sec. 4.1)."""
    flip = torch.rand(x.shape[0], generator=generator, device=generator.device).to(x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    max_shift: float = AUGMENTATION.affine.shift,
    max_rotation_degrees: float = AUGMENTATION.affine.degrees,
    max_scale: float = AUGMENTATION.affine.scale,
    fill: float = 0.0,
) -> torch.Tensor:
    """Small random translations, rotations and scalings, as LeCun et al. 1998 distort digits (Sec. III-B).

    Args:
        max_shift: largest translation in pixels.
        max_rotation_degrees: largest rotation either way.
        max_scale: largest relative change of size either way.
        fill: value of the pixels that come in from outside (the background).
    """
    n, _, h, w = x.shape
    angle = _uniform(n, -max_rotation_degrees, max_rotation_degrees, generator, x.device) * (math.pi / 180)
    scale = 1 + _uniform(n, -max_scale, max_scale, generator, x.device)
    shift_x = _uniform(n, -max_shift, max_shift, generator, x.device) * (2 / w)
    shift_y = _uniform(n, -max_shift, max_shift, generator, x.device) * (2 / h)
    cos, sin = (torch.cos(angle) / scale)[:, None, None], (torch.sin(angle) / scale)[:, None, None]
    # F.affine_grid's sampling grid, by broadcasting: its batched 3x3 matmul costs ten times more here.
    cols = ((2 * torch.arange(w, device=x.device, dtype=x.dtype) + 1) / w - 1)[None, None, :]
    rows = ((2 * torch.arange(h, device=x.device, dtype=x.dtype) + 1) / h - 1)[None, :, None]
    grid_x = cos * cols - sin * rows + shift_x[:, None, None]
    grid_y = sin * cols + cos * rows + shift_y[:, None, None]
    grid = torch.stack([grid_x, grid_y], dim=-1).to(x.dtype)
    # grid_sample fills with 0: shift so that the background is 0 while sampling
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def _gaussian_blur(field: torch.Tensor, sigma: float) -> torch.Tensor:
    """Smooth ``(N, C, H, W)`` with a separable Gaussian (zero padding, as Simard et al. do)."""
    radius = max(1, round(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=field.device, dtype=field.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = field.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    field = F.conv2d(field, horizontal, padding=(0, radius), groups=channels)
    return F.conv2d(field, vertical, padding=(radius, 0), groups=channels)


def random_elastic(
    x: torch.Tensor,
    generator: torch.Generator,
    alpha: float = AUGMENTATION.elastic.alpha,
    sigma: float = AUGMENTATION.elastic.sigma,
    fill: float = 0.0,
) -> torch.Tensor:
    """Elastic distortion (Simard, Steinkraus & Platt, ICDAR 2003, Sec. 2): every pixel moves by a random
    displacement field, smoothed by a Gaussian of width ``sigma`` and scaled by ``alpha`` pixels.

    The paper's values for 28x28 digits are sigma 4 and alpha 34; they brought its MNIST error from 0.6% to
    0.4% for a convolutional network.
    """
    n, _, h, w = x.shape
    noise = torch.rand(n, 2, h, w, generator=generator, device=generator.device).to(x.device, x.dtype) * 2 - 1
    displacement = _gaussian_blur(noise, sigma) * alpha  # pixels
    cols = ((2 * torch.arange(w, device=x.device, dtype=x.dtype) + 1) / w - 1)[None, None, :]
    rows = ((2 * torch.arange(h, device=x.device, dtype=x.dtype) + 1) / h - 1)[None, :, None]
    grid = torch.stack([cols + displacement[:, 0] * (2 / w), rows + displacement[:, 1] * (2 / h)], dim=-1)
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


class PCAColourNoise:
    """AlexNet's "fancy PCA" lighting noise (Krizhevsky et al. 2012, Sec. 4.1).

    The eigenvectors ``p`` and eigenvalues ``lambda`` of the 3x3 covariance of the training set's RGB
    values are computed once; each image then gets ``[p1 p2 p3] [a1 l1, a2 l2, a3 l3]^T`` added to every
    pixel, with ``a_i ~ N(0, std^2)`` drawn per image (the paper's ``std`` is 0.1).
    """

    def __init__(self, images: torch.Tensor, std: float = AUGMENTATION.pca_std) -> None:
        """``images``: training images as floats ``(N, 3, H, W)`` in the scale they will be augmented in."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"PCA colour noise needs RGB images (N, 3, H, W), got {tuple(images.shape)}")
        pixels = images.permute(1, 0, 2, 3).reshape(3, -1).double()
        covariance = torch.cov(pixels)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
        self.eigenvalues = eigenvalues.clamp(min=0).float()
        self.eigenvectors = eigenvectors.float()
        self.std = std

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        alpha = torch.randn(x.shape[0], 3, generator=generator, device=generator.device).to(x.device) * self.std
        shift = (alpha * self.eigenvalues.to(x.device)) @ self.eigenvectors.to(x.device).T  # (N, 3)
        return x + shift[:, :, None, None]
