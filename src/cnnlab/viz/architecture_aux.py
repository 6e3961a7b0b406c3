"""Auxiliary classifiers added to a network's graph: GoogLeNet's two heads on 4a and 4d (Szegedy et al. 2015, Sec. 5).

The heads run only in training (``forward_train``), so the graph traced for inference has none. :func:`with_aux`
builds the model with its heads (``aux_logits=True`` for a registry name), runs ``forward_train`` once on the
meta device to see which block's output each head reads, and adds each head to the folded graph as one node
fed by that block. Its words (``5x5 average pooling, 1x1 convolution, 2 full connections``) are read from its
layers.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from cnnlab.errors import SettingError
from cnnlab.inspection.graph import GraphEdge, GraphNode, NetworkGraph

__all__ = ["aux_words", "with_aux"]


def _aux_network(model: nn.Module | str, graph: NetworkGraph) -> nn.Module:
    """The model with its auxiliary heads, on the meta device."""
    if isinstance(model, str):
        from cnnlab.models import create_model

        try:
            with torch.device("meta"):
                return create_model(model, aux_logits=True)
        except (TypeError, ValueError):  # no such option: a network without auxiliary heads
            raise SettingError(f"{graph.model} has no auxiliary classifiers to draw") from None
    return copy.deepcopy(model).to("meta")


def _heads(network: nn.Module) -> dict[str, nn.Module]:
    return {name: module for name, module in network.named_children() if "aux" in type(module).__name__.lower()}


def with_aux(model: nn.Module | str, whole: NetworkGraph) -> tuple[NetworkGraph, dict[str, str]]:
    """``whole`` folded, with a node for each auxiliary head fed by its block, and each head's words (by node id).

    Raises:
        SettingError: the network has no auxiliary classifiers, or no ``forward_train`` that runs them.
    """
    network = _aux_network(model, whole)
    heads = _heads(network)
    if not heads or not hasattr(network, "forward_train"):
        raise SettingError(f"{whole.model} has no auxiliary classifiers to draw")
    producers: dict[int, str] = {}  # id of a block's output -> the block
    sources: dict[str, str] = {}  # head -> the block whose output it reads

    def reads(name: str) -> Any:
        def hook(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
            sources.setdefault(name, producers.get(id(inputs[0]), ""))

        return hook

    def gives(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: Any) -> None:
            producers[id(output)] = name

        return hook

    handles = [module.register_forward_pre_hook(reads(name)) if name in heads
               else module.register_forward_hook(gives(name)) for name, module in network.named_children()]  # fmt: skip
    try:
        with torch.no_grad():
            output = network.train().forward_train(torch.empty(2, *whole.input, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    folded = whole.folded()
    nodes, edges = list(folded.nodes), list(folded.edges)
    words: dict[str, str] = {}
    for (name, head), logits in zip(heads.items(), output.aux_logits, strict=False):
        source = next((node for node in nodes if node.name == sources.get(name)), None)
        if source is None:
            continue
        params = sum(parameter.numel() for parameter in head.parameters())
        node = GraphNode(name, "module", type(head).__name__, name=name, output_shape=tuple(logits.shape[1:]),
                         params=params)  # fmt: skip
        words[name] = aux_words(head)
        nodes.insert(nodes.index(source) + 1, node)
        edges.append(GraphEdge(source.id, name, source.output_shape))
    return replace(folded, nodes=tuple(nodes), edges=tuple(edges)), words


def aux_words(head: nn.Module) -> str:
    """``5x5 avg pool, 1x1 conv, 2 FC``: the head's layers, from its modules."""
    words: list[str] = []
    fully_connected = 0
    for module in head.modules():
        if isinstance(module, nn.AvgPool2d):
            words.append(f"{_pair(module.kernel_size)} avg pool")
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            words.append("adaptive avg pool")
        elif isinstance(module, nn.Conv2d):
            words.append(f"{_pair(module.kernel_size)} conv")
        elif isinstance(module, nn.Linear):
            fully_connected += 1
    if fully_connected:
        words.append(f"{fully_connected} FC" if fully_connected > 1 else "FC")
    return ", ".join(words)


def _pair(size: Any) -> str:
    height, width = (size, size) if isinstance(size, int) else size
    return f"{height}x{width}"
