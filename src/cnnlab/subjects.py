"""What a picture, a summary, a drawing or the lab is of, resolved in one place.

A *subject* is a model name from :func:`cnnlab.list_models` (the model with seeded random weights), a run
(:class:`cnnlab.Run`), its directory or one of its checkpoints (its trained weights, fed as training fed them),
or a :class:`~cnnlab.training.trained.TrainedModel`. A name is looked up first, as ``cnnlab summary`` always
did: write ``./lenet5`` for a run directory called ``lenet5``. The command line, the lab, :mod:`cnnlab.show`,
``cnnlab.summary`` and ``cnnlab.draw`` all resolve their subjects here.

This module sits beside :mod:`cnnlab.show` and below :class:`cnnlab.run.Run`: it knows a run only as its
directory's record (:class:`~cnnlab.run_directory.RunDirectory`), and asks anything that holds a trained model
(a ``Run`` keeps the ones it loaded) for it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from torch import nn

from cnnlab.errors import whole_numbers
from cnnlab.models import list_models
from cnnlab.run_directory import RunDirectory
from cnnlab.training.trained import TrainedModel, load_trained_model, untrained_model

__all__ = ["HoldsTrainedModel", "Subject", "network", "trained_model"]


@runtime_checkable
class HoldsTrainedModel(Protocol):
    """Anything that gives its trained model: a :class:`cnnlab.Run` (which keeps the models it loaded)."""

    def trained(self) -> TrainedModel: ...


Subject = RunDirectory | HoldsTrainedModel | TrainedModel | str | os.PathLike
"""What a picture is of: a run (or its directory or checkpoint), a trained model, or a model name."""


def _of_run(run: RunDirectory | HoldsTrainedModel) -> TrainedModel:
    if isinstance(run, HoldsTrainedModel):
        return run.trained()
    return load_trained_model(run.checkpoint())


_EXPECTED = "a model name, a run (cnnlab.Run), its directory or a checkpoint, or a trained model"


def _not_a_subject(what: object, argument: str, expected: str = _EXPECTED) -> TypeError:
    return TypeError(f"{argument}: expected {expected}, got {'None' if what is None else _a(what)}")


def _a(what: object) -> str:
    """``an int (5)``, ``a list (['lenet5'])``: what was given, short."""
    kind, shown = type(what).__name__, repr(what)
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    if shown.startswith("<"):  # <object object at 0x7f...>: the kind says it all
        return f"{article} {kind}"
    return f"{article} {kind} ({shown if len(shown) <= 40 else shown[:37] + '...'})"


def _looks_like_a_path(text: str) -> bool:
    """Whether a string that names nothing was meant as a path (no model name has a slash or ends in .pt): then
    "does not exist" says what went wrong, not a list of close model names."""
    return "/" in text or os.sep in text or text.endswith(".pt") or text.startswith("~")


def trained_model(what: Subject, argument: str = "what") -> TrainedModel:
    """The model ``what`` names, with its weights and its preprocessing (see the module's docstring).

    ``argument`` is what an error calls ``what``: the caller's name for it.

    Raises:
        TypeError: none of those (an ``int``, ``None``, a list, an ``nn.Module`` without a run).
        ValueError: neither an existing path nor a model name (close model names are suggested); a run or a
            checkpoint that cannot be read.
    """
    if isinstance(what, TrainedModel):
        return what
    if isinstance(what, RunDirectory | HoldsTrainedModel):
        return _of_run(what)
    if not isinstance(what, str | os.PathLike):
        raise _not_a_subject(what, argument)
    if not str(what):
        raise ValueError(f"{argument}: expected {_EXPECTED}, got ''")
    text, names = str(what), list_models()
    if text in names:
        return untrained_model(text)
    if Path(what).expanduser().exists():
        return _of_run(RunDirectory(what))
    if _looks_like_a_path(text):
        raise ValueError(f"{text} does not exist (expected a run directory, a .pt checkpoint or a model name)")
    close = difflib.get_close_matches(text, names, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else " (list_models() lists the models)"
    raise ValueError(f"{text} is neither a run directory, a checkpoint nor a model name{hint}")


def network(
    what: Subject | nn.Module, input_size: tuple[int, int, int] | None = None, argument: str = "model"
) -> tuple[nn.Module | str, tuple[int, int, int] | None]:
    """What a summary or a drawing describes, and at which input size.

    A model name stays a name (the summary builds it on the meta device, without weights) and a module stays
    itself, at ``input_size``; a run, its directory or checkpoint, or a trained model gives its network at
    ``input_size`` or else at the size it was trained on. A string that is neither a name nor a path is passed
    on as a name, for the registry to say which names are close.

    Raises:
        TypeError: ``what`` is none of those.
        SettingError: ``input_size`` is not three positive whole numbers ``(C, H, W)`` (a list is taken too).
        ValueError: a ``pathlib.Path`` that does not exist, a run or a checkpoint that cannot be read.
    """
    size = None if input_size is None else _input_size(input_size)
    if isinstance(what, str | os.PathLike):
        text = str(what)
        if isinstance(what, os.PathLike) and not Path(what).expanduser().exists():
            raise ValueError(f"{text} does not exist (expected a run directory or a .pt checkpoint)")
        if _looks_like_a_path(text) and not Path(what).expanduser().exists():
            raise ValueError(f"{text} does not exist (expected a run directory, a .pt checkpoint or a model name)")
        if text in list_models() or not Path(what).expanduser().exists():
            return text, size  # a name, or else the registry's error with the close names
    elif isinstance(what, nn.Module):
        return what, size
    elif not isinstance(what, RunDirectory | HoldsTrainedModel | TrainedModel):
        raise _not_a_subject(what, argument, f"an nn.Module, {_EXPECTED}")
    trained = trained_model(what)
    return trained.model, size or trained.input_size


def _input_size(value: object) -> tuple[int, int, int]:
    sizes = whole_numbers("input_size", value, "(C, H, W)", (1, 32, 32))
    return sizes[0], sizes[1], sizes[2]
