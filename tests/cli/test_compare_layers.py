import csv
import io
import json


def test_lenet_c1_comparison_table(run):
    code, out, _ = run("compare-layers", "--input", "1x32x32", "--out-channels", "6", "--kernel", "5")
    assert code == 0
    assert out.splitlines()[0] == "input 1x32x32 -> output 6x28x28 (kernel 5, stride 1, padding 0)"
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines() if line[:1] in "flc"}
    assert rows["convolution"][1:] == ["150", "6", "156", "117,600", "5x5"]
    assert rows["locally connected"][2:] == ["117,600", "4,704", "122,304", "117,600", "5x5"]
    assert "784x fewer again" in out


def test_formats(run):
    args = ["compare-layers", "--input", "3x8x8", "--out-channels", "2", "--kernel", "3", "--padding", "1"]
    _, out, _ = run(*args, "--format", "json")
    data = json.loads(out)
    assert data["output_shape"] == [2, 8, 8] and data["layers"][2]["params"] == 56
    _, out, _ = run(*args, "--format", "csv")
    assert list(csv.reader(io.StringIO(out)))[3] == ["convolution", "54", "2", "56", "3456", "3x3"]
    _, out, _ = run(*args, "--format", "markdown")
    assert any(line.startswith("| convolution ") and line.endswith("| 3x3             |") for line in out.splitlines())


def test_bad_values(fails):
    base = ["compare-layers", "--out-channels", "6", "--kernel", "5"]
    assert "expected CxHxW with positive sizes such as 1x32x32, got '0x32x32'" in fails(*base, "--input", "0x32x32")
    assert "expected CxHxW" in fails(*base, "--input", "1by32")
    assert "kernel 5 is larger than the padded input 4" in fails(*base, "--input", "1x4x4")
    assert "invalid choice: 'yaml'" in fails(*base, "--input", "1x8x8", "--format", "yaml")
