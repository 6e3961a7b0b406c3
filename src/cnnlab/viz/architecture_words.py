"""What both styles of :mod:`cnnlab.viz.architecture` say about a node: its operation, its folded layers, its colour.

Every word is read from the graph node, so from the summary: a window's ``5x5 s2 p1`` becomes
``5x5 convolution, stride 2``, the layers folded into a node become ``ReLU, LRN``, and a node's kind picks the
fill both the boxes and the graph's nodes are painted with.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from cnnlab.inspection.graph import GraphNode

__all__ = [
    "BLOCK_WORDS",
    "COLOURS",
    "CONVOLUTIONS",
    "Titles",
    "node_kind",
    "operation_words",
    "shape_words",
    "then_words",
]

# How an arrow into a box names the operation, by module type (a window's kernel and stride are added).
CONVOLUTIONS = {"Conv2d": "convolution", "SparseConv2d": "convolution", "CoveringConv2d": "convolution",
                "LocallyConnected2d": "locally connected"}  # fmt: skip
_POOLINGS = {"TrainableSubsampling": "subsampling", "MaxPool2d": "max pooling", "AvgPool2d": "average pooling",
             "LPPool2d": "Lp pooling", "max_pool2d": "max pooling", "avg_pool2d": "average pooling"}  # fmt: skip
_GLOBAL_POOLINGS = ("AdaptiveAvgPool2d", "GlobalAvgPool2d", "adaptive_avg_pool2d", "AdaptiveMaxPool2d")
_CONNECTIONS = {"Linear": "full connection", "EuclideanRBF": "Gaussian connections"}
BLOCK_WORDS = {
    "BasicBlock": "residual block",
    "Bottleneck": "bottleneck block",
    "Inception": "Inception module",
    "BNInceptionModule": "Inception module",
    **{f"Inception{kind}": "Inception module" for kind in "ABCDE"},
}
_SHORT_NAMES = {"LocalResponseNorm2d": "LRN", "LocalResponseNorm": "LRN", "BatchNorm2d": "BN", "BatchNorm1d": "BN",
                "ScaledTanh": "tanh", "Dropout": "dropout", "Dropout2d": "dropout", "Flatten": "flatten"}  # fmt: skip
COLOURS = {"input": "#e0e0e0", "conv": "#9ecae1", "pool": "#a1d99b", "local": "#fdd0a2", "block": "#bcbddc",
           "vector": "#fdae6b", "other": "#d9d9d9", "function": "#ffffff"}  # fmt: skip


def _window(node: GraphNode) -> tuple[str, str]:
    """``("5x5", "2")`` from the summary's ``5x5 s2 p1``; ``("", "")`` without a window."""
    match = re.match(r"(\S+) s(\S+)", node.window)
    return (match.group(1), match.group(2)) if match else ("", "")


def operation_words(node: GraphNode) -> str:
    """What the arrow into ``node``'s box says: ``5x5 convolution``, ``3x3 max pooling, stride 2``."""
    kernel, stride = _window(node)
    strided = f", stride {stride}" if stride not in ("", "1", "1x1") else ""
    if node.type in CONVOLUTIONS:
        words = f"{kernel} {CONVOLUTIONS[node.type]}{strided}"
    elif node.type in _POOLINGS:  # a stride equal to the window (no overlap) goes without saying
        tiling = stride == kernel.partition("x")[0] and kernel.partition("x")[0] == kernel.partition("x")[2]
        words = f"{kernel} {_POOLINGS[node.type]}{'' if tiling else strided}"
    elif node.type in _GLOBAL_POOLINGS:
        pooled = len(node.output_shape) == 1 or node.output_shape[1:] == (1, 1)
        words = "global average pooling" if pooled else "adaptive average pooling"
    elif node.type in _CONNECTIONS:
        words = _CONNECTIONS[node.type]
    else:
        words = BLOCK_WORDS.get(node.type, node.type)
        if node.repeat > 1:
            return f"{node.repeat} {words}s" if node.type in BLOCK_WORDS else f"{words} x{node.repeat}"
        return words
    return f"{words} x{node.repeat}" if node.repeat > 1 else words


def then_words(node: GraphNode) -> str:
    """The layers folded into ``node``, short and each once: ``ReLU, LRN``."""
    names = [_SHORT_NAMES.get(kind, kind) for kind in node.folded if kind not in ("Identity",)]
    return ", ".join(dict.fromkeys(names))


def node_kind(node: GraphNode) -> str:
    """The key of ``node``'s colour in :data:`COLOURS`: ``input``, ``vector``, ``conv``, ``pool``, ..."""
    if node.kind == "input":
        return "input"
    if len(node.output_shape) != 3 or node.output_shape[1:] == (1, 1):
        return "vector"
    if node.type in ("LocallyConnected2d",):
        return "local"
    if node.type in CONVOLUTIONS:
        return "conv"
    if node.type in _POOLINGS or node.type in _GLOBAL_POOLINGS:
        return "pool"
    return "block" if node.kind == "module" else "other"


def shape_words(shape: tuple[int, ...]) -> str:
    """``6@28x28`` for maps, ``120`` for a layer of units (or 120 maps of 1x1)."""
    if len(shape) == 3 and shape[1] * shape[2] > 1:
        return f"{shape[0]}@{shape[1]}x{shape[2]}"
    return str(math.prod(shape))


class Titles:
    """Box titles: LeNet-5's short names upper-cased (``C1``), others as named, numbered ones by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, node: GraphNode) -> str:
        last = node.name.rpartition(".")[2]
        if not last.isdigit():
            return last.upper() if len(last) <= 3 else last
        kind = {"conv": "conv", "local": "local", "pool": "pool", "vector": "fc"}.get(node_kind(node), "block")
        kind = "fc" if node.type == "Linear" else "conv" if node.type in CONVOLUTIONS else kind
        self.counts[kind] += 1
        return f"{kind}{self.counts[kind]}"
