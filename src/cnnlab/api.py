"""The library's calls that describe any network: a model name, an ``nn.Module``, a run, its directory or a
checkpoint (``cnnlab.summary``, ``cnnlab.trace_graph``, ``cnnlab.draw``).

Each resolves what it is given once (:func:`cnnlab.subjects.network`: a run is its trained network at the size it
was trained on) and hands the network to the function on the floor below that does the work, which knows only
names and modules.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cnnlab.errors import SettingError
from cnnlab.subjects import Subject, network

if TYPE_CHECKING:
    import torch
    from torch import nn

    from cnnlab.inspection.graph import NetworkGraph
    from cnnlab.inspection.summary import ModelSummary
    from cnnlab.viz.architecture import Drawing
    from cnnlab.viz.slide import TitleMode

__all__ = ["draw", "summary", "trace_graph"]

Network = Subject | os.PathLike | str
"""A model name, an ``nn.Module``, a run, its directory or a checkpoint, or a trained model."""


def summary(
    model: nn.Module | Network, input_size: tuple[int, int, int] | None = None, *, depth: int | None = None
) -> ModelSummary:
    """Summarize a model, layer by layer, for one input of ``input_size`` ``(C, H, W)`` (default: the model's own).

    ``model`` is a registry name, any ``nn.Module``, or a run (``cnnlab.Run``, a run directory or a checkpoint:
    its model at the size it was trained on); ``depth`` groups the rows by whole blocks. ``str()`` of the result
    is ``cnnlab summary``'s table, and Jupyter shows it as an HTML table. The arguments and errors are those of
    :func:`cnnlab.inspection.summary.summarize`, which this calls once the run is resolved.

    ``input_size`` is three positive whole numbers, a tuple or a list: ``(1, 32, 32)``. The command line's
    ``1x32x32`` is not taken from Python, where it would be the one string among the API's sizes; the error
    shows the tuple to write.

    Raises:
        TypeError: ``model`` is none of those things.
        SettingError: ``input_size`` or ``depth`` is not what they are.
    """
    from cnnlab.inspection.summary import summarize

    resolved, size = network(model, input_size)
    return summarize(resolved, size, depth=depth)


def trace_graph(
    model: nn.Module | Network, input_size: tuple[int, int, int] | None = None, *, within: str = ""
) -> NetworkGraph:
    """The graph of ``model`` (a registry name, an ``nn.Module`` or a run) for one input of ``input_size``.

    See :func:`cnnlab.inspection.graph.trace_graph`, which this calls once the run is resolved.
    """
    from cnnlab.inspection.graph import trace_graph as trace

    if not isinstance(within, str):
        raise SettingError(f"<within>: expected the name of a block (a str; '' for the whole network), got {within!r}")
    resolved, size = network(model, input_size)
    return trace(resolved, size, within=within)


def draw(
    model: nn.Module | Network,
    input_size: tuple[int, int, int] | None = None,
    *,
    style: str | None = None,
    open_block: str | None = None,
    aux: bool = False,
    title: TitleMode = "short",
    aspect: float | None = None,
) -> Drawing:
    """A drawing of ``model``'s architecture (a registry name, an ``nn.Module`` or a run), every number from the
    same summary as ``cnnlab summary``.

    See :func:`cnnlab.viz.architecture.draw`, which this calls once the run is resolved; a run's input shows the
    first test image of the data it was trained on (where that data is on this machine).
    """
    from cnnlab.viz.architecture import draw as draw_network

    resolved, size = network(model, input_size)
    image = None if isinstance(resolved, str) or resolved is model else _first_test_image(model)
    return draw_network(resolved, size, style=style, open_block=open_block, aux=aux, title=title, aspect=aspect,
                        image=image)  # fmt: skip


def _first_test_image(run: Network) -> torch.Tensor | None:
    """The first test image of the data ``run`` was trained on, or None where that data is not here."""
    from cnnlab.data.datasets import load_dataset
    from cnnlab.subjects import trained_model

    config = trained_model(run).config  # type: ignore[arg-type]
    try:
        return load_dataset(config.data, config.data_dir).test.images[0]
    except (ValueError, OSError):  # not downloaded, or moved: the drawing shows a bundled example instead
        return None
