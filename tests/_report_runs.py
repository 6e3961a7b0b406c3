"""LeNet-5 trained for one epoch with and without a validation split: the runs the report's and the curves' slow
tests read (about 3 s each)."""

from pathlib import Path

from cnnlab.run import train
from cnnlab.training.config import resolve_config


def train_lenet5(folder: Path, *, validation: bool) -> Path:
    """A real run of `cnnlab train lenet5 --epochs 1` (with `--val-fraction 0.1` if ``validation``)."""
    out = folder / ("lenet5-val" if validation else "lenet5-noval")
    config = resolve_config("lenet5", epochs=1, val_fraction=0.1 if validation else 0.0, output=str(out))
    train(config, progress=False, log=lambda _line: None)
    return out
