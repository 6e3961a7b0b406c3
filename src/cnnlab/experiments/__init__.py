"""The lecture's claims as experiments: each a function that returns its numbers and draws its figure.

``run_experiment("weights", preset="quick")``; ``cnnlab experiment NAME`` from the command line.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from cnnlab.experiments._base import EXPERIMENTS, Experiment, ExperimentResult, Settings

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentResult", "Settings", "list_experiments", "run_experiment"]

# Every public module of this package holds one experiment; importing it registers it.
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")


def list_experiments() -> list[str]:
    """The experiments' names, in the lecture's order."""
    order = ("weights", "equivariance", "pooling", "lenet-connectivity", "degradation", "upsampling")
    return sorted(EXPERIMENTS, key=lambda name: (order.index(name) if name in order else len(order), name))


def run_experiment(name: str, settings: Settings | None = None, **options: object) -> ExperimentResult:
    """Run an experiment and write its ``results.json`` (and figure) into ``settings.out``.

    Raises:
        ValueError: unknown experiment or preset.
    """
    experiment = EXPERIMENTS.get(name)
    if experiment is None:
        import difflib

        close = difflib.get_close_matches(name, EXPERIMENTS, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"unknown experiment {name!r}{hint} (known: {', '.join(list_experiments())})")
    settings = settings or Settings(**options)  # type: ignore[arg-type]
    if settings.preset not in ("quick", "full"):
        raise ValueError(f"preset must be quick or full, got {settings.preset!r}")
    settings.out.mkdir(parents=True, exist_ok=True)
    result = experiment.run(settings)
    result.save(Path(settings.out))
    return result
