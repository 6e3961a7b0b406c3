"""The training loop: data, model, optimiser, per-epoch metrics, checkpoints, resume, and the run directory.

A run directory holds ``config.json`` (the resolved configuration), ``metrics.csv`` (one row per epoch),
``last.pt`` and ``best.pt`` (atomic checkpoints), ``summary.json`` and ``curves.png`` at the end, and
TensorBoard event files when ``tensorboard`` is installed. Under torchrun only rank 0 writes.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.models import ImageClassifier, ModelOutput, create_model
from cnnlab.training.checkpoint import load_checkpoint, save_checkpoint
from cnnlab.training.config import TrainConfig
from cnnlab.training.data import PreparedData, load_training_dataset, prepare_data
from cnnlab.training.distributed import Distributed, setup_distributed
from cnnlab.training.metrics import RunningMetrics, evaluate
from cnnlab.training.schedule import LearningRateSchedule, build_optimizer

__all__ = ["RunResult", "TrainingInterrupted", "TrainingStopped", "train"]

METRIC_COLUMNS = [
    "epoch", "lr", "train_loss", "train_top1", "train_top5", "val_loss", "val_top1", "val_top5",
    "images_per_s", "seconds",
]  # fmt: skip


class TrainingStopped(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C: a checkpoint was written, and the message says how to resume."""


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict[str, Any]


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


