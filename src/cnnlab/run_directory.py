"""A training run's directory as a record: the one place that knows its files, what the trainer writes
through and what every reader reads.

``docs/run-directory.md`` is the written format. A run directory holds:

* ``run.json``: the format version, the cnnlab version that wrote it, and the run's status;
* ``config.json``: the resolved training configuration;
* ``metrics.csv``: one :class:`~cnnlab.run_records.EpochMetrics` row per epoch;
* ``last.pt`` and ``best.pt``: checkpoints (the last epoch's, and the best validation epoch's);
* ``summary.json``: the :class:`~cnnlab.run_records.RunSummary`, once the run has finished;
* ``curves.png``: loss and accuracy per epoch, once the run has finished;
* TensorBoard event files, when ``tensorboard`` is installed.

Runs written before the format had a version (no ``run.json``) open as format 1: the same files but
``run.json``.

This is the ground floor of a run: it reads and writes files and plain records, and knows nothing of models,
training or pictures. :class:`cnnlab.run.Run`, which users open, is this record with the verbs a trained run
has (``model()``, ``evaluate()``, ``predict()``, ``export()``, ``report()``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from cnnlab import __version__
from cnnlab.checkpoint import save_checkpoint
from cnnlab.errors import SettingError
from cnnlab.files import copy_file, ensure_directory, remove_leftovers, write_text
from cnnlab.run_records import EpochMetrics, RunSummary, blank_if_nan

__all__ = ["RUN_FORMAT", "STATUSES", "Checkpoint", "Configuration", "RunDirectory"]

RUN_FORMAT = 2
"""The version of the run directory's format that this cnnlab writes (1: runs without ``run.json``)."""

STATUSES = ("running", "finished", "interrupted", "stopped", "failed")
"""What ``run.json`` says of a run: training now (or killed while training), done, stopped by Ctrl-C (it can
be resumed), stopped because the loss stopped being finite, or ended by an error."""

Checkpoint = Literal["best", "last"]

_MANIFEST = "run.json"
_CONFIG = "config.json"
_METRICS = "metrics.csv"
_SUMMARY = "summary.json"
_CURVES = "curves.png"
_CHECKPOINTS: dict[str, str] = {"best": "best.pt", "last": "last.pt"}
_REPORT = "report.html"
_PICTURES = "pictures"
_TENSORBOARD = "events.out.tfevents.*"
_TRAINED = (*_CHECKPOINTS.values(), _METRICS, _SUMMARY)  # a directory with any of these holds trained work


class Configuration(Protocol):
    """What ``config.json`` is written from: a resolved training configuration (``TrainConfig``)."""

    def to_dict(self) -> dict[str, Any]: ...


