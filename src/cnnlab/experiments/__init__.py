"""The lecture's claims as experiments: each a function that returns its numbers and draws its figure.

``cnnlab.experiment("weights")`` from Python; ``cnnlab experiment weights`` from the command line.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cnnlab.errors import SettingError, callable_setting, is_whole_number, path_setting, text_setting, whole_number
from cnnlab.experiments._base import EXPERIMENTS, Experiment, ExperimentResult, Settings

__all__ = [
    "EXPERIMENTS",
    "PRESETS",
    "Experiment",
    "ExperimentResult",
    "Settings",
    "experiment",
    "list_experiments",
    "run_experiment",
]

PRESETS = ("quick", "full")
"""``quick``: minutes on 2 CPU cores with the bundled digits; ``full``: the papers' recipes and data."""

# Every public module of this package holds one experiment; importing it registers it.
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")


def list_experiments() -> list[str]:
    """The experiments' names, in the lecture's order (each declares its place where it is registered)."""
    return sorted(EXPERIMENTS, key=lambda name: (EXPERIMENTS[name].lecture, name))


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
    if settings.preset not in PRESETS:
        raise SettingError(f"<preset> must be one of {', '.join(PRESETS)}, got {settings.preset!r}")
    settings.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = experiment.run(settings)
    result.seconds = time.perf_counter() - started
    result.save(Path(settings.out))
    return result


def experiment(
    name: str,
    *,
    preset: str = "quick",
    out: str | Path | None = None,
    data: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    seeds: Sequence[int] | int | None = None,
    epochs: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> ExperimentResult:
    """Check one of the lecture's claims: ``cnnlab.experiment("degradation", seeds=[0])``.

    Runs the experiment, writes ``results.json``, its figure and its training runs into ``out`` (default:
    ``experiments/NAME``) and returns the result: a table, every number per seed, the figure, and the verdict:
    each measurable part of the claim with its threshold and the 95 % interval of its per-seed numbers, and
    whether the claim held, did not hold or was inconclusive on this run. ``list_experiments()`` names them.

    Args:
        name: the experiment.
        preset: ``quick`` (minutes on 2 CPU cores, bundled data) or ``full`` (the papers' recipes).
        out: where its files go.
        data, data_dir, download: another dataset for its training runs, where it is, and whether to fetch it.
        seeds: seeds of its training runs, a list or one (default: the preset's).
        epochs: epochs of each training run (default: the preset's).
        progress: show each training run's progress bar (in a terminal or in Jupyter).
        log: called with a line per epoch of each training run, naming the run.

    Raises:
        TypeError: ``name`` is not a string.
        SettingError: an unknown preset, seeds that are not whole numbers >= 0 (or none), ``epochs`` not a positive
            whole number, ``out`` or ``data_dir`` not a path, ``log`` not a function.
        ValueError: an unknown experiment, or data the preset needs and does not have.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected an experiment's name (list_experiments() lists them), got {name!r}")
    if is_whole_number(seeds):
        seeds = [seeds]  # type: ignore[list-item]  # one seed
    if seeds is not None and not isinstance(seeds, list | tuple | range):
        raise SettingError(f"<seeds>: expected seeds, whole numbers >= 0 (a list, or one), got {seeds!r}")
    if seeds is not None and not seeds:
        raise SettingError("<seeds>: expected at least one seed, got none")
    chosen_seeds = None if seeds is None else tuple(whole_number("seeds", seed, minimum=0) for seed in seeds)
    if epochs is not None:
        epochs = whole_number("epochs", epochs)
    if data is not None:
        text_setting("data", data, "a dataset name")
    data_dir = str(path_setting("data_dir", data_dir)) if data_dir is not None else None
    callable_setting("log", log, "a function called with each message")
    folder = path_setting("out", out).expanduser() if out is not None else Path("experiments") / name
    settings = Settings(preset, folder, data, data_dir, download, chosen_seeds, epochs, progress, log)
    return run_experiment(name, settings)
