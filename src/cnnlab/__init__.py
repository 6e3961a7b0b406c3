"""cnnlab: build, size, train, inspect and compare convolutional neural networks.

The public API is small and imported on first use, so that ``import cnnlab`` stays instant and pure
arithmetic (``cnnlab.layers.shapes``) never loads torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "compare_layers": "cnnlab.inspection.layer_comparison",
    "create_model": "cnnlab.models",
    "get_spec": "cnnlab.models",
    "list_models": "cnnlab.models",
    "load_torchvision_weights": "cnnlab.models",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
