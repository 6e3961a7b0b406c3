"""The model registry: one list of every network, that the CLI, the docs and the tests iterate.

A family file registers each builder with :func:`register_model` and the facts of its paper; the spec is
known without building the model, so ``cnnlab models`` can list 138-million-parameter networks instantly.
The package's ``__init__`` imports every family file, and Python runs it before any of its modules: by the
time anyone can ask this module for a model, the registry is full.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from cnnlab.errors import SettingError, is_whole_number, whole_number
from cnnlab.models._base import ImageClassifier
from cnnlab.models._spec import ModelSpec

__all__ = ["ModelSpec", "create_model", "get_spec", "list_models", "register_model"]


Builder = Callable[..., ImageClassifier]
B = TypeVar("B", bound=Builder)


@dataclass(frozen=True)
class _Entry:
    builder: Builder
    spec: ModelSpec


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    *,
    paper: str,
    section: str,
    year: int,
    input_size: tuple[int, int, int],
    params: int,
    notes: str = "",
    recipe: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Callable[[B], B]:
    """Register a builder under its function name (or ``name``), with the facts of its paper and its recipe.

    The builder must take only keyword arguments, including ``num_classes`` and ``in_channels`` with
    the paper's defaults. Registering a name twice raises: a silently replaced model is a wrong model.
    ``name`` is for the builders a family makes from the rows of its table; ``recipe`` is described in
    :class:`ModelSpec`.
    """

    def decorate(builder: B) -> B:
        model = builder.__name__ if name is None else name
        if model in _REGISTRY:
            raise ValueError(f"a model named {model!r} is already registered")
        parameters = inspect.signature(builder).parameters
        positional = [p.name for p in parameters.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if positional or "num_classes" not in parameters or "in_channels" not in parameters:
            raise TypeError(f"builder {model!r} must be keyword-only and take num_classes and in_channels")
        num_classes = parameters["num_classes"].default
        if input_size[0] != parameters["in_channels"].default:
            raise TypeError(f"builder {model!r}: in_channels default differs from input_size {input_size}")
        family = builder.__module__.rsplit(".", 1)[-1]
        settings = MappingProxyType(dict(recipe or {}))  # a copy: the spec is frozen, and so is its recipe
        spec = ModelSpec(model, paper, section, year, input_size, num_classes, params, notes, family, settings)
        _REGISTRY[model] = _Entry(builder, spec)
        return builder

    return decorate


def _entry(name: str) -> _Entry:
    if not isinstance(name, str):
        raise TypeError(f"name: expected a model name (a str; list_models() lists them), got {name!r}")
    entry = _REGISTRY.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; list_models() lists the models"
        raise ValueError(f"unknown model {name!r}{hint}")
    return entry


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model, without building it.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: an unknown model (close names are suggested).
    """
    return _entry(name).spec


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern`` (``"resnet*"``), sorted.

    Raises:
        TypeError: ``pattern`` is not a string.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern: expected a shell-style pattern such as 'resnet*' (a str), got {pattern!r}")
    return sorted((name for name in _REGISTRY if fnmatch.fnmatchcase(name, pattern)), key=_natural_order)


def _natural_order(name: str) -> list[str | int]:
    """``resnet20`` before ``resnet110``: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


# A builder's options by their annotations (strings, under ``from __future__ import annotations``): the type is
# checked here, the values (``head="rbf"`` or ``"linear"``) by the builder.
_OPTION_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "bool": (lambda v: isinstance(v, bool), "True or False"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "float": (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a number"),
    "int": (is_whole_number, "a whole number"),
}


def create_model(
    name: str, *, num_classes: int | None = None, in_channels: int | None = None, **variant_args: Any
) -> ImageClassifier:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        num_classes: output classes (default: the paper's).
        in_channels: input channels (default: the paper's).
        **variant_args: the model's own options, such as ``aux_logits=True``; see its builder.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: unknown model, an option the model does not have, or a bad value (``num_classes`` and
            ``in_channels`` are positive whole numbers; NumPy's integers are taken).
    """
    entry = _entry(name)
    accepted = inspect.signature(entry.builder).parameters
    unknown = sorted(set(variant_args) - set(accepted))
    if unknown:
        options = ", ".join(p for p in accepted if p not in ("num_classes", "in_channels")) or "none"
        raise ValueError(f"model {name!r} has no option {', '.join(unknown)}; its options: {options}")
    for option, value in variant_args.items():
        expected = _OPTION_TYPES.get(str(accepted[option].annotation))
        if expected is not None and not expected[0](value):
            raise SettingError(f"<{option}>: expected {expected[1]}, got {value!r}")
    if num_classes is not None:
        variant_args["num_classes"] = whole_number("num_classes", num_classes)
    if in_channels is not None:
        variant_args["in_channels"] = whole_number("in_channels", in_channels)
    model = entry.builder(**variant_args)
    model.spec = entry.spec
    return model
