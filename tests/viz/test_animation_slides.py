"""cnnlab.animate on a slide: the running sums are PyTorch's, the last frame stays, the kernel has its own grid
(a transposed convolution's beside its flipped copy), formulas never break inside, and text is 18 pt on 16:9."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import cnnlab
from cnnlab.errors import SettingError
from cnnlab.viz.animation import CONV_ARITHMETIC, INPUT, LAST_FRAME_SECONDS, AnimationCase, animate
from cnnlab.viz.animation_frames import KERNEL_FILL, FramePainter
from cnnlab.viz.animation_sums import RunningSum, formula_pieces, wrap_pieces

# The README's three animations (scripts/readme_pictures.py) and a 9x9 input: each must read on a slide.
ON_SLIDES = {
    "readme conv": ("conv", {"input": 5, "kernel": 3, "stride": 2, "padding": 1, "values": True}),
    "readme transposed": ("transposed", {"input": 3, "kernel": 3, "stride": 2, "padding": 1, "values": True}),
    "readme dilation": ("conv", {"input": 7, "kernel": 3, "dilation": 2}),
    "9x9 conv": ("conv", {"input": 9, "kernel": 3, "values": True}),
    "9x9 conv padded": ("conv", {"input": 9, "kernel": 3, "padding": 1, "values": True}),
    "9x9 max pool": ("pool", {"input": 9, "kernel": 3, "stride": 2, "values": True}),
    "rectangular": ("conv", {"input": (5, 7), "kernel": (3, 2), "stride": (2, 1), "padding": (1, 0), "values": True}),
}

# Settings whose every frame's running sum is checked against PyTorch.
CONVOLUTIONS = {
    "stride and padding": {"input": 5, "kernel": 3, "stride": 2, "padding": 1},
    "dilation": {"input": 7, "kernel": 3, "dilation": 2, "padding": 1},
    "rectangular": {"input": (5, 7), "kernel": (3, 2), "stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)},
    "kernel 5, long sums": {"input": 7, "kernel": 5, "padding": 2},
    "odd size": {"input": 6, "kernel": 3, "stride": 2, "padding": 1, "seed": 3},
}
TRANSPOSED = {
    "stride and padding": {"input": 3, "kernel": 3, "stride": 2, "padding": 1},
    "output padding": {"input": 3, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1},
    "rectangular, dilated": {"input": (2, 3), "kernel": (2, 3), "stride": (2, 1), "dilation": (1, 2)},
}
POOLS = {
    "max, padding": {"input": 5, "kernel": 3, "stride": 2, "padding": 1},
    "max, ceil mode": {"input": 6, "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    "max, dilated": {"input": 7, "kernel": 2, "stride": 1, "dilation": 2},
    "mean, padding": {"input": 5, "kernel": 3, "stride": 2, "padding": 1, "mode": "mean"},
    "mean, ceil mode": {"input": 7, "kernel": 3, "stride": 2, "ceil_mode": True, "mode": "mean"},
}


def _input_of(animation: cnnlab.Animation) -> torch.Tensor:
    """The input tensor, read back from the cells the picture marks as input."""
    rows = [r for r in range(animation.cells.shape[0]) if (animation.cells[r] == INPUT).any()]
    cols = [c for c in range(animation.cells.shape[1]) if (animation.cells[:, c] == INPUT).any()]
    return torch.tensor(animation.grid_values[np.ix_(rows, cols)], dtype=torch.float64)[None, None]


def _written(painter: FramePainter, frame: int) -> float:
    """What the running sum written in a frame evaluates to: its text, read as arithmetic."""
    text = " ".join(line.strip() for line in painter.sum_lines[frame] if line)
    text = text.replace(" (zero terms left out)", "")
    left, total = text.rsplit(" = ", 1)
    expression = left.replace("·", "*")
    assert re.fullmatch(r"(max|mean)?[\d\s.+*(),-]+", expression), text  # nothing but numbers and operators
    functions = {"max": lambda *v: max(v), "mean": lambda *v: sum(v) / len(v)}
    value = eval(expression, {"__builtins__": {}}, functions)
    assert value == pytest.approx(float(total), abs=0.005), text  # the line adds up to what it says
    return value


def _check_sums(animation: cnnlab.Animation, expected: torch.Tensor) -> None:
    """Each frame's running sum, as data and as written in the frame, equals PyTorch's output for its cell."""
    expected = expected[0, 0].numpy()
    painter = FramePainter(animation)
    assert len(animation.sums) == len(animation.positions) == len(painter.sum_lines)
    for n, ((y, x), running) in enumerate(zip(animation.positions, animation.sums, strict=True)):
        assert running.total == pytest.approx(expected[y, x]), (y, x, running)
        assert _written(painter, n) == pytest.approx(expected[y, x]), (y, x)
    np.testing.assert_allclose(animation.outputs, expected)


@pytest.mark.parametrize("name", CONVOLUTIONS)
def test_each_frames_running_sum_is_conv2d_with_the_bias(name):
    arguments = dict(CONVOLUTIONS[name])
    animation = animate("conv", values=True, **arguments)
    assert animation.bias in (-2, -1, 1, 2)  # a bias PyTorch adds too, never 0 (it would not show)
    for running in animation.sums:
        assert running.operation == "sum" and len(running.terms) == animation.kernel.size
    weight = torch.tensor(animation.kernel)[None, None]
    bias = torch.tensor([animation.bias], dtype=torch.float64)
    arguments.pop("seed", None)
    options = {key: value for key, value in arguments.items() if key not in ("input", "kernel")}
    _check_sums(animation, F.conv2d(_input_of(animation), weight, bias, **options))


@pytest.mark.parametrize("name", TRANSPOSED)
def test_each_frames_running_sum_is_conv_transpose2d_over_the_zero_inserted_grid(name):
    arguments = TRANSPOSED[name]
    animation = animate("transposed", values=True, **arguments)
    # PyTorch is given the kernel as drawn on the left (the original); the window slides the flipped one
    np.testing.assert_array_equal(animation.kernel, animation.original_kernel[::-1, ::-1])
    for running in animation.sums:
        assert running.weights == tuple(animation.kernel.reshape(-1).tolist())
    weight = torch.tensor(animation.original_kernel)[None, None]
    bias = torch.tensor([animation.bias], dtype=torch.float64)
    options = {key: value for key, value in arguments.items() if key not in ("input", "kernel")}
    _check_sums(animation, F.conv_transpose2d(_input_of(animation), weight, bias, **options))
    assert (animation.cells == "zero").any()  # the sums ran over inserted zeros too


@pytest.mark.parametrize("name", POOLS)
def test_each_frames_max_or_mean_is_pytorchs_pooling(name):
    arguments = dict(POOLS[name])
    mode = arguments.pop("mode", "max")
    animation = animate("pool", values=True, mode=mode, **arguments)
    x, kernel = _input_of(animation), arguments.pop("kernel")
    arguments.pop("input")
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = pool(x, kernel, **arguments)
    assert {running.operation for running in animation.sums} == {mode} and animation.bias is None
    _check_sums(animation, expected)
    first = FramePainter(animation).sum_lines[0][0]
    assert first.startswith(f"{mode}(") and ") = " in first


def test_without_values_there_are_no_sums_and_the_kernel_is_its_shape():
    animation = animate("conv", input=7, kernel=3, dilation=2)
    assert animation.sums is None and animation.bias is None
    painter = FramePainter(animation)
    kernel = painter.panels[1]
    assert kernel.label == "kernel, dilation 2" and (kernel.rows, kernel.cols) == (5, 5)
    frame = np.asarray(animation.frames[0].convert("RGB"))

    def colour(gy: int, gx: int) -> str:
        left, top, _, _ = kernel.box(gy, gx)
        return "#{:02x}{:02x}{:02x}".format(*frame[top + 5, left + 5])

    assert colour(0, 0) == colour(2, 4) == colour(4, 2) == KERNEL_FILL  # the 3x3 weights' cells
    assert colour(0, 1) == colour(1, 1) == colour(3, 4) == "#ffffff"  # the dilation's gaps


def test_transposed_frames_show_the_kernel_beside_its_flipped_copy():
    animation = animate("transposed", input=3, kernel=3, stride=2, padding=1, values=True)
    painter = FramePainter(animation)
    labels = [panel.label for panel in painter.panels]
    assert labels == ["input, zeros inserted", "kernel", "flipped: slides", "output"]
    original, flipped = painter.panels[1], painter.panels[2]
    assert original.left + original.width < flipped.left  # side by side, the original first
    animation.frames  # noqa: B018 (drawn: the painter keeps what it wrote)
    written = {text.text for text in animation.slide_check().texts}
    assert {"kernel", "flipped: slides", f"bias {animation.bias:.0f}"} <= written
    assert {f"{w:.0f}" for w in animation.original_kernel.reshape(-1)} <= written
    # without values the cells are lettered, so that the flip shows: a b c ... i and i h g ... a
    lettered = FramePainter(animate("transposed", input=3, kernel=3, stride=2))
    lettered.frames()
    assert {"a", "e", "i"} <= {text.text for text in lettered.texts}


def test_the_last_frame_stays_at_least_two_seconds_in_the_gif(tmp_path):
    animation = animate("conv", input=4, kernel=3, values=True)
    for seconds, expected_last in ((0.6, 2000), (0.25, 2000), (3.0, 3000)):
        path = animation.save(tmp_path / f"{seconds}.gif", seconds_per_frame=seconds)
        with Image.open(path) as gif:
            durations = []
            for n in range(gif.n_frames):
                gif.seek(n)
                durations.append(gif.info["duration"])
        assert durations == [round(seconds * 1000)] * 3 + [expected_last], seconds
        assert durations[-1] >= LAST_FRAME_SECONDS * 1000
    assert animation.durations(0.6) == [600, 600, 600, 2000]


def test_slide_check_fails_when_text_is_small():
    """The check can fail: a 17x17 grid's numbers are too small for a slide (and the check says so)."""
    check = animate("conv", input=17, kernel=15, values=True).slide_check()
    assert not check.passes and check.below() and check.smallest_on_slide < 18


