"""The ``blocks`` style of :func:`cnnlab.viz.architecture.draw`: the papers' boxes, drawn with matplotlib.

The feature maps are boxes left to right (LeNet-5's Fig. 2, AlexNet's Fig. 2), their height following the
map's size and their depth its channels, each labelled as LeNet-5's figure is ("C1: feature maps 6@28x28",
"F6: layer 84"), the arrows between them labelled with the operation. Runs of same-shape blocks are one box
marked with their count, so a CIFAR ResNet is drawn stage by stage.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import SettingError
from cnnlab.inspection.graph import GraphNode, NetworkGraph
from cnnlab.viz.architecture_residual import ResidualDiagram, stage_name
from cnnlab.viz.architecture_shapes import Shape, draw_shape, shape_of, text_width
from cnnlab.viz.architecture_words import (
    BLOCK_WORDS,
    COLOURS,
    Titles,
    node_kind,
    operation_words,
    shape_words,
    then_words,
)

__all__ = ["Box", "blocks_picture"]


@dataclass(frozen=True)
class Box:
    """One box of the blocks style: a feature map (or a layer of units) and the operation that made it.

    Attributes:
        title: ``C1``, ``conv3-conv4``, ``layer1`` (or ``INPUT``).
        shape: ``(C, H, W)`` or ``(N,)``, from the summary.
        description: ``feature maps 6@28x28``, ``layer 120``, ``output 10``, ``input 1@32x32``.
        operation: what the arrow into the box says (``5x5 convolution``); ``""`` for the input.
        then: the layers folded into it, as the arrow's second line (``ReLU, LRN``).
        repeat: how many blocks of the same shape it stands for.
        nodes: the graph nodes it draws.
    """

    title: str
    shape: tuple[int, ...]
    description: str
    operation: str
    then: str = ""
    repeat: int = 1
    nodes: tuple[str, ...] = ()

    @property
    def is_map(self) -> bool:
        """Feature maps larger than 1x1 (drawn as a box); else a layer of units (a bar)."""
        return len(self.shape) == 3 and self.shape[1] * self.shape[2] > 1


def _boxes(graph: NetworkGraph) -> list[Box]:
    """The blocks style's boxes from a chain graph (folded, runs of same-shape blocks collapsed).

    Raises:
        ValueError: ``graph`` branches (the blocks style draws a chain).
    """
    if not graph.is_chain:
        joins = [n.id for n in graph.nodes if len(graph.predecessors(n.id)) > 1 or len(graph.successors(n.id)) > 1]
        raise SettingError(
            f"the blocks style draws a chain of layers; {graph.model} branches at {', '.join(joins[:3])}: "
            "use <style=graph>"
        )
    collapsed = graph.collapsed(same_shape=True)
    titles = Titles()
    members = {node.id: node for node in graph.nodes}
    boxes: list[Box] = []
    seen_stages: set[str] = set()
    drawn = [node for node in collapsed.nodes if node.kind != "output"]
    for index, node in enumerate(drawn):
        if node.kind == "input":
            boxes.append(Box("INPUT", node.output_shape, f"input {shape_words(node.output_shape)}", "",
                             nodes=(node.id,)))  # fmt: skip
            continue
        if node.repeat > 1:
            first, last = titles(members[node.members[0]]), ""
            for member in node.members[1:]:
                last = titles(members[member])
            group = _group_title(graph, node)
            title = stage_name(group) or group or f"{first}-{last}"
        else:
            title = titles(node)
        words = shape_words(node.output_shape)
        if index == len(drawn) - 1:
            description = f"output {words}"
            title = "OUTPUT" if title.lower() == "output" else title
        elif "@" in words:
            description = f"feature maps {words}"
        else:
            description = f"layer {words}"
        operation = operation_words(node)
        if node.repeat > 1 and node.type in BLOCK_WORDS:  # a stage: its blocks' kind once, then its stride
            operation = _stage_operation(boxes[-1].shape, node, first=node.type not in seen_stages)
            seen_stages.add(node.type)
        boxes.append(Box(title, node.output_shape, description, operation, then_words(node),
                         node.repeat, node.members or (node.id,)))  # fmt: skip
    return boxes


def _stage_operation(before: tuple[int, ...], node: GraphNode, first: bool) -> str:
    """``residual blocks`` for the first stage, ``stride 2`` for the next ones: no word said three times."""
    words = [f"{BLOCK_WORDS[node.type]}s"] if first else []
    if len(before) == 3 and len(node.output_shape) == 3 and node.output_shape[1] and before[1] > node.output_shape[1]:
        words.append(f"stride {before[1] // node.output_shape[1]}")
    return ", ".join(words)


def _group_title(graph: NetworkGraph, node: GraphNode) -> str:
    """``layer1`` when a run is every block of a named container (a ResNet stage), else ``""``."""
    parent = node.name.rpartition(".")[0]
    if not parent or parent.rpartition(".")[2].isdigit():
        return ""
    container = dict(graph.network.named_modules()).get(parent)
    if container is None or len(list(container.children())) != node.repeat:
        return ""
    return parent.rpartition(".")[2]


FONT = 18.0  # points: the slide standard's floor, for a canvas no larger than the slide (see _layout)
_LINE = FONT * 1.2
_MARGIN = 12.0
_ARROW = 34.0  # the shortest arrow between two boxes
_PAD = 14.0  # between two labels side by side
_ROW_GAP = 22.0  # between two rows, where the arrow from one to the next turns


def _width(text: str, bold: bool = False) -> float:
    """A line's width in points as matplotlib sets it, with 6% to spare for a browser's sans-serif."""
    return text_width(text, FONT, bold) * 1.06


def _label_lines(box: Box) -> list[tuple[str, bool]]:
    """The words above a box, as LeNet-5's figure has them: ``C1: feature maps`` over ``6@28x28``."""
    words = shape_words(box.shape)
    if box.title in ("INPUT", "OUTPUT") or not box.title:
        return [(box.title, True), (words, False)]
    if box.description.startswith("output"):
        return [(box.title, True), (f"output {words}", False)]
    if re.fullmatch(r"[A-Z]\d+", box.title):  # LeNet-5's C1, S2, F6: the paper's words
        return [(f"{box.title}: {'feature maps' if box.is_map else 'layer'}", True), (words, False)]
    return [(box.title, True), (words, False)]


