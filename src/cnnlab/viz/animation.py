"""Moving pictures of the size arithmetic: a window sliding over an input, one frame per output position.

``cnnlab.animate("conv", input=5, kernel=3, stride=2, padding=1)`` draws what ``cnnlab shape conv`` computes:
the input grid with its padding cells drawn apart from the real ones, the kernel window over it (a dilated
window with its gaps), and the output cell it fills, with the formula and its numbers under the frames. A
transposed convolution is drawn the lecture's way ("adds zeros between the feature map, then blurs it"): the
zeros inserted between the inputs, the border added, and the flipped kernel sliding over that with stride 1.
Pooling shows max or mean windows, with PyTorch's ceil mode.

The kernel is drawn as its own grid beside the input (a dilated one with its gaps; a transposed convolution's
beside its flipped copy, the one that slides). With ``values=True`` a small integer input, kernel and bias are
printed in the cells, each frame writes out its running sum (``3·1 + 2·2 + ... + 1 = 8``, :attr:`Animation.sums`),
and every output number is what ``F.conv2d``, ``F.conv_transpose2d``, ``F.max_pool2d`` or ``F.avg_pool2d``
gives (computed by them). Frames are landscape and drawn for a slide: every text is at least 18 points once a
frame is fitted to a 16:9 slide, for inputs up to 9x9 (:meth:`Animation.slide_check`). Frames are drawn with
Pillow (a 9x9 input in well under a second); an animation saves as a GIF (the last frame held
:data:`LAST_FRAME_SECONDS`), as an MP4 where imageio's ffmpeg plugin is installed, or as a self-contained HTML
player (:mod:`cnnlab.viz.animation_page`) that draws it in the page, with sliders for every setting.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cnnlab.errors import SettingError, is_whole_number, path_setting, whole_number
from cnnlab.files import atomic_output, write_text
from cnnlab.layers import shapes
from cnnlab.viz.animation_frames import INPUT, OUTSIDE, PADDING, PALETTE_SIZE, ZERO, FramePainter
from cnnlab.viz.animation_page import player_frame, player_page
from cnnlab.viz.animation_sums import RunningSum
from cnnlab.viz.animation_values import fill_values
from cnnlab.viz.slide import SlideCheck, TitleMode, title_mode, titled

__all__ = [
    "CONV_ARITHMETIC", "FORMATS", "KINDS", "LAST_FRAME_SECONDS", "MAX_FRAMES", "MAX_GRID", "Animation",
    "AnimationCase", "RunningSum", "animate",
]  # fmt: skip

KINDS = ("conv", "pool", "transposed")
FORMATS = ("gif", "mp4", "html")
# One frame per output position: past these, a picture of the arithmetic stops being readable.
MAX_FRAMES = 1024
MAX_GRID = 64
LAST_FRAME_SECONDS = 2.0
"""The finished output stays this long (at least) before a GIF or MP4 loops: long enough to read it."""

Pair = tuple[int, int]


@dataclass(frozen=True)
class AnimationCase:
    """A named animation: ``animate(kind, **arguments)``."""

    name: str
    caption: str
    kind: str
    arguments: dict[str, Any]

    def animate(self, values: bool = False, title: TitleMode = "short") -> Animation:
        return animate(self.kind, values=values, title=title, **self.arguments)


def _case(name: str, caption: str, kind: str, **arguments: Any) -> AnimationCase:
    return AnimationCase(name, caption, kind, arguments)


# Dumoulin and Visin, "A guide to convolution arithmetic for deep learning" (2016): the sizes of its figures
# (sections 2-5), each convolution beside the transposed convolution that undoes its shape.
CONV_ARITHMETIC = (
    _case("no_padding_no_strides", "no padding, unit strides", "conv", input=4, kernel=3),
    _case("arbitrary_padding_no_strides", "arbitrary padding, unit strides", "conv", input=5, kernel=4, padding=2),
    _case("same_padding_no_strides", "half (same) padding, unit strides", "conv", input=5, kernel=3, padding=1),
    _case("full_padding_no_strides", "full padding, unit strides", "conv", input=5, kernel=3, padding=2),
    _case("no_padding_strides", "no padding, strides", "conv", input=5, kernel=3, stride=2),
    _case("padding_strides", "padding, strides", "conv", input=5, kernel=3, stride=2, padding=1),
    _case("padding_strides_odd", "padding, strides, odd size", "conv", input=6, kernel=3, stride=2, padding=1),
    _case("no_padding_no_strides_transposed", "transposed: no padding, unit strides", "transposed", input=2,
          kernel=3),
    _case("arbitrary_padding_no_strides_transposed", "transposed: arbitrary padding, unit strides", "transposed",
          input=6, kernel=4, padding=2),
    _case("same_padding_no_strides_transposed", "transposed: half (same) padding, unit strides", "transposed",
          input=5, kernel=3, padding=1),
    _case("full_padding_no_strides_transposed", "transposed: full padding, unit strides", "transposed", input=7,
          kernel=3, padding=2),
    _case("no_padding_strides_transposed", "transposed: no padding, strides", "transposed", input=2, kernel=3,
          stride=2),
    _case("padding_strides_transposed", "transposed: padding, strides", "transposed", input=3, kernel=3, stride=2,
          padding=1),
    _case("padding_strides_odd_transposed", "transposed: padding, strides, odd size (output padding 1)",
          "transposed", input=3, kernel=3, stride=2, padding=1, output_padding=1),
    _case("dilation", "dilation 2, no padding, unit strides", "conv", input=7, kernel=3, dilation=2),
)  # fmt: skip


def _pair(value: int | tuple[int, int], name: str) -> Pair:
    if is_whole_number(value):
        return int(value), int(value)  # type: ignore[arg-type]
    if isinstance(value, tuple | list) and len(value) == 2 and all(is_whole_number(v) for v in value):
        return int(value[0]), int(value[1])
    raise SettingError(f"<{name}>: expected a whole number or a (height, width) pair, got {value!r}")


def _seconds(value: float) -> float:
    """How long each frame shows: a positive number of seconds (a GIF counts in milliseconds, at most a minute)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.001 <= value <= 60:
        return float(value)
    raise SettingError(f"<seconds_per_frame>: expected a number of seconds from 0.001 to 60, got {value!r}")