@contextmanager
def _torch_settings(config: TrainConfig) -> Iterator[None]:
    """The run's thread count and determinism, put back afterwards.

    They are process-wide: without this, a short recipe's one thread would slow every later run in the same
    process (an experiment trains several models in a row) and change its floating-point results.
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


def _new_run_dir(config: TrainConfig, dist: Distributed) -> Path:
    if config.output:
        return Path(config.output)
    stamp = [time.strftime("%Y%m%d-%H%M%S")]
    if dist.enabled:
        torch.distributed.broadcast_object_list(stamp, src=0)
    data = config.data.replace(":", "-").replace("/", "_")
    return Path("runs") / f"{config.model}-{data}-{stamp[0]}"


def _write_metrics(path: Path, history: list[dict[str, float]]) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=METRIC_COLUMNS)
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(run_dir))


class Trainer:
    """One training run; :func:`train` is the way to use it."""

    def __init__(self, config: TrainConfig, dist: Distributed, log: Callable[[str], None], progress: bool) -> None:
        self.config, self.dist, self.progress = config, dist, progress
        self.log = log if dist.is_main else (lambda _message: None)
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
        self.schedule = LearningRateSchedule(config, len(self.data.train))
        amp_cuda = config.amp and dist.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if amp_cuda else None
        self.autocast = (
            torch.autocast(dist.device.type, dtype=torch.float16 if amp_cuda else torch.bfloat16)
            if config.amp
            else nullcontext()
        )
        self.epoch, self.batches_done, self.global_step = 0, 0, 0
        self.running = RunningMetrics()
        self.history: list[dict[str, float]] = []
        self.best_top1, self.best_epoch = -1.0, 0
        self.train_seconds = 0.0

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
            "epoch": self.epoch,
            "batches_done": self.batches_done,
            "global_step": self.global_step,
            "running": self.running.state(),
            "history": self.history,
            "best": {"top1": self.best_top1, "epoch": self.best_epoch},
            "train_seconds": self.train_seconds,
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
        self.epoch, self.batches_done, self.global_step = state["epoch"], state["batches_done"], state["global_step"]
        self.running.load(state["running"])
        self.history = list(state["history"])
        self.best_top1, self.best_epoch = state["best"]["top1"], state["best"]["epoch"]
        self.train_seconds = state["train_seconds"]
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def save(self, run_dir: Path, *names: str) -> None:
        if self.dist.is_main:
            state = self.state()
            for name in names:
                save_checkpoint(run_dir / name, state)

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

    def train_epoch(self, run_dir: Path, stop: list[bool]) -> None:
        from tqdm.auto import tqdm

        config, loader = self.config, self.data.train
        loader.set_epoch(self.epoch)
        self.model.train()
        bar = tqdm(
            total=len(loader),
            initial=self.batches_done,
            desc=f"epoch {self.epoch + 1}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=not (self.progress and self.dist.is_main),
            dynamic_ncols=True,
        )
        started = time.perf_counter()
        batches = iter(loader)
        try:
            for index, (x, y) in enumerate(batches):
                if index < self.batches_done:
                    continue  # resuming mid-epoch: the loader replays the same order and augmentation
                lr = self.schedule.apply(self.optimizer, self.global_step)
                with self.autocast:
                    output = self.step_module(x)
                    loss = training_loss(output, y, config, self.model.aux_loss_weights)
                loss_value = loss.item()
                nonfinite, interrupted = self._stop_flags(loss_value, stop[0])
                if nonfinite:
                    bar.close()
                    raise TrainingStopped(
                        f"the loss became {loss_value} at epoch {self.epoch + 1}, step {index + 1}; training stopped "
                        f"and the last good checkpoint is kept in {run_dir} (try a smaller --lr)"
                    )
                self._optimise(loss)
                self.running.update(loss_value, output.logits.detach(), y)
                self.batches_done, self.global_step = index + 1, self.global_step + 1
                bar.update()
                bar.set_postfix(loss=f"{self.running.loss:.3f}", acc=f"{self.running.top1:.1%}", lr=f"{lr:.2g}")
                if interrupted:
                    self.train_seconds += time.perf_counter() - started
                    bar.close()
                    self.save(run_dir, "last.pt")
                    raise TrainingInterrupted(
                        f"interrupted at epoch {self.epoch + 1}, step {index + 1}: "
                        f"checkpoint saved to {run_dir / 'last.pt'}; "
                        f"continue with: cnnlab train --resume {run_dir}"
                    )
        finally:
            # a prefetching loader stops its thread now, not when the traceback is gone
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        bar.close()
        self.train_seconds += time.perf_counter() - started

    def end_epoch(self, run_dir: Path, seconds: float, writer: Any) -> None:
        config = self.config
        train = self.running.reduce(self.dist)
        val = None
        if self.data.val is not None:
            val = evaluate(self.model, self.data.val, self.data.num_classes, logit_temperature=config.logit_temperature)
        self.schedule.end_of_epoch(val.top1 if val is not None else None)
        nan = float("nan")
        row = {
            "epoch": self.epoch + 1,
            "lr": self.schedule.lr_at_step(max(0, self.global_step - 1)),
            "train_loss": train.loss, "train_top1": train.top1, "train_top5": train.top5,
            "val_loss": val.loss if val else nan,
            "val_top1": val.top1 if val else nan,
            "val_top5": val.top5 if val else nan,
            "images_per_s": train.count / max(seconds, 1e-9), "seconds": seconds,
        }  # fmt: skip
        self.history.append(row)
        improved = val is not None and val.top1 >= self.best_top1  # ties: the later, lower-lr epoch
        if improved:
            self.best_top1, self.best_epoch = val.top1, self.epoch + 1
        self.epoch, self.batches_done, self.running = self.epoch + 1, 0, RunningMetrics()
        self.save(run_dir, "last.pt", *(["best.pt"] if improved or val is None else []))
        if self.dist.is_main:
            _write_metrics(run_dir / "metrics.csv", self.history)
            if writer is not None:
                for key, value in row.items():
                    if key != "epoch" and not math.isnan(value):
                        writer.add_scalar(key.replace("_", "/", 1), value, self.epoch)
        val_text = f"  val loss {val.loss:.4f} top-1 {val.top1:.2%}" if val else ""
        self.log(f"epoch {self.epoch}/{config.epochs}  train loss {train.loss:.4f} top-1 {train.top1:.2%}{val_text}  "
                 f"lr {row['lr']:.3g}  {row['images_per_s']:,.0f} img/s  {seconds:.1f}s")  # fmt: skip


def _resolve_resume(resume: str | Path) -> tuple[Path, dict[str, Any]]:
    path = Path(resume)
    checkpoint = path / "last.pt" if path.is_dir() else path
    if path.is_dir() and not checkpoint.exists():
        raise ValueError(f"{path} has no last.pt: not a cnnlab run directory (or it never finished an epoch)")
    state = load_checkpoint(checkpoint)
    return (checkpoint.parent, state)


def train(
    config: TrainConfig | None = None,
    *,
    resume: str | Path | None = None,
    epochs: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Train a model as ``config`` says, or continue the run in ``resume`` (a run directory or checkpoint).

    Args:
        config: the resolved configuration (see :func:`cnnlab.training.resolve_config`).
        resume: continue this run exactly where its last checkpoint left it.
        epochs: with ``resume``, train up to this many epochs in total instead of the original number.
        progress: show a progress bar per epoch.
        log: where the one-line messages go (rank 0 only).

    Raises:
        ValueError: bad configuration, data or checkpoint.
        TrainingStopped: the loss became NaN or infinite.
        TrainingInterrupted: Ctrl-C; a checkpoint was saved.
    """
    state = None
    if resume is not None:
        run_dir, state = _resolve_resume(resume)
        saved = TrainConfig.from_dict(state["config"])
        if config is not None and config.model != saved.model:
            raise ValueError(f"{run_dir} is a run of {saved.model!r}, not of {config.model!r}")
        config = saved.replace(output=str(run_dir), **({"epochs": epochs} if epochs else {}))
    if config is None:
        raise ValueError("train needs a config or a run to resume")
    dist = setup_distributed(config.device)
    try:
        with _torch_settings(config):
            return _run(config, state, dist, log, progress)
    finally:
        dist.shutdown()


