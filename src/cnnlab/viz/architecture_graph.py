"""The ``graph`` style of :func:`cnnlab.viz.architecture.draw`: modules as nodes, laid out by Graphviz's ``dot``.

For networks whose modules run three or more branches side by side (Inception), and on request any other: the
network's chain in rows read left to right (a slide is wide, a network long), a run of same-kind blocks
collapsed into one node ("Inception 4a-4e x5", "stage 1: 3 residual blocks"), each node with its output shape,
and one block drawn opened below (an Inception module's four branches and their concatenation; a residual
block with its shortcut into the sum). Every word is 18 points in a drawing sized for a 16:9 slide.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import shutil

from cnnlab.errors import SettingError
from cnnlab.inspection.graph import INPUT, GraphNode, NetworkGraph
from cnnlab.viz.architecture_residual import block_words, stage_name
from cnnlab.viz.architecture_words import BLOCK_WORDS, COLOURS, node_kind, operation_words, shape_words, then_words

__all__ = ["FONT", "dot_source", "node_words", "run_dot"]

FONT = 18  # points, the slide standard's floor for a drawing no larger than the slide
_SHORTER = (("convolution", "conv"), ("max pooling", "max pool"), ("average pooling", "avg pool"),
            ("full connection", "fully connected"), ("global avg pool", "global avg pool"))  # fmt: skip
_CONV_BLOCKS = ("ConvBlock", "BasicConv2d", "SeparableConv2d")


def _short(words: str) -> str:
    """``3x3/2 max pool`` for ``3x3 max pooling, stride 2``: GoogLeNet's Table 1 writes windows so."""
    for long, short in _SHORTER:
        words = words.replace(long, short)
    return re.sub(r"^(\d+x\d+) (.*), stride (\d+)$", r"\1/\3 \2", words)


def _label(title: str, *lines: str) -> str:
    """A Graphviz HTML label: a bold title and plain lines."""
    rows = [f"<B>{html.escape(title)}</B>"] if title else []
    rows += [html.escape(line) for line in lines if line]
    return "<" + "<BR/>".join(rows) + ">"


def _member_suffixes(node: GraphNode) -> str:
    """``4a-4e`` for ``inception4a..inception4e``: what a person calls a run of blocks."""
    first, last = node.members[0].rpartition(".")[2], node.members[-1].rpartition(".")[2]
    prefix = 0
    while prefix < min(len(first), len(last)) and first[prefix] == last[prefix] and not first[prefix].isdigit():
        prefix += 1
    first, last = first[prefix:].lstrip("_"), last[prefix:].lstrip("_")
    return f"{first}-{last}" if first and last and len(first) <= 3 and len(last) <= 3 else ""


def _conv_words(graph: NetworkGraph, node: GraphNode) -> str:
    """A conv block's words from its convolutions (``7x7 conv, stride 2``; ``1x1, 3x3 conv`` for a run)."""
    from torch import nn

    modules = dict(graph.network.named_modules())
    kernels: list[str] = []
    strides = {1}
    for member in node.members or (node.id,):
        module = modules.get(member.split("#")[0])
        conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None) if module else None
        if conv is not None:
            kernels.append("x".join(map(str, conv.kernel_size)))
            strides.add(conv.stride[0])
    if not kernels:
        return ""
    stride = max(strides)
    return _short(f"{', '.join(dict.fromkeys(kernels))} conv" + (f", stride {stride}" if stride > 1 else ""))


