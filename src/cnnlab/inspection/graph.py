"""A network as a graph of what feeds what: the shared contract of ``cnnlab draw``'s two styles.

One forward pass on the meta device (no memory, no weights touched) records which module call consumes the
output of which, and the functions that join paths (a residual ``+``, an Inception's ``cat``) as nodes of
their own; reshapes pass through. Nodes are the modules of one level:

* ``blocks``: the modules that are not containers (``Sequential``, ``ModuleList``): single layers where the
  network is a plain stack (AlexNet's convolutions), whole blocks where it is built of them (an Inception
  module, a residual block);
* inside one block (``within=``): its layers, for the drawing of that kind of block expanded.

Every number a node carries (output shape, parameters, window, MACs) is read from :func:`summarize`, the
same summary ``cnnlab summary`` prints, matched by module name and call. :meth:`NetworkGraph.folded` folds
activations, normalisations and dropouts into the layer before them, and :meth:`NetworkGraph.collapsed`
turns a run of same-kind blocks into one node marked with its count.
"""

from __future__ import annotations

import copy
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from cnnlab.errors import SettingError
from cnnlab.inspection.summary import LayerSummary, ModelSummary, summarize
from cnnlab.inspection.tensor_labels import Call, TensorLabels, tensors_in

__all__ = ["FOLDED_TYPES", "GraphEdge", "GraphNode", "NetworkGraph", "trace_graph"]

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# Layers drawn as part of the layer before them: they keep the shape and add no connection of their own.
FOLDED_TYPES = frozenset(
    {"ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "ScaledTanh", "Softmax",
     "LogSoftmax", "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm", "LocalResponseNorm2d", "Dropout",
     "Dropout2d", "Flatten", "Identity"}
)  # fmt: skip
# Functions that join or combine paths: nodes of the graph. Any other function is a reshape, passed through.
JOINING = {
    **dict.fromkeys(("add", "__add__", "__radd__", "__iadd__", "add_"), "add"),
    **dict.fromkeys(("cat", "concat", "concatenate"), "concat"),
    **dict.fromkeys(("mul", "__mul__", "__rmul__", "__imul__", "mul_"), "multiply"),
}
# Functions a forward may call between layers that are drawn as part of the layer before (GoogLeNet's F.relu).
FOLDED_FUNCTIONS = {"relu": "ReLU", "relu_": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU",
                    "silu": "SiLU", "leaky_relu": "LeakyReLU", "batch_norm": "BatchNorm2d", "dropout": "Dropout",
                    "local_response_norm": "LocalResponseNorm"}  # fmt: skip
# Functions with a window that a forward may call directly (torchvision's Inception v3): layers of their own.
WINDOWED = ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "conv2d")

# Ids of the graph's ends, which no module name can take (a module may be called "output", as LeNet-5's is).
INPUT, OUTPUT = "(input)", "(output)"


@dataclass(frozen=True)
class GraphNode:
    """One module call, joining function, or the input/output.

    Attributes:
        id: unique in the graph: the module name (``name#2`` for its second call), ``add``, ``concat#3``,
            ``(input)``, ``(output)``.
        kind: ``input``, ``module``, ``function`` or ``output``.
        type: the module's class (``Conv2d``, ``Inception``) or the function (``add``, ``concat``).
        name: the module's name in ``named_modules()`` (``""`` for a function, the input and the output).
        output_shape: without the batch dimension.
        params: parameters, as the summary counts them (a module called twice counts once).
        window: ``5x5 s1``, as the summary writes it (``""`` when the module has none).
        macs: multiply-accumulates of the call.
        folded: the types of the layers folded into this one (``("ReLU", "LocalResponseNorm2d")``).
        members: for a collapsed run of blocks, the ids of the nodes it stands for (else empty).
        member_shapes: their output shapes, in order.
    """

    id: str
    kind: str
    type: str
    name: str = ""
    output_shape: tuple[int, ...] = ()
    params: int = 0
    window: str = ""
    macs: int = 0
    folded: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    member_shapes: tuple[tuple[int, ...], ...] = ()

    @property
    def repeat(self) -> int:
        """How many blocks the node stands for (1 unless collapsed)."""
        return max(1, len(self.members))

    @property
    def shape_text(self) -> str:
        return "x".join(map(str, self.output_shape))


@dataclass(frozen=True)
class GraphEdge:
    """``source`` feeds ``target`` a tensor of ``shape`` (without the batch dimension)."""

    source: str
    target: str
    shape: tuple[int, ...]

    @property
    def shape_text(self) -> str:
        return "x".join(map(str, self.shape))