def _shorter(words: str) -> str:
    """``3x3 conv x2`` for ``3x3 convolution x2``: what a long network's arrows say, to fit a slide."""
    for long, short in (("convolution", "conv"), ("max pooling", "max pool"), ("average pooling", "avg pool"),
                        ("full connection", "FC"), ("subsampling", "subsample"), ("adaptive", "adapt.")):  # fmt: skip
        words = words.replace(long, short)
    return words


def _wrap(text: str, width: int = 13) -> list[str]:
    """Words on lines of at most ``width`` characters (a longer word keeps its own line), a new line after
    each comma that ends a clause (``7x7 conv,`` over ``stride 2``)."""
    lines: list[str] = []
    for clause in text.split(", "):
        start = len(lines)
        for word in clause.split():
            if len(lines) > start and len(lines[-1]) + 1 + len(word) <= width:
                lines[-1] += f" {word}"
            else:
                lines.append(word)
        if len(lines) > start and clause != text.split(", ")[-1]:
            lines[-1] += ","
    return lines


@dataclass
class _Item:
    """A box with what the layout needs about it."""

    box: Box
    shape: Shape
    labels: list[tuple[str, bool]]
    operation: list[str]
    badge: str

    @property
    def label_width(self) -> float:
        return max(_width(text, bold) for text, bold in self.labels)

    @property
    def operation_width(self) -> float:
        return max((_width(line) for line in self.operation), default=0.0)

    @property
    def extent(self) -> float:
        """The horizontal room of the drawing itself, with its ``x3``."""
        return self.shape.extent[0] + (_width(self.badge, True) + 4 if self.badge else 0)


@dataclass
class _Row:
    items: list[_Item]
    centres: list[float]
    width: float
    lead: float  # room before the first box for the arrow that comes from the row above

    @property
    def label_lines(self) -> int:
        return max(len(item.labels) for item in self.items)

    @property
    def operation_lines(self) -> int:
        return max((len(item.operation) for item in self.items), default=0)

    @property
    def drawing_height(self) -> float:
        return max(item.shape.extent[1] for item in self.items)

    @property
    def height(self) -> float:
        return self.label_lines * _LINE + 8 + self.drawing_height + 8 + self.operation_lines * _LINE


def _words_centre(items: list[_Item], centres: list[float], index: int) -> float:
    """Where the words under the arrow into ``items[index]`` are centred: midway along the arrow, which runs
    from the drawing before (not its ``x3``) to this one's left edge (from the row's left for the first)."""
    left_edge = centres[index] - items[index].extent / 2
    if index == 0:
        return (4 + left_edge - 3) / 2
    before = items[index - 1]
    return (centres[index - 1] - before.extent / 2 + before.shape.extent[0] + left_edge) / 2