@dataclass(frozen=True)
class _Axis:
    """One axis of the picture: the grid's cells and where each output's window lies on them."""

    cells: tuple[str, ...]  # what each grid cell is
    source: tuple[int, ...]  # the input index a grid cell shows (-1: none)
    windows: tuple[tuple[int, ...], ...]  # per output position, the grid cells its window covers
    explanation: shapes.SizeExplanation


def _conv_axis(i: int, k: int, s: int, p: int, d: int) -> _Axis:
    explanation = shapes.explain_conv(i, k, s, p, d)
    size = i + 2 * p
    cells = tuple(INPUT if p <= g < p + i else PADDING for g in range(size))
    source = tuple(g - p if p <= g < p + i else -1 for g in range(size))
    windows = tuple(tuple(o * s + a * d for a in range(k)) for o in range(explanation.output))
    return _Axis(cells, source, windows, explanation)


def _pool_axis(i: int, k: int, s: int | None, p: int, d: int, ceil_mode: bool) -> _Axis:
    explanation = shapes.explain_pool(i, k, s, p, d, ceil_mode)
    stride = k if s is None else s
    windows = tuple(tuple(o * stride + a * d for a in range(k)) for o in range(explanation.output))
    size = max(i + 2 * p, max(window[-1] for window in windows) + 1)  # ceil mode may reach past the padding
    cells = tuple(INPUT if p <= g < p + i else PADDING if g < i + 2 * p else OUTSIDE for g in range(size))
    source = tuple(g - p if p <= g < p + i else -1 for g in range(size))
    return _Axis(cells, source, windows, explanation)