@dataclass(frozen=True)
class NetworkGraph:
    """Nodes in the order they run, and the edges between them.

    Attributes:
        model: the model's name.
        input: ``(C, H, W)``.
        within: the block drawn, or ``""`` for the whole network.
        block_type: that block's class.
        nodes, edges: the graph.
        summary: the layer-by-layer summary the numbers come from.
        network: the model, on the meta device.
    """

    model: str
    input: tuple[int, int, int]
    within: str
    block_type: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    summary: ModelSummary = field(repr=False, compare=False)
    network: nn.Module = field(repr=False, compare=False)

    def node(self, node_id: str) -> GraphNode:
        return next(node for node in self.nodes if node.id == node_id)

    def successors(self, node_id: str) -> list[str]:
        return [edge.target for edge in self.edges if edge.source == node_id]

    def predecessors(self, node_id: str) -> list[str]:
        return [edge.source for edge in self.edges if edge.target == node_id]

    @property
    def is_chain(self) -> bool:
        """Whether every node feeds exactly the next one (no branches, no joins)."""
        return all(len(self.successors(n.id)) <= 1 and len(self.predecessors(n.id)) <= 1 for n in self.nodes)

    @property
    def width(self) -> int:
        """The most paths that run side by side: the inputs of the widest join (1 for a chain)."""
        return max([1, *(len(self.predecessors(n.id)) for n in self.nodes if n.kind == "function")])

    def folded(self) -> NetworkGraph:
        """Activations, normalisations and dropouts folded into the layer before them, where it feeds only them."""
        nodes = {node.id: node for node in self.nodes}
        edges = list(self.edges)
        for node in self.nodes:
            if node.kind != "module" or node.type not in FOLDED_TYPES:
                continue
            sources = [edge.source for edge in edges if edge.target == node.id]
            if len(sources) != 1 or nodes[sources[0]].kind not in ("module", "function"):
                continue
            source = sources[0]
            if len([edge for edge in edges if edge.source == source]) != 1:
                continue
            kept = nodes[source]
            folded = (*kept.folded, node.type, *node.folded)
            # the layer's own shape: a folded Flatten only reshapes what the next layer takes (its edge says so)
            nodes[source] = replace(kept, params=kept.params + node.params,
                                    macs=kept.macs + node.macs, folded=folded)  # fmt: skip
            del nodes[node.id]
            edges = [
                GraphEdge(source, edge.target, edge.shape) if edge.source == node.id else edge
                for edge in edges
                if edge.target != node.id
            ]
        return replace(self, nodes=tuple(nodes[n.id] for n in self.nodes if n.id in nodes), edges=tuple(edges))

    def collapsed(self, same_shape: bool = False) -> NetworkGraph:
        """Each run of two or more consecutive same-type modules of one parent in a chain as one node with its count.

        The parent keeps a ResNet's stages apart (``layer1.0..layer1.2`` is one node, ``layer2.0..`` the next).

        With ``same_shape``, only blocks that also give the same output shape (the boxes of the blocks style).
        """
        runs: list[list[GraphNode]] = []
        for node in self.nodes:
            previous = runs[-1][-1] if runs else None
            joins = (
                previous is not None
                and node.kind == previous.kind == "module"
                and node.type == previous.type
                and _parent(node.name) == _parent(previous.name)  # a stage of a ResNet, not across stages
                and self.successors(previous.id) == [node.id]
                and self.predecessors(node.id) == [previous.id]
                and (not same_shape or node.output_shape == previous.output_shape)
            )
            if joins:
                runs[-1].append(node)
            else:
                runs.append([node])
        renamed: dict[str, str] = {}
        nodes = []
        for run in runs:
            if len(run) == 1:
                nodes.append(run[0])
                continue
            first, last = run[0], run[-1]
            group = replace(
                last, id=f"{first.id}..{last.id}", name=first.name, params=sum(n.params for n in run),
                macs=sum(n.macs for n in run), members=tuple(n.id for n in run),
                member_shapes=tuple(n.output_shape for n in run), window=first.window if all(
                    n.window == first.window for n in run) else "",
            )  # fmt: skip
            renamed.update({n.id: group.id for n in run})
            nodes.append(group)
        edges = []
        for edge in self.edges:
            source, target = renamed.get(edge.source, edge.source), renamed.get(edge.target, edge.target)
            if source != target:
                edges.append(GraphEdge(source, target, edge.shape))
        return replace(self, nodes=tuple(nodes), edges=tuple(edges))

    def blocks(self) -> list[str]:
        """The module names of the composite nodes (blocks with layers inside), one per type, in order.

        Of each type, the instance with the most layers inside (a residual block with its projection shortcut
        rather than one without).
        """
        model_modules = dict(self._modules())
        best: dict[str, tuple[int, str]] = {}
        order: list[str] = []
        for node in self.nodes:
            module = model_modules.get(node.name)
            if node.kind != "module" or module is None or not any(True for _ in module.children()):
                continue
            size = sum(1 for _ in module.modules())
            if node.type not in best:
                order.append(node.type)
            if node.type not in best or size > best[node.type][0]:
                best[node.type] = (size, node.name)
        return [best[kind][1] for kind in order]

    def _modules(self) -> Iterator[tuple[str, nn.Module]]:
        yield from self.network.named_modules()