def _place(items: list[_Item], first_row: bool) -> _Row:
    """The centres of a row's boxes, left to right from 0, so that no labels meet."""
    lead = 0.0 if first_row else max(_ARROW + 16, items[0].operation_width + 8)
    centres: list[float] = []
    for index, item in enumerate(items):
        low = lead + max(item.extent, item.label_width) / 2
        if index == 0 and lead:
            low = max(low, lead + item.extent / 2)
        if index:
            before = items[index - 1]
            low = max(low, centres[-1] + (before.extent + item.extent) / 2 + _ARROW,
                      centres[-1] + (before.label_width + item.label_width) / 2 + _PAD)  # fmt: skip
        if index > 1 or (index == 1 and lead):
            # the words under the arrows must not meet either: this arrow's middle moves half as far as the box
            previous = _words_centre(items, centres, index - 1)
            needed = previous + (items[index - 1].operation_width + item.operation_width) / 2 + _PAD
            at_low = _words_centre(items, [*centres, low], index)
            low += max(0.0, 2 * (needed - at_low))
        centres.append(low)
    last = items[-1]
    right = centres[-1] + max(last.extent, last.label_width) / 2
    if len(items) > 1 or lead:
        right = max(right, _words_centre(items, centres, len(items) - 1) + last.operation_width / 2)
    return _Row(items, centres, right + 18, lead)  # + room for the arrow down to the next row


def _partitions(count: int, rows: int) -> list[tuple[int, ...]]:
    """Where rows start (after the first), every way for up to 3 rows, an even split beyond."""
    if rows == 1:
        return [()]
    if rows <= 3:
        return list(itertools.combinations(range(1, count), rows - 1))
    return [tuple(round(count * index / rows) for index in range(1, rows))]


def _rows(items: list[_Item], starts: tuple[int, ...]) -> list[_Row]:
    bounds = [0, *starts, len(items)]
    return [_place(items[low:high], index == 0) for index, (low, high) in enumerate(itertools.pairwise(bounds))]


@dataclass
class _Layout:
    rows: list[_Row]
    diagram: ResidualDiagram | None
    title: str
    width: float
    height: float

    def fit(self, aspect: float) -> float:
        """How much the layout is enlarged when fitted to a picture of ``aspect`` on a 16:9 slide."""
        slide_w, slide_h = (960.0, 960.0 / aspect) if aspect >= 16 / 9 else (540.0 * aspect, 540.0)
        return min(slide_w / self.width, slide_h / self.height)


def _layout(items: list[_Item], diagram: ResidualDiagram | None, title: str, starts: tuple[int, ...]) -> _Layout:
    rows = _rows(items, starts)
    width = max([row.width for row in rows] + ([diagram.size[0]] if diagram else []))
    height = sum(row.height for row in rows) + _ROW_GAP * (len(rows) - 1)
    height += (diagram.size[1] + 24) if diagram else 0
    height += _LINE * 1.3 if title else 0
    return _Layout(rows, diagram, title, width + 2 * _MARGIN, height + 2 * _MARGIN)


def blocks_picture(
    graph: NetworkGraph,
    *,
    opened: NetworkGraph | None = None,
    opened_title: str = "",
    title: str = "",
    aspect: float | None = None,
    image: Any | None = None,
) -> tuple[list[Box], Any]:
    """The boxes of ``graph`` (folded, a chain) and the matplotlib figure that draws them.

    The boxes run left to right in as many rows as make the text largest on a 16:9 slide (or a picture of
    ``aspect``, which the canvas then takes), with ``opened``, a residual block, drawn below them.

    Raises:
        ValueError: ``graph`` branches (the blocks style draws a chain).
    """
    boxes = _boxes(graph)
    diagram = ResidualDiagram(opened, opened_title, FONT) if opened is not None else None
    sides = [side for box in boxes if box.is_map for side in box.shape[1:]] or [1]
    units = [math.prod(box.shape) for box in boxes if not box.is_map] or [1]
    target = aspect or 16 / 9
    layouts: list[_Layout] = []
    # the paper's words and the largest boxes if they fit; else shorter words ("conv"), then smaller boxes
    for short, scale in ((False, 1.0), (True, 1.0), (True, 0.8), (True, 0.65), (True, 0.5)):
        items = [_Item(box, shape_of(box.shape, max(sides), max(units), scale), _label_lines(box),
                       _wrap(_shorter(box.operation) if short else box.operation, 16 if short else 13),
                       f"x{box.repeat}" if box.repeat > 1 else "") for box in boxes]  # fmt: skip
        candidates = [_layout(items, diagram, title, starts) for rows in range(1, min(len(items), 5) + 1)
                      for starts in _partitions(len(items), rows)]  # fmt: skip
        fitting = [layout for layout in candidates if layout.fit(target) >= 1.0]
        if fitting:  # the fewest rows that fit, then no box alone in the last row, then the largest
            layouts.append(min(fitting, key=lambda layout: (len(layout.rows), len(layout.rows[-1].items) == 1,
                                                            -layout.fit(target))))  # fmt: skip
            break
        layouts.append(max(candidates, key=lambda layout: layout.fit(target)))
    best = max(layouts, key=lambda layout: layout.fit(target)) if layouts[-1].fit(target) < 1.0 else layouts[-1]
    picture = _draw(graph, best, aspect, image)
    picture.about = f"{graph.model} at {'x'.join(map(str, graph.input))}: {len(boxes)} boxes"
    return boxes, picture