def read_json(path: Path) -> Any:
    """A JSON file of the run directory; a file that is not JSON, or cannot be read, is a ``ValueError``."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is corrupt (not valid JSON: {error})") from None
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror or error}") from None


class RunDirectory:
    """A training run's directory, opened: ``RunDirectory("runs/lenet5-mnist5k-20261125-045010")``.

    ``path`` may be a run directory or a checkpoint file; a checkpoint then stands for the run's weights
    (:meth:`checkpoint` returns it), and its directory for the rest.

    Raises:
        ValueError: nothing there, or a directory that is not a cnnlab run.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        given = Path(path).expanduser()
        if given.is_file():
            self._open(given.parent, given)
        elif given.is_dir():
            if not any((given / name).is_file() for name in (_CONFIG, *_CHECKPOINTS.values())):
                raise ValueError(f"{given} is not a cnnlab run directory (it has no best.pt or last.pt)")
            self._open(given, None)
        else:
            raise ValueError(f"{given} does not exist (expected a run directory or a .pt checkpoint)")

    def _open(self, directory: Path, chosen: Path | None) -> None:
        """Set the fields every way of opening a run sets (a subclass adds its own by extending this)."""
        self.path, self._chosen = directory, chosen
        self._config_data: dict[str, Any] | None = None
        self._metrics: list[EpochMetrics] | None = None
        self._summary: RunSummary | None = None

    @classmethod
    def of(cls, record: RunDirectory) -> RunDirectory:
        """The same run as ``cls`` (a :class:`cnnlab.run.Run` of the record the trainer wrote), sharing what it
        read: no check of the directory, which may not have a checkpoint yet."""
        run = cls.__new__(cls)
        run._open(record.path, record._chosen)
        run._config_data, run._metrics, run._summary = record._config_data, record._metrics, record._summary
        return run

    # ---------------------------------------------------------------------------------------------
    # writing (the trainer's side; only rank 0 writes)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        config: Configuration,
        *,
        write: bool = True,
        resume: bool = False,
        overwrite: bool = False,
    ) -> RunDirectory:
        """Make the directory of a run that starts training now (or take it over, to ``resume`` it).

        A run never replaces another: a directory that holds trained work (a checkpoint, metrics or a summary)
        is refused unless ``overwrite``, which deletes that run's files first. A directory left by a run that
        failed before its first checkpoint holds nothing trained, and is reused. Temporary files that killed
        writes left there are deleted. With ``write=False`` (the other processes of a torchrun job) nothing is
        written or checked: the run is only a handle on where the directory is (check the directory with
        :meth:`check_free` in every process before, so that all of a job stop together).

        Raises:
            SettingError: the directory holds another run (the message says how to resume it instead).
            OSError: the directory cannot be made or written.
        """
        directory = Path(path).expanduser()
        run = cls.__new__(cls)
        run._open(directory, None)
        run._config_data = config.to_dict()
        if not write:  # the writing process may already be making the directory: checking it now would race
            return run
        if not resume:
            cls.check_free(directory, overwrite=overwrite)
            if overwrite:
                run._delete_run_files()
        ensure_directory(directory)
        remove_leftovers(directory)
        write_text(directory / _CONFIG, json.dumps(run._config_data, indent=2) + "\n")
        run.mark("running")
        return run

    @staticmethod
    def check_free(path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Whether a new run may start in ``path``: refuse a directory that holds another run's trained work.

        Raises:
            SettingError: it holds a run (or a config.json that is not a run's) and ``overwrite`` is not given.
            OSError: ``path`` is a file.
        """
        directory = Path(path).expanduser()
        if directory.exists() and not directory.is_dir():
            raise OSError(f"cannot use {directory} as a run directory: it is a file")
        trained = [name for name in _TRAINED if (directory / name).is_file()]
        foreign_config = (directory / _CONFIG).is_file() and not (directory / _MANIFEST).is_file()
        if not trained and not foreign_config:
            return  # new, or a run that failed before its first checkpoint: nothing to lose
        if not overwrite:
            what = f"a run ({', '.join(trained)})" if trained else "a config.json that is not a run's"
            raise SettingError(
                f"{directory} already holds {what}; continue it with <resume={directory}>, choose another "
                "<output>, or replace it with <overwrite=True>"
            )

    def _delete_run_files(self) -> None:
        """What ``overwrite`` replaces: the run's own files (other commands' pictures and exports stay)."""
        for name in (*_TRAINED, _CURVES, _MANIFEST, _CONFIG):
            (self.path / name).unlink(missing_ok=True)
        for events in self.path.glob(_TENSORBOARD):
            events.unlink(missing_ok=True)

    def mark(self, status: str, *, quiet: bool = False) -> None:
        """Record the run's status in ``run.json`` (one of :data:`STATUSES`).

        ``quiet``: best effort, for a run that is failing already (a full disk must not hide the first error).
        """
        if status not in STATUSES:
            raise ValueError(f"a run's status is one of {', '.join(STATUSES)}, not {status!r}")
        manifest = {
            "format": RUN_FORMAT,
            "cnnlab": __version__,
            "status": status,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            write_text(self.path / _MANIFEST, json.dumps(manifest, indent=2) + "\n")
        except OSError:
            if not quiet:
                raise

    def save_checkpoint(self, state: dict[str, Any], *which: Checkpoint) -> None:
        """Write the training state as the ``last`` and/or ``best`` checkpoint (atomically; serialised once)."""
        if not which:
            return
        first = save_checkpoint(self.checkpoint_path(which[0]), state)
        for name in which[1:]:
            copy_file(first, self.checkpoint_path(name))

    def write_metrics(self, history: Sequence[EpochMetrics]) -> None:
        """Rewrite ``metrics.csv`` with every epoch so far."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EpochMetrics.columns(), lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({key: blank_if_nan(value) for key, value in row.to_dict().items()})
        write_text(self.path / _METRICS, buffer.getvalue())
        self._metrics = list(history)

    def finish(self, summary: RunSummary) -> None:
        """Write ``summary.json`` and mark the run finished."""
        write_text(self.path / _SUMMARY, json.dumps(summary.to_dict(), indent=2) + "\n")
        self._summary = summary
        self.mark("finished")

    # ---------------------------------------------------------------------------------------------
    # where things are

    def checkpoint_path(self, which: Checkpoint) -> Path:
        """Where the ``best`` or ``last`` checkpoint is (or goes)."""
        if which not in _CHECKPOINTS:
            raise ValueError(f"a run's checkpoints are {' and '.join(_CHECKPOINTS)}, not {which!r}")
        return self.path / _CHECKPOINTS[which]

    def checkpoint(self, which: Checkpoint | None = None) -> Path:
        """The checkpoint to use: ``which``, else the one the run was opened with, else best, else last.

        Raises:
            ValueError: the checkpoint asked for does not exist (yet).
        """
        if which is not None:
            path = self.checkpoint_path(which)
            if not path.is_file():
                raise ValueError(f"{self.path} has no {path.name} (yet)")
            return path
        if self._chosen is not None:
            return self._chosen
        for name in ("best", "last"):
            path = self.checkpoint_path(name)  # type: ignore[arg-type]
            if path.is_file():
                return path
        raise ValueError(f"{self.path} is not a cnnlab run directory (it has no best.pt or last.pt)")

    @property
    def checkpoints(self) -> list[str]:
        """The checkpoint files the run has now (``best.pt``, ``last.pt``)."""
        return [name for name in _CHECKPOINTS.values() if (self.path / name).is_file()]

    @property
    def curves_path(self) -> Path:
        """The training curves the run draws when it finishes."""
        return self.path / _CURVES

    @property
    def report_path(self) -> Path:
        """Where a run's report goes by default: ``report.html`` beside the checkpoint."""
        return self.checkpoint().parent / _REPORT

    @property
    def pictures_dir(self) -> Path:
        """Where pictures of this run go by default."""
        return self.checkpoint().parent / _PICTURES

    def confusion_path(self, dataset: str, split: str, suffix: str = ".png") -> Path:
        """``confusion-mnist5k-test.png`` beside the checkpoint: one file per dataset and split."""
        safe = dataset.replace(":", "-").replace("/", "_")
        return self.checkpoint().parent / f"confusion-{safe}-{split}{suffix}"

    def export_path(self, model: str) -> Path:
        """Where an export of ``model`` goes by default: ``MODEL.onnx`` beside the checkpoint."""
        return self.checkpoint().parent / f"{model}.onnx"

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # ---------------------------------------------------------------------------------------------
    # what was recorded

    @property
    def format(self) -> int:
        """The directory's format version (1: written before ``run.json`` existed)."""
        manifest = self.path / _MANIFEST
        return int(read_json(manifest).get("format", 1)) if manifest.is_file() else 1

    @property
    def status(self) -> str:
        """One of :data:`STATUSES`; a run without ``run.json`` is ``finished`` if it has a summary."""
        manifest = self.path / _MANIFEST
        if manifest.is_file():
            return str(read_json(manifest).get("status", "running"))
        return "finished" if (self.path / _SUMMARY).is_file() else "interrupted"

    def config_data(self) -> dict[str, Any] | None:
        """``config.json`` as written (``None``: the run has none, and its checkpoint holds the configuration)."""
        if self._config_data is None:
            file = self.path / _CONFIG
            if not file.is_file():
                return None
            self._config_data = read_json(file)
        return self._config_data

    @property
    def metrics(self) -> list[EpochMetrics]:
        """One row per epoch trained (from ``metrics.csv``; empty before the first epoch ends)."""
        if self._metrics is None:
            file = self.path / _METRICS
            if not file.is_file():
                return []
            try:
                with open(file, newline="", encoding="utf-8") as handle:
                    self._metrics = [EpochMetrics.from_dict(row) for row in csv.DictReader(handle)]
            except (ValueError, csv.Error) as error:
                raise ValueError(f"{file} is corrupt ({error})") from None
        return list(self._metrics)

    @property
    def summary(self) -> RunSummary | None:
        """What the run achieved, or ``None`` while it has not finished."""
        if self._summary is None:
            file = self.path / _SUMMARY
            if not file.is_file():
                return None
            self._summary = RunSummary.from_dict(read_json(file))
        return self._summary

    @property
    def name(self) -> str:
        return self.path.name
