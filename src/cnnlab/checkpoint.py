"""Checkpoints that survive a crash mid-write and load without executing anything.

Written to a temporary file in the same directory, flushed to disk (fsync), then renamed over the old
one: a reader sees the old checkpoint or the new one, never half of one. Read with
``torch.load(weights_only=True)``, which unpickles only tensors and plain containers, so a malicious
file cannot run code; a file that is not a cnnlab checkpoint, or one of another model, is refused with a
message that says what it is.
"""

from __future__ import annotations

import errno
import pickle
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from cnnlab.files import atomic_output

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "cnnlab-checkpoint-1"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings and containers of them) atomically to ``path``."""
    path = Path(path)
    with atomic_output(path) as temporary:
        try:
            torch.save({"format": CHECKPOINT_FORMAT, **state}, temporary)
        except RuntimeError as error:  # torch's C++ writer reports a full disk as an iostream error
            full = shutil.disk_usage(temporary.parent).free < 1 << 20
            reason = "No space left on device" if full else f"the write failed ({str(error).splitlines()[0]})"
            raise OSError(errno.ENOSPC if full else errno.EIO, reason) from None
    return path


def load_checkpoint(path: str | Path, *, model: str | None = None) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: the checkpoint file.
        model: if given, the checkpoint must be of this model.

    Raises:
        ValueError: missing, corrupt, unsafe or foreign file, or a checkpoint of another model.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        with warnings.catch_warnings():
            # torch warns about what it is about to refuse ("please file an issue" for a plain pickle); the
            # refusal below says what the file is in cnnlab's words, once.
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:  # there, but not this user's to read (or a failing disk): not a corrupt file
        raise ValueError(f"cannot read checkpoint {path}: {error.strerror or type(error).__name__}") from None
    except pickle.UnpicklingError as error:
        imported = _imported(str(error))
        if imported is not None:  # it asks to import a function or a class: what a malicious file does
            raise ValueError(
                f"{path} is not a safe cnnlab checkpoint, refused without running it (it would import {imported})"
            ) from None
        raise ValueError(f"{path} is corrupt or not a checkpoint (not a file torch.save wrote)") from None
    except Exception as error:  # torch's unpickler fails in many ways on junk; all mean the same
        raise ValueError(f"{path} is corrupt or not a checkpoint ({_reason(error)})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a cnnlab checkpoint")
    if model is not None and state.get("model") != model:
        raise ValueError(f"{path} is a checkpoint of {state.get('model')!r}, not of {model!r}")
    return state


def _imported(text: str) -> str | None:
    """What a refused pickle wanted to import (``posix.system``), from torch's long message; ``None`` if nothing."""
    found = re.search(r"unsupported (?:global:? )?GLOBAL ([\w.]+)", text, re.IGNORECASE)
    return found.group(1) if found else None


def _reason(error: Exception) -> str:
    """Why torch could not read a file, in a few words rather than torch's paragraph (or its bare number)."""
    text = " ".join(str(error).split())
    if "zip archive" in text or "central directory" in text or "inline_container" in text:
        return "its zip archive is damaged: a truncated copy, or not torch.save's"
    text = re.sub(r"^\[enforce fail at [^\]]*\]\s*\.?\s*", "", text)
    first = text.split(". ", 1)[0].rstrip(".")
    # Some of the unpickler's reasons are a bare number, an empty list's complaint or a bad magic number (the
    # legacy format's first bytes): say what they mean.
    if len(first) < 12 or first.isdigit() or "empty list" in first or "magic number" in first:
        return "not a file torch.save wrote"
    return first