def _run(
    config: TrainConfig, state: dict[str, Any] | None, dist: Distributed, log: Callable[[str], None], progress: bool
) -> RunResult:
    """A new run, or the rest of the one ``state`` checkpointed, to the end of its epochs."""
    trainer = Trainer(config, dist, log, progress)
    run_dir = _new_run_dir(config, dist) if state is None else Path(config.output or ".")
    if state is not None:
        trainer.restore(state)
        if trainer.epoch >= config.epochs:
            raise ValueError(
                f"{run_dir} already trained {trainer.epoch} of {config.epochs} epochs; pass --epochs N to go on"
            )
        trainer.log(f"resuming {run_dir} at epoch {trainer.epoch + 1}, step {trainer.batches_done + 1}")
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    writer = _tensorboard(run_dir) if dist.is_main else None
    with _stop_on_ctrl_c() as stop:
        while trainer.epoch < config.epochs:
            started = time.perf_counter()
            trainer.train_epoch(run_dir, stop)
            trainer.end_epoch(run_dir, time.perf_counter() - started, writer)
    if writer is not None:
        writer.close()
    return _finish(trainer, run_dir)


def _finish(trainer: Trainer, run_dir: Path) -> RunResult:
    config, data = trainer.config, trainer.data
    best_path = run_dir / "best.pt"
    if data.val is not None and best_path.exists():
        trainer.model.load_state_dict(load_checkpoint(best_path, model=config.model)["model_state"])
    test = evaluate(trainer.model, data.test, data.num_classes, logit_temperature=config.logit_temperature)
    summary = {
        "model": config.model,
        "dataset": config.data,
        "params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        "epochs": trainer.epoch,
        "best_epoch": trainer.best_epoch if data.val is not None else trainer.epoch,
        "val_top1": trainer.best_top1 if data.val is not None else None,
        "test_top1": test.top1,
        "test_top5": test.top5,
        "test_loss": test.loss,
        "test_images": test.count,
        "per_class_accuracy": dict(zip(data.classes, test.per_class_accuracy, strict=True)),
        "train_seconds": trainer.train_seconds,
        "images_per_s": sum(r["images_per_s"] * r["seconds"] for r in trainer.history)
        / max(1e-9, sum(r["seconds"] for r in trainer.history)),
        "device": str(trainer.dist.device),
        "processes": trainer.dist.world_size,
        "notes": data.notes,
        "run_dir": str(run_dir),
    }
    if trainer.dist.is_main:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        from cnnlab.viz.curves import plot_curves

        plot_curves([(config.model, trainer.history)], run_dir / "curves.png")
    return RunResult(run_dir, summary)
