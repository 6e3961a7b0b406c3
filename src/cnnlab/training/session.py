"""What surrounds a training run in its process: torch's process-wide settings, the run directory's name, what
to resume, and the progress bar. The loop itself is :mod:`cnnlab.training.loop`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from cnnlab.checkpoint import load_checkpoint
from cnnlab.errors import SettingError
from cnnlab.run_directory import RunDirectory
from cnnlab.training.config import TrainConfig, load_config_file, resolve_config
from cnnlab.training.distributed import Distributed

__all__ = [
    "configure",
    "duration",
    "new_run_dir",
    "progress_bar",
    "resume_state",
    "torch_settings",
]


@contextmanager
def torch_settings(config: TrainConfig) -> Iterator[None]:
    """The run's thread count (``config.threads``: one by default, 0 leaves the process's) and determinism,
    put back afterwards.

    They are process-wide: without this, a run's one thread would stay with whatever the caller does next in
    the same process, and one run's setting would change the speed and floating-point results of the next
    (an experiment trains several models in a row).
    """
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        if config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        torch.backends.cudnn.benchmark = benchmark


def new_run_dir(config: TrainConfig, dist: Distributed) -> Path:
    """``config.output``, else ``runs/MODEL-DATA-TIME`` (``-2``, ``-3``, ... when that exists: never another run's)."""
    if config.output:
        return Path(config.output).expanduser()
    data = config.data.replace(":", "-").replace("/", "_")
    base = Path("runs") / f"{config.model}-{data}-{time.strftime('%Y%m%d-%H%M%S')}"
    chosen, count = base, 1
    while chosen.exists():
        count += 1
        chosen = base.with_name(f"{base.name}-{count}")
    name = [str(chosen)]
    if dist.enabled:  # rank 0's choice for every process
        torch.distributed.broadcast_object_list(name, src=0)
    return Path(name[0])


def duration(seconds: float) -> str:
    """``45s``, ``3m 20s``, ``2h 05m``: an estimate, so whole seconds at most."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def progress_bar(trainer: Any, enabled: bool) -> Any:
    """One bar for the whole run (steps), in a terminal or in Jupyter (``tqdm.auto``); ``None`` when off."""
    if not (enabled and trainer.dist.is_main):
        return None
    from tqdm.auto import tqdm

    steps = [trainer.data.steps(epoch) for epoch in range(trainer.config.epochs)]  # folded epochs have more
    return tqdm(
        desc=f"{trainer.config.model} epoch {trainer.epoch + 1}/{trainer.config.epochs}",
        total=sum(steps),
        initial=sum(steps[: trainer.epoch]) + trainer.batches_done,
        unit="step",
        dynamic_ncols=True,
    )


def resume_state(resume: str | os.PathLike[str]) -> tuple[RunDirectory, dict[str, Any]]:
    """The run to continue and its checkpoint: a run directory's last one, or the checkpoint file given."""
    path = Path(resume).expanduser()
    try:
        run = RunDirectory(path)
        checkpoint = run.checkpoint() if path.is_file() else run.checkpoint("last")
    except ValueError:
        if path.is_dir():
            raise ValueError(
                f"{path} has no last.pt: not a cnnlab run directory (or it never finished an epoch)"
            ) from None
        raise
    return run, load_checkpoint(checkpoint)


def configure(
    model: str | TrainConfig | None, config_file: str | os.PathLike[str] | None, settings: dict[str, Any]
) -> TrainConfig:
    """A new run's configuration: a resolved one with ``settings`` applied, or recipe, file and settings."""
    if model is None:
        raise SettingError("which model? Name one (list_models() lists them), or a run to <resume>")
    if not isinstance(model, str | TrainConfig):
        raise SettingError(f"<model>: expected a model name (list_models() lists them) or a TrainConfig, got {model!r}")
    given = {key: value for key, value in settings.items() if value is not None}
    if isinstance(model, TrainConfig):
        if config_file is not None:  # was ignored: the file's settings silently did nothing
            raise SettingError(
                "a TrainConfig is resolved already: give <config_file> with a model name, or set its settings with "
                "TrainConfig.replace"
            )
        return model.replace(**given)
    file_settings = load_config_file(config_file) if config_file is not None else None
    return resolve_config(model, file_settings, **given)
