import os
import pickle
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from cnnlab.checkpoint import load_checkpoint, save_checkpoint


def test_round_trip(tmp_path):
    state = {"model": "lenet5", "weights": torch.randn(3, 3), "epoch": 2, "history": [{"loss": 0.5}]}
    save_checkpoint(tmp_path / "last.pt", state)
    loaded = load_checkpoint(tmp_path / "last.pt", model="lenet5")
    assert torch.equal(loaded["weights"], state["weights"]) and loaded["history"] == [{"loss": 0.5}]
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary files left behind


def test_foreign_corrupt_and_missing_files_are_refused(tmp_path):
    save_checkpoint(tmp_path / "a.pt", {"model": "resnet20"})
    with pytest.raises(ValueError, match="a checkpoint of 'resnet20', not of 'lenet5'"):
        load_checkpoint(tmp_path / "a.pt", model="lenet5")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="is not a cnnlab checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ValueError, match="is corrupt or not a checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    truncated = (tmp_path / "a.pt").read_bytes()[:100]
    (tmp_path / "cut.pt").write_bytes(truncated)
    with pytest.raises(ValueError, match="is corrupt or not a checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_malicious_pickle_executes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("evil.pt", "wb") as file:
        pickle.dump({"format": "cnnlab-checkpoint-1", "x": _Payload()}, file)
    with pytest.raises(ValueError, match="not a safe cnnlab checkpoint|corrupt or not a checkpoint"):
        load_checkpoint("evil.pt")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.slow
def test_a_process_killed_mid_save_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"model": "m", "epoch": 0, "w": torch.zeros(10)})
    writer = (
        "import torch, sys\n"
        "from cnnlab.checkpoint import save_checkpoint\n"
        "big = torch.randn(8_000_000)\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        f"    save_checkpoint({str(path)!r}, {{'model': 'm', 'epoch': i, 'w': big}})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # several 32 MB saves in flight
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = load_checkpoint(path, model="m")  # whole: the old one or a complete new one
    assert state["epoch"] == 0 or state["w"].numel() == 8_000_000


def test_a_pickle_that_imports_a_function_is_called_unsafe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("evil2.pt", "wb") as file:
        pickle.dump({"x": _Payload()}, file, protocol=2)
    with pytest.raises(ValueError, match="not a safe cnnlab checkpoint, refused without running it"):
        load_checkpoint("evil2.pt")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("junk", [b"\x89junk\x00" * 40, b"PK\x03\x04" + b"\x00" * 60, b""])
def test_any_junk_is_a_clear_error(tmp_path, junk):
    (tmp_path / "junk.pt").write_bytes(junk)
    with pytest.raises(ValueError, match="is corrupt or not a checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def _plain_pickles(folder):
    """Files that are not torch.save's: pickle.dump at every protocol, of data and of a malicious payload."""
    written = []
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        for name, content in (("data", {"format": "cnnlab-checkpoint-1", "epoch": 3}), ("payload", {"x": _Payload()})):
            written.append(folder / f"{name}-{protocol}.pt")
            with open(written[-1], "wb") as file:
                pickle.dump(content, file, protocol=protocol)
    return written


def test_a_refused_file_is_one_message_in_cnnlab_words_without_torch_warnings(tmp_path, monkeypatch):
    """torch warns before it refuses a plain pickle ("please file an issue"); cnnlab's refusal says it all."""
    monkeypatch.chdir(tmp_path)
    torch.save(torch.nn.Linear(2, 2), "module.pt")
    save_checkpoint("whole.pt", {"model": "m", "w": torch.zeros(1000)})
    Path("truncated.pt").write_bytes(Path("whole.pt").read_bytes()[:700])
    with zipfile.ZipFile("other.pt", "w") as archive:
        archive.writestr("notes.txt", "a zip, but not torch.save's")
    for path in [*_plain_pickles(tmp_path), Path("module.pt"), Path("truncated.pt"), Path("other.pt")]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(ValueError) as info:
                load_checkpoint(path)
        assert [str(warning.message) for warning in caught] == [], path
        message = str(info.value)
        assert "\n" not in message and len(message.replace(str(path), "")) < 150, message
        for torch_words in ("file an issue", "weights_only", "add_safe_globals", "miniz", "enforce fail"):
            assert torch_words not in message, message
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(ValueError, match=r"refused without running it \(it would import torch.nn.modules.linear"):
        load_checkpoint("module.pt")
    with pytest.raises(ValueError, match=r"its zip archive is damaged"):
        load_checkpoint("truncated.pt")


def test_a_checkpoint_that_cannot_be_read_is_not_called_corrupt(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "last.pt", {"model": "m"})

    def no_permission(path, *_args, **_kwargs):  # what torch.load raises on a file its user may not read
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(torch, "load", no_permission)
    with pytest.raises(ValueError, match=r"^cannot read checkpoint .*last.pt: Permission denied$"):
        load_checkpoint(tmp_path / "last.pt")
