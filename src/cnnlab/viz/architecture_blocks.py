"""The ``blocks`` style of :func:`cnnlab.viz.architecture.draw`: the papers' boxes, drawn with matplotlib.

The feature maps are boxes left to right (LeNet-5's Fig. 2, AlexNet's Fig. 2), their height following the
map's size and their depth its channels, each labelled as LeNet-5's figure is ("C1: feature maps 6@28x28",
"F6: layer 84"), the arrows between them labelled with the operation. Runs of same-shape blocks are one box
marked with their count, so a CIFAR ResNet is drawn stage by stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import SettingError
from cnnlab.inspection.graph import GraphNode, NetworkGraph
from cnnlab.viz.architecture_words import COLOURS, Titles, node_kind, operation_words, shape_words, then_words

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
    boxes = []
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
            title = _group_title(graph, node) or f"{first}-{last}"
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
        boxes.append(Box(title, node.output_shape, description, operation_words(node), then_words(node),
                         node.repeat, node.members or (node.id,)))  # fmt: skip
    return boxes


def _group_title(graph: NetworkGraph, node: GraphNode) -> str:
    """``layer1`` when a run is every block of a named container (a ResNet stage), else ``""``."""
    parent = node.name.rpartition(".")[0]
    if not parent or parent.rpartition(".")[2].isdigit():
        return ""
    container = dict(graph.network.named_modules()).get(parent)
    if container is None or len(list(container.children())) != node.repeat:
        return ""
    return parent.rpartition(".")[2]


_FONT = 9  # points
_CHAR = 5.6  # pixels per character at that size (DejaVu Sans, on average)
_LINE = 15  # pixels per line at that size


def _text_width(text: str, size: float = _FONT) -> float:
    return max((len(line) for line in text.splitlines()), default=0) * _CHAR * size / _FONT


def _wrap_operation(box: Box) -> str:
    """One line per clause: ``11x11 convolution`` over ``stride 4``."""
    return box.operation.replace(", ", ",\n")


@dataclass(frozen=True)
class _Geometry:
    width: float  # front face
    height: float
    depth_x: float  # the offset of the back face: the channels
    depth_y: float


def _geometry(box: Box, largest_side: int, largest_units: int) -> _Geometry:
    if box.is_map:
        channels, height, width = box.shape
        depth = 3 + 6 * math.log2(max(channels, 1))
        return _Geometry(16 + 124 * math.sqrt(width / largest_side), 16 + 124 * math.sqrt(height / largest_side),
                         depth * 0.75, depth * 0.45)  # fmt: skip
    units = math.prod(box.shape)
    height = 30 + 100 * math.log10(units + 1) / math.log10(largest_units + 1)
    return _Geometry(11, height, 4, 2.5)


def blocks_picture(graph: NetworkGraph) -> tuple[list[Box], Any]:
    """The boxes of ``graph`` (folded, a chain) and the matplotlib figure that draws them.

    Raises:
        ValueError: ``graph`` branches (the blocks style draws a chain).
    """
    from matplotlib.patches import FancyArrowPatch, Polygon, Rectangle

    from cnnlab.viz.figure import new_picture

    boxes = _boxes(graph)
    sides = [side for box in boxes if box.is_map for side in box.shape[1:]] or [1]
    units = [math.prod(box.shape) for box in boxes if not box.is_map] or [1]
    shapes = [_geometry(box, max(sides), max(units)) for box in boxes]
    operations = [_wrap_operation(box) for box in boxes]
    thens = [box.then for box in boxes]
    margin, title_band, operation_band = 24, 40, 12 + _LINE * max(o.count("\n") + 2 for o in operations)
    tallest = max(g.height + g.depth_y for g in shapes)
    # Left to right: each box's slot is as wide as its shape or its labels; the gap before it fits its arrow's words.
    lefts, x = [], float(margin)
    for index, (box, shape) in enumerate(zip(boxes, shapes, strict=True)):
        if index:
            words = max(_text_width(operations[index]), _text_width(thens[index], 8))
            x += max(46.0, words + 14 - 0.0)
        label = max(_text_width(box.title, 10), _text_width(box.description))
        extent = shape.width + shape.depth_x
        lefts.append(x + max(0.0, (label - extent) / 2))
        x += max(extent, label)
    width = x + margin
    height = margin + title_band + tallest + operation_band + margin
    picture = new_picture(width, height)
    axes = picture.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.axis("off")
    middle = margin + operation_band + tallest / 2
    top_line = middle + tallest / 2 + 8
    bottom_line = middle - tallest / 2 - 8
    for index, (box, shape, left) in enumerate(zip(boxes, shapes, lefts, strict=True)):
        colour = COLOURS[_box_kind(graph, box)]
        bottom = middle - shape.height / 2 - shape.depth_y / 2
        _cuboid(axes, Rectangle, Polygon, left, bottom, shape, colour)
        centre = left + (shape.width + shape.depth_x) / 2
        axes.text(centre, top_line + 15, box.title, ha="center", va="bottom", fontsize=10, fontweight="bold")
        axes.text(centre, top_line, box.description, ha="center", va="bottom", fontsize=_FONT)
        if box.repeat > 1:
            axes.text(left + shape.width + shape.depth_x + 2, bottom + shape.height + shape.depth_y, f"x{box.repeat}",
                      ha="left", va="top", fontsize=10, fontweight="bold", color="#54278f")  # fmt: skip
        if index == 0:
            continue
        previous_right = lefts[index - 1] + shapes[index - 1].width
        start, end = previous_right + shapes[index - 1].depth_x + 3, left - 3
        axes.add_patch(FancyArrowPatch((start, middle), (end, middle), arrowstyle="-|>", mutation_scale=10,
                                       color="#444", linewidth=1))  # fmt: skip
        between = (previous_right + shapes[index - 1].depth_x + left) / 2
        axes.text(between, bottom_line, operations[index], ha="center", va="top", fontsize=_FONT)
        if thens[index]:
            lines = operations[index].count("\n") + 1
            axes.text(between, bottom_line - _LINE * lines, f"then {thens[index]}", ha="center", va="top",
                      fontsize=8, color="#666")  # fmt: skip
    picture.about = f"{graph.model} at {'x'.join(map(str, graph.input))}: {len(boxes)} boxes"
    return boxes, picture


def _box_kind(graph: NetworkGraph, box: Box) -> str:
    node = next((n for n in graph.nodes if n.id == box.nodes[0]), None)
    if node is None:
        return "other"
    if not box.is_map and node.kind != "input":
        return "vector"
    return node_kind(node)


def _cuboid(axes: Any, rectangle: Any, polygon: Any, left: float, bottom: float, g: _Geometry, colour: str) -> None:
    """A box seen from the front, a little from above and the right: front, top and side faces."""
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)

    def shade(factor: float) -> tuple[float, float, float]:
        return (red * factor, green * factor, blue * factor)

    right, top = left + g.width, bottom + g.height
    edge = {"edgecolor": "#333", "linewidth": 0.8}
    dx, dy = g.depth_x, g.depth_y
    axes.add_patch(polygon([(left, top), (left + dx, top + dy), (right + dx, top + dy), (right, top)],
                           facecolor=shade(0.92), **edge))  # fmt: skip
    axes.add_patch(polygon([(right, bottom), (right + dx, bottom + dy), (right + dx, top + dy), (right, top)],
                           facecolor=shade(0.8), **edge))  # fmt: skip
    axes.add_patch(rectangle((left, bottom), g.width, g.height, facecolor=colour, **edge))
