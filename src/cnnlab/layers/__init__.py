"""cnnlab's building blocks, one idea per module.

Names are imported on first use, so that ``cnnlab.layers.shapes`` (pure Python) never pulls in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "shapes": (
        "conv_output_size",
        "pool_output_size",
        "transposed_output_size",
        "same_padding",
        "effective_kernel_size",
        "receptive_fields",
        "merge_receptive_fields",
        "ReceptiveField",
        "Window",
    ),
    "locally_connected": ("LocallyConnected2d", "locally_connected2d", "locally_connected2d_reference"),
    "pooling": ("GlobalAvgPool2d", "MixedPool2d", "GatedPool2d", "LearnedLPPool2d"),
    "transposed": (
        "ZeroInsertionConvTranspose2d",
        "conv_transpose2d_by_zero_insertion",
        "insert_zeros",
        "zero_inserted_input",
    ),
    "lenet": (
        "LENET5_C3_TABLE",
        "LENET5_RBF_BITMAPS",
        "EuclideanRBF",
        "ScaledTanh",
        "SparseConv2d",
        "TrainableSubsampling",
        "connections_from_table",
    ),
    "normalization": ("LocalResponseNorm2d",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnlab.layers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cnnlab.layers.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