def _draw(graph: NetworkGraph, layout: _Layout, aspect: float | None, image: Any | None) -> Any:
    from cnnlab.viz.figure import Picture

    width, height = layout.width, layout.height
    if aspect:  # the canvas takes the shape asked for; the drawing stays in its middle
        width, height = max(width, height * aspect), max(height, width / aspect)
    picture = Picture(figsize=(width / 72, height / 72), dpi=100)
    axes = picture.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.axis("off")
    left = _MARGIN + (width - layout.width) / 2
    top = height - _MARGIN - (height - layout.height) / 2
    if layout.title:
        axes.text(width / 2, top, layout.title, ha="center", va="top", fontsize=FONT * 1.15, fontweight="bold")
        top -= _LINE * 1.3
    previous_end: tuple[float, float] | None = None
    for row in layout.rows:
        previous_end = _draw_row(axes, graph, row, left, top, previous_end, image if previous_end is None else None)
        top -= row.height + _ROW_GAP
    if layout.diagram is not None:
        layout.diagram.draw(axes, left, top - 8)
    return picture


def _draw_row(axes: Any, graph: NetworkGraph, row: _Row, left: float, top: float,
              previous_end: tuple[float, float] | None, image: Any | None) -> tuple[float, float]:  # fmt: skip
    """Draw one row under ``top`` (``image`` on its first box's front); returns where the arrow to the next row
    leaves."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    middle = top - row.label_lines * _LINE - 8 - row.drawing_height / 2
    label_top = top
    operation_top = middle - row.drawing_height / 2 - 8
    rights: list[float] = []
    for index, (item, centre) in enumerate(zip(row.items, row.centres, strict=True)):
        shape = item.shape
        x0 = left + centre - item.extent / 2
        bottom = middle - shape.extent[1] / 2
        gid = item.box.title.replace(" ", "_")
        draw_shape(axes, x0, bottom, shape, COLOURS[_box_kind(graph, item.box)], gid, None if index else image)
        for line, (text, bold) in enumerate(item.labels):
            axes.text(left + centre, label_top - line * _LINE, text, ha="center", va="top", fontsize=FONT,
                      fontweight="bold" if bold else "normal")  # fmt: skip
        if item.badge:
            axes.text(x0 + shape.extent[0] + 4, bottom, item.badge, ha="left", va="bottom",
                      fontsize=FONT, fontweight="bold", color="#54278f")  # fmt: skip
        start = rights[-1] if rights else None
        end = x0 - 3
        if start is None and previous_end is not None:  # from the row above: down its right side, back, in
            x_start, y_start = previous_end
            turn = top + _ROW_GAP / 2
            points = [(x_start, y_start), (x_start + 10, y_start), (x_start + 10, turn), (left + 4, turn),
                      (left + 4, middle), (end, middle)]  # fmt: skip
        elif start is not None:
            points = [(start, middle), (end, middle)]
        else:
            points = []
        if points:
            codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
            axes.add_patch(FancyArrowPatch(path=Path(points, codes), arrowstyle="-|>", mutation_scale=14,
                                           color="#444", linewidth=1.2))  # fmt: skip
            words_x = (points[-2][0] + end) / 2
            for line, text in enumerate(item.operation):
                axes.text(words_x, operation_top - line * _LINE, text, ha="center", va="top", fontsize=FONT)
        rights.append(x0 + shape.extent[0] + 3)
    return rights[-1], middle


def _box_kind(graph: NetworkGraph, box: Box) -> str:
    node = next((n for n in graph.nodes if n.id == box.nodes[0]), None)
    if node is None:
        return "other"
    if not box.is_map and node.kind != "input":
        return "vector"
    return node_kind(node)
