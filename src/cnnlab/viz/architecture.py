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

SVG keeps its text as text, so a label can be edited on a slide and a test can read the numbers back.
"""

from __future__ import annotations

import html
import math
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from cnnlab.errors import SettingError
from cnnlab.files import write_bytes
from cnnlab.inspection.graph import GraphNode, NetworkGraph, trace_graph

__all__ = ["FORMATS", "STYLES", "Box", "Drawing", "draw"]

STYLES = ("blocks", "graph")
FORMATS = ("svg", "png", "pdf")

# How an arrow into a box names the operation, by module type (a window's kernel and stride are added).
_CONVOLUTIONS = {"Conv2d": "convolution", "SparseConv2d": "convolution", "CoveringConv2d": "convolution",
                 "LocallyConnected2d": "locally connected"}  # fmt: skip
_POOLINGS = {"TrainableSubsampling": "subsampling", "MaxPool2d": "max pooling", "AvgPool2d": "average pooling",
             "LPPool2d": "Lp pooling", "max_pool2d": "max pooling", "avg_pool2d": "average pooling"}  # fmt: skip
_GLOBAL_POOLINGS = ("AdaptiveAvgPool2d", "GlobalAvgPool2d", "adaptive_avg_pool2d", "AdaptiveMaxPool2d")
_CONNECTIONS = {"Linear": "full connection", "EuclideanRBF": "Gaussian connections"}
_BLOCK_WORDS = {"BasicBlock": "residual block", "Bottleneck": "bottleneck block", "Inception": "Inception module"}
_SHORT_NAMES = {"LocalResponseNorm2d": "LRN", "LocalResponseNorm": "LRN", "BatchNorm2d": "BN", "BatchNorm1d": "BN",
                "ScaledTanh": "tanh", "Dropout": "dropout", "Dropout2d": "dropout", "Flatten": "flatten"}  # fmt: skip
_COLOURS = {"input": "#e0e0e0", "conv": "#9ecae1", "pool": "#a1d99b", "local": "#fdd0a2", "block": "#bcbddc",
            "vector": "#fdae6b", "other": "#d9d9d9", "function": "#ffffff"}  # fmt: skip


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
            return _run_dot(self.dot, fmt)
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
            ValueError: another suffix.
            OSError: the file cannot be written.
        """
        out = Path(out).expanduser()
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
    model: nn.Module | str | Any,
    input_size: tuple[int, int, int] | None = None,
    *,
    style: str | None = None,
) -> Drawing:
    """A drawing of ``model``'s architecture, every number from the same summary as ``cnnlab summary``.

    ``cnnlab.draw``. ``model`` is a registry name, any ``nn.Module`` (with ``input_size``), or a run (its
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
        return _blocks_drawing(folded)
    return _graph_drawing(folded.collapsed(), list(inner.values()))


def _drawn_nodes(graph: NetworkGraph) -> list[GraphNode]:
    return [node for node in graph.nodes if node.kind in ("module", "function")]


# ---------------------------------------------------------------------------------------------------------
# words


def _window(node: GraphNode) -> tuple[str, str]:
    """``("5x5", "2")`` from the summary's ``5x5 s2 p1``; ``("", "")`` without a window."""
    match = re.match(r"(\S+) s(\S+)", node.window)
    return (match.group(1), match.group(2)) if match else ("", "")


def _operation(node: GraphNode) -> str:
    """What the arrow into ``node``'s box says: ``5x5 convolution``, ``3x3 max pooling, stride 2``."""
    kernel, stride = _window(node)
    strided = f", stride {stride}" if stride not in ("", "1", "1x1") else ""
    if node.type in _CONVOLUTIONS:
        words = f"{kernel} {_CONVOLUTIONS[node.type]}{strided}"
    elif node.type in _POOLINGS:  # a stride equal to the window (no overlap) goes without saying
        tiling = stride == kernel.partition("x")[0] and kernel.partition("x")[0] == kernel.partition("x")[2]
        words = f"{kernel} {_POOLINGS[node.type]}{'' if tiling else strided}"
    elif node.type in _GLOBAL_POOLINGS:
        pooled = len(node.output_shape) == 1 or node.output_shape[1:] == (1, 1)
        words = "global average pooling" if pooled else "adaptive average pooling"
    elif node.type in _CONNECTIONS:
        words = _CONNECTIONS[node.type]
    else:
        words = _BLOCK_WORDS.get(node.type, node.type)
        if node.repeat > 1:
            return f"{node.repeat} {words}s" if node.type in _BLOCK_WORDS else f"{words} x{node.repeat}"
        return words
    return f"{words} x{node.repeat}" if node.repeat > 1 else words


