"""Drawings of a network's architecture, every number read from its summary: ``cnnlab.draw``.

Two styles, from the same :class:`~cnnlab.inspection.graph.NetworkGraph`:

* ``blocks``, the papers' style (LeNet-5's Fig. 2, AlexNet's Fig. 2): the feature maps as boxes left to
  right, their height following the map's size and their depth its channels, each labelled as LeNet-5's
  figure is ("C1: feature maps 6@28x28", "F6: layer 84"), the arrows between them labelled with the
  operation ("5x5 convolution", "2x2 subsampling", "full connection"). Runs of same-shape blocks are one box
  marked with their count, so a CIFAR ResNet is drawn stage by stage. Drawn with matplotlib.
* ``graph``, for networks whose modules run three or more branches side by side (Inception): modules as
  nodes, output shapes on the edges, a run of same-kind blocks collapsed into one node marked "x5", and one
  drawing of each kind of block expanded beside it (an Inception module's four branches and their
  concatenation; a residual block with its shortcut). Laid out by Graphviz's ``dot``.

SVG keeps its text as text, so a label can be edited on a slide and a test can read the numbers back. This
module chooses the style and holds the drawing; each style is drawn in its own module
(:mod:`~cnnlab.viz.architecture_blocks`, :mod:`~cnnlab.viz.architecture_graph`), from the words and colours
both share (:mod:`~cnnlab.viz.architecture_words`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from cnnlab.errors import SettingError, path_setting
from cnnlab.files import write_bytes
from cnnlab.inspection.graph import GraphNode, NetworkGraph, trace_graph
from cnnlab.viz.architecture_blocks import Box, blocks_picture
from cnnlab.viz.architecture_graph import dot_source, run_dot

__all__ = ["FORMATS", "STYLES", "Box", "Drawing", "draw"]

STYLES = ("blocks", "graph")
FORMATS = ("svg", "png", "pdf")


@dataclass
class Drawing:
    """A drawing of a network; ``save`` writes it as SVG, PNG or PDF, Jupyter shows it inline.

    Attributes:
        model: the model's name.
        input: ``(C, H, W)``.
        style: ``blocks`` or ``graph``.
        graph: the graph drawn (folded and collapsed).
        boxes: the blocks style's boxes, left to right (empty for the graph style).
        expanded: the graph style's drawings of one block of each kind (empty for the blocks style).
        dot: the graph style's Graphviz source.
    """

    model: str
    input: tuple[int, int, int]
    style: str
    graph: NetworkGraph
    boxes: list[Box] = field(default_factory=list)
    expanded: list[NetworkGraph] = field(default_factory=list)
    dot: str = ""
    _picture: Any = field(default=None, repr=False)

    def render(self, fmt: str = "svg") -> bytes:
        """The drawing as ``svg``, ``png`` or ``pdf`` bytes."""
        if fmt not in FORMATS:
            raise SettingError(f"drawings are written as {', '.join(FORMATS)}, not {fmt!r}")
        if self.style == "graph":
            return run_dot(self.dot, fmt)
        import io

        import matplotlib

        buffer = io.BytesIO()
        metadata = {"Creator": None} if fmt == "svg" else {"Software": None} if fmt == "png" else {"Creator": None}
        with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
            self._picture.savefig(buffer, format=fmt, metadata=metadata)
        return buffer.getvalue()

    @property
    def svg(self) -> str:
        """The drawing as SVG text (its labels are text elements)."""
        return self.render("svg").decode("utf-8")

    def save(self, out: str | Path) -> Path:
        """Write the drawing to ``out``: ``.svg``, ``.png`` or ``.pdf`` (atomically).

        Raises:
            SettingError: ``out`` is not a path, or has another suffix.
            OSError: the file cannot be written.
        """
        out = path_setting("out", out).expanduser()
        suffix = out.suffix.lower().lstrip(".")
        if suffix not in FORMATS:
            raise SettingError(f"drawings are written as {', '.join(FORMATS)}; <out> ends in {out.suffix or 'nothing'}")
        return write_bytes(out, self.render(suffix))

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        shape = "x".join(map(str, self.input))
        if self.style == "blocks":
            return f"{self.model} at {shape}, blocks style: {len(self.boxes)} boxes"
        kinds = ", ".join(graph.block_type for graph in self.expanded) or "none"
        nodes = len([n for n in self.graph.nodes if n.kind in ("module", "function")])
        return f"{self.model} at {shape}, graph style: {nodes} nodes; blocks expanded: {kinds}"


def draw(
    model: nn.Module | str,
    input_size: tuple[int, int, int] | None = None,
    *,
    style: str | None = None,
) -> Drawing:
    """A drawing of ``model``'s architecture, every number from the same summary as ``cnnlab summary``.

    ``model`` is a registry name or any ``nn.Module`` (with ``input_size``); ``cnnlab.draw`` takes a run too (its
    model at the size it was trained on).

    Args:
        model: what to draw.
        input_size: ``(C, H, W)``; default the model's own.
        style: ``blocks`` or ``graph``; default ``graph`` for networks with blocks of three or more branches
            side by side (Inception) and ``blocks`` for the others.

    Raises:
        ValueError: an unknown model or style, an input the model does not take, the blocks style for a
            network that branches between its blocks, or the graph style without Graphviz installed.
    """
    if style is not None and style not in STYLES:
        raise SettingError(f"<style> must be one of {', '.join(STYLES)}, got {style!r}")
    whole = trace_graph(model, input_size)
    folded = whole.folded()
    inner = {name: trace_graph(whole.network, whole.input, within=name).folded() for name in whole.blocks()}
    inner = {name: graph for name, graph in inner.items() if len(_drawn_nodes(graph)) > 1}
    if style is None:
        branching = not folded.is_chain or any(graph.width >= 3 for graph in inner.values())
        style = "graph" if branching else "blocks"
    if style == "blocks":
        boxes, picture = blocks_picture(folded)
        return Drawing(folded.model, folded.input, "blocks", folded, boxes=boxes, _picture=picture)
    collapsed, expanded = folded.collapsed(), list(inner.values())
    dot = dot_source(collapsed, expanded)
    return Drawing(collapsed.model, collapsed.input, "graph", collapsed, expanded=expanded, dot=dot)


def _drawn_nodes(graph: NetworkGraph) -> list[GraphNode]:
    return [node for node in graph.nodes if node.kind in ("module", "function")]
