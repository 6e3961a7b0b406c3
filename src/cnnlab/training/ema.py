"""An exponential moving average of a model's weights, kept beside the weights being trained.

After each optimisation step ``ema = decay * ema + (1 - decay) * weights`` (Polyak & Juditsky 1992 average
the iterates; the exponential form is timm's ``--model-ema`` and torchvision's reference scripts'
``--model-ema``). The average moves slowly, so it smooths out the noise of the last steps: it usually
evaluates better than the raw weights at the end of a run, and it never feeds back into training.

The decay is warmed up as TensorFlow's ``ExponentialMovingAverage(num_updates=...)`` does,
``min(decay, (1 + t) / (10 + t))`` at step ``t``, so that a short run's average is not dominated by the
random initial weights.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["ModelEma"]


class ModelEma:
    """The averaged copy of ``model``: :meth:`update` after each step, evaluate or save :attr:`module`.

    Floating-point parameters and buffers are averaged; other buffers (counters) are copied.

    Args:
        model: the model being trained (on its final device and memory format).
        decay: the weight of the old average at each step, in [0, 1).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"the EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)
        self._averaged, self._copied = self._pairs(model)

    def _pairs(self, model: nn.Module) -> tuple[tuple[list[torch.Tensor], list[torch.Tensor]], list[tuple]]:
        """The (average, source) tensors that are averaged and the ones copied, in a fixed order."""
        averaged: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        copied: list[tuple[torch.Tensor, torch.Tensor]] = []
        mine = self.module.state_dict(keep_vars=True)
        for name, source in model.state_dict(keep_vars=True).items():
            target = mine[name]
            if target.is_floating_point():
                averaged[0].append(target.data)
                averaged[1].append(source.data)
            else:
                copied.append((target.data, source.data))
        return averaged, copied

    def current_decay(self) -> float:
        """The decay of the next update: the set one, or less while the average is young."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the model's current weights (call after each optimiser step)."""
        weight = 1 - self.current_decay()
        targets, sources = self._averaged
        if targets:
            torch._foreach_lerp_(targets, sources, weight)
        for target, source in self._copied:
            target.copy_(source)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        """The averaged weights (a model ``state_dict``) and the number of updates, for a checkpoint."""
        return {"weights": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
