import argparse
import subprocess
import sys

import pytest
from PIL import Image

from cnnlab import __version__


def test_no_command_prints_the_help(run):
    code, out, _ = run()
    assert code == 0
    assert "shape" in out and "compare-layers" in out and "examples:" in out


def test_version(run):
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"cnnlab {__version__}"


def test_unknown_command_and_flag_are_one_line_errors(fails):
    assert "invalid choice: 'bogus'" in fails("bogus")
    assert "unrecognized arguments: --bogus" in fails("shape", "conv", "-i", "5", "-k", "3", "--bogus")


def test_abbreviated_flags_are_not_guessed(fails):
    assert "--out" in fails("compare-layers", "--input", "1x8x8", "--out", "2", "--kernel", "3")


def python_m_cnnlab(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m cnnlab ARGS`` as a real process, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "cnnlab", *args], capture_output=True, text=True)


def test_python_dash_m_runs_the_same_command():
    result = python_m_cnnlab("shape", "conv", "-i", "32", "-k", "5")
    assert result.returncode == 0
    assert "o = floor((32 - 5 + 2*0) / 1) + 1 = 28" in result.stdout


def test_a_bad_value_exits_2_from_the_real_process():
    result = python_m_cnnlab("shape", "conv", "-i", "3", "-k", "7")
    assert result.returncode == 2
    assert result.stderr.strip() == "cnnlab shape conv: error: kernel 7 is larger than the padded input 3 (i=3, p=0)"


def test_help_shows_real_defaults_only(run):
    code, out, _ = run("shape", "pool", "--help")
    assert code == 0
    assert "(default: 0)" in out and "(default: k)" in out
    assert "(default: None)" not in out and "(default: False)" not in out


