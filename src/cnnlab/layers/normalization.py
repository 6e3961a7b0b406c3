"""Local response normalisation with the constants written as the AlexNet paper writes them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LocalResponseNorm2d"]


class LocalResponseNorm2d(nn.Module):
    """AlexNet's local response normalisation (Krizhevsky et al., NIPS 2012, Sec. 3.3).

    ``b_i = a_i / (k + alpha * sum_{j = i - n/2}^{i + n/2} a_j^2) ** beta`` over ``n`` neighbouring
    channels, with the paper's defaults ``k = 2, n = 5, alpha = 1e-4, beta = 0.75``.

    ``nn.LocalResponseNorm`` divides its ``alpha`` by ``n``; passing the paper's ``1e-4`` to it
    silently normalises five times less. This module takes the paper's ``alpha`` and converts.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"size must be a positive number of channels, got {size}")
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.local_response_norm(x, self.size, alpha=self.alpha * self.size, beta=self.beta, k=self.k)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha} (the paper's), beta={self.beta}, k={self.k}"