def node_words(graph: NetworkGraph, node: GraphNode, aux: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """A node's bold title and its lines, as a person would write them (``Inception 4a-4e x5``, ``832@14x14``)."""
    shape = shape_words(node.output_shape)
    if node.id in (aux or {}):
        return "aux classifier", [f"output {shape}"]  # its layers' words would widen the row it hangs from
    if node.kind == "function":
        return {"add": "+", "concat": "concat", "multiply": "x"}.get(node.type, node.type), [then_words(node)]
    block = BLOCK_WORDS.get(node.type, "")
    if node.type in _CONV_BLOCKS:
        words = _conv_words(graph, node) or node.type
        return (f"{words} x{node.repeat}" if node.repeat > 1 and "," not in words else words), [shape]
    if not block:
        return _short(operation_words(node)), [shape]
    name = "Inception" if block.startswith("Inception") else block
    if node.repeat > 1:
        stage = stage_name(node.name)
        if stage:
            return f"{stage}: {node.repeat} {block}s", [shape]
        return f"{name} {_member_suffixes(node)} x{node.repeat}".replace("  ", " "), [shape]
    match = re.search(r"(\d+[a-z]?)$", node.name.rpartition(".")[2])
    return f"{name} {match.group(1) if match else node.name}", [shape]


def _strip_count(words: str) -> str:
    return re.sub(r" x\d+$", "", words)


def _width(text: str) -> float:
    return len(text) * FONT * 0.62


def _node_width(graph: NetworkGraph, node: GraphNode, aux: dict[str, str]) -> float:
    title, lines = node_words(graph, node, aux)
    return max(_width(text) for text in [title, *lines]) + 24


def _node_statement(graph: NetworkGraph, node: GraphNode, prefix: str, aux: dict[str, str], inner: bool) -> str:
    node_id = f'"{prefix}{node.id}"'
    if node.kind in ("input", "output"):
        words = ("x" if node.kind == "input" else "out") if inner else f"{node.kind} {shape_words(node.output_shape)}"
        return f'{node_id} [label="{words}", shape=plaintext];'
    if inner and node.kind == "module":
        title = _short(operation_words(node)) if node.type not in ("ZeroPadShortcut",) else "subsample, pad with zeros"
        then = then_words(node)
        lines = [then] if then and graph.width < 3 else []
        if graph.width >= 3 and "conv" in title and len(node.output_shape) == 3:  # one line a branch's layer
            title = f"{title}, {node.output_shape[0]}"
        label = _label("", title, *lines)
    else:
        title, lines = node_words(graph, node, aux)
        label = _label(title, *lines)
    shape = "box" if node.kind == "module" else "ellipse"
    fill = COLOURS.get(node_kind(node), COLOURS["other"]) if node.kind == "module" else COLOURS["function"]
    fill = COLOURS["vector"] if node.id in aux else fill
    return f'{node_id} [label={label}, shape={shape}, fillcolor="{fill}"];'


def _rows(graph: NetworkGraph, aux: dict[str, str], width: float) -> list[list[GraphNode]]:
    """The chain's nodes (not the auxiliary heads) in rows of at most ``width`` points."""
    rows: list[list[GraphNode]] = [[]]
    used = 0.0
    for node in graph.nodes:
        if node.id in aux:
            continue
        size = _node_width(graph, node, aux) + 30
        if rows[-1] and used + size > width:
            rows.append([])
            used = 0.0
        rows[-1].append(node)
        used += size
    return rows


def _row_width(graph: NetworkGraph, aux: dict[str, str], expanded: list[NetworkGraph]) -> float:
    """The rows' width that makes the drawing closest to 16:9: about the square root of the chain's length
    times the slide's shape, and at least the opened block's width."""
    total = sum(_node_width(graph, node, aux) + 30 for node in graph.nodes if node.id not in aux)
    widest_block = max((sum(_node_width(b, n, {}) + 30 for n in b.nodes if b.predecessors(n.id) == [INPUT])
                        for b in expanded), default=0.0)  # fmt: skip
    return max(math.sqrt(total * 80 * 16 / 9) * 1.1, widest_block, 420.0)


def dot_source(graph: NetworkGraph, expanded: list[NetworkGraph], *, title: str = "",
               aux: dict[str, str] | None = None, aspect: float | None = None) -> str:  # fmt: skip
    """The Graphviz source of ``graph`` (folded and collapsed) in rows, ``expanded`` opened below or beside it.

    The rows' width, and whether the blocks go below or beside, are those that make the text largest once the
    drawing fills a 16:9 slide (or a picture of ``aspect``); without Graphviz to measure, a guess.
    """
    aux = aux or {}
    guess = _row_width(graph, aux, expanded)
    if shutil.which("dot") is None:
        return _source(graph, expanded, title, aux, guess, beside=False)
    import graphviz

    from cnnlab.viz.slide import slide_scale

    target = aspect or 16 / 9
    best, best_fit = "", -1.0
    sources = {_source(graph, expanded, title, aux, guess * tenths / 10, beside)
               for tenths in range(4, 21) for beside in ((False, True) if expanded else (False,))}  # fmt: skip
    for source in sorted(sources):  # each way of cutting the rows once
        w, h = _svg_size(graphviz.Source(source).pipe(format="svg"))
        fit = slide_scale(w, h) if aspect is None else slide_scale(max(w, h * target), max(h, w / target))
        if fit > best_fit:
            best, best_fit = source, fit
    return best


def _source(graph: NetworkGraph, expanded: list[NetworkGraph], title: str, aux: dict[str, str], row_width: float,
            beside: bool) -> str:  # fmt: skip
    lines = [
        "digraph architecture {",
        f'graph [rankdir=TB, nodesep=0.2, ranksep=0.22, fontname="Helvetica", fontsize={FONT}, newrank=true,'
        " labelloc=t, margin=0.1];",
        f'node [fontname="Helvetica", fontsize={FONT}, style="rounded,filled", margin="0.08,0.03"];',
        'edge [color="#555555", arrowsize=0.8];',
    ]
    if title:
        lines.append(f"label=<<B>{html.escape(title)}</B>>;")
    rows = _rows(graph, aux, row_width)
    for node in graph.nodes:
        lines.append(_node_statement(graph, node, "n:", aux, inner=False))
    for row in rows:
        lines.append("{rank=same; " + " ".join(f'"n:{node.id}";' for node in row) + "}")
    row_of = {node.id: index for index, row in enumerate(rows) for node in row}
    for edge in graph.edges:
        between_rows = row_of.get(edge.source, -1) != row_of.get(edge.target, -2) and edge.target not in aux
        # an edge to the next row leaves no mark on the layout: the rows are kept flush left by invisible edges
        attributes = " [constraint=false, tailport=s, headport=n]" if between_rows else ""
        lines.append(f'"n:{edge.source}" -> "n:{edge.target}"{attributes};')
    firsts = [f'"n:{row[0].id}"' for row in rows]
    blocks = [f'"b{index}:{INPUT}"' for index in range(len(expanded))]
    if beside and blocks:  # the first block's input level with the first row, after it
        lines.append(f'{{rank=same; "n:{rows[0][-1].id}"; {blocks[0]};}}')
        lines.append(f'"n:{rows[0][-1].id}" -> {blocks[0]} [style=invis];')
    else:
        firsts += blocks[:1]
    firsts += blocks[1:]
    lines += [f"{above} -> {below} [style=invis, weight=100];" for above, below in itertools.pairwise(firsts)]
    for index, block in enumerate(expanded):
        lines += _cluster(block, index)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster(block: NetworkGraph, index: int) -> list[str]:
    """One block opened, in a dashed frame with what it is: ``Inception 3a, opened``."""
    if any(node.type == "add" for node in block.nodes):
        stage = stage_name(block.within)
        title = f"{stage}: {block_words(block)}" if stage else block_words(block)
    else:
        words = BLOCK_WORDS.get(block.block_type, block.block_type)
        suffix = re.search(r"(\d+[a-z]?)$", block.within)
        name = "Inception" if words.startswith("Inception") else words
        title = f"{name} {suffix.group(1) if suffix else block.within}, opened"
    lines = [
        f"subgraph cluster_block{index} {{",
        f'label=<{html.escape(title)}>; color="#777777"; style="rounded,dashed"; labeljust=l;',
    ]
    # a concatenation is the block's output: no "out" below it (a rank less on the slide)
    drawn = [node for node in block.nodes if not (node.kind == "output" and block.width >= 3)]
    lines += [_node_statement(block, node, f"b{index}:", {}, inner=True) for node in drawn]
    kept = {node.id for node in drawn}
    for edge in block.edges:
        if edge.target in kept:
            lines.append(f'"b{index}:{edge.source}" -> "b{index}:{edge.target}";')
    if block.width < 3:  # a residual block: the branch in a row, the shortcut above it
        chain = [n.id for n in block.nodes]
        lines[1] = lines[1].replace("labeljust=l;", "labeljust=l; labelloc=b;")  # the shortcut runs above
        lines.append("{rank=same; " + " ".join(f'"b{index}:{node}";' for node in chain) + "}")
    return [*lines, "}"]


def run_dot(source: str, fmt: str, aspect: float | None = None) -> bytes:
    """``source`` laid out and rendered by Graphviz's ``dot`` as ``fmt`` (``svg``, ``png``, ``pdf``) bytes;
    padded to ``aspect`` (width / height) when given.

    Raises:
        ValueError: Graphviz's ``dot`` program is not installed (the message says how to get it).
    """
    if shutil.which("dot") is None:
        raise SettingError(
            "the graph style is laid out by Graphviz's dot program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); <style=blocks> needs nothing"
        )
    import graphviz

    if aspect:
        width, height = _svg_size(graphviz.Source(source).pipe(format="svg"))
        pad_x = max(0.0, height * aspect - width) / 2 / 72
        pad_y = max(0.0, width / aspect - height) / 2 / 72
        source = source.replace("digraph architecture {", f'digraph architecture {{\ngraph [pad="{pad_x:.3f},'
                                f'{pad_y:.3f}"];', 1)  # fmt: skip
    return graphviz.Source(source).pipe(format=fmt)


def _svg_size(svg: bytes) -> tuple[float, float]:
    match = re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if match is None:
        raise SettingError("dot wrote an SVG without a size")
    return float(match.group(1)), float(match.group(2))
