"""Datasets in memory (bundled digits, torchvision's sets), image folders from disk, batched augmentation."""

from cnnlab.data.datasets import DATASETS, InMemoryDataset, Split, load_dataset
from cnnlab.data.folder import FolderDataset, FolderLoader, UnreadableImageError, load_folder_dataset
from cnnlab.data.loader import BatchLoader, Normalization, fit_to_model

__all__ = [
    "DATASETS",
    "BatchLoader",
    "FolderDataset",
    "FolderLoader",
    "InMemoryDataset",
    "Normalization",
    "Split",
    "UnreadableImageError",
    "fit_to_model",
    "load_dataset",
    "load_folder_dataset",
]
