"""The training loop: data, model, optimiser, per-epoch metrics, checkpoints and resume.

What the loop records goes into a run directory through :class:`~cnnlab.run_directory.RunDirectory`, which owns
its format. Under torchrun only rank 0 writes. :func:`run_training` is what ``cnnlab.train`` (:func:`cnnlab.run.train`)
calls: it returns the run directory's record, which ``cnnlab.train`` opens as a :class:`cnnlab.run.Run`.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import __version__
from cnnlab.checkpoint import load_checkpoint
from cnnlab.errors import SettingError
from cnnlab.models import ImageClassifier, ModelOutput, create_model
from cnnlab.run_directory import RunDirectory
from cnnlab.run_records import EpochMetrics, RunSummary
from cnnlab.training.config import TrainConfig
from cnnlab.training.data import PreparedData, load_training_dataset, prepare_data
from cnnlab.training.distributed import Distributed, setup_distributed
from cnnlab.training.ema import ModelEma
from cnnlab.training.metrics import RunningMetrics, evaluate
from cnnlab.training.schedule import LearningRateSchedule, build_optimizer
from cnnlab.training.session import (
    configure,
    duration,
    new_run_dir,
    progress_bar,
    resume_state,
    torch_settings,
)

__all__ = ["TrainingInterrupted", "TrainingStopped", "run_training"]


class TrainingStopped(RuntimeError):
    """The loss became NaN or infinite. ``run`` is the run; ``checkpoint_kept`` says whether it has one."""

    def __init__(self, message: str, run: RunDirectory | None, checkpoint_kept: bool) -> None:
        super().__init__(message)
        self.run, self.checkpoint_kept = run, checkpoint_kept


class TrainingInterrupted(RuntimeError):
    """Ctrl-C: ``run`` holds a checkpoint of the moment it stopped; ``train(resume=run.path)`` continues it."""

    def __init__(self, message: str, run: RunDirectory | None) -> None:
        super().__init__(message)
        self.run = run


class _TrainStep(nn.Module):
    """What DistributedDataParallel wraps: the model's training forward, auxiliary logits included."""

    def __init__(self, model: ImageClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> ModelOutput:
        return self.model.forward_train(x)


def training_loss(
    output: ModelOutput, labels: torch.Tensor, config: TrainConfig, aux_weights: tuple[float, ...]
) -> torch.Tensor:
    """Cross-entropy of the logits, plus each auxiliary classifier's weighted by the model's ``aux_loss_weights``."""

    def cross_entropy(logits: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(
            logits.float() / config.logit_temperature, labels, label_smoothing=config.label_smoothing
        )

    loss = cross_entropy(output.logits)
    for weight, aux in zip(aux_weights, output.aux_logits, strict=True):
        loss = loss + weight * cross_entropy(aux)
    return loss


@contextmanager
def _stop_on_ctrl_c() -> Iterator[list[bool]]:
    """The first Ctrl-C only raises a flag that the loop checks between steps; a second one stops at once."""
    flag = [False]

    def handler(signum: int, frame: object) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _tensorboard(run_dir: Path) -> Any:
    """A TensorBoard writer into the run directory, or ``None`` when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(run_dir))


class Trainer:
    """One training run; :func:`train` is the way to use it."""

    def __init__(self, config: TrainConfig, dist: Distributed, log: Callable[[str], None]) -> None:
        self.session_started = time.perf_counter()  # the wall time counts loading the data and the model
        self.earlier_sessions_seconds = 0.0  # a resumed run's wall time before this session
        self.config, self.dist = config, dist
        self.log = log if dist.is_main else (lambda _message: None)
        threads = torch.get_num_threads()  # this run's (config.threads, set by torch_settings)
        each = f" in each of {dist.world_size} processes" if dist.enabled else ""
        self.log(f"training on {dist.device}, {threads} thread{'s' if threads > 1 else ''}{each}")
        torch.manual_seed(config.seed)
        dataset = load_training_dataset(config)
        torch.manual_seed(config.seed)
        model = create_model(config.model, num_classes=dataset.num_classes, **config.model_args)
        self.data: PreparedData = prepare_data(config, dataset, model, dist)
        for note in self.data.notes:
            self.log(note)
        memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.model = model.to(dist.device, memory_format=memory_format)
        step_module: nn.Module = _TrainStep(self.model)
        if config.compile:
            step_module = torch.compile(step_module)
        if dist.enabled:
            device_ids = [dist.device.index] if dist.device.type == "cuda" else None
            step_module = nn.parallel.DistributedDataParallel(step_module, device_ids=device_ids)
        self.step_module = step_module
        self.optimizer = build_optimizer(self.model.parameters(), config)
        self.schedule = LearningRateSchedule(config)
        self.ema = ModelEma(self.model, config.model_ema_decay) if config.model_ema else None
        amp_cuda = config.amp and dist.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if amp_cuda else None
        self.autocast = (
            torch.autocast(dist.device.type, dtype=torch.float16 if amp_cuda else torch.bfloat16)
            if config.amp
            else nullcontext()
        )
        self.epoch, self.batches_done, self.global_step = 0, 0, 0
        self.running = RunningMetrics()
        self.history: list[EpochMetrics] = []
        self.best_top1, self.best_epoch = -1.0, 0
        self.train_seconds = 0.0
        self.run: RunDirectory  # set once the data and model are ready (a failed start writes nothing)
        self.bar: Any = None

    # ---------------------------------------------------------------------------------------------
    # checkpoints

    def state(self) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "config": self.config.to_dict(),
            "model_state": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
            "epoch": self.epoch,
            "batches_done": self.batches_done,
            "global_step": self.global_step,
            "running": self.running.state(),
            "history": [row.to_dict() for row in self.history],
            "best": {"top1": self.best_top1, "epoch": self.best_epoch},
            "train_seconds": self.train_seconds,
            "wall_seconds": self.wall_seconds(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            **self.data.description(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.scaler is not None and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.epoch, self.batches_done, self.global_step = state["epoch"], state["batches_done"], state["global_step"]
        self.running.load(state["running"])
        self.history = [EpochMetrics.from_dict(row) for row in state["history"]]
        self.best_top1, self.best_epoch = state["best"]["top1"], state["best"]["epoch"]
        self.train_seconds = state["train_seconds"]
        self.earlier_sessions_seconds = state.get("wall_seconds", sum(row.seconds for row in self.history))
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def wall_seconds(self) -> float:
        """The run's wall time so far, over all its sessions (a checkpoint of an older cnnlab: its epochs')."""
        return self.earlier_sessions_seconds + time.perf_counter() - self.session_started

    def save(self, *which: str) -> None:
        if self.dist.is_main:
            self.run.save_checkpoint(self.state(), *which)  # type: ignore[arg-type]

    # ---------------------------------------------------------------------------------------------
    # the loop

    def _stop_flags(self, loss: float, interrupted: bool) -> tuple[bool, bool]:
        nonfinite = not math.isfinite(loss)
        if not self.dist.enabled:
            return nonfinite, interrupted
        flags = torch.tensor([float(nonfinite), float(interrupted)], device=self.dist.device)
        flags = self.dist.all_reduce_sum(flags)  # every process stops at the same step
        return bool(flags[0] > 0), bool(flags[1] > 0)

    def _optimise(self, loss: torch.Tensor) -> None:
        """Backward, gradient clipping and the optimiser step (with loss scaling under CUDA AMP)."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()

    def _stopped(self, loss_value: float, step: int, run_dir: Path) -> TrainingStopped:
        kept = self.run.checkpoint_path("last").is_file()
        where = f"the last good checkpoint is kept in {run_dir}" if kept else "no checkpoint had been written yet"
        if self.dist.is_main:
            self.run.mark("stopped")
        return TrainingStopped(
            f"the loss became {loss_value} at epoch {self.epoch + 1}, step {step}; training stopped and {where} "
            "(try a smaller learning rate)",
            self.run,
            kept,
        )

    def _interrupted(self, step: int, run_dir: Path) -> TrainingInterrupted:
        self.save("last")
        if self.dist.is_main:
            self.run.mark("interrupted")
        return TrainingInterrupted(
            f"interrupted at epoch {self.epoch + 1}, step {step}: "
            f"checkpoint saved to {self.run.checkpoint_path('last')}",
            self.run,
        )

    def train_epoch(self, run_dir: Path, stop: list[bool]) -> None:
        config = self.config
        loader = self.data.training_loader(self.epoch)
        steps = len(loader)
        self.model.train()
        if self.bar is not None:
            self.bar.set_description(f"{config.model} epoch {self.epoch + 1}/{config.epochs}")
        started = time.perf_counter()
        batches = iter(loader)
        try:
            for index, (x, y) in enumerate(batches):
                if index < self.batches_done:
                    continue  # resuming mid-epoch: the loader replays the same order and augmentation
                lr = self.schedule.apply(self.optimizer, self.epoch + index / steps)
                with self.autocast:
                    output = self.step_module(x)
                    loss = training_loss(output, y, config, self.model.aux_loss_weights)
                loss_value = loss.item()
                nonfinite, interrupted = self._stop_flags(loss_value, stop[0])
                if nonfinite:
                    raise self._stopped(loss_value, index + 1, run_dir)
                self._optimise(loss)
                if self.ema is not None:
                    self.ema.update()
                self.running.update(loss_value, output.logits.detach(), y)
                self.batches_done, self.global_step = index + 1, self.global_step + 1
                if self.bar is not None:  # the postfix is drawn with the bar, at tqdm's pace, not every step
                    running = self.running
                    postfix = {"loss": f"{running.loss:.3f}", "acc": f"{running.top1:.1%}", "lr": f"{lr:.2g}"}
                    self.bar.set_postfix(postfix, refresh=False)
                    self.bar.update()
                if interrupted:
                    self.train_seconds += time.perf_counter() - started
                    raise self._interrupted(index + 1, run_dir)
        finally:
            # a prefetching loader stops its thread now, not when the traceback is gone
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        self.train_seconds += time.perf_counter() - started

    def end_epoch(self, seconds: float, writer: Any) -> None:
        config = self.config
        train = self.running.reduce(self.dist)
        folded = self.data.folded(self.epoch)
        val = ema_val = None
        if self.data.val is not None and not folded:
            val = evaluate(self.model, self.data.val, self.data.num_classes, logit_temperature=config.logit_temperature)
            if self.ema is not None:
                ema_val = evaluate(
                    self.ema.module, self.data.val, self.data.num_classes, logit_temperature=config.logit_temperature
                )
        chosen = ema_val if ema_val is not None else val  # what selects the best checkpoint
        self.schedule.end_of_epoch(chosen.top1 if chosen is not None else None)
        row = EpochMetrics(
            epoch=self.epoch + 1,
            lr=self.optimizer.param_groups[0]["lr"],  # the epoch's last step's
            train_loss=train.loss, train_top1=train.top1, train_top5=train.top5,
            val_loss=val.loss if val else None, val_top1=val.top1 if val else None, val_top5=val.top5 if val else None,
            images_per_s=train.count / max(seconds, 1e-9), seconds=seconds,
            ema_val_loss=ema_val.loss if ema_val else None, ema_val_top1=ema_val.top1 if ema_val else None,
        )  # fmt: skip
        self.history.append(row)
        # Ties: the later, lower-lr epoch. Folded epochs cannot be validated: the protocol keeps the last.
        improved = folded or (chosen is not None and chosen.top1 >= self.best_top1)
        if improved:
            self.best_epoch = self.epoch + 1
            if chosen is not None:
                self.best_top1 = chosen.top1
        self.epoch, self.batches_done, self.running = self.epoch + 1, 0, RunningMetrics()
        self.save("last", *(["best"] if improved or val is None else []))
        if self.dist.is_main:
            self.run.write_metrics(self.history)
            if writer is not None:
                for key, value in row.to_dict().items():
                    if key != "epoch" and value is not None and not math.isnan(value):
                        writer.add_scalar(key.replace("_", "/", 1), value, self.epoch)
        val_text = f"  val loss {val.loss:.4f} top-1 {val.top1:.2%}" if val else ""
        if ema_val is not None:
            val_text += f"  EMA top-1 {ema_val.top1:.2%}"
        elif folded:
            val_text = "  (trained on validation too)"
        left = config.epochs - self.epoch
        # The mean of the epochs so far: the first one carries start-up costs, the mean fades them out.
        eta = f"  ETA {duration(left * sum(r.seconds for r in self.history) / len(self.history))}" if left else ""
        self.log(f"epoch {self.epoch}/{config.epochs}  train loss {train.loss:.4f} top-1 {train.top1:.2%}{val_text}  "
                 f"lr {row.lr:.3g}  {row.images_per_s:,.0f} img/s  {seconds:.1f}s{eta}")  # fmt: skip

    def summary(self, run_dir: Path) -> RunSummary:
        """The best checkpoint on the test split, and the run's totals."""
        config, data = self.config, self.data
        temperature = config.logit_temperature
        test = evaluate(self.model, data.test, data.num_classes, logit_temperature=temperature)
        raw_test_top1 = None
        if self.ema is not None:
            raw_test_top1 = test.top1
            test = evaluate(self.ema.module, data.test, data.num_classes, logit_temperature=temperature)
        folded = config.folded_epochs if data.train_and_val is not None else 0
        seconds = sum(r.seconds for r in self.history)
        return RunSummary(
            model=config.model,
            dataset=config.data,
            params=sum(p.numel() for p in self.model.parameters() if p.requires_grad),
            epochs=self.epoch,
            best_epoch=self.best_epoch if data.val is not None else self.epoch,
            val_top1=self.best_top1 if data.val is not None and not folded else None,
            test_top1=test.top1,
            test_top5=test.top5,
            test_loss=test.loss,
            test_images=test.count,
            per_class_accuracy=dict(zip(data.classes, test.per_class_accuracy, strict=True)),
            train_seconds=self.train_seconds,
            images_per_s=sum(r.images_per_s * r.seconds for r in self.history) / max(1e-9, seconds),
            device=str(self.dist.device),
            processes=self.dist.world_size,
            notes=data.notes,
            run_dir=str(run_dir),
            finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            wall_seconds=self.wall_seconds(),
            torch_version=torch.__version__,
            cnnlab_version=__version__,
            weights="ema" if self.ema is not None else "raw",
            raw_test_top1=raw_test_top1,
            folded_epochs=folded,
        )


def run_training(
    model: str | TrainConfig | None,
    settings: dict[str, Any],
    *,
    config_file: str | os.PathLike[str] | None,
    resume: str | os.PathLike[str] | None,
    progress: bool,
    log: Callable[[str], None] | None,
    overwrite: bool,
) -> RunDirectory:
    """Train a model, or continue a run, to the end of its epochs; returns the run directory it wrote.

    The arguments (``settings``: the training settings given) and errors are :func:`cnnlab.train`'s
    (:func:`cnnlab.run.train`), which calls this.
    """
    state, run = None, None
    if resume is not None:
        extra = sorted(key for key, value in settings.items() if value is not None and key != "epochs")
        if extra or config_file is not None:
            name = extra[0] if extra else "config_file"
            raise SettingError(
                f"<resume> continues a run with its own settings; only <epochs> may change, not <{name}>"
            )
        run, state = resume_state(resume)
        saved = TrainConfig.saved(state["config"])
        name = model.model if isinstance(model, TrainConfig) else model
        if name is not None and name != saved.model:
            raise ValueError(f"{run.path} is a run of {saved.model!r}, not of {name!r}")
        epochs = settings.get("epochs")
        config = saved.replace(output=str(run.path), **({"epochs": epochs} if epochs else {}))
    else:
        config = configure(model, config_file, settings)
    dist = setup_distributed(config.device)
    try:
        with torch_settings(config):
            return _run(config, state, dist, log or (lambda _message: None), progress, overwrite)
    finally:
        dist.shutdown()


def _run(
    config: TrainConfig,
    state: dict[str, Any] | None,
    dist: Distributed,
    log: Callable[[str], None],
    progress: bool,
    overwrite: bool,
) -> RunDirectory:
    """A new run, or the rest of the one ``state`` checkpointed, to the end of its epochs."""
    run_dir = new_run_dir(config, dist) if state is None else Path(config.output or ".")
    if state is None:
        # Every process checks, before the data loads (a refusal costs nothing), so that all of a torchrun job
        # stop together; the barrier keeps the main process from writing there before the others have looked.
        RunDirectory.check_free(run_dir, overwrite=overwrite)
        dist.barrier()
    trainer = Trainer(config, dist, log)
    if state is not None:
        trainer.restore(state)
        if trainer.epoch >= config.epochs:
            raise SettingError(
                f"{run_dir} already trained {trainer.epoch} of {config.epochs} epochs; pass <epochs=N> to go on"
            )
        trainer.log(f"resuming {run_dir} at epoch {trainer.epoch + 1}, step {trainer.batches_done + 1}")
    resumed = state is not None
    trainer.run = RunDirectory.create(run_dir, config, write=dist.is_main, resume=resumed, overwrite=overwrite)
    writer = _tensorboard(run_dir) if dist.is_main else None
    trainer.bar = progress_bar(trainer, progress)
    try:
        with _stop_on_ctrl_c() as stop:
            while trainer.epoch < config.epochs:
                started = time.perf_counter()
                trainer.train_epoch(run_dir, stop)
                trainer.end_epoch(time.perf_counter() - started, writer)
            # A Ctrl-C after the last step (the last evaluation, the test, the curves) finds no step to stop at:
            # the run ends its last seconds whole, then the interruption stops the caller (an experiment's next
            # run). Stopped halfway here instead, the run would have all its epochs and no summary: not resumable.
            record = _finish(trainer, run_dir)
    except (TrainingStopped, TrainingInterrupted):
        raise
    except BaseException as error:
        if dist.is_main:  # a second Ctrl-C stops at once: the last epoch's checkpoint is there to resume
            trainer.run.mark("interrupted" if isinstance(error, KeyboardInterrupt) else "failed", quiet=True)
        last = trainer.run.checkpoint_path("last")
        if isinstance(error, KeyboardInterrupt) and last.is_file():  # resumable: say from where, as the first does
            raise TrainingInterrupted(
                f"stopped at once by a second Ctrl-C in epoch {trainer.epoch + 1}: its last checkpoint is {last}",
                trainer.run,
            ) from None
        raise
    finally:
        if trainer.bar is not None:
            trainer.bar.close()
        if writer is not None:
            writer.close()
    if stop[0]:
        raise KeyboardInterrupt
    return record


def _finish(trainer: Trainer, run_dir: Path) -> RunDirectory:
    run = trainer.run
    if trainer.data.val is not None and run.checkpoint_path("best").is_file():
        best = load_checkpoint(run.checkpoint_path("best"), model=trainer.config.model)
        trainer.model.load_state_dict(best["model_state"])
        if trainer.ema is not None:
            trainer.ema.load_state_dict(best["ema"])
    summary = trainer.summary(run_dir)
    if trainer.dist.is_main:
        from cnnlab.viz.curves import plot_curves
        from cnnlab.viz.figure import save

        save(plot_curves([(trainer.config.model, trainer.history)]), run.curves_path)
        run.finish(summary)
    return run
