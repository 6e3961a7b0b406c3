"""The cache of parsed datasets: used when sound, made again when not, never in the way."""

import os

import numpy as np
import pytest
import torch

from cnnlab.data import cache as cache_module
from cnnlab.data import datasets as datasets_module
from cnnlab.data.cache import cache_directory, cached_tensors
from cnnlab.data.datasets import load_dataset


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _count_parses(monkeypatch):
    calls = []
    real = np.loadtxt

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets_module.np, "loadtxt", counted)
    return calls


def test_the_digits_are_parsed_once_and_read_back_identical(cache, monkeypatch):
    parses = _count_parses(monkeypatch)
    first = load_dataset("mnist5k")
    entries = list(cache.glob("mnist5k-*.pt"))
    assert len(parses) == 1 and len(entries) == 1
    second = load_dataset("mnist5k")
    assert len(parses) == 1  # read from the cache, not parsed again
    for split in ("train", "test"):
        assert torch.equal(getattr(first, split).images, getattr(second, split).images)
        assert torch.equal(getattr(first, split).labels, getattr(second, split).labels)
    assert first.train.images.shape == (4000, 1, 32, 32) and first.test.images.shape == (1000, 1, 32, 32)


@pytest.mark.parametrize("damage", ["junk", "truncated", "wrong tensors"])
@pytest.mark.slow
def test_a_damaged_entry_is_made_again(cache, monkeypatch, damage):
    load_dataset("mnist5k")
    (entry,) = cache.glob("mnist5k-*.pt")
    if damage == "junk":
        entry.write_bytes(b"not a tensor file")
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:1000])
    else:
        torch.save({"images": torch.zeros(3, 2), "labels": torch.zeros(3)}, entry)
    parses = _count_parses(monkeypatch)
    dataset = load_dataset("mnist5k")
    assert len(parses) == 1 and dataset.train.images.shape == (4000, 1, 32, 32)
    stored = torch.load(entry, weights_only=True)
    assert stored["images"].shape == (5000, 1, 28, 28)  # the entry was written again, sound


def test_an_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CNNLAB_CACHE_DIR", str(blocker / "cache"))
    made = cached_tensors("thing", "key", lambda: {"x": torch.arange(3)}, lambda t: "x" in t)
    assert torch.equal(made["x"], torch.arange(3))


def test_another_key_is_another_entry(cache):
    def make():
        return {"x": torch.ones(2)}

    cached_tensors("thing", "source-1", make, lambda t: True)
    cached_tensors("thing", "source-2", make, lambda t: True)
    assert len(list(cache.glob("thing-*.pt"))) == 2
    assert not list(cache.glob("*.partial"))  # written whole, through the atomic helper


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNLAB_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name != "nt":
        assert cache_directory() == tmp_path / "xdg" / "cnnlab"
    monkeypatch.setenv("CNNLAB_CACHE_DIR", "~/elsewhere")
    assert cache_directory() == cache_module.Path("~/elsewhere").expanduser()