@pytest.mark.parametrize("name", ON_SLIDES)
def test_every_text_is_18_points_on_a_16_9_slide_and_the_frame_is_landscape(name):
    kind, arguments = ON_SLIDES[name]
    animation = animate(kind, **arguments)
    check = animation.slide_check()
    assert check.passes, f"{check}: {check.below()[:5]}"
    assert check.aspect > 1.2  # landscape: input | kernel | output side by side
    assert (check.width, check.height) == animation.frames[0].size
    written = {text.text for text in check.texts}
    assert "output" in written and any(label.startswith(("kernel", "max window")) for label in written)
    if animation.sums is not None:  # the running sums are among the texts checked
        assert any(text.endswith(f"= {animation.sums[-1].total:.0f}") for text in written)


@pytest.mark.parametrize("title", ["full", "short", "none"])
def test_title_full_short_or_none(title):
    animation = animate("transposed", input=3, kernel=3, stride=2, padding=1, title=title)
    written = [text.text for text in animation.slide_check().texts]
    operation = "transposed convolution: input 3, kernel 3, stride 2, padding 1"
    drawing = "as zero insertion: the flipped kernel slides with stride 1"
    assert (operation in written) == (title != "none")
    assert (drawing in written) == (title == "full")
    heading_line = "transposed convolution: i=3, k=3, s=2, p=1, d=1, output_padding=0"
    assert (heading_line in written) == (title == "full")  # short: the title says it already
    assert animation.title.startswith(operation)  # the attribute keeps the whole title whatever is drawn


