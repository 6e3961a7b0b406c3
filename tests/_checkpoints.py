"""Checkpoints as `cnnlab train` writes them, of untrained models: enough to load and run."""

import torch

from cnnlab.checkpoint import save_checkpoint
from cnnlab.models import create_model
from cnnlab.training.config import resolve_config


def write_checkpoint(path, model="lenet5", *, classes=10, data="mnist5k", val_fraction=0.1, seed=0, **extra):
    """A checkpoint as `cnnlab train` writes it, of an untrained model: enough to load and run."""
    torch.manual_seed(seed)
    network = create_model(model, num_classes=classes)
    c, h, w = network.spec.input_size
    config = resolve_config(model, data=data, val_fraction=val_fraction, seed=seed).to_dict()
    state = {
        "model": model, "config": config, "model_state": network.state_dict(), "epoch": 3,
        "classes": [str(i) for i in range(classes)], "input_size": [c, h, w],
        "normalization": {"mean": [0.1] * c, "std": [0.3] * c}, **extra,
    }  # fmt: skip
    save_checkpoint(path, state)
    return network
