"""Files written whole or not at all.

Everything cnnlab writes goes through :func:`atomic_output`: the content goes to a temporary file in the
same directory, is flushed to disk (fsync), and is renamed over the target, so a reader, a crash or a full
disk leaves the old file or the new one, never half of one. A rename within one directory is atomic on
POSIX and on Windows (``os.replace``).

A write killed outright (``kill -9``, a power cut) can leave its temporary file behind; the name says which
process wrote it (``.NAME.PID.RANDOM.partial``), and :func:`remove_leftovers` deletes those whose process is
gone. A run removes them from its directory when it starts or resumes, and :func:`atomic_output` from any
directory it writes to, the first time it writes there in a process (only names of exactly that pattern).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "TEMPORARY_SUFFIX",
    "atomic_output",
    "copy_file",
    "ensure_directory",
    "file_in_the_way",
    "remove_leftovers",
    "write_bytes",
    "write_text",
]

TEMPORARY_SUFFIX = ".partial"
"""What the temporary files end with (``.NAME.PID.RANDOM.partial``), so that they can be told from real ones."""

# What atomic_output names a temporary file, exactly: tempfile.mkstemp's 8 random characters after the PID.
_OURS = re.compile(rf"\..+\.(\d+)\.[a-z0-9_]{{8}}{re.escape(TEMPORARY_SUFFIX)}")
_writing: set[str] = set()  # this process's temporary files being written now (its PID may be a dead one's)
_swept: set[str] = set()  # the directories whose leftovers this process removed already
_lock = threading.Lock()


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


def _why(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def ensure_directory(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` and its parents, as ``mkdir -p``; returns it.

    Raises:
        OSError: a one-line reason: a part of the path is a file, no permission, a full disk, ...
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OSError(errno.EEXIST, f"cannot use {path} as a directory: it is a file") from None
    except NotADirectoryError:
        blocker = next((p for p in reversed(path.parents) if p.is_file()), path)
        raise OSError(errno.ENOTDIR, f"cannot make directory {path}: {blocker} is a file") from None
    except OSError as error:
        raise OSError(error.errno, f"cannot make directory {path}: {_why(error)}") from None
    return path


def file_in_the_way(path: str | os.PathLike[str]) -> OSError | None:
    """Why ``path`` cannot become a directory because a file holds its place or a parent's; None if none does.

    For a folder the user named: a file there is their mistake, told before any work (no folder is made here,
    so a place that turns out read-only still lets the work be done and said first).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        return OSError(errno.EEXIST, f"cannot use {path} as a directory: it is a file")
    blocker = next((parent for parent in reversed(path.parents) if parent.exists() and not parent.is_dir()), None)
    if blocker is not None:
        return OSError(errno.ENOTDIR, f"cannot make directory {path}: {blocker} is a file")
    return None


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write to in ``path``'s directory; renamed to ``path`` if the block succeeds.

    For writers that take a path (``torch.save``, ``Figure.savefig``, ONNX's ``save``): they write the
    temporary file, and only a complete one takes the target's name. On an error the temporary file is
    removed and the target is untouched; an operating-system error (a full disk, no permission) becomes one
    line that names the file. A ``path`` that is a symbolic link has the file it links to replaced (the link
    stays a link), as a shell's ``>`` would.

    Raises:
        OSError: the directory cannot be made, or the file cannot be written (``cannot write PATH: reason``).
    """
    path = _through_link(Path(path))
    try:
        directory = path.is_dir()
    except OSError as error:  # a folder on the way this user may not look into
        raise OSError(error.errno, f"cannot write {path}: {_why(error)}") from None
    if directory:
        raise OSError(errno.EISDIR, f"cannot write {path}: it is a directory")
    ensure_directory(path.parent)
    _sweep(path.parent)
    try:
        prefix = f".{_shortened(path.name)}.{os.getpid()}."
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=TEMPORARY_SUFFIX, dir=path.parent)
    except OSError as error:
        raise OSError(error.errno, f"cannot write {path}: {_why(error)}") from None
    os.close(handle)
    temporary = Path(name)
    with _lock:
        _writing.add(os.path.abspath(temporary))
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes files only their owner can read
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
        # rename() of a hard link onto another link of the same file does nothing and succeeds (POSIX): a copy
        # onto a file that already is that copy (copy_file twice) would leave its temporary name behind.
        temporary.unlink(missing_ok=True)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OSError(error.errno, f"cannot write {path}: {_why(error)}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        with _lock:
            _writing.discard(os.path.abspath(temporary))
    _fsync_directory(path.parent)


def _through_link(path: Path) -> Path:
    """The file that ``path`` names through a symbolic link: a write replaces it, as a shell's ``>`` does, and
    leaves the link a link (renaming over the link itself would turn it into a copy and leave its target old)."""
    try:
        if not path.is_symlink():
            return path
    except OSError:  # cannot look: the write says so
        return path
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise OSError(errno.ENOENT, f"cannot write {path}: it links to {target}, in a folder that does not exist")
    return target


def _shortened(name: str, most: int = 200) -> str:
    """``name``, cut to ``most`` bytes: a temporary file's name adds about 25 to its target's, and a file system
    allows 255 (a target name of 240 bytes is legal, its temporary one would not be)."""
    encoded = name.encode("utf-8", "surrogateescape")
    return name if len(encoded) <= most else encoded[:most].decode("utf-8", "ignore")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
    return path


def copy_file(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Give ``target`` the content of ``source`` atomically; returns ``target``.

    A hard link where the file system has them (no bytes copied: a checkpoint written once serves as two
    files; replacing either one later makes a new file, so they never change together), else a copy.

    Raises:
        OSError: one line naming ``target`` (``cannot write TARGET: reason``), also when ``source`` cannot be read.
    """
    source, target = Path(source), Path(target)
    with atomic_output(target) as temporary:
        temporary.unlink()
        try:
            os.link(source, temporary)
        except OSError:  # no hard links here (some file systems, another device): copy the bytes
            temporary.write_bytes(source.read_bytes())
    return target


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def _written_now(path: Path, pid: int) -> bool:
    """Whether ``path``, a temporary file named after process ``pid``, is a write in progress."""
    if pid == os.getpid():  # ours, or a killed process's that had our PID (containers start from 1 each time)
        with _lock:
            return os.path.abspath(path) in _writing
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_leftovers(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that killed writes left in ``directory``; returns what was deleted.

    A temporary file whose writing process is still alive is another write in progress, and is left alone.
    """
    removed = []
    folder = Path(directory)
    if not folder.is_dir():
        return removed
    for candidate in folder.glob(f".*{TEMPORARY_SUFFIX}"):
        parts = candidate.name.split(".")
        pid = int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None
        if pid is not None and _written_now(candidate, pid):
            continue
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _sweep(directory: Path) -> None:
    """Remove the leftovers of killed writes from ``directory``, the first time this process writes there.

    Any directory, not only a run's: a picture, a report or an ONNX file killed mid-write would otherwise leave
    its hidden temporary file for good. Cheap: one listing per directory per process, and only names of exactly
    :func:`atomic_output`'s pattern whose process is gone are removed (nothing else in a user's folder).
    """
    key = os.path.abspath(directory)
    with _lock:
        if key in _swept:
            return
        _swept.add(key)
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                found = _OURS.fullmatch(entry.name)
                if found is None or _written_now(Path(entry.path), int(found.group(1))):
                    continue
                if entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):  # another user's, in a shared folder: theirs to remove
                        Path(entry.path).unlink(missing_ok=True)
    except OSError:  # an unreadable folder: the write itself says what is wrong
        pass
