"""Batches straight from tensors in memory: shuffled, sharded across processes, augmented per batch.

For datasets that fit in memory this replaces ``DataLoader`` + per-image transforms: one index per
batch, one conversion to float, one vectorised augmentation. On two CPU cores the time then goes to the
model, not to Python.

What every loader shares with the image folders' :class:`~cnnlab.data.folder.FolderLoader` (the order, the
process's share, the batch count, the batch augmentations and the memory format) is :class:`ShardedLoader`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypedDict, Unpack

import torch
import torch.nn.functional as F

from cnnlab.data.datasets import InMemoryDataset, Split

__all__ = ["BatchLoader", "LoaderOptions", "Normalization", "ShardedLoader", "Sharding", "fit_to_model"]

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Normalization:
    """``(x / 255 - mean) / std`` per channel."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, split: Split) -> Normalization:
        """The per-channel mean and standard deviation of a (training) split."""
        images = split.images.float() / 255
        mean, std = images.mean(dim=(0, 2, 3)), images.std(dim=(0, 2, 3)).clamp(min=1e-3)
        return cls(tuple(mean.tolist()), tuple(std.tolist()))

    @classmethod
    def lenet(cls) -> Normalization:
        """LeCun et al. 1998, Sec. II-B: background (0) -> -0.1 and ink (255) -> 1.175, so mean ~ 0, variance ~ 1."""
        return cls((0.1 / 1.275,), (1 / 1.275,))

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, C, H, W)`` -> normalised float32."""
        mean = torch.tensor(self.mean, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, -1, 1, 1)
        return (images.float() / 255 - mean) / std

    def background(self, channel: int = 0) -> float:
        """The normalised value of a black (0) pixel: what augmentations fill with."""
        return -self.mean[channel] / self.std[channel]


def fit_to_model(
    dataset: InMemoryDataset, channels: int, accepts: Callable[[int, int], bool], size: tuple[int, int]
) -> tuple[InMemoryDataset, list[str]]:
    """Make the images fit a model, the obvious way where it is safe, and say what was done.

    Grayscale -> RGB repeats the channel; RGB -> grayscale takes the luma. A size the model does not
    accept is padded when the model wants at most 4 more pixels on each side (LeNet-5's 28 -> 32) and
    resized otherwise.

    Args:
        channels: the model's input channels.
        accepts: whether the model accepts an ``(H, W)`` input.
        size: the model's default input ``(H, W)``, the target of a resize.

    Raises:
        ValueError: a channel count that has no obvious conversion (e.g. 2 -> 3).
    """
    notes: list[str] = []
    have = dataset.channels

    def convert(split: Split | None) -> Split | None:
        if split is None:
            return None
        images = split.images
        if have != channels:
            if have == 1:
                images = images.expand(-1, channels, -1, -1).contiguous()
            elif have == 3 and channels == 1:
                luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
                images = (images.float() * luma).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
            else:
                raise ValueError(f"{dataset.name} has {have}-channel images and the model takes {channels}")
        h, w = images.shape[2:]
        if not accepts(h, w):
            extra_h, extra_w = size[0] - h, size[1] - w
            if 0 <= extra_h <= 8 and 0 <= extra_w <= 8 and extra_h % 2 == 0 and extra_w % 2 == 0:
                images = F.pad(images, (extra_w // 2, extra_w // 2, extra_h // 2, extra_h // 2))
            else:
                images = F.interpolate(images.float(), size=size, mode="bilinear", antialias=True, align_corners=False)
                images = images.round().clamp(0, 255).to(torch.uint8)
        return Split(images, split.labels)

    fitted = InMemoryDataset(
        dataset.name, dataset.classes, convert(dataset.train), convert(dataset.test), convert(dataset.val),  # type: ignore[arg-type]
        dataset.source, dataset.flips,
    )  # fmt: skip
    if have != channels:
        how = "repeating the gray channel" if have == 1 else "taking the luma"
        notes.append(f"{dataset.name}: {have}-channel images made {channels}-channel by {how}")
    if fitted.image_size != dataset.image_size:
        (h, w), (new_h, new_w) = dataset.image_size, fitted.image_size
        how = "padded" if new_h - h <= 8 and (new_h - h) % 2 == 0 and new_h >= h else "resized"
        notes.append(f"{dataset.name}: {h}x{w} images {how} to {new_h}x{new_w} for the model")
    return fitted, notes


@dataclass
class Sharding:
    """Which of ``count`` images one process takes in one epoch, and in what order.

    The shuffled order is ``randperm`` seeded by (seed, epoch); process ``rank`` takes every ``world_size``-th
    image from its rank and all take the same number, so DistributedDataParallel's processes step together
    (what ``DistributedSampler(drop_last=True)`` does).
    """

    count: int
    shuffle: bool = False
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    epoch: int = 0

    def __len__(self) -> int:
        return self.count // self.world_size

    def order(self) -> torch.Tensor:
        """This process's image indices for :attr:`epoch`, in the order they are handed out."""
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.count, generator=generator)
        else:
            order = torch.arange(self.count)
        return order[self.rank :: self.world_size][: len(self)]


