"""Every file cnnlab writes is whole or absent: a write that fails at any stage leaves the old file and nothing else."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab import files
from cnnlab.checkpoint import save_checkpoint
from cnnlab.files import TEMPORARY_SUFFIX, atomic_output, copy_file, ensure_directory, remove_leftovers, write_text
from cnnlab.viz.feature_maps import plot_feature_maps

OLD = "the old content, which must survive\n"


def _writers(folder: Path):
    """Every kind of writer cnnlab has: its own text, torch.save, matplotlib's savefig (PNG and SVG)."""
    picture = plot_feature_maps(np.random.default_rng(0).random((2, 4, 4)), name="layer")
    return {
        "metrics.csv": lambda path: write_text(path, "epoch,lr\n1,0.1\n"),
        "last.pt": lambda path: save_checkpoint(path, {"weights": torch.zeros(1000)}),
        "maps.png": lambda path: picture.save(path),
        "maps.svg": lambda path: picture.save(path),
    }


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(TEMPORARY_SUFFIX)]


def _half_then_full_disk(target, *_args, **_kwargs):
    """A writer that gets half a file out and then finds the disk full."""
    with open(target, "wb") as handle:
        handle.write(b"half a file")
    raise OSError(28, "No space left on device")


# The function each kind of writer ends in, to make it fail mid-file.
MID_FILE = {
    "metrics.csv": ("pathlib.Path.write_bytes", lambda self, data: _half_then_full_disk(self)),
    "last.pt": ("torch.save", lambda obj, f, *a, **k: _half_then_full_disk(f)),
    "maps.png": ("matplotlib.figure.Figure.savefig", lambda self, f, *a, **k: _half_then_full_disk(f)),
    "maps.svg": ("matplotlib.figure.Figure.savefig", lambda self, f, *a, **k: _half_then_full_disk(f)),
}


@pytest.mark.parametrize("name", list(MID_FILE))
@pytest.mark.parametrize("stage", ["mid-file", "fsync", "rename"])
def test_a_write_that_fails_at_any_stage_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, name, stage):
    target = tmp_path / name
    target.write_text(OLD)
    writer = _writers(tmp_path)[name]

    def fail(*_args):
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        if stage == "mid-file":
            patch.setattr(*MID_FILE[name])
        elif stage == "fsync":
            patch.setattr(os, "fsync", fail)
        else:
            patch.setattr(os, "replace", fail)
        with pytest.raises(OSError, match=f"cannot write {target}: ") as info:
            writer(target)
    assert "\n" not in str(info.value)  # one line, naming the file
    assert target.read_text() == OLD
    assert _leftovers(tmp_path) == []


def test_a_successful_write_replaces_the_file_and_keeps_the_usual_permissions(tmp_path):
    target = tmp_path / "deep" / "er" / "x.txt"
    write_text(target, "new")
    assert target.read_text() == "new" and _leftovers(target.parent) == []
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_paths_through_a_file_or_onto_a_directory_are_one_line_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match=r"cannot make directory .*file/sub/deeper: .*file is a file"):
        write_text(tmp_path / "file" / "sub" / "deeper" / "x.txt", "y")
    with pytest.raises(OSError, match=r"cannot write .*: it is a directory"):
        write_text(tmp_path, "y")
    with pytest.raises(OSError, match="it is a file"):
        ensure_directory(tmp_path / "file")


def _dead_pid() -> int:
    """The PID of a process that has ended."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(dead.stdout)


@pytest.fixture
def live_pid():
    """The PID of a process that runs until the test ends."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()


def test_leftovers_of_killed_writes_are_removed_but_not_those_of_live_writes(tmp_path, live_pid):
    killed = tmp_path / f".last.pt.{_dead_pid()}.abc123{TEMPORARY_SUFFIX}"
    live = tmp_path / f".metrics.csv.{live_pid}.def456{TEMPORARY_SUFFIX}"
    unnamed = tmp_path / f".old-style.tmp1234{TEMPORARY_SUFFIX}"
    # This process's PID, but not one of its writes: a killed process that had the same PID (a container's).
    earlier = tmp_path / f".summary.json.{os.getpid()}.ghi789{TEMPORARY_SUFFIX}"
    for path in (killed, live, unnamed, earlier):
        path.write_text("half")
    (tmp_path / "keep.partial.txt").write_text("not ours")
    with atomic_output(tmp_path / "run.json") as writing:  # this process's write in progress
        assert sorted(p.name for p in remove_leftovers(tmp_path)) == sorted([killed.name, unnamed.name, earlier.name])
        assert writing.exists()
    assert live.exists() and (tmp_path / "keep.partial.txt").exists()


def test_any_write_removes_leftovers_of_killed_writes_from_its_folder_once(tmp_path, live_pid):
    """Not only a run's folder: an ONNX file, a report or a picture killed mid-write (kill -9) in any folder."""
    dead = _dead_pid()
    killed = tmp_path / f".lenet5.onnx.{dead}.k2x_9abc{TEMPORARY_SUFFIX}"
    live = tmp_path / f".report.html.{live_pid}.a1b2c3d4{TEMPORARY_SUFFIX}"
    # Hidden .partial files of other shapes may be another program's: a folder of the user's is swept narrowly.
    others = [tmp_path / name for name in (".notes.partial", f".x.{dead}.short{TEMPORARY_SUFFIX}", "keep.partial")]
    for path in (killed, live, *others):
        path.write_text("half")
    write_text(tmp_path / "picture.svg", "<svg/>")
    assert not killed.exists() and live.exists() and all(path.exists() for path in others)
    again = tmp_path / f".curves.png.{dead}.zzzzzzzz{TEMPORARY_SUFFIX}"
    again.write_text("half")
    write_text(tmp_path / "picture.svg", "<svg/>")  # at most one listing per folder per process
    assert again.exists()


