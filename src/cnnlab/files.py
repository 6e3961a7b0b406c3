"""Files written whole or not at all.

Everything cnnlab writes goes through :func:`atomic_output`: the content goes to a temporary file in the
same directory, is flushed to disk (fsync), and is renamed over the target, so a reader, a crash or a full
disk leaves the old file or the new one, never half of one. A rename within one directory is atomic on
POSIX and on Windows (``os.replace``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TEMPORARY_SUFFIX", "atomic_output", "write_bytes", "write_text"]

TEMPORARY_SUFFIX = ".partial"
"""What the temporary files end with (``.NAME.RANDOM.partial``), so that they can be told from real ones."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms and file systems cannot open a directory: the rename still happened
        return
    try:
        os.fsync(handle)  # the rename itself survives a power cut
    except OSError:
        pass
    finally:
        os.close(handle)


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path to write to in ``path``'s directory; renamed to ``path`` if the block succeeds.

    For writers that take a path (``torch.save``, ``Figure.savefig``, ONNX's ``save``): they write the
    temporary file, and only a complete one takes the target's name. On an error the temporary file is
    removed and the target is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes files only their owner can read
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"))