class LoaderOptions(TypedDict, total=False):
    """The keyword options of every loader, as :class:`ShardedLoader` documents them."""

    shuffle: bool
    drop_last: bool
    augment: tuple[Augmentation, ...]
    seed: int
    rank: int
    world_size: int
    device: torch.device | str
    channels_last: bool


class ShardedLoader:
    """What every loader gives the training loop: this process's batches of an epoch, augmented, on the device.

    :class:`BatchLoader` (tensors in memory) and :class:`~cnnlab.data.folder.FolderLoader` (files decoded by
    worker processes) differ only in how a batch of images is made; the order, the share, the number of
    batches and what happens to a batch on the device are this class's.

    Args:
        count: images in the whole split, before it is shared among the processes.
        batch_size: images per batch (per process, under torchrun).
        shuffle: a new order every epoch (call :meth:`set_epoch`), the same for a given seed and epoch.
        drop_last: skip a last, smaller batch (training) or keep it (evaluation).
        augment: functions ``(batch, generator) -> batch`` applied in order to each normalised batch on the device.
        seed: seeds the order and ``augment``.
        rank, world_size: this process's share under DDP: every process gets the same number of batches.
        device: where batches are delivered.
        channels_last: hand out batches in channels-last memory format.
    """

    def __init__(
        self,
        count: int,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        augment: tuple[Augmentation, ...] = (),
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be positive, got {batch_size}")
        self.batch_size, self.drop_last, self.augment = batch_size, drop_last, augment
        self.device, self.channels_last = torch.device(device), channels_last
        self.sharding = Sharding(count, shuffle, seed, rank, world_size)
        self.augmenting = True  # False: the batches without ``augment``, for final epochs without augmentation
        self.generator = torch.Generator(device=self.device)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order and augmentation the next iteration uses."""
        self.sharding.epoch = epoch

    def __len__(self) -> int:
        n = len(self.sharding)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_images(self) -> int:
        """Images one pass hands out (after sharding and dropping the last batch)."""
        n = len(self.sharding)
        return (n // self.batch_size) * self.batch_size if self.drop_last else n

    def _seed_augmentation(self) -> None:
        """Start the epoch's augmentation: its random numbers depend on the seed, the epoch and the process."""
        sharding = self.sharding
        self.generator.manual_seed(sharding.seed * 1_000_003 + sharding.epoch * 7919 + sharding.rank)

    def _ready(self, x: torch.Tensor) -> torch.Tensor:
        """A normalised batch on the device, augmented (unless :attr:`augmenting` is off) and laid out."""
        for augmentation in self.augment if self.augmenting else ():
            x = augmentation(x, self.generator)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


class BatchLoader(ShardedLoader):
    """Batches of ``(images, labels)`` from a :class:`Split`, as float tensors ready for the model.

    Args:
        split: the images and labels.
        batch_size: images per batch (per process, under torchrun).
        normalization: how uint8 becomes float.
        prefetch: make the next batches in a background thread while the model works on this one; worth
            it when the model leaves a core idle (one intra-op thread on a 2-core machine).
        **options: the order, the share, the augmentation and the device (:class:`ShardedLoader`).
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        normalization: Normalization,
        *,
        prefetch: bool = False,
        **options: Unpack[LoaderOptions],
    ) -> None:
        super().__init__(len(split), batch_size, **options)
        self.images = split.images.to(self.device)
        self.labels = split.labels.to(self.device)
        self.normalization = normalization
        self.prefetch = prefetch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return _prefetched(self._batches()) if self.prefetch else self._batches()

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        index = self.sharding.order().to(self.device)
        self._seed_augmentation()
        stop = len(index) - (len(index) % self.batch_size if self.drop_last else 0)
        for start in range(0, stop, self.batch_size):
            batch = index[start : start + self.batch_size]
            yield self._ready(self.normalization.apply(self.images[batch])), self.labels[batch]


_DONE = object()


def _prefetched(
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]], depth: int = 2
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The same batches, in the same order, made ``depth`` ahead by a background thread."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            ready.put(error)

    worker = threading.Thread(target=produce, name="cnnlab-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # The consumer stopped (done, break, Ctrl-C, error): stop the producer and wait for it, so that no
        # thread is left inside a torch operation when the interpreter exits.
        stop.set()
        while worker.is_alive():
            try:
                ready.get_nowait()  # unblock a put
            except queue.Empty:
                worker.join(timeout=0.05)
