"""Drawings of a network's architecture, every number read from its summary, sized for a slide: ``cnnlab.draw``.

Two styles, from the same :class:`~cnnlab.inspection.graph.NetworkGraph`:

* ``blocks``, the papers' style (LeNet-5's Fig. 2, AlexNet's Fig. 2): the feature maps left to right as stacks
  of sheets, one per map (a cuboid beyond 16), their size following the map's, the input's sheet showing an
  image (a bundled MNIST digit, a sample photo, or a run's first test image), labelled as LeNet-5's figure is
  ("C1: feature maps" over "6@28x28"), the arrows labelled with the operation ("5x5 convolution"). Runs of
  same-shape blocks are one box marked "x3"; a ResNet's stages are "stage 1", "stage 2", and one residual
  block is drawn opened below them, its shortcut into the sum (the identity one by default). Drawn with
  matplotlib.
* ``graph``, for networks whose modules run three or more branches side by side (Inception): modules as
  nodes in rows read left to right, each with its output shape, a run of same-kind blocks one node
  ("Inception 4a-4e x5", "stage 1: 3 residual blocks"), and one block opened beside or below (an Inception
  module's branches and their concatenation; a residual block with its shortcut), GoogLeNet's auxiliary
  classifiers on request. Laid out by Graphviz's ``dot``.

Both are made for a 16:9 slide (``docs/pictures.md``): the text is 18 points in a drawing no larger than the
slide, long networks run in as many rows as make it largest there, and ``aspect`` pads the drawing to a shape.
SVG keeps its text as text, so a label can be edited on a slide and a test can read the numbers back. This
module chooses the style and holds the drawing; each style is drawn in its own module
(:mod:`~cnnlab.viz.architecture_blocks` with :mod:`~cnnlab.viz.architecture_shapes` and
:mod:`~cnnlab.viz.architecture_residual`, :mod:`~cnnlab.viz.architecture_graph` with
:mod:`~cnnlab.viz.architecture_aux`), from the words and colours they share
(:mod:`~cnnlab.viz.architecture_words`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from cnnlab.errors import SettingError, path_setting
from cnnlab.files import write_bytes
from cnnlab.inspection.graph import GraphNode, NetworkGraph, trace_graph
from cnnlab.viz.architecture_aux import with_aux
from cnnlab.viz.architecture_blocks import Box, blocks_picture
from cnnlab.viz.architecture_graph import dot_source, run_dot
from cnnlab.viz.architecture_residual import OPENINGS, block_words, stage_name
from cnnlab.viz.architecture_residual import open_block as open_block_of
from cnnlab.viz.slide import TitleMode, aspect_ratio, title_mode, titled

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
        opened: the residual block drawn opened with its shortcut (its folded graph), or None.
        aux: the auxiliary classifiers drawn (node id -> their layers in words).
        aspect: the width / height asked for (None: the drawing's own).
    """

    model: str
    input: tuple[int, int, int]
    style: str
    graph: NetworkGraph
    boxes: list[Box] = field(default_factory=list)
    expanded: list[NetworkGraph] = field(default_factory=list)
    dot: str = ""
    opened: NetworkGraph | None = None
    aux: dict[str, str] = field(default_factory=dict)
    aspect: float | None = None
    _picture: Any = field(default=None, repr=False)

    def render(self, fmt: str = "svg") -> bytes:
        """The drawing as ``svg``, ``png`` or ``pdf`` bytes."""
        if fmt not in FORMATS:
            raise SettingError(f"drawings are written as {', '.join(FORMATS)}, not {fmt!r}")
        if self.style == "graph":
            return run_dot(self.dot, fmt, self.aspect)
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
    open_block: str | None = None,
    aux: bool = False,
    title: TitleMode = "short",
    aspect: float | None = None,
    image: Any | None = None,
) -> Drawing:
    """A drawing of ``model``'s architecture, every number from the same summary as ``cnnlab summary``.

    ``model`` is a registry name or any ``nn.Module`` (with ``input_size``); ``cnnlab.draw`` takes a run too (its
    model at the size it was trained on). Every drawing is made for a 16:9 slide: its text is at least 18 points
    once the drawing fills one.

    Args:
        model: what to draw.
        input_size: ``(C, H, W)``; default the model's own.
        style: ``blocks`` or ``graph``; default ``graph`` for networks with blocks of three or more branches
            side by side (Inception) and ``blocks`` for the others.
        open_block: which residual block is drawn opened, its shortcut shown: ``identity`` (the default for a
            network with residual blocks), ``downsampling`` or ``none``.
        aux: draw the auxiliary classifiers (GoogLeNet's two heads on 4a and 4d).
        title: ``short`` (the model's name), ``full`` (with its input and style) or ``none``.
        aspect: the drawing's width / height (16 / 9 fills a slide); default its own shape, landscape where the
            network allows.
        image: ``(C, H, W)`` or ``(H, W)`` array drawn in the input (default: a bundled MNIST digit for one
            channel, a sample photo for three).

    Raises:
        ValueError: an unknown model, style or block to open, an input the model does not take, the blocks style
            for a network that branches between its blocks, a block to open or auxiliary classifiers the network
            does not have, or the graph style without Graphviz installed.
    """
    if style is not None and style not in STYLES:
        raise SettingError(f"<style> must be one of {', '.join(STYLES)}, got {style!r}")
    if open_block is not None and open_block not in OPENINGS:
        raise SettingError(f"<open_block> must be one of {', '.join(OPENINGS)}, got {open_block!r}")
    title_mode(title)
    if aspect is not None:
        aspect = aspect_ratio(aspect)
    whole = trace_graph(model, input_size)
    folded = whole.folded()
    aux_heads: dict[str, str] = {}
    if aux:
        folded, aux_heads = with_aux(model, whole)
    opened = open_block_of(folded, open_block or "identity")
    if open_block not in (None, "none") and opened is None:
        raise SettingError(f"{folded.model} has no residual block with a{'n' if open_block == 'identity' else ''} "
                           f"{open_block} shortcut to open")  # fmt: skip
    shape = "x".join(map(str, folded.input))
    if style is None:
        inner = {name: trace_graph(whole.network, whole.input, within=name).folded() for name in whole.blocks()}
        branching = not folded.is_chain or any(graph.width >= 3 for graph in inner.values())
        style = "graph" if branching else "blocks"
    heading = titled(title, folded.model, f"{folded.model} at {shape}, {style} style")
    if style == "blocks":
        if aux:
            raise SettingError(f"the auxiliary classifiers branch off {folded.model}: draw them with <style=graph>")
        boxes, picture = blocks_picture(
            folded, opened=opened, opened_title=_opened_title(folded, opened), title=heading, aspect=aspect,
            image=_input_image(folded.input, image),
        )  # fmt: skip
        return Drawing(folded.model, folded.input, "blocks", folded, boxes=boxes, opened=opened, _picture=picture)
    expanded = _expanded(whole, opened)
    collapsed = folded.collapsed()
    dot = dot_source(collapsed, expanded, title=heading, aux=aux_heads, aspect=aspect)
    return Drawing(collapsed.model, collapsed.input, "graph", collapsed, expanded=expanded, opened=opened, dot=dot,
                   aux=aux_heads, aspect=aspect)  # fmt: skip


