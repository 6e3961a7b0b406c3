"""A training run as users hold it: its directory's record, and what a trained run can do.

``cnnlab.Run(path)`` opens a run directory (or a checkpoint in one) and turns it into values: its configuration,
metrics and summary, its model, an evaluation, predictions, an ONNX export and an HTML report.
:func:`train` trains a model and returns its :class:`Run`.

The directory's files are :class:`~cnnlab.run_directory.RunDirectory`'s, on the ground floor, which the trainer
writes through; :class:`Run` is that record with the verbs, above everything its verbs use (``docs/run-directory.md``
is the written format).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.errors import callable_setting, path_setting, text_setting, whole_number
from cnnlab.files import write_text
from cnnlab.run_directory import RUN_FORMAT, STATUSES, Checkpoint, RunDirectory
from cnnlab.run_records import EpochMetrics, RunSummary

if TYPE_CHECKING:
    from cnnlab.attribution import Saliency
    from cnnlab.models import ImageClassifier
    from cnnlab.publish.page import PublishedPage
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.evaluation import Evaluation
    from cnnlab.training.export import OnnxExport
    from cnnlab.training.prediction import Prediction
    from cnnlab.training.trained import TrainedModel

__all__ = ["RUN_FORMAT", "STATUSES", "Checkpoint", "EpochMetrics", "Run", "RunSummary", "train"]


class Run(RunDirectory):
    """A training run's directory, opened: ``Run("runs/lenet5-mnist5k-20261125-045010")``.

    ``path`` may be a run directory or a checkpoint file; a checkpoint then stands for the run's weights
    (``model()``, ``evaluate()``, ... use it), and its directory for the rest.

    Raises:
        ValueError: nothing there, or a directory that is not a cnnlab run.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path_setting("path", path))

    def _open(self, directory: Path, chosen: Path | None) -> None:
        super()._open(directory, chosen)
        self._config: TrainConfig | None = None
        self._trained: dict[tuple[Path, str], TrainedModel] = {}

    @property
    def config(self) -> TrainConfig:
        """The resolved training configuration (from ``config.json``, else from the checkpoint)."""
        if self._config is None:
            from cnnlab.training.config import TrainConfig  # torch loads with the first verb that needs it

            data = self.config_data()
            self._config = TrainConfig.saved(data) if data is not None else self.trained().config
        return self._config

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

        if data is not None:
            text_setting("data", data, "a dataset name")
        data_dir = str(path_setting("data_dir", data_dir)) if data_dir is not None else None
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

    def saliency(
        self,
        image: Any = None,
        method: str = "gradient",
        target: int | str | None = None,
        layer: str | None = None,
        *,
        window: int | None = None,
        stride: int | None = None,
        compare_random: bool = False,
        which: Checkpoint | None = None,
    ) -> Saliency:
        """Which pixels of ``image`` made the trained network answer what it did: :func:`cnnlab.saliency` of this
        run's model (``which`` checkpoint)."""
        from cnnlab.attribution import saliency

        return saliency(self.trained(which), image, method, target, layer, window=window, stride=stride,
                        compare_random=compare_random)  # fmt: skip

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

        target = path_setting("out", out) if out is not None else None
        trained = self.trained(which)
        target = target if target is not None else self.export_path(trained.name)
        return export_onnx(trained, target, check=check, progress=progress)

    def report(
        self,
        out: str | os.PathLike[str] | None = None,
        *,
        worst: int = 12,
        progress: bool = False,
        which: Checkpoint | None = None,
    ) -> Path:
        """Write the run's self-contained HTML report (default: ``report.html`` beside the checkpoint)."""
        from cnnlab.report import build_report

        target = path_setting("out", out).expanduser() if out is not None else self.report_path
        whole_number("worst", worst, minimum=0)
        if target.is_dir():
            raise ValueError(f"{target} is a directory; the report is written to an HTML file")
        page = build_report(self, self.trained(which), self.config, worst=worst, progress=progress)
        return write_text(target, page)

    def publish(
        self, output: str | os.PathLike[str], *, title: str | None = None, note: str | None = None
    ) -> PublishedPage:
        """Write the lab for this run as one self-contained HTML file that runs the network in a browser, offline
        (see :func:`cnnlab.publish.page.publish`)."""
        from cnnlab.publish.page import publish

        return publish([self], output, title=title, note=note)

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
        facts.append(("checkpoints", ", ".join(self.checkpoints) or "none yet"))
        return facts

    def __str__(self) -> str:
        width = max(len(key) for key, _ in self._facts())
        return "\n".join(f"{key + ':':<{width + 1}} {value}" for key, value in self._facts())

    def _repr_html_(self) -> str:
        from cnnlab.inspection.tables import render_table
        from cnnlab.viz.report import facts_html

        def share(value: float | None) -> str:
            return "-" if value is None else f"{value:.2%}"

        rows = [
            [m.epoch, f"{m.lr:.3g}", f"{m.train_loss:.4f}", share(m.train_top1),
             "-" if m.val_loss is None else f"{m.val_loss:.4f}", share(m.val_top1), round(m.images_per_s),
             f"{m.seconds:.1f}"]
            for m in self.metrics
        ]  # fmt: skip
        headers = ["epoch", "lr", "train loss", "train top-1", "val loss", "val top-1", "img/s", "seconds"]
        table = render_table(headers, rows, "html") if rows else "<p>No epoch has finished yet.</p>"
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


def train(
    model: str | TrainConfig | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
    **settings: Any,
) -> Run:
    """Train a model with its paper's recipe, or continue a run; returns the :class:`Run`.

    ``cnnlab.train("lenet5", epochs=5)`` is ``cnnlab train lenet5 --epochs 5``: the recipe, then the settings
    of ``config_file``, then ``settings`` (any :class:`~cnnlab.training.config.TrainConfig` field: ``epochs``,
    ``lr``, ``optimizer``, ``data``, ``output``, ...).

    Args:
        model: a registry name, or a resolved :class:`~cnnlab.training.config.TrainConfig`.
        config_file: a JSON file of settings (a run's ``config.json`` is one).
        resume: continue this run (its directory or a checkpoint) exactly where it stopped; only ``epochs``
            may be given with it, to train on past the original number.
        progress: show a progress bar (in a terminal or in Jupyter).
        log: called with each message (data notes, one line per epoch); ``None``: no messages.
        overwrite: replace a run that ``output`` already holds (by default that is refused: a run never
            replaces another).
        **settings: training settings that override the recipe and the file.

    Raises:
        ValueError: an unknown model, setting or dataset, a bad value, a bad checkpoint to resume.
        TrainingStopped: the loss became NaN or infinite (its ``run`` is the :class:`Run`).
        TrainingInterrupted: Ctrl-C; a checkpoint was saved (its ``run`` is the :class:`Run`).
    """
    from cnnlab.training.loop import TrainingInterrupted, TrainingStopped, run_training

    config_file = path_setting("config_file", config_file) if config_file is not None else None
    resume = path_setting("resume", resume) if resume is not None else None
    callable_setting("log", log, "a function called with each message")
    try:
        record = run_training(
            model, settings, config_file=config_file, resume=resume, progress=progress, log=log, overwrite=overwrite
        )
    except (TrainingStopped, TrainingInterrupted) as error:
        if error.run is not None:
            error.run = Run.of(error.run)
        raise
    return Run.of(record)  # type: ignore[return-value]