def test_an_unknown_title_is_refused():
    with pytest.raises(SettingError, match="a title is one of full, short, none, not 'long'"):
        animate("conv", input=4, kernel=3, title="long")


@pytest.mark.parametrize(
    ("line", "pieces"),
    [
        ("o = floor((5 - 3 + 2*1) / 2) + 1 = 3", ["o = floor((5 - 3 + 2*1) / 2) + 1", "= 3"]),
        ("k_eff = d*(k - 1) + 1 = 2*(3 - 1) + 1 = 5", ["k_eff = d*(k - 1) + 1", "= 2*(3 - 1) + 1", "= 5"]),
        ("insert s - 1 = 1 zero(s) between inputs (3 -> 5), pad d*(k - 1) - p = 1 on each side",
         ["insert s - 1 = 1 zero(s) between inputs (3 -> 5),", "pad d*(k - 1) - p = 1 on each side"]),
        ("pooling: i=5, k=2", ["pooling:", "i=5,", "k=2"]),
    ],
)  # fmt: skip
def test_formulas_break_between_clauses_or_before_an_equals_never_inside(line, pieces):
    assert formula_pieces(line) == pieces


RECTANGULAR = AnimationCase("rectangular", "", "pool", {"input": (5, 7), "kernel": (2, 3), "ceil_mode": True})