def _opened_title(graph: NetworkGraph, opened: NetworkGraph | None) -> str:
    """``stage 1: residual block, identity shortcut``."""
    if opened is None:
        return ""
    stage = stage_name(opened.within)
    return f"{stage}: {block_words(opened)}" if stage else f"{opened.within}: {block_words(opened)}"


def _expanded(whole: NetworkGraph, opened: NetworkGraph | None) -> list[NetworkGraph]:
    """The blocks the graph style draws opened: ``opened`` for residual ones, and the first block of three or
    more branches (an Inception module); one only, as more would not fit a slide."""
    expanded = []
    for name in whole.blocks():
        inner = trace_graph(whole.network, whole.input, within=name).folded()
        if len(_drawn_nodes(inner)) <= 1:
            continue
        residual = any(node.kind == "function" and node.type == "add" for node in inner.nodes)
        if residual:
            if opened is not None and opened.block_type == inner.block_type:
                expanded.append(opened)
            continue
        if inner.width >= 3 and not any(block.width >= 3 for block in expanded):  # one: more would not fit
            expanded.append(inner)
    return expanded


def _input_image(input_shape: tuple[int, int, int], image: Any | None) -> Any | None:
    """``image``, or a bundled digit (one channel) or photo (three), as an ``H x W (x 3)`` array in [0, 1]."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    channels, height, width = input_shape
    if image is None:
        try:
            from cnnlab.data.samples import sample_digit, sample_photo

            image = sample_digit()[0] if channels == 1 else sample_photo()[0] if channels == 3 else None
        except Exception:  # a drawing is still a drawing without its example input
            return None
        if image is None:
            return None
    pixels = torch.as_tensor(np.asarray(image)).float()
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim != 3 or pixels.shape[0] not in (1, 3):
        raise SettingError(f"<image> must be (C, H, W) with 1 or 3 channels, or (H, W); got {tuple(pixels.shape)}")
    pixels = F.interpolate(pixels[None], size=(height, width), mode="bilinear", align_corners=False)[0]
    low, high = float(pixels.min()), float(pixels.max())
    pixels = (pixels - low) / (high - low) if high > low else pixels * 0
    array = pixels.permute(1, 2, 0).numpy()
    return array[..., 0] if array.shape[2] == 1 else array


def _drawn_nodes(graph: NetworkGraph) -> list[GraphNode]:
    return [node for node in graph.nodes if node.kind in ("module", "function")]
