"""cnnlab.animate: the frames are the output positions, the text is `cnnlab shape`'s, the numbers are PyTorch's."""

import io
import math
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import cnnlab
from cnnlab.layers import shapes
from cnnlab.viz.animation import CONV_ARITHMETIC, INPUT, OUTSIDE, PADDING, ZERO, animate
from cnnlab.viz.animation_frames import FramePainter
from tests._pictures import check_picture

CASES = {case.name: case for case in CONV_ARITHMETIC}
POOLS = {
    "max-2": {"input": 4, "kernel": 2},
    "max-3-2-1": {"input": 5, "kernel": 3, "stride": 2, "padding": 1},
    "max-ceil": {"input": 5, "kernel": 2, "ceil_mode": True},
    "max-ceil-padding": {"input": 6, "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    "max-dilated": {"input": 7, "kernel": 2, "stride": 1, "dilation": 2},
    "mean-2": {"input": 4, "kernel": 2, "mode": "mean"},
    "mean-padding": {"input": 5, "kernel": 3, "stride": 2, "padding": 1, "mode": "mean"},
    "mean-ceil": {"input": 7, "kernel": 3, "stride": 2, "ceil_mode": True, "mode": "mean"},
    "max-rectangular": {"input": (5, 7), "kernel": (2, 3), "ceil_mode": True},
}


def _shape_command_text(run, kind: str, arguments: dict) -> str:
    """What `cnnlab shape KIND ...` prints for one axis of ``arguments``."""
    flags = {"input": "-i", "kernel": "-k", "stride": "-s", "padding": "-p", "dilation": "-d"}
    words = [word for name, flag in flags.items() if name in arguments for word in (flag, str(arguments[name]))]
    words += ["-o", str(arguments["output_padding"])] if "output_padding" in arguments else []
    words += ["--ceil-mode"] if arguments.get("ceil_mode") else []
    code, out, err = run("shape", kind, *words)
    assert code == 0, err
    return out.rstrip("\n")


def _window_sums(animation: cnnlab.Animation) -> np.ndarray:
    """Each output from the grid and the window the picture draws: the sum of cell * kernel weight, plus the bias."""
    grid, kernel = animation.grid_values, animation.kernel
    sums = np.zeros(animation.output_shape)
    for (y, x), window in zip(animation.positions, animation.windows, strict=True):
        cells = np.array([grid[gy, gx] for gy, gx in window])
        sums[y, x] = (cells * kernel.reshape(-1)).sum() + animation.bias
    return sums


def _window_pools(animation: cnnlab.Animation) -> np.ndarray:
    """Each pooled output from the drawn window: max, or the mean over the padded input (PyTorch's divisor)."""
    pooled = np.zeros(animation.output_shape)
    for (y, x), window in zip(animation.positions, animation.windows, strict=True):
        inside = [(gy, gx) for gy, gx in window if animation.cells[gy, gx] != OUTSIDE]
        values = np.array([animation.grid_values[gy, gx] for gy, gx in inside])
        pooled[y, x] = values.max() if animation.mode == "max" else values.sum() / len(inside)
    return pooled


def _input_of(animation: cnnlab.Animation) -> torch.Tensor:
    """The input tensor, read back from the cells the picture marks as input."""
    rows = [r for r in range(animation.cells.shape[0]) if (animation.cells[r] == INPUT).any()]
    cols = [c for c in range(animation.cells.shape[1]) if (animation.cells[:, c] == INPUT).any()]
    return torch.tensor(animation.grid_values[np.ix_(rows, cols)], dtype=torch.float64)


def test_the_set_is_the_guides_fifteen():
    assert len(CONV_ARITHMETIC) == 15 and len(CASES) == 15
    assert sum(case.kind == "transposed" for case in CONV_ARITHMETIC) == 7
    assert {"dilation", "padding_strides_odd", "padding_strides_odd_transposed"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_one_frame_per_output_position_and_shape_is_pytorchs(name):
    case = CASES[name]
    animation = case.animate(values=True)
    height, width = animation.output_shape
    assert len(animation.frames) == len(animation.positions) == len(animation.windows) == height * width
    assert animation.outputs.shape == (height, width)
    window_cells = {len(window) for window in animation.windows}
    kernel = case.arguments["kernel"]
    assert window_cells == {kernel * kernel}


@pytest.mark.parametrize("name", CASES)
def test_formula_is_cnnlab_shapes_text(name, run):
    case = CASES[name]
    animation = case.animate()
    assert animation.formula == _shape_command_text(run, case.kind, case.arguments)


@pytest.mark.parametrize("name", CASES)
def test_with_values_every_output_is_pytorchs_and_the_drawn_window_computes_it(name):
    case = CASES[name]
    animation = case.animate(values=True)
    x = _input_of(animation)[None, None]
    arguments = {key: value for key, value in case.arguments.items() if key not in ("input", "kernel")}
    bias = torch.tensor([animation.bias], dtype=torch.float64)
    if case.kind == "conv":
        weight = torch.tensor(animation.kernel, dtype=torch.float64)
        expected = F.conv2d(x, weight[None, None], bias, **arguments)
    else:  # the picture applies the flipped kernel; PyTorch's transposed convolution takes the unflipped one
        weight = torch.tensor(animation.kernel, dtype=torch.float64).flip(0, 1)
        np.testing.assert_array_equal(weight.numpy(), animation.original_kernel)
        expected = F.conv_transpose2d(x, weight[None, None], bias, **arguments)
    np.testing.assert_array_equal(animation.outputs, expected[0, 0].numpy())
    np.testing.assert_array_equal(_window_sums(animation), animation.outputs)


@pytest.mark.parametrize("name", POOLS)
def test_pooling_windows_and_values_are_pytorchs(name, run):
    arguments = POOLS[name]
    animation = animate("pool", values=True, **arguments)
    x = _input_of(animation)[None, None]
    kernel, stride = arguments["kernel"], arguments.get("stride")
    common = {"stride": stride, "padding": arguments.get("padding", 0), "ceil_mode": arguments.get("ceil_mode", False)}
    if arguments.get("mode", "max") == "max":
        expected = F.max_pool2d(x, kernel, dilation=arguments.get("dilation", 1), **common)
    else:
        expected = F.avg_pool2d(x, kernel, **common)
    np.testing.assert_array_equal(animation.outputs, expected[0, 0].numpy())
    np.testing.assert_allclose(_window_pools(animation), animation.outputs)
    assert len(animation.frames) == expected.shape[-2] * expected.shape[-1]
    if not isinstance(arguments["input"], tuple):
        shown = {key: value for key, value in arguments.items() if key != "mode"}
        assert animation.formula == _shape_command_text(run, "pool", shown)


def test_cells_show_padding_zeros_and_ceil_mode_apart():
    padded = CASES["padding_strides"].animate()
    assert (padded.cells == PADDING).sum() == 7 * 7 - 5 * 5 and (padded.cells == INPUT).sum() == 25
    transposed = CASES["padding_strides_odd_transposed"].animate()
    # 3 inputs stretched to 5 by one zero between neighbours, a border of d(k - 1) - p = 1, +1 bottom/right
    assert transposed.cells.shape == (8, 8)
    assert (transposed.cells == INPUT).sum() == 9 and (transposed.cells == ZERO).sum() == 5 * 5 - 9
    assert list(transposed.cells[:, 0]) == [PADDING] * 8 and list(transposed.cells[-2:, 3]) == [PADDING] * 2
    ceil = animate("pool", input=5, kernel=2, ceil_mode=True)
    assert ceil.cells.shape == (6, 6) and (ceil.cells == OUTSIDE).sum() == 11
    dilated = CASES["dilation"].animate()
    assert dilated.windows[0] == [(gy, gx) for gy in (0, 2, 4) for gx in (0, 2, 4)]  # the gaps are not in it


def test_rectangular_sizes_and_both_axes_in_the_formula():
    animation = animate("conv", input=(5, 7), kernel=(3, 2), stride=(2, 1), padding=(1, 0), values=True)
    assert animation.output_shape == (3, 6) and len(animation.frames) == 18
    height, width = shapes.explain_conv(5, 3, 2, 1), shapes.explain_conv(7, 2, 1, 0)
    assert animation.formula == f"height: {height.text}\nwidth: {width.text}"
    x = _input_of(animation)[None, None]
    weight, bias = torch.tensor(animation.kernel)[None, None], torch.tensor([animation.bias], dtype=torch.float64)
    expected = F.conv2d(x, weight, bias, stride=(2, 1), padding=(1, 0))[0, 0]
    np.testing.assert_array_equal(animation.outputs, expected)
    assert animation.name == "conv-i5x7-k3x2-s2x1-p1x0"


@given(
    kind=st.sampled_from(["conv", "transposed"]),
    i=st.integers(1, 7), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 3), d=st.integers(1, 2),
    op=st.integers(0, 2), seed=st.integers(0, 5),
)  # fmt: skip
def test_what_pytorch_accepts_is_drawn_with_its_numbers_and_what_it_refuses_is_refused(kind, i, k, s, p, d, op, seed):
    arguments = {"input": i, "kernel": k, "stride": s, "padding": p, "dilation": d}
    x, weight = torch.ones(1, 1, i, i), torch.ones(1, 1, k, k)
    try:
        if kind == "conv":
            out = F.conv2d(x, weight, stride=s, padding=p, dilation=d)
        else:
            arguments["output_padding"] = op
            out = F.conv_transpose2d(x, weight, stride=s, padding=p, output_padding=op, dilation=d)
    except RuntimeError:
        out = None
    # PyTorch returns an empty map when a transposed convolution's padding crops exactly all of its output;
    # cnnlab refuses that as it refuses any other crop (as `cnnlab shape` does).
    if out is None or out.numel() == 0:
        with pytest.raises(ValueError):
            animate(kind, **arguments)
        return
    animation = animate(kind, values=True, seed=seed, **arguments)
    np.testing.assert_array_equal(_window_sums(animation), animation.outputs)
    assert animation.outputs.shape == animation.output_shape == (len(animation.windows) // animation.output_shape[1],
                                                                 animation.output_shape[1])  # fmt: skip


def test_frames_move_the_window_and_fill_the_output():
    animation = CASES["no_padding_strides"].animate(values=True)
    painter = FramePainter(animation)
    pixels = [np.asarray(frame.convert("RGB"), dtype=np.int16) for frame in animation.frames]
    for frame in animation.frames:
        check_picture_of(frame)

    source, output = painter.panels[0], painter.panels[-1]

    def centre(panel, gy: int, gx: int) -> tuple[int, int]:
        left, top, _, _ = panel.box(gy, gx)
        return top + painter.cell // 4, left + painter.cell // 4

    # grid cell (0, 0) is in the first window only; the second frame leaves it
    y, x = centre(source, 0, 0)
    assert not np.array_equal(pixels[0][y, x], pixels[1][y, x])
    assert pixels[0][y, x][2] > pixels[0][y, x][0]  # blue under the window
    # output (0, 1) is blank before its frame and filled from it on
    y, x = centre(output, 0, 1)
    assert tuple(pixels[0][y, x]) == (255, 255, 255) and tuple(pixels[1][y, x]) != (255, 255, 255)


def check_picture_of(frame: Image.Image) -> None:
    buffer = io.BytesIO()
    frame.save(buffer, format="PNG")
    buffer.seek(0)
    check_picture(buffer)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
        self.sources += [value or "" for name, value in attrs if name in ("src", "href")]


def test_gif_html_and_mp4_files_decode(tmp_path):
    animation = CASES["padding_strides"].animate(values=True)
    gif = animation.save(tmp_path / "a.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 9 and image.info["loop"] == 0 and image.info["duration"] == 600
        image.seek(4)
        check_picture(gif)
    page = animation.save(tmp_path / "a.html", seconds_per_frame=0.25)
    parser = _Images()
    text = page.read_text()
    parser.feed(text)
    # the page draws the animation itself (tests/viz/test_animation_page*.py): no frames, nothing from a network
    assert parser.images == [] and parser.sources == [] and '"delay_ms":250' in text
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    video = animation.save(tmp_path / "a.mp4", seconds_per_frame=0.5)
    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    # 9 frames, the last repeated to stay 2 s: 3 more at 2 frames per second
    assert math.isclose(meta["fps"], 2.0) and sum(1 for _ in reader) == 9 + 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.gif", "a.html", "a.mp4"]  # no leftovers


def test_jupyter_shows_the_player():
    animation = animate("pool", input=4, kernel=2)
    shown = animation._repr_html_()
    assert shown.startswith('<iframe srcdoc="') and "&quot;kernel&quot;:[2,2]" in shown
    assert str(animation).startswith("max pooling: input 4, kernel 2, stride 2, padding 0: 4 frames")


@pytest.mark.parametrize(
    ("kind", "arguments", "message"),
    [
        ("conv", {"input": 3, "kernel": 5}, "kernel 5 is larger than the padded input 3 (i=3, p=0)"),
        ("transposed", {"input": 3, "kernel": 3, "stride": 2, "output_padding": 2}, "output_padding 2 must be smaller"),
        ("pool", {"input": 4, "kernel": 2, "padding": 2}, "padding 2 is more than half the pooling window 2"),
        ("pool", {"input": 5, "kernel": 3, "dilation": 2, "mode": "mean"}, "mean pooling has no dilation"),
        ("conv", {"input": 64, "kernel": 3}, "a 62x62 output is 3844 frames, more than 1024"),
        ("conv", {"input": (3, 3, 3), "kernel": 3}, "input: expected a whole number or a (height, width) pair"),
        ("blur", {"input": 3, "kernel": 3}, "kind must be one of conv, pool, transposed"),
        ("pool", {"input": 3, "kernel": 3, "mode": "median"}, "mode must be max or mean"),
    ],
)
def test_what_pytorch_refuses_is_refused_in_one_line(kind, arguments, message):
    with pytest.raises(ValueError) as refused:
        animate(kind, **arguments)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_save_refuses_another_format_and_writes_nothing(tmp_path):
    animation = animate("conv", input=3, kernel=2)
    with pytest.raises(ValueError, match="animations are written as gif, mp4, html; out ends in .png"):
        animation.save(tmp_path / "a.png")
    assert list(tmp_path.iterdir()) == []
