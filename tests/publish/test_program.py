"""The published page's forward pass (static/forward.js under Node) against PyTorch, the oracle.

Every registered network small enough to run in a page at its own input size is translated with seeded random
weights (and batch norms with running statistics far from the identity, so that folding them is tested), run
by ``forward.js`` under Node (``forward_runner.js``), and its output and every layer's map are compared with
the same module's output in PyTorch. The error is relative to the largest magnitude of the PyTorch tensor:
``max |js - torch| / max |torch|``. The big ImageNet networks are only translated (or refused, in one line).
"""

import base64
import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnlab
from cnnlab.layers import LocalResponseNorm2d
from cnnlab.layers.pooling import GatedPool2d, GlobalAvgPool2d, LearnedLPPool2d, MixedPool2d
from cnnlab.layers.transposed import ZeroInsertionConvTranspose2d
from cnnlab.models import get_spec
from cnnlab.publish import Program, UnsupportedLayer, to_program
from tests._slow import by_size

NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("forward_runner.js")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the page's JavaScript needs it")
TOLERANCE = 1e-4  # relative to the tensor's largest magnitude

# Networks whose input is a page's size (digits, CIFAR): run under Node. The deepest ones take seconds.
SMALL = [name for name in cnnlab.list_models() if max(get_spec(name).input_size[1:]) <= 64]
DEEP = {"resnet32", "resnet44", "resnet56", "resnet110", "plain32", "plain44", "plain56", "plain110", "nin"}
BIG = [name for name in cnnlab.list_models() if name not in SMALL]


