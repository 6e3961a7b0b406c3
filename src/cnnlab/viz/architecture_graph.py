"""The ``graph`` style of :func:`cnnlab.viz.architecture.draw`: modules as nodes, laid out by Graphviz's ``dot``.

For networks whose modules run three or more branches side by side (Inception): output shapes on the edges,
a run of same-kind blocks collapsed into one node marked "x5", and one drawing of each kind of block expanded
beside it (an Inception module's four branches and their concatenation; a residual block with its shortcut).
"""

from __future__ import annotations

import html
import shutil
from collections import Counter

from cnnlab.errors import SettingError
from cnnlab.inspection.graph import GraphNode, NetworkGraph
from cnnlab.viz.architecture_words import COLOURS, node_kind, then_words

__all__ = ["dot_source", "run_dot"]


def _label(title: str, *lines: str) -> str:
    """A Graphviz HTML label: a bold title and smaller grey lines."""
    rows = [f"<B>{html.escape(title)}</B>"] + [
        f'<FONT POINT-SIZE="9" COLOR="#444444">{html.escape(line)}</FONT>' for line in lines if line
    ]
    return "<" + "<BR/>".join(rows) + ">"


def _node_lines(node: GraphNode) -> tuple[str, list[str]]:
    if node.kind == "function":
        return {"add": "+", "concat": "concat", "multiply": "x"}.get(node.type, node.type), [then_words(node)]
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
    then = then_words(node)
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
        fill = COLOURS.get(node_kind(node), COLOURS["other"]) if node.kind == "module" else COLOURS["function"]
        lines.append(f'{node_id} [label={_label(title, *rest)}, shape={shape}, fillcolor="{fill}"];')
    for edge in graph.edges:
        lines.append(f'"{prefix}{edge.source}" -> "{prefix}{edge.target}" [label=" {edge.shape_text}"];')
    return lines


def dot_source(graph: NetworkGraph, expanded: list[NetworkGraph]) -> str:
    """The Graphviz source of ``graph`` (folded and collapsed) with each of ``expanded`` in a cluster beside it."""
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
    return "\n".join(lines) + "\n"


def run_dot(source: str, fmt: str) -> bytes:
    """``source`` laid out and rendered by Graphviz's ``dot`` as ``fmt`` (``svg``, ``png``, ``pdf``) bytes.

    Raises:
        ValueError: Graphviz's ``dot`` program is not installed (the message says how to get it).
    """
    if shutil.which("dot") is None:
        raise SettingError(
            "the graph style is laid out by Graphviz's dot program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); <style=blocks> needs nothing"
        )
    import graphviz

    return graphviz.Source(source).pipe(format=fmt)