def _parent(name: str) -> str:
    return name.rpartition(".")[0]


def _node_modules(model: nn.Module, within: str) -> dict[str, nn.Module]:
    """The modules that are nodes: non-containers from the top (or, inside ``within``, its layers)."""
    if within:
        block = dict(model.named_modules())[within]
        return {
            f"{within}.{name}": module
            for name, module in block.named_modules()
            if name and not any(True for _ in module.children()) and not isinstance(module, nn.Identity)
        }
    found: dict[str, nn.Module] = {}

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            qualified = f"{prefix}{name}"
            if isinstance(child, CONTAINERS):
                visit(f"{qualified}.", child)
            elif not isinstance(child, nn.Identity):
                found[qualified] = child

    visit("", model)
    return found


class _Tracer(TensorLabels[str]):
    """Records, during one forward pass, which node produced each tensor (its label) and which nodes consumed it."""

    def __init__(self, nodes: dict[str, nn.Module], region: nn.Module) -> None:
        super().__init__()
        self.node_modules = nodes
        self.region = region
        self.calls: list[tuple[str, str, str, tuple[int, ...]]] = []  # (id, kind, type or name, shape)
        self.edges: list[tuple[str, str, tuple[int, ...]]] = []
        self.count: Counter[str] = Counter()
        self.folded: defaultdict[str, list[str]] = defaultdict(list)  # node id -> functions applied after it
        self.inside = 0  # how deep in node modules the pass is (functions there are the module's own)
        self.recording = False

    def _new_id(self, base: str) -> str:
        self.count[base] += 1
        return base if self.count[base] == 1 else f"{base}#{self.count[base]}"

    def _consume(self, node_id: str, tensors: list[torch.Tensor]) -> None:
        seen = set()
        for tensor in tensors:
            source = self.labels.get(id(tensor))
            if source is not None and source not in seen:
                seen.add(source)
                self.edges.append((source, node_id, tuple(tensor.shape[1:])))

    def hooks(self) -> list[Any]:
        handles = [
            self.region.register_forward_pre_hook(self._enter_region),
            self.region.register_forward_hook(self._leave_region),
        ]
        for name, module in self.node_modules.items():
            handles.append(module.register_forward_pre_hook(self._before(name)))
            handles.append(module.register_forward_hook(self._after(name)))
        return handles

    def _enter_region(self, _module: nn.Module, inputs: tuple[Any, ...]) -> None:
        self.recording = True
        for tensor in tensors_in(inputs):
            self.label(tensor, INPUT)
        self.calls.append((INPUT, "input", "input", tuple(tensors_in(inputs)[0].shape[1:])))

    def _leave_region(self, _module: nn.Module, _inputs: tuple[Any, ...], output: Any) -> None:
        tensors = tensors_in(output)
        self.calls.append((OUTPUT, "output", "output", tuple(tensors[0].shape[1:]) if tensors else ()))
        self._consume(OUTPUT, tensors)
        self.recording = False

    def _before(self, name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
            if self.recording and self.inside == 0:
                self.pending_inputs = tensors_in(inputs)
            self.inside += 1

        return hook

    def _after(self, name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: Any) -> None:
            self.inside -= 1
            if not self.recording or self.inside:
                return
            node_id = self._new_id(name)
            tensors = tensors_in(output)
            self._consume(node_id, self.pending_inputs)
            self.calls.append((node_id, "module", name, tuple(tensors[0].shape[1:]) if tensors else ()))
            for tensor in tensors:
                self.label(tensor, node_id)

        return hook

    def watching(self) -> bool:
        return self.recording and self.inside == 0

    def on_call(self, call: Call) -> None:
        kind = JOINING.get(call.name) or (call.name if call.name in WINDOWED else None)
        joined = len({self.labels[id(t)] for t in call.inputs}) > 1
        if kind is None or (kind in ("add", "multiply") and not joined):  # a reshape, or a constant added
            source = self.labels[id(call.inputs[0])]
            if call.name in FOLDED_FUNCTIONS and source != INPUT:
                self.folded[source].append(FOLDED_FUNCTIONS[call.name])
            for tensor in call.outputs:
                self.label(tensor, source)
            return
        node_id = self._new_id(kind)
        self._consume(node_id, call.inputs)
        self.calls.append((node_id, "function", kind, tuple(call.outputs[0].shape[1:])))
        for tensor in call.outputs:
            self.label(tensor, node_id)


def _rows_by_call(summaries: list[ModelSummary]) -> dict[str, list[LayerSummary]]:
    """Each module name's summary rows, one per call, from the summaries of several depths."""
    rows: dict[str, list[LayerSummary]] = {}
    for summary in summaries:
        calls: dict[str, list[LayerSummary]] = defaultdict(list)
        for row in summary.layers:
            calls[row.name].append(row)
        for name, found in calls.items():
            rows.setdefault(name, found)
    return rows


def trace_graph(
    model: nn.Module | str,
    input_size: tuple[int, int, int] | None = None,
    *,
    within: str = "",
) -> NetworkGraph:
    """The graph of ``model`` (a registry name or an ``nn.Module``) for one input of ``input_size``.

    ``cnnlab.trace_graph`` takes a run too: its model at the size it was trained on.

    Args:
        model: what to trace; a name is built on the meta device, a module is copied there.
        input_size: ``(C, H, W)`` (default: the model's own).
        within: a block's module name: the graph of its layers, between its input and its output.

    Raises:
        ValueError: what :func:`summarize` refuses, or ``within`` that names no module with layers inside.
    """
    summary = summarize(model, input_size)  # resolves names and sizes, and checks the input
    network = _meta_module(model)
    modules = dict(network.named_modules())
    if within and (within not in modules or not any(True for _ in modules[within].children())):
        blocks = [name for name, m in modules.items() if name and any(True for _ in m.children())][:8]
        listed = f"blocks: {', '.join(blocks)}" if blocks else "it has none (its layers are not grouped in blocks)"
        raise SettingError(f"<within>: {within!r} is not a block of {summary.model}; {listed}")
    node_modules = _node_modules(network, within)
    depths = sorted({name.count(".") + 1 for name, module in node_modules.items() if any(module.children())})
    rows = _rows_by_call([summary, *(summarize(network, summary.input, depth=d) for d in depths)])
    region = modules[within] if within else network
    tracer = _Tracer(node_modules, region)
    handles = tracer.hooks()
    try:
        with tracer, torch.no_grad():
            network(torch.empty(1, *summary.input, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    nodes = []
    call_of: Counter[str] = Counter()
    for node_id, kind, what, shape in tracer.calls:
        folded = tuple(tracer.folded.get(node_id, ()))
        if kind != "module":
            nodes.append(GraphNode(node_id, kind, what, output_shape=shape, folded=folded))
            continue
        row = rows[what][call_of[what]] if call_of[what] < len(rows.get(what, [])) else None
        call_of[what] += 1
        nodes.append(GraphNode(
            node_id, "module", type(node_modules[what]).__name__, name=what,
            output_shape=row.output_shape if row else shape, params=row.params if row else 0,
            window=row.window if row else "", macs=row.macs if row else 0, folded=folded,
        ))  # fmt: skip
    edges = tuple(GraphEdge(source, target, shape) for source, target, shape in tracer.edges)
    return NetworkGraph(
        model=summary.model, input=summary.input, within=within,
        block_type=type(modules[within]).__name__ if within else "", nodes=tuple(nodes), edges=edges,
        summary=summary, network=network,
    )  # fmt: skip


def _meta_module(model: nn.Module | str) -> nn.Module:
    """The model on the meta device, as :func:`summarize` builds it (a registry name or a module)."""
    from cnnlab.inspection.summary import meta_model

    network = meta_model(model) if isinstance(model, str) else copy.deepcopy(model).to("meta")
    return network.eval()
