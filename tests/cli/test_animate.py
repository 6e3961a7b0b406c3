"""cnnlab animate: a thin front over cnnlab.animate, with its files and its one-line refusals."""

import pytest
from PIL import Image


def test_default_is_a_gif_named_after_the_arguments_here(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("animate", "conv", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "--values")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["convolution: i=5, k=3, s=2, p=1, d=1", "o = floor((5 - 3 + 2*1) / 2) + 1 = 3"]
    assert lines[-1].startswith("conv-i5-k3-s2-p1.gif  (9 frames, ")
    with Image.open(tmp_path / "conv-i5-k3-s2-p1.gif") as gif:
        assert gif.n_frames == 9


def test_rectangular_pool_to_html_and_transposed_to_a_directory(run, tmp_path):
    code, out, err = run("animate", "pool", "-i", "5x7", "-k", "2x3", "--ceil-mode", "--mode", "mean",
                         "--output", str(tmp_path / "pool.html"))  # fmt: skip
    assert code == 0, err
    assert out.startswith("height: pooling: i=5, k=2, s=2") and "width: pooling: i=7, k=3, s=3" in out
    page = (tmp_path / "pool.html").read_text()
    assert '"kind":"pool","input":[5,7],"kernel":[2,3]' in page and '"mode":"mean","ceil_mode":true' in page
    code, out, err = run("animate", "transposed", "-i", "3", "-k", "3", "-s", "2", "-p", "1", "--output-padding", "1",
                         "--out", str(tmp_path), "--seconds-per-frame", "0.1")  # fmt: skip
    assert code == 0, err
    with Image.open(tmp_path / "transposed-i3-k3-s2-p1-op1.gif") as gif:
        assert gif.n_frames == 36 and gif.info["duration"] == 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conv", "-i", "3", "-k", "5"], "cnnlab animate conv: error: kernel 5 is larger than the padded input 3"),
        (["conv", "-i", "5x", "-k", "3"], "argument -i/--input: expected a positive size (N, or HxW such as 5x7)"),
        (["conv", "-i", "5", "-k", "3", "--out", "a.png"], "animations are written as gif, mp4, html; --out ends in"),
        (["pool", "-i", "5", "-k", "3", "-d", "2", "--mode", "mean"], "use -d 1 or --mode max"),  # as typed: -d
        (["conv", "-i", "100", "-k", "3"], "a 98x98 output is 9604 frames, more than 1024; use a smaller -i"),
        (["transposed", "-i", "3", "-k", "3", "-s", "2", "-o", "2"], "output_padding 2 must be smaller than"),
        (["conv", "-i", "5", "-k", "3", "--output-padding", "1"], "unrecognized arguments: --output-padding 1"),
        (["conv", "-i", "5", "-k", "3", "--seconds-per-frame", "0"], "expected seconds between 0.02 and 60"),
        (["blur", "-i", "5", "-k", "3"], "argument KIND: invalid choice: 'blur'"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(fails, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in fails("animate", *args)
    assert list(tmp_path.iterdir()) == []
