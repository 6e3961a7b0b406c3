"""Training throughput of cnnlab's data pipeline against two baselines, and whether channels_last pays, in one process.

For each model (default: lenet5 on the bundled mnist5k digits, the project's main job) the same number of
training steps, with the same batch size, model, optimiser and augmentation, is timed four ways:

    ours      the real ``Trainer.train_epoch``: BatchLoader (uint8 in memory, one index, one normalisation
              and one vectorised augmentation per batch) + forward + backward + optimiser step + metrics
    pure      forward + backward + optimiser step on batches made beforehand and kept in memory: the
              ceiling any data pipeline can reach (ours/pure >= 0.9 is the target)
    tv w0     the canonical torchvision loop: a Dataset of PIL images, per-image ``transforms``
    tv w2     (RandomAffine / RandomCrop / RandomHorizontalFlip, ToTensor, Normalize) and a ``DataLoader``
              with 0 and 2 worker processes, then the same step as ``pure`` (ours/tv >= 2x is the target)

Each round runs one pass of ``--steps`` batches (default: a whole epoch) of every variant in turn, so a
slow patch of the machine hits them all alike; one warm-up round is not counted and the best of
``--rounds`` counts, since other work on the machine can only slow a round down. Then resnet20's
forward + backward on CIFAR-sized 3x32x32 batches is timed with and without channels_last, alternating.

Run:

    .venv/bin/python benchmarks/pipeline.py [--models lenet5 lenet5_modern resnet20] [--rounds 5]
        [--steps N] [--threads N] [--workers 0 2] [--quick]

Ratios above 1 mean ours is faster. The throughput is images per second of training, best round.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from cnnlab.data.datasets import Split
from cnnlab.data.facts import AUGMENTATION
from cnnlab.data.loader import BatchLoader
from cnnlab.data.transforms import affine_transform
from cnnlab.models import create_model
from cnnlab.training.config import TrainConfig, resolve_config
from cnnlab.training.distributed import setup_distributed
from cnnlab.training.loop import Trainer, training_loss
from cnnlab.training.schedule import build_optimizer

Step = Callable[[torch.Tensor, torch.Tensor], None]


class PILDigits(Dataset):
    """The torchvision way: one PIL image per item, transformed one at a time (as ``datasets.MNIST`` does)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable) -> None:
        hwc = images.permute(0, 2, 3, 1).numpy()
        self.images = [Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image) for image in hwc]
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), self.labels[index]


def torchvision_transform(config: TrainConfig, loader: BatchLoader, image_size: tuple[int, int]) -> Callable:
    """Per-image transforms doing what the run's batched augmentation does (same ranges, bilinear affine)."""
    h, w = image_size
    flips = any(getattr(a, "__name__", "") == "random_flip" for a in loader.augment)
    steps: list[Callable] = []
    for name in config.augment:
        if name == "affine":  # the ranges of cnnlab.data.augment.random_affine, bilinear
            steps.append(affine_transform(image_size))
        elif name == "elastic":  # the run's alpha and sigma, as cnnlab.data.augment.random_elastic gets them
            steps.append(transforms.ElasticTransform(alpha=config.elastic_alpha, sigma=config.elastic_sigma))
        elif name in ("shift", "crop"):
            steps.append(transforms.RandomCrop((h, w), padding=config.crop_padding))
        elif name == "flip" and flips:
            steps.append(transforms.RandomHorizontalFlip(AUGMENTATION.flip_probability))
        elif name == "pca":
            raise ValueError(f"{config.model}'s recipe uses PCA colour noise, which torchvision has no transform for")
    mean, std = loader.normalization.mean, loader.normalization.std
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


