"""What every experiment is: its settings, its result and the registry; and how it trains.

An experiment trains through :func:`train_briefly` only, most of them each of their variants over the seeds
(:func:`train_variants`). What they do with the numbers (over seeds, in tables, in figures) is in
:mod:`cnnlab.experiments._scaffold`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cnnlab.experiments._verdict import Judgement
from cnnlab.files import write_text

if TYPE_CHECKING:
    from cnnlab.run import Run

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentResult",
    "Settings",
    "Variant",
    "register",
    "top1_of",
    "train_briefly",
    "train_variants",
]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


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
    """An experiment's numbers, table, figure and verdict on the lecture's claim.

    Attributes:
        held: ``True`` (held), ``False`` (did not hold) or ``None`` (inconclusive: the seeds' 95 % interval
            straddles the threshold); :func:`cnnlab.experiments._verdict.overall` of ``judgements``.
        judgements: each measurable part of the claim, with its threshold, per-seed numbers and interval.
        seconds: how long the experiment took (set by :func:`cnnlab.experiments.run_experiment`).
    """

    name: str
    claim: str
    held: bool | None
    verdict: str
    headers: list[str]
    rows: list[list[Any]]
    data: dict[str, Any] = field(default_factory=dict)
    figure: Path | None = None
    judgements: list[Judgement] = field(default_factory=list)
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything, as plain JSON data: what ``results.json`` holds (non-finite numbers are ``null``)."""
        record = asdict(self)
        record["figure"] = str(self.figure) if self.figure else None
        record["judgements"] = [judgement.to_dict() for judgement in self.judgements]
        return _jsonable(record)

    def save(self, out: Path) -> Path:
        """Write ``results.json`` (numbers, table, verdict) into ``out``."""
        return write_text(Path(out) / "results.json", json.dumps(self.to_dict(), indent=2) + "\n")

    def table(self, fmt: str = "text") -> str:
        """The result's table in ``fmt`` (text, markdown, csv or json)."""
        from cnnlab.inspection.tables import render_table

        return render_table(self.headers, self.rows, fmt)

    def __str__(self) -> str:
        text = f"{self.name}: {self.claim}\n\n{self.table()}\n\n{self.verdict}"
        if self.seconds is not None:
            from cnnlab.training.session import duration

            text += f"\ntime: {duration(self.seconds)}"
        return text

    def _repr_html_(self) -> str:
        from cnnlab.viz.report import image_tag

        figure = ""
        if self.figure is not None and Path(self.figure).suffix == ".png" and Path(self.figure).is_file():
            figure = image_tag(Path(self.figure), f"the {self.name} experiment's figure")
        return (
            f"<div><strong>{html.escape(self.name)}</strong>: {html.escape(self.claim)}"
            f'{self.table("html")}<p style="white-space: pre-line">{html.escape(self.verdict)}</p>{figure}</div>'
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
    """A registered experiment.

    Attributes:
        name: what ``cnnlab experiment NAME`` calls it.
        claim: the lecture's claim it checks, in one line (``cnnlab experiment --list``).
        run: the function that runs it.
        lecture: its place in the lecture: experiments are listed by it.
        about: what it does, in one line (``cnnlab experiment --help``).
    """

    name: str
    claim: str
    run: Callable[[Settings], ExperimentResult]
    lecture: float = math.inf
    about: str = ""


EXPERIMENTS: dict[str, Experiment] = {}


def register(
    name: str, claim: str, *, lecture: float, about: str
) -> Callable[[Callable[[Settings], ExperimentResult]], Callable[[Settings], ExperimentResult]]:
    """Register an experiment function under ``name`` with the lecture's ``claim`` it checks.

    Args:
        name: the experiment's name.
        claim: the claim, in one line.
        lecture: where the lecture makes the claim; the experiments are listed in this order. The numbers
            leave gaps (10, 20, ...), so that a new experiment goes between two without moving either.
        about: what the experiment does, in one line, for ``cnnlab experiment --help``.
    """

    def decorate(function: Callable[[Settings], ExperimentResult]) -> Callable[[Settings], ExperimentResult]:
        if name in EXPERIMENTS:
            raise ValueError(f"an experiment named {name!r} is already registered")
        taken = [other.name for other in EXPERIMENTS.values() if other.lecture == lecture]
        if taken:
            raise ValueError(f"experiment {name!r}: lecture position {lecture} is taken by {taken[0]!r}")
        EXPERIMENTS[name] = Experiment(name, claim, function, lecture, about)
        return function

    return decorate


def train_briefly(model: str, settings: Settings, run_name: str, **overrides: Any) -> Run:
    """Train ``model`` with its recipe and ``overrides`` into ``settings.out / runs / run_name``.

    The experiment owns that directory: running it again replaces the run there. Each line of the run's log
    goes to ``settings.log`` with the run's name in front (``plain56-seed0: epoch 3/30 ... ETA 20s``).
    """
    from cnnlab.run import train

    values = {"output": str(settings.out / "runs" / run_name), "data_dir": settings.data_dir}
    values.update(overrides)
    if settings.download:
        values["download"] = True
    if settings.epochs is not None:
        values["epochs"] = settings.epochs
    report = settings.log
    log = None if report is None else (lambda line: report(f"{run_name}: {line}"))
    return train(model, progress=settings.progress, log=log, overwrite=True, **values)


@dataclass(frozen=True)
class Variant:
    """One arm of an experiment: the network its runs train and what they change in its recipe.

    Attributes:
        model: the registered model its runs train.
        run: the runs' name: a seed's run goes to ``runs/RUN-seedS`` in the experiment's folder.
        options: what this arm changes in the recipe (``model_args``, ``augment``, ...), over what all share.
    """

    model: str
    run: str
    options: Mapping[str, Any] = field(default_factory=dict)


def top1_of(run: Run) -> float:
    """A run's test top-1, a fraction: what most experiments compare."""
    return run.summary.test_top1


def train_variants(
    settings: Settings,
    variants: Mapping[K, Variant],
    seeds: Sequence[int],
    measure: Callable[[Run], T] = top1_of,  # type: ignore[assignment]  # T is float by default
    **shared: Any,
) -> dict[K, list[T]]:
    """Train each variant once per seed and measure each run as it ends.

    The runs go variant by variant, each over the seeds in their order (the log shows them so); each run gets
    ``shared`` (the epochs, the data, ...) with its variant's ``options`` over it.

    Before the first run, ``settings.log`` hears what is ahead (``12 training runs (plain20, plain56, ...; seeds
    0, 1, 2) into OUT/runs; results in OUT``): the first epoch's line can be a minute away on a busy machine.

    Returns:
        For each variant (its key in ``variants``), what ``measure`` found in each seed's run.
    """
    if settings.log is not None:
        count = len(variants) * len(seeds)
        names = ", ".join(variant.run for variant in variants.values())
        seeded = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
        settings.log(
            f"{count} training run{'s' if count > 1 else ''} ({names}; {seeded}) into {settings.out / 'runs'}; "
            f"results in {settings.out}"
        )
    found: dict[K, list[T]] = {}
    for key, variant in variants.items():
        found[key] = [
            measure(train_briefly(variant.model, settings, f"{variant.run}-seed{seed}", seed=seed,
                                  **{**shared, **variant.options}))
            for seed in seeds
        ]  # fmt: skip
    return found
