"""One residual block opened, ResNet's one idea drawn: ``x -> conv -> conv -> (+) <- x`` (He et al. 2015, Fig. 2).

:func:`open_block` picks the block to open from a network's graph: the first whose shortcut is the identity
(its input and output shapes agree), or on request the first down-sampling one (whose shortcut is a 1x1
projection, or option A's zero-padding, as the model has it). :func:`block_words` says what the graph style
and the blocks style call it ("residual block, identity shortcut"). :class:`ResidualDiagram` draws it with
matplotlib for the blocks style: the branch's layers left to right, the addition node fed by the branch and by
the shortcut that leaves the block's input above them. Every artist carries a gid (``node:add``,
``edge:(input)->add``) so a test finds the shortcut in the SVG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cnnlab.errors import SettingError
from cnnlab.inspection.graph import INPUT, OUTPUT, GraphNode, NetworkGraph, trace_graph
from cnnlab.viz.architecture_words import COLOURS, node_kind, operation_words, then_words

__all__ = ["OPENINGS", "ResidualDiagram", "block_words", "open_block", "stage_name"]

OPENINGS = ("identity", "downsampling", "none")
"""Which residual block a drawing opens: the first with an identity shortcut (the default), the first that
down-samples (its shortcut a projection or option A's zero-padding), or none."""

_SHORTCUT_WORDS = {"ZeroPadShortcut": "subsample, pad with zeros"}  # option A (Sec. 3.3)
_BLOCK_NAMES = {"BasicBlock": "residual block", "Bottleneck": "bottleneck block"}


def stage_name(module_name: str) -> str:
    """``stage 1`` for a ResNet's ``layer1`` (or a block in it), else ``""``."""
    first = module_name.split(".")[0]
    return f"stage {first[5:]}" if first.startswith("layer") and first[5:].isdigit() else ""


def _add_node(inner: NetworkGraph) -> GraphNode | None:
    return next((node for node in inner.nodes if node.kind == "function" and node.type == "add"), None)


def open_block(graph: NetworkGraph, which: str = "identity") -> NetworkGraph | None:
    """The folded graph of the first residual block of ``graph`` whose shortcut is ``which``, or None.

    ``identity``: input and output shapes agree, the sum takes the block's input itself. ``downsampling``: they
    differ, the sum takes the shortcut's output. None when the network has no such block (a plain net).

    Raises:
        SettingError: ``which`` is not one of :data:`OPENINGS`.
    """
    if which not in OPENINGS:
        raise SettingError(f"<open> must be one of {', '.join(OPENINGS)}, got {which!r}")
    if which == "none":
        return None
    modules = dict(graph.network.named_modules())
    without_sum: set[str] = set()  # block types seen to have no sum (a plain net's): not traced again
    for node in graph.nodes:
        module = modules.get(node.name)
        if node.kind != "module" or module is None or not any(True for _ in module.children()):
            continue
        [source] = graph.predecessors(node.id)[:1] or [INPUT]
        same_shape = graph.node(source).output_shape == node.output_shape
        if same_shape != (which == "identity") or node.type in without_sum:
            continue
        inner = trace_graph(graph.network, graph.input, within=node.name).folded()
        add = _add_node(inner)
        if add is None:
            without_sum.add(node.type)
            continue
        identity = INPUT in inner.predecessors(add.id)
        if identity == (which == "identity"):
            return inner
    return None


def block_words(inner: NetworkGraph) -> str:
    """``residual block, identity shortcut`` or ``bottleneck block, projection shortcut``."""
    name = _BLOCK_NAMES.get(inner.block_type, f"{inner.block_type} block")
    add = _add_node(inner)
    if add is None or INPUT in inner.predecessors(add.id):
        return f"{name}, identity shortcut"
    zero_pad = any(node.type in _SHORTCUT_WORDS for node in inner.nodes)
    return f"{name}, {'zero-padding' if zero_pad else 'projection'} shortcut"


def _short_operation(node: GraphNode) -> str:
    if node.type in _SHORTCUT_WORDS:
        return _SHORTCUT_WORDS[node.type]
    return operation_words(node).replace("convolution", "conv")


def _text_width(text: str, font: float) -> float:
    from cnnlab.viz.architecture_shapes import text_width

    return text_width(text, font) * 1.06


@dataclass
class ResidualDiagram:
    """A residual block drawn left to right, its shortcut above; sizes in points for text of ``font`` points.

    Attributes:
        inner: the block's folded graph.
        title: the words above it.
        font: the text size.
    """

    inner: NetworkGraph
    title: str
    font: float

    @property
    def add(self) -> GraphNode:
        add = _add_node(self.inner)
        assert add is not None  # open_block only opens blocks with a sum
        return add

    def _branch(self) -> list[GraphNode]:
        """The layers from the input to the sum along the longest path: the branch."""
        order = [node.id for node in self.inner.nodes]
        path, current = [], INPUT
        while current != self.add.id:
            nexts = sorted(self.inner.successors(current), key=order.index)
            reaching = [n for n in nexts if n == self.add.id or self._reaches(n)]
            current = max(reaching, key=lambda n: self._depth(n))
            if current != self.add.id:
                path.append(self.inner.node(current))
        return path

    def _reaches(self, node_id: str) -> bool:
        return node_id == self.add.id or any(self._reaches(n) for n in self.inner.successors(node_id))

    def _depth(self, node_id: str) -> int:
        return 0 if node_id == self.add.id else 1 + max((self._depth(n) for n in self.inner.successors(node_id)),
                                                        default=-100)  # fmt: skip

    def _shortcut(self) -> list[GraphNode]:
        branch = {node.id for node in self._branch()}
        return [n for n in self.inner.nodes if n.kind == "module" and n.id not in branch]

    def _node_lines(self, node: GraphNode) -> list[str]:
        then = then_words(node)
        if node.id in {n.id for n in self._shortcut()}:  # one line: the shortcut runs in a narrow band
            words = re.sub(r"^(\d+x\d+) (.*), stride (\d+)$", r"\1/\3 \2", _short_operation(node))
            return [f"{words}, {then}" if then else words]
        return [_short_operation(node), *([then] if then else [])]

    def _node_size(self, node: GraphNode) -> tuple[float, float]:
        lines = self._node_lines(node)
        return max(_text_width(line, self.font) for line in lines) + 14, len(lines) * self.font * 1.3 + 10

    @property
    def _line(self) -> float:
        return self.font * 1.3

    def _layout(self) -> tuple[dict[str, float], float, float]:
        """The x of each drawn thing's left edge, the band the shortcut runs in, and the total width."""
        gap, x = 34.0, _text_width("x", self.font) + 4
        lefts = {INPUT: 0.0}
        for node in self._branch():
            x += gap
            lefts[node.id] = x
            x += self._node_size(node)[0]
        lefts[self.add.id] = x + gap
        x += gap + self.font * 1.6
        after = then_words(self.add)
        x += gap + _text_width(after, self.font) + 6 + _text_width("out", self.font)
        shortcut = self._shortcut()
        band = max((self._node_size(n)[1] for n in shortcut), default=0.0) + 1.2 * self.font
        width = max(x, self._title_width())
        if shortcut:  # the shortcut's layers above the branch, centred on it
            centre = (lefts[INPUT] + lefts[self.add.id]) / 2
            lefts[shortcut[0].id] = centre - self._node_size(shortcut[0])[0] / 2
        return lefts, band, width

    def _title_width(self) -> float:
        return _text_width(self.title, self.font)

    @property
    def size(self) -> tuple[float, float]:
        """``(width, height)`` in points."""
        _, band, width = self._layout()
        tallest = max(self._node_size(n)[1] for n in self._branch())
        return width, self._line * 1.2 + band + tallest

    def draw(self, axes: Any, left: float, top: float) -> None:
        """Draw the block with its top-left corner at ``(left, top)`` (points, y upwards)."""
        from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

        lefts, band, _ = self._layout()
        font, line = self.font, self._line
        axes.text(left, top, self.title, ha="left", va="top", fontsize=font, fontweight="bold", gid="block:title")
        branch = self._branch()
        tallest = max(self._node_size(n)[1] for n in branch)
        middle = top - line * 1.2 - band - tallest / 2
        shortcut_y = top - line * 1.2 - band / 2

        def arrow(points: list[tuple[float, float]], gid: str) -> None:
            from matplotlib.path import Path

            codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
            patch = FancyArrowPatch(path=Path(points, codes), arrowstyle="-|>", mutation_scale=14, color="#333",
                                    linewidth=1.4, shrinkA=0, shrinkB=0)  # fmt: skip
            patch.set_gid(gid)
            axes.add_patch(patch)

        x_right = left + _text_width("x", font) + 2
        axes.text(left, middle, "x", ha="left", va="center", fontsize=font, fontstyle="italic", gid="node:(input)")
        previous, previous_right = INPUT, x_right
        for node in branch:
            width, height = self._node_size(node)
            x0 = left + lefts[node.id]
            self._box(axes, FancyBboxPatch, node, x0, middle - height / 2, width, height)
            arrow([(previous_right, middle), (x0, middle)], f"edge:{previous}->{node.id}")
            previous, previous_right = node.id, x0 + width
        radius = font * 0.8
        add_x = left + lefts[self.add.id] + radius
        circle = Circle((add_x, middle), radius, facecolor="white", edgecolor="#333", linewidth=1.4)
        circle.set_gid(f"node:{self.add.id}")
        axes.add_patch(circle)
        axes.text(add_x, middle, "+", ha="center", va="center", fontsize=font, fontweight="bold")
        arrow([(previous_right, middle), (add_x - radius, middle)], f"edge:{previous}->{self.add.id}")
        # the shortcut: up from just after x, along the top, down into the sum
        start_x = x_right + 8
        shortcut = self._shortcut()
        if not shortcut:
            arrow([(start_x, middle), (start_x, shortcut_y), (add_x, shortcut_y), (add_x, middle + radius)],
                  f"edge:{INPUT}->{self.add.id}")  # fmt: skip
            axes.text((start_x + add_x) / 2, shortcut_y + 4, "identity", ha="center", va="bottom", fontsize=font,
                      color="#54278f")  # fmt: skip
        else:
            node = shortcut[0]
            width, height = self._node_size(node)
            x0 = left + lefts[node.id]
            self._box(axes, FancyBboxPatch, node, x0, shortcut_y - height / 2, width, height)
            arrow([(start_x, middle), (start_x, shortcut_y), (x0, shortcut_y)], f"edge:{INPUT}->{node.id}")
            arrow([(x0 + width, shortcut_y), (add_x, shortcut_y), (add_x, middle + radius)],
                  f"edge:{node.id}->{self.add.id}")  # fmt: skip
        after = then_words(self.add)
        out_x = add_x + radius + 34 + _text_width(after, font) + 6
        arrow([(add_x + radius, middle), (out_x, middle)], f"edge:{self.add.id}->{OUTPUT}")
        if after:
            axes.text((add_x + radius + out_x) / 2, middle + 3, after, ha="center", va="bottom", fontsize=font)
        axes.text(out_x + 3, middle, "out", ha="left", va="center", fontsize=font, fontstyle="italic")

    def _box(self, axes: Any, patch: Any, node: GraphNode, x0: float, y0: float, width: float, height: float) -> None:
        box = patch((x0, y0), width, height, boxstyle="round,pad=0,rounding_size=5", linewidth=1,
                    facecolor=COLOURS.get(node_kind(node), COLOURS["other"]), edgecolor="#333")  # fmt: skip
        box.set_gid(f"node:{node.id}")
        axes.add_patch(box)
        lines = self._node_lines(node)
        for index, text in enumerate(lines):
            y = y0 + height / 2 + (len(lines) / 2 - index - 0.5) * self._line
            axes.text(x0 + width / 2, y, text, ha="center", va="center", fontsize=self.font)
