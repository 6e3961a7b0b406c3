"""A training run: its directory, the one place that knows the directory's files, and what a trained run can do.

``docs/run-directory.md`` is the written format. A run directory holds:

* ``run.json``: the format version, the cnnlab version that wrote it, and the run's status;
* ``config.json``: the resolved :class:`~cnnlab.training.config.TrainConfig`;
* ``metrics.csv``: one :class:`EpochMetrics` row per epoch;
* ``last.pt`` and ``best.pt``: checkpoints (the last epoch's, and the best validation epoch's);
* ``summary.json``: the :class:`RunSummary`, once the run has finished;
* ``curves.png``: loss and accuracy per epoch, once the run has finished;
* TensorBoard event files, when ``tensorboard`` is installed.

Runs written before the format had a version (no ``run.json``) open as format 1: the same files but
``run.json``.

:class:`Run` opens a run directory (or a checkpoint in one) and turns it into values: its configuration,
metrics and summary, its model, an evaluation, predictions, an ONNX export and an HTML report. The trainer
writes the directory through the same class, so no other module names a file in it.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cnnlab import __version__
from cnnlab.errors import SettingError
from cnnlab.files import copy_file, ensure_directory, remove_leftovers, write_text
from cnnlab.run_records import EpochMetrics, RunSummary, blank_if_nan

if TYPE_CHECKING:
    from cnnlab.models import ImageClassifier
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.evaluation import Evaluation
    from cnnlab.training.export import OnnxExport
    from cnnlab.training.prediction import Prediction
    from cnnlab.training.trained import TrainedModel

__all__ = ["RUN_FORMAT", "STATUSES", "Checkpoint", "EpochMetrics", "Run", "RunSummary"]

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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is corrupt (not valid JSON: {error})") from None
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror or error}") from None


class Run:
    """A training run's directory, opened: ``Run("runs/lenet5-mnist5k-20261125-045010")``.

    ``path`` may be a run directory or a checkpoint file; a checkpoint then stands for the run's weights
    (``model()``, ``evaluate()``, ... use it), and its directory for the rest.

    Raises:
        ValueError: nothing there, or a directory that is not a cnnlab run.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        given = Path(path).expanduser()
        if given.is_file():
            self.path, self._chosen = given.parent, given
        elif given.is_dir():
            self.path, self._chosen = given, None
            if not any((given / name).is_file() for name in (_CONFIG, *_CHECKPOINTS.values())):
                raise ValueError(f"{given} is not a cnnlab run directory (it has no best.pt or last.pt)")
        else:
            raise ValueError(f"{given} does not exist (expected a run directory or a .pt checkpoint)")
        self._config: TrainConfig | None = None
        self._metrics: list[EpochMetrics] | None = None
        self._summary: RunSummary | None = None
        self._trained: dict[tuple[Path, str], TrainedModel] = {}

    # ---------------------------------------------------------------------------------------------
    # writing (the trainer's side; only rank 0 writes)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        config: TrainConfig,
        *,
        write: bool = True,
        resume: bool = False,
        overwrite: bool = False,
    ) -> Run:
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
        run.path, run._chosen = directory, None
        run._config, run._metrics, run._summary, run._trained = config, None, None, {}
        if not write:  # the writing process may already be making the directory: checking it now would race
            return run
        if not resume:
            cls.check_free(directory, overwrite=overwrite)
            if overwrite:
                run._delete_run_files()
        ensure_directory(directory)
        remove_leftovers(directory)
        write_text(directory / _CONFIG, json.dumps(config.to_dict(), indent=2) + "\n")
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
        from cnnlab.training.checkpoint import save_checkpoint

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
    def curves_path(self) -> Path:
        """The training curves the run draws when it finishes."""
        return self.path / _CURVES

    @property
    def report_path(self) -> Path:
        """Where :meth:`report` writes by default."""
        return self.checkpoint().parent / _REPORT

    @property
    def pictures_dir(self) -> Path:
        """Where pictures of this run go by default."""
        return self.checkpoint().parent / _PICTURES

    def confusion_path(self, dataset: str, split: str, suffix: str = ".png") -> Path:
        """``confusion-mnist5k-test.png`` beside the checkpoint: one file per dataset and split."""
        safe = dataset.replace(":", "-").replace("/", "_")
        return self.checkpoint().parent / f"confusion-{safe}-{split}{suffix}"

    def export_path(self) -> Path:
        """Where :meth:`export` writes by default: ``MODEL.onnx`` beside the checkpoint."""
        return self.checkpoint().parent / f"{self.trained().name}.onnx"

    def __fspath__(self) -> str:
        return str(self.path)

    # ---------------------------------------------------------------------------------------------
    # what was recorded

    @property
    def format(self) -> int:
        """The directory's format version (1: written before ``run.json`` existed)."""
        manifest = self.path / _MANIFEST
        return int(_read_json(manifest).get("format", 1)) if manifest.is_file() else 1

    @property
    def status(self) -> str:
        """One of :data:`STATUSES`; a run without ``run.json`` is ``finished`` if it has a summary."""
        manifest = self.path / _MANIFEST
        if manifest.is_file():
            return str(_read_json(manifest).get("status", "running"))
        return "finished" if (self.path / _SUMMARY).is_file() else "interrupted"

    @property
    def config(self) -> TrainConfig:
        """The resolved training configuration (from ``config.json``, else from the checkpoint)."""
        if self._config is None:
            from cnnlab.training.config import TrainConfig

            file = self.path / _CONFIG
            if file.is_file():
                self._config = TrainConfig.from_dict(_read_json(file))
            else:
                self._config = self.trained().config
        return self._config

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
            self._summary = RunSummary.from_dict(_read_json(file))
        return self._summary

    @property
    def name(self) -> str:
        return self.path.name

    # ---------------------------------------------------------------------------------------------
    # what a trained run can do

    def trained(self, which: Checkpoint | None = None, weights: str = "auto") -> TrainedModel:
        """The model of a checkpoint with everything needed to feed it (see :meth:`checkpoint`).

        ``weights``: ``auto`` (the run's results: the moving average of the weights when the run kept one),
        ``ema`` or ``raw``.
        """
        from cnnlab.training.trained import load_trained_model

        path = self.checkpoint(which)
        if (path, weights) not in self._trained:
            self._trained[path, weights] = load_trained_model(path, weights)
        return self._trained[path, weights]

    def model(self, which: Checkpoint | None = None, weights: str = "auto") -> ImageClassifier:
        """The network with the best weights (or ``"last"``), in eval mode, on the CPU (``weights``: see
        :meth:`trained`)."""
        return self.trained(which, weights).model

    def evaluate(
        self,
        *,
        split: str = "test",
        data: str | None = None,
        data_dir: str | None = None,
        download: bool = False,
        progress: bool = False,
        which: Checkpoint | None = None,
    ) -> Evaluation:
        """Top-1, top-5, per-class accuracy and the confusion matrix on a split of the run's dataset (or ``data``).

        The split is the one the run carved (``train``, ``val``) or the dataset's ``test``, fitted and
        normalised as in training. ``progress`` shows a bar over the batches.
        """
        from cnnlab.training.evaluation import evaluate_model

        trained = self.trained(which)
        return evaluate_model(trained, data=data, data_dir=data_dir, split=split, download=download, progress=progress)

    def predict(
        self,
        images: Sequence[Any] | Any,
        *,
        k: int = 5,
        preprocess: str = "auto",
        strict: bool = True,
        progress: bool = False,
        which: Checkpoint | None = None,
    ) -> list[Prediction]:
        """The ``k`` most likely classes of each image (files, directories of them, PIL images, arrays or
        tensors), prepared as training prepared its images. See :func:`cnnlab.training.prediction.predict`."""
        from cnnlab.training.prediction import predict

        trained = self.trained(which)
        return predict(trained, images, k=k, preprocess=preprocess, strict=strict, progress=progress)

    def export(
        self,
        out: str | os.PathLike[str] | None = None,
        *,
        check: bool = True,
        progress: bool = False,
        which: Checkpoint | None = None,
    ) -> OnnxExport:
        """The model as ONNX (default: ``MODEL.onnx`` beside the checkpoint), checked against onnxruntime."""
        from cnnlab.training.export import export_onnx

        trained = self.trained(which)
        return export_onnx(trained, out if out is not None else self.export_path(), check=check, progress=progress)

    def report(
        self,
        out: str | os.PathLike[str] | None = None,
        *,
        worst: int = 12,
        progress: bool = False,
        which: Checkpoint | None = None,
    ) -> Path:
        """Write the run's self-contained HTML report (default: ``report.html`` beside the checkpoint)."""
        from cnnlab.viz.run_report import build_report

        target = Path(out).expanduser() if out is not None else self.report_path
        if target.is_dir():
            raise ValueError(f"{target} is a directory; the report is written to an HTML file")
        return write_text(target, build_report(self, worst=worst, which=which, progress=progress))

    # ---------------------------------------------------------------------------------------------
    # display

    def _facts(self) -> list[tuple[str, str]]:
        summary = self.summary
        epochs = len(self.metrics)
        facts = [("run", str(self.path)), ("status", self.status)]
        try:
            config = self.config
            facts.append(("model", f"{config.model} on {config.data}, {epochs} of {config.epochs} epochs"))
        except ValueError as error:
            facts.append(("model", f"unreadable configuration: {error}"))
        if summary is not None:
            if summary.val_top1 is not None:
                facts.append(("best epoch", f"{summary.best_epoch} (validation top-1 {summary.val_top1:.2%})"))
            if summary.folded_epochs:
                facts.append(("validation", f"trained on in the last {summary.folded_epochs} epochs"))
            facts.append(("test", str(summary)))
            if summary.raw_test_top1 is not None:
                facts.append(("raw weights", f"test accuracy {summary.raw_test_top1:.2%}"))
        checkpoints = [name for name in _CHECKPOINTS.values() if (self.path / name).is_file()]
        facts.append(("checkpoints", ", ".join(checkpoints) or "none yet"))
        return facts

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __str__(self) -> str:
        width = max(len(key) for key, _ in self._facts())
        return "\n".join(f"{key + ':':<{width + 1}} {value}" for key, value in self._facts())

    def _repr_html_(self) -> str:
        from cnnlab.viz.report import facts_html, table_html

        def share(value: float | None) -> str:
            return "-" if value is None else f"{value:.2%}"

        rows = [
            [m.epoch, f"{m.lr:.3g}", f"{m.train_loss:.4f}", share(m.train_top1),
             "-" if m.val_loss is None else f"{m.val_loss:.4f}", share(m.val_top1), round(m.images_per_s),
             f"{m.seconds:.1f}"]
            for m in self.metrics
        ]  # fmt: skip
        headers = ["epoch", "lr", "train loss", "train top-1", "val loss", "val top-1", "img/s", "seconds"]
        table = table_html(headers, rows) if rows else "<p>No epoch has finished yet.</p>"
        return f"<div><strong>{html.escape(repr(self))}</strong>{facts_html(self._facts())}{table}</div>"

    def to_dict(self) -> dict[str, Any]:
        """The run as plain data: where, format, status, configuration, metrics and summary."""
        summary = self.summary
        return {
            "path": str(self.path),
            "format": self.format,
            "status": self.status,
            "config": self.config.to_dict(),
            "metrics": [row.to_dict() for row in self.metrics],
            "summary": summary.to_dict() if summary is not None else None,
        }
