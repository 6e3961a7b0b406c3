"""What the tracers of a forward pass share: tensors labelled by ``id``, and each call's labelled inputs.

The graph's tracer labels a tensor with the node that produced it (:mod:`cnnlab.inspection.graph`), the
receptive-field tracker with the field it sees (:mod:`cnnlab.inspection.receptive_field`). Both follow tensors
by ``id`` through one pass, keep them alive so that no id is reused while the pass runs, and need, for each
function the pass calls, the labelled tensors it read and the tensors it returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["Call", "TensorLabels", "tensors_in"]

Label = TypeVar("Label")


def tensors_in(value: Any) -> list[torch.Tensor]:
    """The tensors in ``value``: a tensor, or lists, tuples and dicts of them (nested), in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in tensors_in(item)]
    return []


@dataclass(frozen=True)
class Call:
    """One function the pass called, with labelled tensors among its inputs and tensors among its outputs.

    Attributes:
        name: the function's ``__name__`` (``conv2d``, ``add``, ``__getitem__``).
        args: its positional arguments.
        kwargs: its keyword arguments.
        inputs: the labelled tensors in its arguments, in order (at least one).
        outputs: the tensors it returned, in order (at least one).
    """

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    inputs: list[torch.Tensor]
    outputs: list[torch.Tensor]


class TensorLabels(TorchFunctionMode, Generic[Label]):
    """A ``TorchFunctionMode`` that labels tensors and hands each call with labelled inputs to :meth:`on_call`.

    Attributes:
        labels: each labelled tensor's label, by ``id``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[int, Label] = {}
        self._alive: list[torch.Tensor] = []  # keeps ids unique while the pass runs

    def label(self, tensor: torch.Tensor, label: Label) -> None:
        """Give ``tensor`` its label (a tensor written in place keeps its id and takes the new one)."""
        self.labels[id(tensor)] = label
        self._alive.append(tensor)

    def watching(self) -> bool:
        """Whether calls now are handed to :meth:`on_call` (always, unless a subclass narrows it)."""
        return True

    def on_call(self, call: Call) -> None:
        """What the subclass does with each call that read labelled tensors and returned tensors."""
        raise NotImplementedError(f"{type(self).__name__}.on_call is abstract: each tracer says what it records")

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if not self.watching():
            return result
        inputs = [t for t in tensors_in(args) + tensors_in(list(kwargs.values())) if id(t) in self.labels]
        outputs = tensors_in(result)
        if inputs and outputs:
            self.on_call(Call(getattr(func, "__name__", ""), args, kwargs, inputs, outputs))
        return result
