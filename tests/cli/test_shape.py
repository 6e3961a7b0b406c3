import subprocess
import sys

import pytest


def test_conv_prints_the_formula_with_the_numbers(run):
    code, out, _ = run("shape", "conv", "-i", "32", "-k", "5")
    assert code == 0
    assert "o = floor((32 - 5 + 2*0) / 1) + 1 = 28" in out.splitlines()


def test_conv_says_when_the_division_is_not_exact(run):
    _, out, _ = run("shape", "conv", "-i", "8", "-k", "3", "-s", "2")
    assert "o = floor((8 - 3 + 2*0) / 2) + 1 = 3" in out
    assert "not exact (remainder 1)" in out and "1 of them real input pixel(s)" in out


def test_pool_transposed_and_same(run):
    _, out, _ = run("shape", "pool", "-i", "5", "-k", "2", "--ceil-mode")
    assert "o = ceil((5 - 2 + 2*0) / 2) + 1 = 3" in out
    _, out, _ = run("shape", "transposed", "-i", "14", "-k", "5", "-s", "2", "-p", "2", "-o", "1")
    assert out.splitlines()[1].endswith("= 28")
    _, out, _ = run("shape", "same", "-k", "5", "-d", "2")
    assert "p = (d*(k - 1)) / 2 = (2*(5 - 1)) / 2 = 4" in out


def test_chain_gives_sizes_and_receptive_fields_of_lenet5(run):
    code, out, _ = run("shape", "chain", "-i", "32", "conv:5", "pool:2", "conv:5", "pool:2", "conv:5")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[-4] for r in rows] == ["32", "28", "14", "10", "5", "1"]  # output sizes
    assert [r[-3] for r in rows] == ["1", "5", "6", "14", "16", "32"]  # field sizes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conv", "-i", "3", "-k", "7", "-p", "1"], "kernel 7 is larger than the padded input 5 (i=3, p=1)"),
        (["conv", "-i", "3", "-k", "x"], "argument -k/--kernel: expected a positive whole number, got 'x'"),
        (["conv", "-i", "3", "-k", "0"], "expected a positive whole number, got 0"),
        (["conv", "-k", "3"], "the following arguments are required: -i/--input"),
        (["pool", "-i", "8", "-k", "3", "-p", "2"], "padding 2 is more than half the pooling window 3"),
        (["transposed", "-i", "3", "-k", "3", "-s", "2", "-o", "2"], "output_padding 2 must be smaller"),
        (["same", "-k", "4"], "kernel 4 is even"),
        (["chain", "-i", "8", "conv:5", "conv:5"], "layer 2 (conv:5) on a 4-pixel input"),
        (["chain", "-i", "8", "conv5"], "expected KIND:KERNEL[/STRIDE[/PADDING[/DILATION]]]"),
        (["chain", "-i", "8", "pool:3/1/2"], "padding 2 is more than half the pooling window 3"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(fails, args, message):
    assert message in fails("shape", *args)


def test_shape_never_imports_torch():
    code = (
        "import sys; from cnnlab.cli.main import main; "
        "rc = main(['shape', 'chain', '-i', '32', 'conv:5', 'pool:2']); "
        "rc |= main(['compare-layers', '--input', '1x32x32', '--out-channels', '6', '--kernel', '5']); "
        "sys.exit(rc + (10 if 'torch' in sys.modules else 0))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
