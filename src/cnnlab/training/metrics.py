"""Accuracy, top-k, per-class accuracy and the confusion matrix, summed exactly across batches and processes."""

from __future__ import annotations

from collections.abc import Iterable, Sized
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnlab.training.distributed import Distributed

__all__ = ["RunningMetrics", "Scores", "evaluate", "topk_correct"]


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, k: int) -> int:
    """How many labels are among the ``k`` largest logits (all of them when there are fewer classes)."""
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices
    return int((top == labels[:, None]).any(dim=1).sum())


class RunningMetrics:
    """Loss and top-1 / top-5 accuracy accumulated over batches (sums, so batch sizes may differ)."""

    def __init__(self) -> None:
        self.loss_sum = 0.0
        self.correct1 = 0
        self.correct5 = 0
        self.count = 0

    def update(self, loss: float, logits: torch.Tensor, labels: torch.Tensor) -> None:
        n = labels.shape[0]
        self.loss_sum += loss * n
        # one top-5 (sorted) gives both counts, and one transfer of two numbers
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices == labels[:, None]
        correct1, correct5 = torch.stack([top[:, 0].sum(), top.any(dim=1).sum()]).tolist()
        self.correct1 += correct1
        self.correct5 += correct5
        self.count += n

    def reduce(self, dist: Distributed) -> RunningMetrics:
        """Sum over processes; returns self."""
        totals = torch.tensor([self.loss_sum, self.correct1, self.correct5, self.count], dtype=torch.float64)
        totals = dist.all_reduce_sum(totals.to(dist.device)).cpu()
        self.loss_sum, self.correct1, self.correct5, self.count = totals[0].item(), *map(int, totals[1:].tolist())
        return self

    @property
    def loss(self) -> float:
        return self.loss_sum / max(1, self.count)

    @property
    def top1(self) -> float:
        return self.correct1 / max(1, self.count)

    @property
    def top5(self) -> float:
        return self.correct5 / max(1, self.count)

    def state(self) -> list[float]:
        return [self.loss_sum, float(self.correct1), float(self.correct5), float(self.count)]

    def load(self, state: list[float]) -> None:
        self.loss_sum, self.correct1, self.correct5, self.count = state[0], int(state[1]), int(state[2]), int(state[3])


@dataclass(frozen=True)
class Scores:
    """A model's results on one split."""

    loss: float
    top1: float
    top5: float
    count: int
    confusion: torch.Tensor  # (true class, predicted class) counts

    @property
    def per_class_accuracy(self) -> list[float]:
        totals = self.confusion.sum(dim=1).clamp(min=1)
        return (self.confusion.diag() / totals).tolist()


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    num_classes: int,
    dist: Distributed | None = None,
    logit_temperature: float = 1.0,
    progress: bool = False,
) -> Scores:
    """Loss, top-1, top-5 and the confusion matrix of ``model`` (in eval mode) over ``batches``.

    ``progress`` shows a bar over the batches (for large sets: evaluation can take minutes).
    """
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    running = RunningMetrics()
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    total = len(batches) if isinstance(batches, Sized) else None
    try:
        for x, y in tqdm(batches, total=total, unit="batch", desc="evaluating", disable=not progress, leave=False):
            logits = model(x).float() / logit_temperature
            running.update(F.cross_entropy(logits, y).item(), logits, y)
            pairs = (y.cpu() * num_classes + logits.argmax(1).cpu()).bincount(minlength=num_classes**2)
            confusion += pairs.view(num_classes, num_classes)
    finally:
        model.train(was_training)
    if dist is not None and dist.enabled:
        running.reduce(dist)
        confusion = dist.all_reduce_sum(confusion.to(dist.device)).cpu()
    return Scores(running.loss, running.top1, running.top5, running.count, confusion)
