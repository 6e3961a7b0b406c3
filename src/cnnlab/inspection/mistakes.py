"""Where a trained classifier goes wrong: its confusion matrix and the images it gets most wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Examination", "Mistake", "examine"]


@dataclass(frozen=True)
class Mistake:
    """One image and what the model made of it.

    Attributes:
        index: its position in the batches (the split's order).
        image: the model's input ``(C, H, W)``, normalised as the model saw it.
        label: the true class.
        predicted: the class with the highest probability.
        probability: that probability.
        loss: the cross-entropy of the true class.
    """

    index: int
    image: torch.Tensor
    label: int
    predicted: int
    probability: float
    loss: float


@dataclass(frozen=True)
class Examination:
    """A model on a whole split: the confusion matrix, the loss and the images with the highest loss."""

    confusion: torch.Tensor  # (true class, predicted class) counts
    loss: float
    worst: list[Mistake]

    @property
    def count(self) -> int:
        return int(self.confusion.sum())

    @property
    def top1(self) -> float:
        return float(self.confusion.diag().sum()) / max(1, self.count)

    @property
    def per_class_accuracy(self) -> list[float]:
        return (self.confusion.diag() / self.confusion.sum(dim=1).clamp(min=1)).tolist()


@torch.no_grad()
def examine(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    num_classes: int,
    worst: int = 12,
    logit_temperature: float = 1.0,
) -> Examination:
    """Run ``model`` (in eval mode) over ``batches`` once; keep the ``worst`` images by loss.

    Losses and probabilities are those of ``softmax(logits / logit_temperature)``, as the model is
    trained and evaluated. Ties in loss keep the earlier image.
    """
    was_training = model.training
    model.eval()
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    loss_sum, seen = 0.0, 0
    kept: list[Mistake] = []
    try:
        for x, y in batches:
            logits = model(x).float() / logit_temperature
            losses = F.cross_entropy(logits, y, reduction="none").cpu()
            probabilities, predicted = torch.softmax(logits, dim=1).max(dim=1)
            pairs = y.cpu() * num_classes + predicted.cpu()
            confusion += pairs.bincount(minlength=num_classes**2).view(num_classes, num_classes)
            loss_sum += float(losses.sum())
            for i in losses.topk(min(worst, len(losses))).indices.tolist():
                kept.append(
                    Mistake(
                        seen + i,
                        x[i].detach().cpu().clone(),
                        int(y[i]),
                        int(predicted[i]),
                        float(probabilities[i]),
                        float(losses[i]),
                    )
                )
            kept = sorted(kept, key=lambda m: (-m.loss, m.index))[:worst]
            seen += len(y)
    finally:
        model.train(was_training)
    return Examination(confusion, loss_sum / max(1, seen), kept)
