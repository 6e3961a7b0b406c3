"""Commands on a run they cannot write to (a read-only disk, a teacher's shared run, a full disk): the result first,
then one line on what could not be written and where --output would put it.

A command whose result is numbers (evaluate, predict) prints them and exits 1 when its picture or saved inputs
could not be written: not 0, a script must learn the file is missing; not 2, which says bad input and nothing
done. A command whose result is the file (report, export, show) exits 2, naming --output when it chose the place.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from tests._checkpoints import write_checkpoint


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "run" / "best.pt"
    write_checkpoint(path, data="digits")
    return path


def test_evaluate_prints_its_numbers_when_its_picture_cannot_be_written(run, checkpoint):
    (checkpoint.parent / "confusion-digits-test.png").mkdir()  # in the way of the picture: no file can go there
    code, out, err = run("evaluate", str(checkpoint))
    assert code == 1 and "top-1" in out and "class  images  accuracy" in out and "confusion matrix:" not in out
    assert err.strip() == (
        "cnnlab evaluate: error: the confusion matrix was not written: cannot write "
        f"{checkpoint.parent / 'confusion-digits-test.png'}: it is a directory (--output DIR writes it elsewhere)"
    )
    code, out, err = run("evaluate", str(checkpoint), "--format", "json")
    assert code == 1 and json.loads(out)["confusion_png"] is None and json.loads(out)["top1"] >= 0
    assert len(err.strip().splitlines()) == 1


def test_predict_refuses_a_file_where_its_folder_goes_before_predicting(run, checkpoint, tmp_path):
    Image.effect_noise((28, 28), 80).save(tmp_path / "noise.png")
    (tmp_path / "file").write_text("not a folder")
    for place, said in ((tmp_path / "file", f"cannot use {tmp_path / 'file'} as a directory: it is a file"),
                        (tmp_path / "file" / "seen", f"{tmp_path / 'file'} is a file")):  # fmt: skip
        code, out, err = run("predict", str(checkpoint), str(tmp_path / "noise.png"), "--save-input", str(place))
        assert code == 2 and out == "" and err.strip().startswith("cnnlab predict: error: ")  # bad input, no work
        assert err.strip().endswith(said) and len(err.strip().splitlines()) == 1, err


def _read_only_copy(folder: Path) -> Path | None:
    """``folder`` copied onto a read-only file system (a tmpfs remounted read-only), where this machine lets us
    mount one (root with the right to mount); root ignores permission bits, a read-only mount it does not."""
    if sys.platform != "linux" or shutil.which("mount") is None or os.geteuid() != 0:
        return None
    mount = Path(tempfile.mkdtemp(prefix="cnnlab-read-only-"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True).returncode:
        return None
    shutil.copytree(folder, mount / folder.name)
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    return mount / folder.name


@pytest.fixture(scope="module")
def read_only_run(tmp_path_factory):
    from cnnlab.run import train

    trained = train("lenet5", data="digits", epochs=1, output=str(tmp_path_factory.mktemp("r") / "run"), log=None,
                    progress=False)  # fmt: skip
    copy = _read_only_copy(trained.path)
    if copy is None:
        pytest.skip("cannot mount a read-only file system here (needs root and the right to mount)")
    yield copy
    subprocess.run(["umount", str(copy.parent)], check=False)
    shutil.rmtree(copy.parent, ignore_errors=True)


@pytest.mark.slow
def test_a_read_only_run_gives_its_numbers_and_names_output_for_its_files(run, read_only_run, tmp_path):
    code, out, err = run("evaluate", str(read_only_run))
    assert code == 1 and "top-1" in out and "Read-only file system (--output DIR writes it elsewhere)" in err
    where = str(read_only_run)
    for args in (
        ["report", where],
        ["export", where, "--no-check"],
        ["show", "filters", where],
        ["show", "curves", where],
    ):
        code, out, err = run(*args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (args, err)
        assert err.strip().endswith(": Read-only file system (choose another place with --output)"), err
    code, out, _ = run("show", "curves", str(read_only_run), "--out", str(tmp_path))  # elsewhere it can
    assert code == 0 and out.strip() == str(tmp_path / "curves.png")


@pytest.mark.slow
def test_predict_prints_its_predictions_when_the_inputs_cannot_be_saved(run, read_only_run, tmp_path):
    Image.effect_noise((28, 28), 80).save(tmp_path / "noise.png")
    code, out, err = run("predict", str(read_only_run), str(tmp_path / "noise.png"), "--save-input",
                         str(read_only_run / "seen"), "--preprocess", "resize")  # fmt: skip
    assert code == 1 and out.startswith(str(tmp_path / "noise.png")) and "%" in out
    assert err.strip().startswith("cnnlab predict: error: the inputs were not saved: cannot make directory ")
    assert err.strip().endswith("Read-only file system") and len(err.strip().splitlines()) == 1, err


def test_an_experiment_whose_folder_is_a_file_says_so(fails, tmp_path):
    (tmp_path / "file").write_text("x")
    assert fails("experiment", "weights", "--output", str(tmp_path / "file")).endswith(
        f"cannot use {tmp_path / 'file'} as a directory: it is a file"
    )  # was "File exists: ...", Python's words for mkdir's refusal