def seeded(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random batch-norm statistics and affine parameters (the defaults are the identity), and learned poolings
    away from their even start; the weights are the model's own seeded initialisation."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor: torch.Tensor, low: float, high: float) -> None:
        tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                uniform(module.running_mean, -0.5, 0.5)
                uniform(module.running_var, 0.5, 2.0)
                uniform(module.weight, 0.5, 1.5)
                uniform(module.bias, -0.3, 0.3)
            elif isinstance(module, MixedPool2d | LearnedLPPool2d | GatedPool2d):
                for parameter in module.parameters():
                    uniform(parameter, -1.0, 1.0)
    return model.eval()


def registered(name: str) -> nn.Module:
    torch.manual_seed(0)
    return seeded(cnnlab.create_model(name))


def reference(model: nn.Module, program: Program, x: torch.Tensor) -> dict[str, np.ndarray]:
    """PyTorch's value of each of the program's layers (``name#k``: the module's k-th call) and of its output."""
    calls: defaultdict[str, list[np.ndarray]] = defaultdict(list)
    modules = dict(model.named_modules())
    wanted = {name.split("#")[0] for name in program.layers}

    def keep(name: str):
        return lambda _module, _inputs, output: calls[name].append(output.detach().clone().numpy()[0])

    handles = [modules[name].register_forward_hook(keep(name)) for name in wanted if name in modules]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    found = {program.output: out.numpy()[0]}
    for layer in program.layers:
        name, _, call = layer.partition("#")
        found[layer] = calls[name][int(call or 1) - 1]
    return found


def run_node(jobs: list[tuple[Program, torch.Tensor]], tmp_path: Path) -> list[dict[str, np.ndarray]]:
    """Every tensor forward.js computes for each (program, input)."""
    encoded = [
        {"program": program.to_json(), "input": base64.b64encode(x.numpy().astype("<f4").tobytes()).decode()}
        for program, x in jobs
    ]
    (tmp_path / "jobs.json").write_text(json.dumps(encoded))
    subprocess.run([NODE, str(RUNNER), str(tmp_path / "jobs.json"), str(tmp_path / "out.json")], check=True)
    results = json.loads((tmp_path / "out.json").read_text())
    return [
        {
            name: np.frombuffer(base64.b64decode(t["data"]), dtype="<f4").reshape(t["shape"])
            for name, t in result.items()
        }
        for result in results
    ]


def relative_errors(js: dict[str, np.ndarray], torch_values: dict[str, np.ndarray]) -> dict[str, float]:
    """Each tensor's largest difference, relative to the PyTorch tensor's largest magnitude."""
    errors = {}
    for name, expected in torch_values.items():
        got = js[name]
        assert got.shape == expected.shape, (name, got.shape, expected.shape)
        scale = max(float(np.abs(expected).max()), 1e-30)
        errors[name] = float(np.abs(got.astype(np.float64) - expected).max()) / scale
    return errors


def compare(model: nn.Module, program: Program, tmp_path: Path, seed: int = 1) -> dict[str, float]:
    x = torch.randn(1, *program.input_shape, generator=torch.Generator().manual_seed(seed))
    (js,) = run_node([(program, x)], tmp_path)
    return relative_errors(js, reference(model, program, x))


# -------------------------------------------------------------------------------------------------
# The registered networks


def _small(names: list[str]) -> list:
    return [pytest.param(name, marks=pytest.mark.slow) if name in DEEP else name for name in names]


def test_the_page_sized_networks_are_the_lectures():
    assert {"lenet5", "lenet5_modern", "mlp", "head_twin", "kernel_twin", "resnet20", "plain20", "resnet110",
            "convnet4", "nin", "filter_bank_net", "locally_connected_net", "deep_aux_net"} <= set(SMALL)  # fmt: skip


@needs_node
@pytest.mark.parametrize("name", _small(SMALL))
def test_forward_js_gives_pytorchs_numbers(name, tmp_path):
    model = registered(name)
    program = to_program(model, get_spec(name).input_size)
    errors = compare(model, program, tmp_path)
    assert set(errors) == {*program.layers, program.output}
    assert len(program.layers) >= 3
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, (worst, errors[worst])


@pytest.mark.parametrize("name", by_size(BIG))
def test_big_networks_translate_or_are_refused_in_one_line(name):
    model = registered(name)
    try:
        program = to_program(model, get_spec(name).input_size)
    except UnsupportedLayer as error:
        message = str(error)
        assert "\n" not in message and "'" in message and "cnnlab lab" in message
        return
    shapes = {op.output: op.shape for op in program.operations}
    assert shapes[program.output] == (model.num_classes,)
    json.dumps(program.to_json()["operations"])


@needs_node
@pytest.mark.slow
@pytest.mark.parametrize("name", ["googlenet", "bn_inception", "inception_v3", "resnet18", "nin_imagenet"])
def test_imagenet_networks_give_pytorchs_numbers_at_a_small_input(name, tmp_path):
    """Their Inception modules (concatenations, F.relu, folded batch norms) and bottlenecks, at a size Node runs
    in a second or two (their parameters make a page of tens of megabytes all the same)."""
    model = registered(name)
    height, width = (max(32, size) for size in model.min_input_size())
    errors = compare(model, to_program(model, (3, height, width)), tmp_path)
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, (worst, errors[worst])


def test_batch_norms_after_convolutions_are_folded_into_them():
    program = to_program(registered("resnet20"), (3, 32, 32))
    kinds = {op.op for op in program.operations}
    assert "affine" not in kinds and {"conv2d", "add", "shortcut_pad", "adaptive_avg_pool2d", "linear"} <= kinds
    first = program.operations[0]
    assert (first.op, first.name, first.output, first.attributes["batch_norm"]) == ("conv2d", "conv1", "bn1", "bn1")
    assert set(first.parameters) == {"weight", "bias"}  # the folded conv gains the bias it did not have
    assert program.parameter_count < sum(p.numel() for p in registered("resnet20").parameters())


def test_lenet5_is_the_papers_operations():
    program = to_program(registered("lenet5"), (1, 32, 32))
    assert [op.op for op in program.operations] == [
        "conv2d", "scaled_tanh", "subsampling", "scaled_tanh", "sparse_conv2d", "scaled_tanh", "subsampling",
        "scaled_tanh", "conv2d", "scaled_tanh", "flatten", "linear", "scaled_tanh", "rbf", "neg",
    ]  # fmt: skip
    c3 = program.operations[4]
    assert c3.attributes["connections"][0] == [0, 1, 2] and len(c3.attributes["connections"]) == 16
    assert tuple(program.parameters[c3.parameters["weight"]].shape) == (60, 5, 5)
    assert program.layers[:3] == ["c1", "squash", "s2"] and program.output == "neg"


def test_the_json_holds_every_tensor_as_little_endian_bytes():
    model = registered("lenet5_modern")
    program = to_program(model, (1, 32, 32))
    data = json.loads(json.dumps(program.to_json()))
    assert data["format"] == "cnnlab-program/1" and data["input"] == {"name": "input", "shape": [1, 32, 32]}
    weight = data["parameters"]["c1.weight"]
    assert (weight["shape"], weight["dtype"]) == ([6, 1, 5, 5], "float32")
    decoded = np.frombuffer(base64.b64decode(weight["data"]), dtype="<f4").reshape(6, 1, 5, 5)
    np.testing.assert_array_equal(decoded, model.c1.weight.detach().numpy())
    half = to_program(model, (1, 32, 32), half=True).to_json()["parameters"]["c1.weight"]
    assert half["dtype"] == "float16" and len(base64.b64decode(half["data"])) == 6 * 25 * 2


@needs_node
@pytest.mark.parametrize(("name", "bound"), [("lenet5", 2e-3), ("resnet20", 2e-2)])
def test_float16_weights_stay_close(name, bound, tmp_path):
    """Half the bytes, at the cost of float16's 11 bits: the maps move by about 1e-3 of their size, not 1e-4."""
    model = registered(name)
    errors = compare(model, to_program(model, get_spec(name).input_size, half=True), tmp_path)
    assert max(errors.values()) < bound
    assert max(errors.values()) > TOLERANCE / 100  # the weights really were rounded


# -------------------------------------------------------------------------------------------------
# Every operation, in one network built for it


class EveryOperation(nn.Module):
    """Each layer the page runs, in settings the registered networks do not use (called by the net below)."""

    def __init__(self) -> None:
        super().__init__()
        self.dilated = nn.Conv2d(3, 8, 3, stride=1, padding=2, dilation=2, bias=False)
        self.grouped = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4)
        self.lrn = nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0)
        self.lrn_paper = LocalResponseNorm2d(5, alpha=0.1, beta=0.75, k=2.0)
        self.norm = nn.BatchNorm2d(8)  # after a ReLU: a standalone affine
        self.max = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)
        self.avg_exclusive = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.mixed = MixedPool2d(3, stride=2, padding=1, ceil_mode=True, num_channels=8)
        self.gated = GatedPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.lp = LearnedLPPool2d(2, num_channels=8)
        self.up = nn.ConvTranspose2d(24, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.up_zeros = ZeroInsertionConvTranspose2d(6, 4, 4, stride=2, padding=1)
        self.sigmoid = nn.Sigmoid()
        self.tanh = nn.Tanh()
        self.adaptive = nn.AdaptiveAvgPool2d((3, 5))
        self.gap = GlobalAvgPool2d()
        self.drop = nn.Dropout(0.5)
        self.identity = nn.Identity()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4 * 3 * 5 + 4, 16)
        self.bn_fc = nn.BatchNorm1d(16)  # folded into fc
        self.bn_alone = nn.BatchNorm1d(16)  # after a tanh: an affine
        self.out = nn.Linear(16, 5)


