"""Networks of a user's own, not in the registry, that the tests of graphs and drawings share."""

import torch
from torch import nn


class TwoPaths(nn.Module):
    """Two convolutions side by side, added, then a head: the smallest network that branches."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Conv2d(3, 8, 3, padding=1)
        self.right = nn.Conv2d(3, 8, 1)
        self.head = nn.Linear(8 * 16 * 16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        joined = torch.relu(self.left(x) + self.right(x))
        return self.head(joined.flatten(1))
