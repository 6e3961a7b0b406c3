"""A trained model to ONNX, with its preprocessing in a JSON file beside it, checked against ONNX Runtime."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from cnnlab.files import atomic_output, ensure_directory, write_text
from cnnlab.training.trained import TrainedModel

__all__ = ["OnnxExport", "compare_with_onnxruntime", "export_onnx"]

ONNX_FORMAT = "cnnlab-onnx-1"

# A protobuf, and so an ONNX file, holds at most 2 GB: heavier weights go to a .data file beside it.
EXTERNAL_DATA_BYTES = int(1.5 * 2**30)


@dataclass(frozen=True)
class OnnxExport:
    """Where an export went and how closely ONNX Runtime agrees with PyTorch (``None``: not checked).

    Attributes:
        model_path: the ``.onnx`` file.
        metadata_path: the JSON beside it: classes, input size, normalisation, logit temperature.
        max_difference: the largest absolute difference of the logits on a random batch.
        runtime: ONNX Runtime's version, when it checked.
    """

    model_path: Path
    metadata_path: Path
    max_difference: float | None = None
    runtime: str | None = None

    def __str__(self) -> str:
        lines = [f"model:         {self.model_path}", f"preprocessing: {self.metadata_path}"]
        if self.max_difference is not None:
            lines.append(
                f"checked with onnxruntime {self.runtime}: logits differ from PyTorch's by at most "
                f"{self.max_difference:.2g}"
            )
        return "\n".join(lines)


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def onnxruntime_available() -> bool:
    """Whether exports can be checked (the ``onnxruntime`` package is installed)."""
    return not _missing("onnxruntime")


def _save(program: object, out: Path, external: bool) -> None:
    """Write the ONNX program so that ``out`` appears whole or not at all (its .data file first, if any)."""
    if not external:
        with atomic_output(out) as temporary:
            program.save(temporary)  # type: ignore[attr-defined]
        return
    # The model file names its data file, so both are written under their final names in a temporary
    # directory beside ``out`` and moved into place, the data first.
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        program.save(folder / out.name, external_data=True)  # type: ignore[attr-defined]
        written = sorted(folder.iterdir(), key=lambda p: p.name == out.name)
        for path in written:
            os.replace(path, out.parent / path.name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def export_onnx(
    trained: TrainedModel, out: str | os.PathLike[str], *, check: bool = True, progress: bool = False
) -> OnnxExport:
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
        progress: show a bar over the steps (export, write, check): a large model takes minutes.

    Raises:
        ValueError: the ONNX packages are not installed, a file name without ``.onnx``, or the exporter fails.
    """
    missing = _missing("onnx", "onnxscript")
    if missing:
        raise ValueError(f"ONNX export needs the {' and '.join(missing)} package(s): pip install {' '.join(missing)}")
    out = Path(out).expanduser()
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"the ONNX file must end in .onnx, got {out}")
    if out.is_dir():
        raise ValueError(f"{out} is a directory; the export is written to an .onnx file")
    ensure_directory(out.parent)
    with tqdm(total=3, desc="export", unit="step", disable=not progress, leave=False) as bar:
        bar.set_postfix_str("tracing the model")
        result = _export(trained, out, bar)
        if check and onnxruntime_available():
            bar.set_postfix_str("checking with onnxruntime")
            difference, runtime = compare_with_onnxruntime(trained, out)
            result = OnnxExport(result.model_path, result.metadata_path, difference, runtime)
        bar.update()
    return result


def _export(trained: TrainedModel, out: Path, bar: Any) -> OnnxExport:
    """Export and write the model and its metadata (two steps of ``bar``)."""
    metadata = {"format": ONNX_FORMAT, "input": "input", "output": "logits", **trained.metadata()}
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
    bar.update()
    bar.set_postfix_str("writing")
    program.model.metadata_props["cnnlab"] = json.dumps(metadata)
    weight_bytes = sum(t.numel() * t.element_size() for t in trained.model.state_dict().values())
    _save(program, out, external=weight_bytes > EXTERNAL_DATA_BYTES)
    metadata_path = write_text(out.with_suffix(".json"), json.dumps(metadata, indent=2) + "\n")
    bar.update()
    return OnnxExport(out, metadata_path)


def compare_with_onnxruntime(trained: TrainedModel, path: str | Path, batch: int = 3) -> tuple[float, str]:
    """Largest absolute difference between PyTorch's and ONNX Runtime's logits on a seeded random batch.

    Returns:
        The difference and ONNX Runtime's version.
    """
    import onnxruntime

    x = torch.randn(batch, *trained.input_size, generator=torch.Generator().manual_seed(0))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": x.numpy()})
    with torch.no_grad():
        expected = trained.model(x).float()
    return float((torch.from_numpy(logits) - expected).abs().max()), onnxruntime.__version__