def _small_filesystem() -> Path | None:
    """A 256 kB tmpfs, where this machine lets us mount one (root in a VM or container with the right to)."""
    if sys.platform != "linux" or shutil.which("mount") is None or os.geteuid() != 0:
        return None
    folder = Path(tempfile.mkdtemp(prefix="cnnlab-full-"))
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True)
    return folder if result.returncode == 0 else None


@pytest.fixture
def small_filesystem():
    folder = _small_filesystem()
    if folder is None:
        pytest.skip(
            "cannot mount a small tmpfs here (needs root and the right to mount): the patched tests above stand in"
        )
    yield folder
    subprocess.run(["umount", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_full_disk_leaves_the_old_file_whole(small_filesystem):
    target = small_filesystem / "last.pt"
    save_checkpoint(target, {"weights": torch.zeros(10)})
    before = target.read_bytes()
    with pytest.raises(OSError, match=f"cannot write {target}: No space left on device"):
        save_checkpoint(target, {"weights": torch.zeros(200_000)})  # 800 kB into 256 kB
    assert target.read_bytes() == before and _leftovers(small_filesystem) == []


def test_training_onto_a_full_disk_is_one_line_and_leaves_no_half_file(small_filesystem, run):
    code, _out, err = run(
        "train", "lenet5", "--data", "digits", "--epochs", "1", "--output", str(small_filesystem / "r")
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err and "Traceback" not in err
    assert _leftovers(small_filesystem / "r") == []
    assert not (small_filesystem / "r" / "last.pt").exists() or (small_filesystem / "r" / "last.pt").stat().st_size


def test_the_module_documents_its_promise():
    assert "whole or not at all" in files.__doc__
    with atomic_output(Path(tempfile.mkdtemp()) / "x.bin") as temporary:
        assert temporary.name.endswith(TEMPORARY_SUFFIX) and f".{os.getpid()}." in temporary.name


def test_a_copy_is_whole_and_independent_of_its_source(tmp_path):
    source, target = tmp_path / "last.pt", tmp_path / "best.pt"
    save_checkpoint(source, {"weights": torch.arange(5.0)})
    target.write_text(OLD)
    copy_file(source, target)
    assert target.read_bytes() == source.read_bytes() and _leftovers(tmp_path) == []
    save_checkpoint(source, {"weights": torch.zeros(5)})  # a new last.pt leaves best.pt as it was
    assert torch.equal(torch.load(target, weights_only=True)["weights"], torch.arange(5.0))


def test_a_copy_without_hard_links_copies_the_bytes(tmp_path, monkeypatch):
    source, target = tmp_path / "a.bin", tmp_path / "b.bin"
    source.write_bytes(b"checkpoint bytes")

    def no_links(*_args):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    copy_file(source, target)
    assert target.read_bytes() == b"checkpoint bytes" and _leftovers(tmp_path) == []
    with pytest.raises(OSError, match=f"cannot write {tmp_path / 'c.bin'}: "):
        copy_file(tmp_path / "missing.bin", tmp_path / "c.bin")
    assert _leftovers(tmp_path) == []


def test_a_long_name_that_the_file_system_allows_is_written(tmp_path):
    """240 bytes is a legal name; its temporary file's name, 25 bytes longer, would not be."""
    for name in ("a" * 236 + ".svg", "é" * 118 + ".svg"):  # 240 bytes each, the second in two-byte letters
        write_text(tmp_path / name, "<svg/>")
        assert (tmp_path / name).read_text() == "<svg/>" and _leftovers(tmp_path) == []


def test_a_write_through_a_symbolic_link_replaces_what_it_links_to(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "report.html").write_text(OLD)
    (tmp_path / "report.html").symlink_to(tmp_path / "shared" / "report.html")
    write_text(tmp_path / "report.html", "new")
    assert (tmp_path / "report.html").is_symlink() and (tmp_path / "shared" / "report.html").read_text() == "new"
    (tmp_path / "dangling.html").symlink_to(tmp_path / "nowhere" / "report.html")
    with pytest.raises(OSError, match=r"cannot write .*dangling.html: it links to .*nowhere/report.html, in a folder"):
        write_text(tmp_path / "dangling.html", "new")
    assert not (tmp_path / "nowhere").exists() and (tmp_path / "dangling.html").is_symlink()


def test_copying_onto_what_already_is_that_copy_leaves_no_temporary(tmp_path):
    """rename() of one hard link onto another of the same file does nothing and reports success."""
    write_text(tmp_path / "last.pt", "weights")
    copy_file(tmp_path / "last.pt", tmp_path / "best.pt")
    copy_file(tmp_path / "last.pt", tmp_path / "best.pt")  # best.pt is last.pt's file already
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
