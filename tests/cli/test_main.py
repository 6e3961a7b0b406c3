import subprocess
import sys

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


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "cnnlab", "shape", "conv", "-i", "32", "-k", "5"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "o = floor((32 - 5 + 2*0) / 1) + 1 = 28" in result.stdout


def test_a_bad_value_exits_2_from_the_real_process():
    result = subprocess.run(
        [sys.executable, "-m", "cnnlab", "shape", "conv", "-i", "3", "-k", "7"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "cnnlab shape conv: error: kernel 7 is larger than the padded input 3 (i=3, p=0)"


def test_help_shows_real_defaults_only(run):
    code, out, _ = run("shape", "pool", "--help")
    assert code == 0
    assert "(default: 0)" in out and "(default: k)" in out
    assert "(default: None)" not in out and "(default: False)" not in out
