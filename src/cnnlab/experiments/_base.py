"""What every experiment shares: its result, the registry, and a short training run."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.files import write_text

if TYPE_CHECKING:
    from cnnlab.run import Run

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentResult", "Settings", "accuracy_bars", "register", "train_briefly"]


@dataclass(frozen=True)
class Settings:
    """How much an experiment may spend and on what.

    Attributes:
        preset: ``quick`` (a few minutes on 2 CPU cores, bundled data) or ``full`` (the paper's recipe).
        out: directory for ``results.json``, the figure and any training runs.
        data: dataset override (``None``: the experiment's own choice for the preset).
        data_dir, download: where torchvision's datasets are, and whether to fetch them.
        seeds: seeds to repeat training runs over (``None``: the preset's).
        epochs: epochs of each training run (``None``: the preset's); the tests use 1.
        progress: show each training run's progress bar.
        log: called with a line per epoch of each training run, naming the run (``None``: silent).
    """

    preset: str = "quick"
    out: Path = Path("experiments")
    data: str | None = None
    data_dir: str | None = None
    download: bool = False
    seeds: tuple[int, ...] | None = None
    epochs: int | None = None
    progress: bool = False
    log: Callable[[str], None] | None = None

    def preset_and_seeds(self, presets: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], tuple[int, ...]]:
        """The chosen preset's settings, and the seeds to train with: the ones given, else the preset's."""
        preset = presets[self.preset]
        return preset, tuple(self.seeds or preset["seeds"])


@dataclass
class ExperimentResult:
    """An experiment's numbers, table, figure and verdict on the lecture's claim."""

    name: str
    claim: str
    held: bool | None
    verdict: str
    headers: list[str]
    rows: list[list[Any]]
    data: dict[str, Any] = field(default_factory=dict)
    figure: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything, as plain JSON data: what ``results.json`` holds (non-finite numbers are ``null``)."""
        record = asdict(self)
        record["figure"] = str(self.figure) if self.figure else None
        return _jsonable(record)

    def save(self, out: Path) -> Path:
        """Write ``results.json`` (numbers, table, verdict) into ``out``."""
        return write_text(Path(out) / "results.json", json.dumps(self.to_dict(), indent=2) + "\n")

    def table(self, fmt: str = "text") -> str:
        """The result's table in ``fmt`` (text, markdown, csv or json)."""
        from cnnlab.inspection.tables import render_table

        return render_table(self.headers, self.rows, fmt)

    def __str__(self) -> str:
        return f"{self.name}: {self.claim}\n\n{self.table()}\n\n{self.verdict}"

    def _repr_html_(self) -> str:
        from cnnlab.viz.report import image_tag, table_html

        figure = ""
        if self.figure is not None and Path(self.figure).suffix == ".png" and Path(self.figure).is_file():
            figure = image_tag(Path(self.figure), f"the {self.name} experiment's figure")
        return (
            f"<div><strong>{html.escape(self.name)}</strong>: {html.escape(self.claim)}"
            f"{table_html(self.headers, self.rows)}<p>{html.escape(self.verdict)}</p>{figure}</div>"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass(frozen=True)
class Experiment:
    name: str
    claim: str
    run: Callable[[Settings], ExperimentResult]


EXPERIMENTS: dict[str, Experiment] = {}


def register(
    name: str, claim: str
) -> Callable[[Callable[[Settings], ExperimentResult]], Callable[[Settings], ExperimentResult]]:
    """Register an experiment function under ``name`` with the lecture's ``claim`` it checks."""

    def decorate(function: Callable[[Settings], ExperimentResult]) -> Callable[[Settings], ExperimentResult]:
        if name in EXPERIMENTS:
            raise ValueError(f"an experiment named {name!r} is already registered")
        EXPERIMENTS[name] = Experiment(name, claim, function)
        return function

    return decorate


def train_briefly(model: str, settings: Settings, run_name: str, **overrides: Any) -> Run:
    """Train ``model`` with its recipe and ``overrides`` into ``settings.out / runs / run_name``.

    The experiment owns that directory: running it again replaces the run there. Each line of the run's log
    goes to ``settings.log`` with the run's name in front (``plain56-seed0: epoch 3/30 ... ETA 20s``).
    """
    from cnnlab.training.loop import train

    values = {"output": str(settings.out / "runs" / run_name), "data_dir": settings.data_dir}
    values.update(overrides)
    if settings.download:
        values["download"] = True
    if settings.epochs is not None:
        values["epochs"] = settings.epochs
    report = settings.log
    log = None if report is None else (lambda line: report(f"{run_name}: {line}"))
    return train(model, progress=settings.progress, log=log, overwrite=True, **values)


def accuracy_bars(
    axis: Any,
    runs: Mapping[str, Sequence[float]],
    *,
    title: str,
    notes: Mapping[str, str] | None = None,
    colours: Sequence[str] | None = None,
    margin: float = 2.0,
) -> None:
    """Each variant's mean test top-1 as a bar and each seed's as a dot, on a matplotlib ``axis``.

    ``runs`` maps a variant's label to its accuracies (fractions, a seed each); ``notes`` puts a line above a
    bar (its parameters, say); the axis starts ``margin`` points below the lowest seed, so differences show.
    """
    labels = list(runs)
    for index, label in enumerate(labels):
        values = [100 * value for value in runs[label]]
        mean = sum(values) / len(values)
        colour = colours[index] if colours is not None else f"C{index}"
        axis.bar(index, mean, color=colour, alpha=0.8)
        axis.scatter([index] * len(values), values, color="k", s=14, zorder=3)
        if notes is not None and label in notes:
            axis.annotate(notes[label], (index, mean), ha="center", va="bottom", fontsize=8)
    low = min(100 * value for label in labels for value in runs[label])
    axis.set(ylim=(max(0.0, low - margin), 100), ylabel="test top-1 (%)", title=title)
    axis.set_xticks(range(len(labels)), labels)
    axis.grid(alpha=0.3, axis="y")
