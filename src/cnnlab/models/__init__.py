"""The classic networks, one family per module, all registered by name.

``create_model("resnet18")``, ``list_models("vgg*")``; every model is an :class:`ImageClassifier`.
"""

from __future__ import annotations

import importlib
import pkgutil

from cnnlab.models._base import ImageClassifier, ModelOutput
from cnnlab.models._registry import ModelSpec, create_model, get_spec, list_models, register_model
from cnnlab.models._torchvision import load_torchvision_weights

__all__ = [
    "ImageClassifier",
    "ModelOutput",
    "ModelSpec",
    "create_model",
    "get_spec",
    "list_models",
    "load_torchvision_weights",
    "register_model",
]

# Every public module of this package is a family file; importing it registers its models.
for _family in pkgutil.iter_modules(__path__):
    if not _family.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_family.name}")
