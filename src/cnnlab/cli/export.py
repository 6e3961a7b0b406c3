"""``cnnlab export``: a trained model to ONNX, with its preprocessing in a JSON file beside it."""

from __future__ import annotations

import argparse
import importlib.util
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnnlab.training.inference import TrainedModel

__all__ = ["OnnxExport", "compare_with_onnxruntime", "export_onnx"]

DESCRIPTION = """Export a trained model to ONNX, for ONNX Runtime and other runtimes. RUN_OR_CKPT is a run
directory (its best.pt, else its last.pt) or a checkpoint file. The graph takes "input", the normalised
images (N, C, H, W) with any batch size N, and returns "logits" (N, classes). A JSON file beside it (and
the model's metadata, key "cnnlab") holds what a runtime needs to feed it: the class names, the input
size, the normalisation (pixel / 255 - mean) / std and the logit temperature T of
softmax(logits / T). When onnxruntime is installed, its output is compared with PyTorch's.

Needs the onnx and onnxscript packages (pip install onnx onnxscript onnxruntime).

examples:
  cnnlab export runs/lenet5-mnist5k-20261125-101500 --format onnx
  cnnlab export runs/resnet20-cifar10-20261126-090000/best.pt --format onnx --out resnet20.onnx"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="export a trained model to ONNX", description=DESCRIPTION)
    parser.add_argument("run", metavar="RUN_OR_CKPT", help="a run directory or a .pt checkpoint")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="the export format")
    parser.add_argument("--out", metavar="FILE", help="the .onnx file (default: MODEL.onnx next to the checkpoint)")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with onnxruntime")
    parser.set_defaults(handler=run, prog=parser.prog)


@dataclass(frozen=True)
class OnnxExport:
    """Where an export went and how closely ONNX Runtime agrees with PyTorch (``None``: not checked)."""

    model_path: Path
    metadata_path: Path
    max_difference: float | None = None
    runtime: str | None = None


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def export_onnx(trained: TrainedModel, out: str | Path, *, check: bool = True) -> OnnxExport:
    """Write the model to ONNX (batch size free) and its preprocessing to a JSON file beside it.

    Uses ``torch.onnx.export(dynamo=True)``, the exporter PyTorch recommends (the TorchScript one is
    deprecated), which needs the ``onnx`` and ``onnxscript`` packages. The graph takes the normalised
    input ``input`` of shape ``(N, C, H, W)`` and returns ``logits`` ``(N, classes)``; the JSON (also
    stored in the model's metadata under ``cnnlab``) says how to get from pixels to input and from logits
    to probabilities.

    Args:
        trained: the model.
        out: the ``.onnx`` file; the JSON is the same path with ``.json``.
        check: when ``onnxruntime`` is installed, run both on the same random batch and report the largest
            difference of the logits.

    Raises:
        ValueError: the ONNX packages are not installed, a file name without ``.onnx``, or the exporter fails.
    """
    import torch

    missing = _missing("onnx", "onnxscript")
    if missing:
        raise ValueError(f"ONNX export needs the {' and '.join(missing)} package(s): pip install {' '.join(missing)}")
    out = Path(out).expanduser()
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"the ONNX file must end in .onnx, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": "cnnlab-onnx-1", "input": "input", "output": "logits", **trained.preprocessing()}
    example = torch.zeros(2, *trained.input_size)  # batch 2: torch.export would fix a batch of 1 in the graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals are not the user's business
        try:
            program = torch.onnx.export(
                trained.model, (example,), dynamo=True, input_names=["input"], output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False,
            )  # fmt: skip
        except Exception as error:  # the exporter raises many types; the user needs one line
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"ONNX export of {trained.name} failed: {first}") from None
    if program is None:  # only the TorchScript exporter returns nothing
        raise ValueError(f"ONNX export of {trained.name} returned no program")
    program.model.metadata_props["cnnlab"] = json.dumps(metadata)
    weight_bytes = sum(t.numel() * t.element_size() for t in trained.model.state_dict().values())
    # A protobuf, and so an ONNX file, holds at most 2 GB: heavier weights go to a .data file beside it.
    program.save(out, external_data=weight_bytes > 1.5 * 2**30)
    metadata_path = out.with_suffix(".json")
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")
    if not check or _missing("onnxruntime"):
        return OnnxExport(out, metadata_path)
    difference, runtime = compare_with_onnxruntime(trained, out)
    return OnnxExport(out, metadata_path, difference, runtime)


def compare_with_onnxruntime(trained: TrainedModel, path: str | Path, batch: int = 3) -> tuple[float, str]:
    """Largest absolute difference between PyTorch's and ONNX Runtime's logits on a seeded random batch.

    Returns:
        The difference and ONNX Runtime's version.
    """
    import onnxruntime
    import torch

    x = torch.randn(batch, *trained.input_size, generator=torch.Generator().manual_seed(0))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": x.numpy()})
    with torch.no_grad():
        expected = trained.model(x).float()
    return float((torch.from_numpy(logits) - expected).abs().max()), onnxruntime.__version__


def run(args: argparse.Namespace) -> int:
    from cnnlab.training.inference import load_trained_model

    trained = load_trained_model(args.run)
    out = Path(args.out) if args.out else trained.checkpoint.parent / f"{trained.name}.onnx"
    result = export_onnx(trained, out, check=not args.no_check)
    print(f"model:         {result.model_path}")
    print(f"preprocessing: {result.metadata_path}")
    if result.max_difference is not None:
        print(f"checked with onnxruntime {result.runtime}: logits differ from PyTorch's by at most "
              f"{result.max_difference:.2g}")  # fmt: skip
    elif not args.no_check:
        print("not checked: onnxruntime is not installed (pip install onnxruntime)")
    return 0
