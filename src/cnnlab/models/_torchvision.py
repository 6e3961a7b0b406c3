"""Loading torchvision's weights into the torchvision-compatible cnnlab models."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from cnnlab.models._base import ImageClassifier

__all__ = ["load_torchvision_weights"]


def load_torchvision_weights(
    model: ImageClassifier, state_dict_or_tv_model: Mapping[str, torch.Tensor] | nn.Module
) -> ImageClassifier:
    """Copy a torchvision model's weights (or its ``state_dict``) into the matching cnnlab model.

    Works for the models whose layers and names follow torchvision (``resnet18/34/50/101/152``,
    ``vgg11/13/16/19`` and their ``_bn`` versions, ``alexnet_tv``, ``googlenet_tv``, ``inception_v3``);
    the outputs are then the same as torchvision's.
    Nothing is downloaded: pass a torchvision model you built or loaded yourself.

    Raises:
        TypeError: ``model`` is not a cnnlab model.
        ValueError: the model has no torchvision counterpart, or the weights do not fit it (the
            message names the first keys or shapes that differ).
    """
    if not isinstance(model, ImageClassifier):
        raise TypeError(f"model: expected a cnnlab model (create_model(...)), got {type(model).__name__}")
    name = model.spec.name if model.spec is not None else type(model).__name__
    if not getattr(model, "torchvision_compatible", False):
        raise ValueError(f"{name} has no torchvision counterpart to load weights from")
    source = state_dict_or_tv_model
    if isinstance(source, nn.Module):
        source = source.state_dict()
    target = model.state_dict()
    missing = [k for k in target if k not in source]
    unexpected = [k for k in source if k not in target]
    if missing or unexpected:
        raise ValueError(
            f"these weights do not fit {name}: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''} (aux heads on one side only?)"
        )
    wrong = [
        f"{k} {tuple(source[k].shape)} vs {tuple(t.shape)}" for k, t in target.items() if source[k].shape != t.shape
    ]

    if wrong:
        raise ValueError(f"these weights do not fit {name}: shapes differ at {', '.join(wrong[:3])}")
    model.load_state_dict(source)
    return model