class EveryOperationNet(nn.Module):
    """:class:`EveryOperation` with every branch feeding the output (a dead branch would not be compared)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = EveryOperation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.body
        x = b.lrn(F.relu(b.dilated(x)))
        x = b.norm(b.lrn_paper(torch.relu(b.grouped(x))))  # N x 8 x 10 x 11
        pooled = torch.cat([b.max(x), b.avg(x), b.avg_exclusive(x)], dim=1)  # N x 24 x 6 x 6
        learned = b.mixed(x) + b.gated(x) + F.max_pool2d(x, 3, 2, 1, ceil_mode=True)  # N x 8 x 6 x 6
        lp = b.lp(x).flatten(1)  # N x 8*5*5
        y = b.identity(b.drop(pooled))
        y = b.tanh(b.up_zeros(b.sigmoid(b.up(y))))  # N x 6 x 12 x 12 -> N x 4 x 24 x 24
        features = torch.cat([b.flatten(b.adaptive(y)), b.gap(y)], dim=1)
        z = b.tanh(b.bn_fc(b.fc(features)))
        z = -b.bn_alone(z) + F.dropout(z, 0.5, training=False)
        return torch.cat([b.out(z), F.avg_pool2d(learned, 2).reshape(1, -1), torch.sigmoid(lp)], dim=1)


def test_every_operation_kind_is_translated():
    program = to_program(seeded(EveryOperationNet(), seed=3), (3, 20, 22))
    kinds = {op.op for op in program.operations}
    assert kinds >= {
        "conv2d", "conv_transpose2d", "relu", "sigmoid", "tanh", "neg", "affine", "add", "concat", "flatten",
        "reshape", "local_response_norm", "max_pool2d", "avg_pool2d", "mixed_pool2d", "gated_pool2d", "lp_pool2d",
        "adaptive_avg_pool2d", "linear",
    }  # fmt: skip
    assert [op.name for op in program.operations if op.op == "affine"] == ["body.norm", "body.bn_alone"]
    fc = next(op for op in program.operations if op.name == "body.fc")
    assert fc.attributes["batch_norm"] == "body.bn_fc" and fc.output == "body.bn_fc"


@needs_node
def test_every_operation_kind_gives_pytorchs_numbers(tmp_path):
    model = seeded(EveryOperationNet(), seed=3)
    program = to_program(model, (3, 20, 22))
    errors = compare(model, program, tmp_path, seed=4)
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, (worst, errors[worst])
    assert len(errors) > 20


# -------------------------------------------------------------------------------------------------
# What the page cannot run


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.rnn = nn.LSTM(4 * 6, 8, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # N x 4 x 6 x 6
        return self.rnn(x.permute(0, 2, 1, 3).flatten(2))[0]


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Softmaxed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.conv(x).flatten(1), dim=1)


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (Recurrent(), "permute"),  # the first function on the way to the LSTM
        (nn.Sequential(nn.Conv2d(1, 4, 3), Scaled()), "'1' (Scaled) has parameters"),
        (Softmaxed(), "softmax"),
        (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect")), "'0' (Conv2d) with padding_mode"),
        (nn.Sequential(nn.Dropout(0.5), nn.Conv2d(1, 2, 3), nn.Softmax(dim=1)), "softmax (called by '2' (Softmax))"),
    ],
    ids=["lstm", "custom-parameters", "softmax", "reflect-padding", "softmax-module"],
)
def test_what_the_page_cannot_run_is_refused_in_one_line(model, named):
    with pytest.raises(UnsupportedLayer) as caught:
        to_program(model, (1, 8, 8))
    message = str(caught.value)
    assert named in message and "cnnlab lab" in message and "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_a_module_with_parameters_is_refused_where_it_runs_and_only_there():
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)

    # never called, the LSTM changes nothing: the page's numbers are PyTorch's
    assert [op.op for op in to_program(Unused(), (2, 2, 2)).operations] == ["flatten"]
    with pytest.raises(UnsupportedLayer, match=r"the model \(LSTM\) has parameters"):
        to_program(nn.LSTM(4, 4), (1, 2, 4))