def _then(node: GraphNode) -> str:
    names = [_SHORT_NAMES.get(kind, kind) for kind in node.folded if kind not in ("Identity",)]
    return ", ".join(dict.fromkeys(names))


def _kind(node: GraphNode) -> str:
    if node.kind == "input":
        return "input"
    if len(node.output_shape) != 3 or node.output_shape[1:] == (1, 1):
        return "vector"
    if node.type in ("LocallyConnected2d",):
        return "local"
    if node.type in _CONVOLUTIONS:
        return "conv"
    if node.type in _POOLINGS or node.type in _GLOBAL_POOLINGS:
        return "pool"
    return "block" if node.kind == "module" else "other"


def _shape_words(shape: tuple[int, ...]) -> str:
    """``6@28x28`` for maps, ``120`` for a layer of units (or 120 maps of 1x1)."""
    if len(shape) == 3 and shape[1] * shape[2] > 1:
        return f"{shape[0]}@{shape[1]}x{shape[2]}"
    return str(math.prod(shape))


class _Titles:
    """Box titles: LeNet-5's short names upper-cased (``C1``), others as named, numbered ones by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, node: GraphNode) -> str:
        last = node.name.rpartition(".")[2]
        if not last.isdigit():
            return last.upper() if len(last) <= 3 else last
        kind = {"conv": "conv", "local": "local", "pool": "pool", "vector": "fc"}.get(_kind(node), "block")
        kind = "fc" if node.type == "Linear" else "conv" if node.type in _CONVOLUTIONS else kind
        self.counts[kind] += 1
        return f"{kind}{self.counts[kind]}"


def _boxes(graph: NetworkGraph) -> list[Box]:
    """The blocks style's boxes from a chain graph (folded, runs of same-shape blocks collapsed)."""
    if not graph.is_chain:
        joins = [n.id for n in graph.nodes if len(graph.predecessors(n.id)) > 1 or len(graph.successors(n.id)) > 1]
        raise SettingError(
            f"the blocks style draws a chain of layers; {graph.model} branches at {', '.join(joins[:3])}: "
            "use <style=graph>"
        )
    collapsed = graph.collapsed(same_shape=True)
    titles = _Titles()
    members = {node.id: node for node in graph.nodes}
    boxes = []
    drawn = [node for node in collapsed.nodes if node.kind != "output"]
    for index, node in enumerate(drawn):
        if node.kind == "input":
            boxes.append(Box("INPUT", node.output_shape, f"input {_shape_words(node.output_shape)}", "",
                             nodes=(node.id,)))  # fmt: skip
            continue
        if node.repeat > 1:
            first, last = titles(members[node.members[0]]), ""
            for member in node.members[1:]:
                last = titles(members[member])
            title = _group_title(graph, node) or f"{first}-{last}"
        else:
            title = titles(node)
        words = _shape_words(node.output_shape)
        if index == len(drawn) - 1:
            description = f"output {words}"
            title = "OUTPUT" if title.lower() == "output" else title
        elif "@" in words:
            description = f"feature maps {words}"
        else:
            description = f"layer {words}"
        boxes.append(Box(title, node.output_shape, description, _operation(node), _then(node), node.repeat,
                         node.members or (node.id,)))  # fmt: skip
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


# ---------------------------------------------------------------------------------------------------------
# the blocks style


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


def _blocks_drawing(graph: NetworkGraph) -> Drawing:
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
        colour = _COLOURS[_box_kind(graph, box)]
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
    return Drawing(graph.model, graph.input, "blocks", graph, boxes=boxes, _picture=picture)


def _box_kind(graph: NetworkGraph, box: Box) -> str:
    node = next((n for n in graph.nodes if n.id == box.nodes[0]), None)
    if node is None:
        return "other"
    if not box.is_map and node.kind != "input":
        return "vector"
    return _kind(node)


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