@pytest.mark.slow
def test_a_pipe_closed_after_one_line_ends_quietly():
    """`cnnlab models | head -1`, as `git log | head` ends: no traceback, no error line."""
    process = subprocess.Popen([sys.executable, "-m", "cnnlab", "models"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away after one line
    _, err = process.communicate(timeout=120)
    assert first.startswith(b"model") and err == b"" and process.returncode == 0


def test_an_unknown_flag_is_answered_by_its_own_command_with_the_closest_one(fails):
    message = fails("train", "lenet5", "--lrr", "0.1")
    assert message == (
        "cnnlab train: error: unrecognized arguments: --lrr 0.1 (did you mean --lr?) (see 'cnnlab train --help')"
    )
    assert "(did you mean --weight-decay?)" in fails("train", "lenet5", "--weight-decai", "3")
    assert "see 'cnnlab evaluate --help'" in fails("evaluate", "runs/x", "--splt", "val")
    assert "(did you mean" not in fails("shape", "conv", "-i", "5", "-k", "3", "--zzzzzz")


def test_one_vocabulary_with_the_spellings_users_already_type(run):
    """--output everywhere (--out kept), torchvision's and timm's names beside ours."""
    import json

    code, out, _ = run("train", "lenet5", "--weight-decay", "0.01", "-j", "3", "--clip-grad", "2",
                       "--output-dir", "x", "--print-config")  # fmt: skip
    config = json.loads(out)
    assert code == 0 and (config["weight_decay"], config["workers"], config["grad_clip"], config["output"]) == (
        0.01, 3, 2.0, "x"
    )  # fmt: skip
    code, out, _ = run("train", "lenet5", "--wd", "0.02", "--print-config")
    assert json.loads(out)["weight_decay"] == 0.02
    for command in (["evaluate", "R"], ["export", "R"], ["report", "R"], ["experiment", "weights"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "--output" in out and "--out " in out, command


def test_an_error_names_a_flag_as_it_was_typed(fails, tmp_path):
    """A flag with two spellings (--output, --out) is named as the user wrote it, not as its other spelling."""
    for flag in ("--output", "--out"):
        assert f"; {flag} ends in .webp" in fails("animate", "conv", "-i", "5", "-k", "3", flag, "a.webp")
        assert f"; {flag} ends in .webp" in fails("draw", "lenet5", f"{flag}={tmp_path / 'a.webp'}")
        assert f"{flag} {tmp_path} is a directory" in fails("report", str(tmp_path / "no-run"), flag, str(tmp_path))
        (tmp_path / "file").write_text("x")
        assert f"{flag} {tmp_path / 'file'} is a file" in fails("evaluate", "no-run", flag, str(tmp_path / "file"))


def test_typed_flags_and_their_spelling():
    from cnnlab.cli._parser import CommandParser, flag_spelling, typed_flags
    from cnnlab.errors import SettingError

    parser = CommandParser(prog="p")
    parser.add_argument("-k", "--top-k", dest="k")
    parser.add_argument("--output", "--out")
    assert typed_flags(["-k3", "--out=x", "--", "--output"], parser) == {"-k", "--out"}
    error = SettingError("<k>: expected a positive whole number, got 0; <out> ends in .webp")
    assert error.spelled(flag_spelling(parser, {"-k", "--out"})) == "-k: expected a positive whole number, got 0; " \
        "--out ends in .webp"  # fmt: skip
    assert error.spelled(flag_spelling(parser)) == "--top-k: expected a positive whole number, got 0; --output ends " \
        "in .webp"  # fmt: skip


@pytest.mark.slow
def test_an_image_over_pils_warning_size_is_read_without_its_two_line_warning(run, tmp_path):
    """PIL warns of images over 89 megapixels ("could be decompression bomb DOS attack") and refuses them at twice
    that, which cnnlab reports in one line: between the two the image is the user's, read without the noise."""
    import warnings

    from tests._checkpoints import write_checkpoint

    write_checkpoint(tmp_path / "lenet5.pt")
    Image.new("1", (9500, 9500), 1).save(tmp_path / "large.png")  # 90.25 megapixels, 11 kB
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run("predict", str(tmp_path / "lenet5.pt"), str(tmp_path / "large.png"), "--preprocess",
                             "resize")  # fmt: skip
    assert code == 0 and out.startswith(str(tmp_path / "large.png")) and err == ""
    assert [str(warning.message) for warning in caught if "decompression bomb" in str(warning.message)] == []


def test_an_image_with_corrupt_exif_data_is_read_without_pils_warning(run, tmp_path):
    import io
    import warnings

    from tests._checkpoints import write_checkpoint

    write_checkpoint(tmp_path / "lenet5.pt")
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x0f\x00\x02\x00\x00\x00\x10\x00\x00"  # cut short
    photo = io.BytesIO()
    Image.effect_noise((40, 40), 60).save(photo, "JPEG", exif=exif)
    (tmp_path / "photo.jpg").write_bytes(photo.getvalue())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run("predict", str(tmp_path / "lenet5.pt"), str(tmp_path / "photo.jpg"), "--preprocess",
                             "resize")  # fmt: skip
    assert code == 0 and out.startswith(str(tmp_path / "photo.jpg")) and err == ""
    assert [str(warning.message) for warning in caught if "EXIF" in str(warning.message)] == []


def test_output_dash_is_refused_rather_than_a_file_named_dash(fails, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "--out - would be a file named '-': cnnlab writes files, not to standard output" in fails(
        "report", "R", "--out", "-"
    )
    assert "--output - would be a file named '-'" in fails("draw", "lenet5", "--output", "-")
    assert "--save-input - would be a file named '-'" in fails("predict", "R", "x.png", "--save-input", "-")
    assert "--output - would be a file named '-'" in fails("train", "lenet5", "--output", "-")
    assert list(tmp_path.iterdir()) == []


def test_cnnlab_debug_0_is_off(fails, run, monkeypatch):
    monkeypatch.setenv("CNNLAB_DEBUG", "0")
    assert "no-such-run does not exist" in fails("evaluate", "no-such-run")
    monkeypatch.setenv("CNNLAB_DEBUG", "1")
    with pytest.raises(ValueError, match="no-such-run does not exist"):
        run("evaluate", "no-such-run")


def test_a_library_setting_that_is_an_argument_is_named_as_the_usage_names_it():
    from cnnlab.cli._parser import flag_spelling

    parser = argparse.ArgumentParser(prog="cnnlab publish")
    parser.add_argument("subjects", nargs="+", metavar="RUN_OR_MODEL")
    parser.add_argument("model_name", nargs="?")
    parser.add_argument("--output", "--out")
    spell = flag_spelling(parser)
    assert spell("subjects", None) == "RUN_OR_MODEL"  # was --subjects, a flag no command has
    assert spell("model_name", None) == "MODEL_NAME"
    assert spell("output", None) == "--output"