def _transposed_axis(i: int, k: int, s: int, p: int, d: int, output_padding: int) -> _Axis:
    explanation = shapes.explain_transposed(i, k, s, p, d, output_padding)
    stretched = (i - 1) * s + 1  # s - 1 zeros between neighbouring inputs
    before, after = d * (k - 1) - p, d * (k - 1) - p + output_padding  # a negative border crops instead
    cells, source = [], []
    for g in range(stretched + before + after):
        j = g - before
        if not 0 <= j < stretched:
            cells.append(PADDING)
            source.append(-1)
        elif j % s:
            cells.append(ZERO)
            source.append(-1)
        else:
            cells.append(INPUT)
            source.append(j // s)
    windows = tuple(tuple(o + a * d for a in range(k)) for o in range(explanation.output))
    return _Axis(tuple(cells), tuple(source), windows, explanation)


def _combine(row: str, col: str) -> str:
    for kind in (OUTSIDE, PADDING, ZERO):
        if kind in (row, col):
            return kind
    return INPUT


@dataclass
class Animation:
    """An animation of one sliding-window operation; ``frames`` draws it, ``save`` writes it.

    Attributes:
        kind: ``conv``, ``pool`` or ``transposed``.
        name: a file stem that spells the arguments, such as ``conv-i5-k3-s2-p1``.
        title: the operation and its arguments.
        formula: the formula with the numbers filled in, as ``cnnlab shape`` prints it (both axes when they
            differ).
        cells: ``(H, W)`` array of what each cell of the grid the window slides over is (``input``, ``padding``,
            ``zero`` inserted, or ``outside`` the padded input in ceil mode).
        windows: per output position ``(y, x)``, in row order, the grid cells ``(gy, gx)`` its window covers.
        output_shape: ``(H, W)`` of the output.
        grid_values: with values, what each grid cell holds (padding: 0, or -inf for max pooling); else ``None``.
        kernel: with values, the kernel as it is applied to the grid (flipped for a transposed convolution).
        outputs: with values, the output, as PyTorch computes it (with the bias).
        mode: ``max`` or ``mean`` for pooling.
        kernel_shape: ``(kh, kw)``, the kernel's (a pooling's window's) size.
        dilation: ``(dh, dw)``: the kernel is drawn with ``d - 1`` gaps between its cells.
        original_kernel: with values, a transposed convolution's kernel as PyTorch holds it (``kernel`` is it
            flipped); else ``None``.
        bias: with values, a convolution's bias (a small integer PyTorch adds too); else ``None``.
        sums: with values, per frame, the output cell written out (:class:`RunningSum`); else ``None``.
        title_mode: ``short`` (the frames' title is the first line of ``title``), ``full`` (all of it, and every
            line of the formula) or ``none`` (no title, for a slide that has its own).
    """

    kind: str
    name: str
    title: str
    formula: str
    cells: np.ndarray
    windows: list[list[tuple[int, int]]]
    output_shape: tuple[int, int]
    grid_values: np.ndarray | None = None
    kernel: np.ndarray | None = None
    outputs: np.ndarray | None = None
    mode: str = ""
    kernel_shape: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    original_kernel: np.ndarray | None = None
    bias: float | None = None
    sums: list[RunningSum] | None = None
    title_mode: TitleMode = "short"
    _painter: FramePainter | None = field(default=None, repr=False)
    _frames: list[Image.Image] | None = field(default=None, repr=False)

    @property
    def heading(self) -> str:
        """The title the frames show for :attr:`title_mode` (empty for ``none``)."""
        return titled(self.title_mode, self.title.splitlines()[0], self.title)

    @property
    def caption(self) -> str:
        """The formula lines the frames show: all of :attr:`formula` with a full title or both axes' formulas;
        otherwise without its first line, which says what the title says."""
        lines = self.formula.splitlines()
        if self.title_mode == "full" or self.formula.startswith("height: "):
            return self.formula
        return "\n".join(lines[1:])

    @property
    def positions(self) -> list[tuple[int, int]]:
        """The output position of each frame, row by row."""
        height, width = self.output_shape
        return [(y, x) for y in range(height) for x in range(width)]

    @property
    def frames(self) -> list[Image.Image]:
        """One picture per output position (drawn on first use)."""
        if self._frames is None:
            self._painter = FramePainter(self)
            self._frames = self._painter.frames()
        return self._frames

    def slide_check(self) -> SlideCheck:
        """Every text the frames draw, with its size in pixels, against the frame's size in pixels: what the
        smallest text becomes once a frame is fitted to a 16:9 slide (``.passes``: at least 18 points)."""
        self.frames  # noqa: B018 (drawn once; the painter keeps what it drew)
        assert self._painter is not None
        width, height = self._painter.size
        return SlideCheck(width=width, height=height, texts=tuple(self._painter.texts), unit="px")

    def durations(self, seconds_per_frame: float = 0.6) -> list[int]:
        """Each frame's time on screen in milliseconds: ``seconds_per_frame``, the last frame at least
        :data:`LAST_FRAME_SECONDS` (so that the finished output can be read before the loop starts again)."""
        seconds_per_frame = _seconds(seconds_per_frame)
        each = round(seconds_per_frame * 1000)
        last = round(max(seconds_per_frame, LAST_FRAME_SECONDS) * 1000)
        return [each] * (len(self.positions) - 1) + [last]

    def gif(self, seconds_per_frame: float = 0.6) -> bytes:
        """The animation as GIF bytes, looping, the last frame held :data:`LAST_FRAME_SECONDS`."""
        durations = self.durations(seconds_per_frame)
        frames = self.frames  # palette images sharing one palette: written as they are
        buffer = io.BytesIO()
        # Pillow writes each frame as its change from the one before, the unchanged pixels in a transparent
        # colour: naming one the palette leaves unused spares it a histogram of every frame to find one.
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0, disposal=1,
                       duration=durations, transparency=PALETTE_SIZE)  # fmt: skip
        return buffer.getvalue()

    def html(self, seconds_per_frame: float = 0.6) -> str:
        """A self-contained page that draws the animation itself, with sliders for the settings (no network)."""
        return player_page(self, _seconds(seconds_per_frame))

    def save(self, out: str | Path, seconds_per_frame: float = 0.6) -> Path:
        """Write the animation to ``out``: ``.gif``, ``.mp4`` (needs imageio's ffmpeg plugin) or ``.html``.

        Raises:
            SettingError: ``out`` is not a path or has another suffix, ``seconds_per_frame`` is not a number of
                seconds from 0.001 to 60.
            ValueError: MP4 without imageio and imageio-ffmpeg.
            OSError: the file cannot be written.
        """
        out = path_setting("out", out).expanduser()
        seconds_per_frame = _seconds(seconds_per_frame)
        suffix = out.suffix.lower().lstrip(".")
        if suffix not in FORMATS:
            ending = out.suffix or "nothing"
            raise SettingError(f"animations are written as {', '.join(FORMATS)}; <out> ends in {ending}")
        if suffix == "html":
            return write_text(out, self.html(seconds_per_frame))
        if suffix == "mp4":
            return self._mp4(out, seconds_per_frame)
        with atomic_output(out) as temporary:
            temporary.write_bytes(self.gif(seconds_per_frame))
        return out

    def _mp4(self, out: Path, seconds_per_frame: float) -> Path:
        try:
            import imageio_ffmpeg
        except ImportError:
            raise ValueError("MP4 needs imageio's ffmpeg plugin: pip install imageio-ffmpeg (or write .gif)") from None
        width, height = self.frames[0].size
        even = (width + width % 2, height + height % 2)  # H.264 wants even sizes
        with atomic_output(out) as temporary:
            # The temporary name does not end in .mp4: say the container, and one frame per second of the picture.
            writer = imageio_ffmpeg.write_frames(
                str(temporary), even, fps=1 / seconds_per_frame, codec="libx264", macro_block_size=2,
                output_params=["-f", "mp4"],
            )  # fmt: skip
            writer.send(None)
            # A video has one frame rate: the last frame is repeated to stay LAST_FRAME_SECONDS.
            repeats = max(1, math.ceil(LAST_FRAME_SECONDS / seconds_per_frame - 1e-9))
            try:
                for frame in [*self.frames, *[self.frames[-1]] * (repeats - 1)]:
                    writer.send(np.ascontiguousarray(np.asarray(_padded(frame, even))).tobytes())
            finally:
                writer.close()
        return out

    def _repr_html_(self) -> str:
        return player_frame(self)

    def __str__(self) -> str:
        return f"{self.title}: {len(self.positions)} frames\n{self.formula}"