# ---------------------------------------------------------------------------------------------------------
# the graph style


def _label(title: str, *lines: str) -> str:
    """A Graphviz HTML label: a bold title and smaller grey lines."""
    rows = [f"<B>{html.escape(title)}</B>"] + [
        f'<FONT POINT-SIZE="9" COLOR="#444444">{html.escape(line)}</FONT>' for line in lines if line
    ]
    return "<" + "<BR/>".join(rows) + ">"


def _node_lines(node: GraphNode) -> tuple[str, list[str]]:
    if node.kind == "function":
        return {"add": "+", "concat": "concat", "multiply": "x"}.get(node.type, node.type), [_then(node)]
    kind = node.type + (f" {node.window}" if node.window else "")
    if node.repeat > 1:
        first, last = node.members[0], node.members[-1]
        title = f"{first} ... {last.rpartition('.')[2] if '.' in last else last}"
        channels = sorted({shape[0] for shape in node.member_shapes if shape})
        lines = [f"{kind} x{node.repeat}"]
        if len(channels) > 1:
            lines.append("channels " + ", ".join(str(shape[0]) for shape in node.member_shapes))
    else:
        title, lines = node.name, [kind]
    then = _then(node)
    lines += [f"then {then}"] if then else []
    lines += [f"{node.params:,} params"] if node.params else []
    return title, lines


def _dot_graph(graph: NetworkGraph, prefix: str, short_names: bool) -> list[str]:
    """The DOT statements of one graph's nodes and edges, ids prefixed (one name space per cluster)."""
    lines = []
    for node in graph.nodes:
        node_id = f'"{prefix}{node.id}"'
        if node.kind in ("input", "output"):
            words = f"{node.kind} {node.shape_text}"
            lines.append(f'{node_id} [label="{words}", shape=plaintext, fontsize=10];')
            continue
        title, rest = _node_lines(node)
        if short_names and node.kind == "module":
            title = node.name[len(graph.within) + 1 :] if node.name.startswith(graph.within + ".") else node.name
        shape = "box" if node.kind == "module" else "ellipse"
        fill = _COLOURS.get(_kind(node), _COLOURS["other"]) if node.kind == "module" else _COLOURS["function"]
        lines.append(f'{node_id} [label={_label(title, *rest)}, shape={shape}, fillcolor="{fill}"];')
    for edge in graph.edges:
        lines.append(f'"{prefix}{edge.source}" -> "{prefix}{edge.target}" [label=" {edge.shape_text}"];')
    return lines


def _graph_drawing(graph: NetworkGraph, expanded: list[NetworkGraph]) -> Drawing:
    shape = "x".join(map(str, graph.input))
    lines = [
        "digraph architecture {",
        'graph [rankdir=TB, nodesep=0.25, ranksep=0.3, fontname="Helvetica", fontsize=12, newrank=true];',
        'node [fontname="Helvetica", fontsize=10, style="rounded,filled", margin="0.12,0.04"];',
        'edge [fontname="Helvetica", fontsize=8, color="#555555", arrowsize=0.6];',
        "subgraph cluster_network {",
        f'label=<<B>{html.escape(graph.model)}</B> at {shape}>; color="#999999"; style=rounded;',
        *_dot_graph(graph, "n:", short_names=False),
        "}",
    ]
    counts = Counter(n.type for n in graph.nodes for _ in range(n.repeat))
    for index, block in enumerate(expanded):
        title = f"{block.block_type} ({block.within}, one of {counts[block.block_type]}), expanded"
        lines += [
            f"subgraph cluster_block{index} {{",
            f'label=<{html.escape(title)}>; color="#999999"; style="rounded,dashed";',
            *_dot_graph(block, f"b{index}:", short_names=True),
            "}",
        ]
    lines.append("}")
    return Drawing(graph.model, graph.input, "graph", graph, expanded=expanded, dot="\n".join(lines) + "\n")


def _run_dot(source: str, fmt: str) -> bytes:
    if shutil.which("dot") is None:
        raise SettingError(
            "the graph style is laid out by Graphviz's dot program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); <style=blocks> needs nothing"
        )
    import graphviz

    return graphviz.Source(source).pipe(format=fmt)