def model_step(model: torch.nn.Module, config: TrainConfig) -> Step:
    """Forward + loss + backward + optimiser step, exactly the arithmetic of the Trainer's step."""
    optimizer = build_optimizer(model.parameters(), config)
    model.train()

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = training_loss(model.forward_train(x), y, config, model.aux_loss_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def truncated(loader: BatchLoader, steps: int) -> BatchLoader:
    """The same loader over only its first ``steps`` batches' worth of images."""
    n = steps * loader.batch_size
    return BatchLoader(
        Split(loader.images[:n], loader.labels[:n]), loader.batch_size, loader.normalization,
        shuffle=loader.sharding.shuffle, drop_last=loader.drop_last, augment=loader.augment, seed=loader.sharding.seed,
        device=loader.device, channels_last=loader.channels_last, prefetch=loader.prefetch,
    )  # fmt: skip


def timed(function: Callable[[], None]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def pipeline_rates(model_name: str, args: argparse.Namespace, run_dir: Path) -> dict[str, float]:
    """Images/s of each variant, best of ``args.rounds`` interleaved rounds of ``steps`` batches each."""
    config = resolve_config(model_name, output=str(run_dir), device="cpu", threads=args.threads)
    trainer = Trainer(config, setup_distributed("cpu"), log=lambda _m: None)
    loader = trainer.data.train
    steps = min(args.steps or len(loader), len(loader))
    trainer.data.train = loader = truncated(loader, steps)
    batch = loader.batch_size
    images = steps * batch

    def ours() -> None:
        trainer.batches_done = 0
        trainer.train_epoch(run_dir, [False])
        trainer.epoch += 1

    premade = list(loader)  # the batches of epoch 0, made once: no data work left in the timed loop
    pure_step = model_step(copy.deepcopy(trainer.model), config)

    def pure() -> None:
        for x, y in premade:
            pure_step(x, y)

    def loader_alone() -> None:
        loader.set_epoch(trainer.epoch)
        for _ in loader:
            pass

    variants: dict[str, Callable[[], None]] = {"ours": ours, "pure": pure, "loader alone": loader_alone}
    transform = torchvision_transform(config, loader, trainer.data.image_size)
    dataset = PILDigits(loader.images, loader.labels, transform)
    for workers in args.workers:
        tv_step = model_step(copy.deepcopy(trainer.model), config)
        tv_loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
                               generator=torch.Generator().manual_seed(0))  # fmt: skip

        def tv(tv_loader: DataLoader = tv_loader, tv_step: Step = tv_step) -> None:
            for x, y in itertools.islice(tv_loader, steps):
                tv_step(x, y)

        variants[f"tv w{workers}"] = tv
    for function in variants.values():  # warm-up: allocator, kernels, page cache; not counted
        function()
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, function in variants.items():
            seconds[name].append(timed(function))
    return {name: images / min(times) for name, times in seconds.items()}


def channels_last_ratio(args: argparse.Namespace) -> tuple[float, float]:
    """resnet20 forward + backward images/s with contiguous and with channels_last tensors (same weights)."""
    torch.manual_seed(0)
    contiguous = create_model("resnet20", num_classes=10).train()
    nhwc = copy.deepcopy(contiguous).to(memory_format=torch.channels_last)
    x = torch.randn(args.cl_batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.cl_batch,))
    x_nhwc = x.contiguous(memory_format=torch.channels_last)

    def run(model: torch.nn.Module, inputs: torch.Tensor) -> Callable[[], None]:
        def steps() -> None:
            for _ in range(args.cl_steps):
                model.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(model(inputs), y).backward()

        return steps

    pairs = {"contiguous": run(contiguous, x), "channels_last": run(nhwc, x_nhwc)}
    for function in pairs.values():
        function()
    seconds: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(args.rounds):
        for name, function in pairs.items():
            seconds[name].append(timed(function))
    images = args.cl_steps * args.cl_batch
    return images / min(seconds["contiguous"]), images / min(seconds["channels_last"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["lenet5"], help="lenet5, lenet5_modern, resnet20")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (best counts)")
    parser.add_argument("--steps", type=int, default=0, help="batches per round (0: one whole epoch)")
    parser.add_argument("--workers", type=int, nargs="*", default=[0, 2], help="DataLoader workers of the baselines")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: the recipe's)")
    parser.add_argument("--cl-batch", type=int, default=128, help="resnet20 batch for the channels_last test")
    parser.add_argument("--cl-steps", type=int, default=3, help="resnet20 steps per channels_last round")
    parser.add_argument("--no-channels-last", action="store_true", help="skip the channels_last test")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 steps, 1 round, tiny resnet20 batch")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.cl_batch, args.cl_steps = 2, 1, 4, 1
    # The recipe's threads (the Trainer sets them too), so that every variant runs as the real run does.
    args.threads = args.threads or resolve_config(args.models[0]).threads or torch.get_num_threads()
    torch.set_num_threads(args.threads)
    machine = platform.processor() or platform.machine()
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {machine}, {os.cpu_count()} cores, {args.threads} thread(s), "
          f"load average {load} (1/5/15 min); best of {args.rounds} interleaved rounds, warm-up excluded")  # fmt: skip
    tv_names = [f"tv w{w}" for w in args.workers]
    header = (f"{'model':14} {'batch':>5} {'steps':>5} {'ours':>8} {'pure':>8} {'loader':>8} "
              + "".join(f"{name:>8}" for name in tv_names) + f" {'ours/pure':>10}"
              + "".join(f" {'ours/' + name:>12}" for name in tv_names))  # fmt: skip
    print("training images/s; loader = BatchLoader alone (normalise + augment), no model")
    print(header)
    print("-" * len(header))
    results = {}
    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-") as tmp:
        for name in args.models:
            rates = pipeline_rates(name, args, Path(tmp) / name)
            results[name] = rates
            config = resolve_config(name)
            steps = args.steps or "epoch"
            print(f"{name:14} {config.batch_size:>5} {steps:>5} {rates['ours']:8.0f} {rates['pure']:8.0f} "
                  f"{rates['loader alone']:8.0f} " + "".join(f"{rates[n]:8.0f}" for n in tv_names)
                  + f" {rates['ours'] / rates['pure']:10.2f}"
                  + "".join(f" {rates['ours'] / rates[n]:11.2f}x" for n in tv_names))  # fmt: skip
    for name, rates in results.items():
        vs_pure = rates["ours"] / rates["pure"]
        print(f"{name}: ours / pure step = {vs_pure:.2f} (target >= 0.9: {'met' if vs_pure >= 0.9 else 'NOT met'})")
        for n in tv_names:
            vs_tv = rates["ours"] / rates[n]
            target = f"target >= 2x: {'met' if vs_tv >= 2 else 'NOT met'}" if name == "lenet5" else "no target"
            print(f"{name}: ours / torchvision DataLoader {n} = {vs_tv:.2f}x ({target})")
    if not args.no_channels_last:
        plain, nhwc = channels_last_ratio(args)
        ratio = nhwc / plain
        print(f"resnet20 forward+backward, batch {args.cl_batch}, 3x32x32: contiguous {plain:.0f} img/s, "
              f"channels_last {nhwc:.0f} img/s, channels_last/contiguous {ratio:.2f}")  # fmt: skip
        print(f"channels_last helps resnet20 on this CPU: {'yes' if ratio >= 1.05 else 'no'} ({ratio:.2f}x; "
              f"'yes' needs >= 1.05x)")  # fmt: skip


if __name__ == "__main__":
    main()
