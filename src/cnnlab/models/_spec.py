"""What a registered model is before it is built: its paper's facts and its training recipe.

The lowest module of :mod:`cnnlab.models` (it imports neither torch nor the other model modules), so that the
interface (``_base``) and the registry (``_registry``) can both name it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, before it is built.

    Attributes:
        name: registry name, e.g. ``"resnet18"``.
        paper: authors, year and title of the paper the model follows.
        section: where in the paper the architecture is (section, table, figure).
        year: the paper's year.
        input_size: default input ``(C, H, W)``.
        num_classes: default number of classes.
        params: trainable parameters at the defaults (pinned by the tests).
        notes: every deviation from the paper, and why.
        family: the module the model lives in (``"resnet"``, ``"vgg"``, ...).
        recipe: how the model trains by default: :class:`~cnnlab.training.config.TrainConfig` settings by field
            name, ``"recipe"`` naming it for the run's record (default: the family's name). Flags and config
            files override any of them. The family file says why each value.
    """

    name: str
    paper: str
    section: str
    year: int
    input_size: tuple[int, int, int]
    num_classes: int
    params: int
    notes: str = ""
    family: str = ""
    recipe: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelSpec:
        return self  # frozen, its recipe read-only: a copied model shares its spec (a mapping proxy cannot be copied)