@pytest.mark.parametrize("case", [*CONV_ARITHMETIC, RECTANGULAR], ids=lambda case: case.name)
def test_caption_lines_are_whole_formulas(case):
    """Every line under the frames is a run of whole pieces of one formula line, in order, none cut."""
    animation = case.animate(title="full")
    drawn = [line.strip() for line in FramePainter(animation).caption_lines]
    for line in animation.formula.splitlines():
        pieces = formula_pieces(line)
        while pieces:
            shown = drawn.pop(0)
            count = next(n for n in range(1, len(pieces) + 1) if " ".join(pieces[:n]) == shown)
            pieces = pieces[count:]
    assert drawn == []


def test_long_lines_wrap_between_pieces_and_a_wide_piece_is_never_cut():
    pieces = ["3·1", "+ 2·2", "+ 0·(-1)", "+ 1", "= 8"]
    lines = wrap_pieces(pieces, 14, len, indent="  ")
    assert lines == ["3·1 + 2·2", "  + 0·(-1) + 1", "  = 8"]
    assert wrap_pieces(["a-very-long-formula", "= 1"], 5, len) == ["a-very-long-formula", "= 1"]


def test_a_long_sum_shows_its_nonzero_terms_and_the_same_total():
    running = RunningSum.of("sum", [3, 0, 2, 1], [1, 2, 0, -1], bias=-1)
    assert running.text() == "3·1 + 0·2 + 2·0 + 1·(-1) + (-1) = 1"
    assert running.text(nonzero_only=True) == "3·1 + 1·(-1) + (-1) = 1"
    assert RunningSum.of("mean", [3, 1, 2, 0]).text() == "mean(3, 1, 2, 0) = 1.5"
    painter = FramePainter(animate("conv", input=7, kernel=5, padding=2, values=True))
    assert all("(zero terms left out)" in " ".join(lines) for lines in painter.sum_lines)
    short = FramePainter(animate("conv", input=5, kernel=3, values=True))  # 9 terms fit one line: all shown
    assert all(len(lines) == 1 and lines[0].count("·") == 9 for lines in short.sum_lines)


def test_cli_title_none_and_the_held_last_frame(run, fails, tmp_path):
    """`cnnlab animate --title` reaches the frames (here rather than in tests/cli: the frames are checked)."""
    code, _, err = run("animate", "conv", "-i", "4", "-k", "3", "--values", "--title", "none",
                       "--out", str(tmp_path / "a.gif"))  # fmt: skip
    assert code == 0, err
    untitled, titled = (animate("conv", input=4, kernel=3, values=True, title=t) for t in ("none", "short"))
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.size == untitled.frames[0].size and gif.size[1] < titled.frames[0].size[1]
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] == 2000
    refused = fails("animate", "conv", "-i", "4", "-k", "3", "--title", "long")
    assert "argument --title: invalid choice: 'long'" in refused


def test_a_rectangular_layers_height_and_width_formulas_stand_side_by_side():
    kind, arguments = ON_SLIDES["rectangular"]
    painter = FramePainter(animate(kind, **arguments))
    (left, height), (right, width) = painter.caption_columns
    assert height[0].startswith("height: convolution: i=5") and width[0].startswith("width: convolution: i=7")
    assert left == 0 < max(map(painter.font.getlength, height)) < right  # the width's column after the height's