def _padded(frame: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The frame in RGB (ffmpeg reads 3 bytes a pixel, not a palette index) on a canvas of ``size``."""
    if frame.size == size:
        return frame.convert("RGB")
    canvas = Image.new("RGB", size, "white")
    canvas.paste(frame, (0, 0))
    return canvas


def _formula(height: shapes.SizeExplanation, width: shapes.SizeExplanation) -> str:
    if height.text == width.text:
        return height.text
    return f"height: {height.text}\nwidth: {width.text}"


def animate(
    kind: str,
    *,
    input: int | tuple[int, int],
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    output_padding: int | tuple[int, int] = 0,
    mode: str = "max",
    ceil_mode: bool = False,
    values: bool = False,
    seed: int = 0,
    title: TitleMode = "short",
) -> Animation:
    """An animation of a convolution, a pooling or a transposed convolution, one frame per output position.

    Sizes are a whole number or a ``(height, width)`` pair. ``stride`` defaults to 1 (a pooling's to its
    kernel, as in PyTorch).

    Args:
        kind: ``conv``, ``pool`` or ``transposed``.
        input, kernel, stride, padding, dilation: the layer's, as ``cnnlab shape`` takes them.
        output_padding: a transposed convolution's.
        mode: ``max`` or ``mean`` pooling.
        ceil_mode: pooling's rounding up.
        values: print a small integer input (0..3; 0..9 for pooling), kernel (-1..2) and bias (-2..2, not 0) in
            the cells, seeded by ``seed``, the outputs PyTorch computes from them, and each output's running sum.
        title: ``short`` (the operation and its sizes), ``full`` (with how it is drawn, and the formula's every
            line) or ``none`` (for a slide with its own title).

    Raises:
        SettingError: an unknown kind, mode or title, a size that is not a whole number or a pair of them (a bool
            is not one; NumPy's integers are), a seed below 0, more than :data:`MAX_FRAMES` frames.
        ValueError: a combination PyTorch refuses (the same one line as ``cnnlab shape``).
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise SettingError(f"<kind> must be one of {', '.join(KINDS)}, got {kind!r}")
    seed = whole_number("seed", seed, minimum=0)
    shown_title = title_mode(title)  # (``title`` is the operation's title below)
    if mode not in ("max", "mean"):
        raise SettingError(f"<mode> must be max or mean, got {mode!r}")
    i, k = _pair(input, "input"), _pair(kernel, "kernel")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    op = _pair(output_padding, "output_padding")
    if kind == "pool":
        if mode == "mean" and d != (1, 1):
            raise SettingError("mean pooling has no dilation in PyTorch (avg_pool2d): use <dilation=1> or <mode=max>")
        s = k if stride is None else _pair(stride, "stride")
        axes = [_pool_axis(i[a], k[a], s[a], p[a], d[a], ceil_mode) for a in range(2)]
        title = f"{mode} pooling: input {_shown(i)}, kernel {_shown(k)}, stride {_shown(s)}, padding {_shown(p)}"
        title += f", dilation {_shown(d)}" if d != (1, 1) else ""
        title += ", ceil mode" if ceil_mode else ""
    elif kind == "conv":
        s = (1, 1) if stride is None else _pair(stride, "stride")
        axes = [_conv_axis(i[a], k[a], s[a], p[a], d[a]) for a in range(2)]
        title = f"convolution: input {_shown(i)}, kernel {_shown(k)}, stride {_shown(s)}, padding {_shown(p)}"
        title += f", dilation {_shown(d)}" if d != (1, 1) else ""
    else:
        s = (1, 1) if stride is None else _pair(stride, "stride")
        axes = [_transposed_axis(i[a], k[a], s[a], p[a], d[a], op[a]) for a in range(2)]
        title = (f"transposed convolution: input {_shown(i)}, kernel {_shown(k)}, stride {_shown(s)}, "
                 f"padding {_shown(p)}" + (f", output padding {_shown(op)}" if op != (0, 0) else "")
                 + (f", dilation {_shown(d)}" if d != (1, 1) else "")
                 + "\nas zero insertion: the flipped kernel slides with stride 1")  # fmt: skip
    rows, cols = axes
    _check_size(len(rows.windows), len(cols.windows), len(rows.cells), len(cols.cells))
    cells = np.array([[_combine(r, c) for c in cols.cells] for r in rows.cells], dtype=object)
    windows = [[(gy, gx) for gy in wy for gx in wx] for wy in rows.windows for wx in cols.windows]
    name = _file_stem(kind, mode, i=i, k=k, s=s, p=p, d=d, op=op, ceil=ceil_mode)
    animation = Animation(
        kind=kind, name=name, title=title, formula=_formula(rows.explanation, cols.explanation), cells=cells,
        windows=windows, output_shape=(len(rows.windows), len(cols.windows)), mode=mode if kind == "pool" else "",
        kernel_shape=k, dilation=d, title_mode=shown_title,
    )  # fmt: skip
    if values:
        fill_values(animation, rows.source, cols.source, i, k, s, p, d, op, ceil_mode, seed)
    return animation


def _check_size(out_rows: int, out_cols: int, grid_rows: int, grid_cols: int) -> None:
    frames = out_rows * out_cols
    if frames > MAX_FRAMES:
        raise SettingError(
            f"an animation draws one frame per output position: a {out_rows}x{out_cols} output is {frames} frames, "
            f"more than {MAX_FRAMES}; use a smaller <input>"
        )
    if max(grid_rows, grid_cols) > MAX_GRID:
        raise SettingError(
            f"the grid the window slides over is {grid_rows}x{grid_cols} cells, more than {MAX_GRID} on a side; "
            "use a smaller <input>"
        )


def _file_stem(kind: str, mode: str, *, i: Pair, k: Pair, s: Pair, p: Pair, d: Pair, op: Pair, ceil: bool) -> str:
    words = [f"{mode}pool" if kind == "pool" else kind, f"i{_shown(i)}", f"k{_shown(k)}", f"s{_shown(s)}"]
    words += [f"p{_shown(p)}"]
    words += [f"d{_shown(d)}"] if d != (1, 1) else []
    words += [f"op{_shown(op)}"] if kind == "transposed" and op != (0, 0) else []
    words += ["ceil"] if kind == "pool" and ceil else []
    return "-".join(words)


def _shown(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"
