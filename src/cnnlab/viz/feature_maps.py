"""Feature maps and filters as grids of small images: every channel of a layer is one tile.

Each picture is made for a slide: within :data:`~cnnlab.viz.figure.SLIDE_CANVAS` (16:9) with text of
:data:`~cnnlab.viz.figure.SLIDE_FONT`, so that its smallest text is 18 points or more once it fills a 16:9 slide.
The grid takes the columns that make its tiles largest in the space left (landscape where the count allows), and
the picture is cut to what it holds: a layer of 6 maps is a smaller picture than one of 512, never padded to it.
Tiles are in channel order, row by row; the picture's :class:`~cnnlab.viz.figure.Grid` says how many rows and
columns the grid has. The grid is drawn as one image (a mosaic), so even 2,048 tiles take a fraction of a second.
Several layers stack into one picture, a panel each (:func:`draw_panels`); :func:`split_panels` draws each at its
own size again.

The input is drawn beside the maps (a panel on the left), so that a reader sees what the maps are of. The colours
say what the values are: maps with negative values (a convolution before its ReLU or tanh) on a diverging scale
centred on zero (``RdBu_r``: red positive, blue negative, white zero), maps that never go below zero (after a ReLU,
a pooling of them) on a sequential one from zero (``viridis``); kernels always diverging, centred on zero.

Maps of 1x1 (LeNet-5's C5, a global pooling, a classifier head written as convolutions) would be grids of
single coloured squares, which hide the one thing each holds, a number: they are drawn as a bar chart of
the activations instead, a bar per channel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlab.viz.figure import DPI, SLIDE_CANVAS, SLIDE_FONT, Grid, Picture, mosaic, mosaic_shape, new_picture
from cnnlab.viz.slide import TitleMode, titled

__all__ = [
    "DIVERGING",
    "SCALES",
    "SEQUENTIAL",
    "Panel",
    "draw_panels",
    "feature_map_panel",
    "filter_panel",
    "plot_feature_maps",
    "plot_filters",
    "split_panels",
]

SCALES = ("layer", "channel")
"""How feature maps are coloured: one scale for the whole layer (maps compare; weak ones look dark) or
each map stretched to its own range (every pattern shows; strengths do not compare)."""

DIVERGING = "RdBu_r"
"""The colour map of signed values (pre-activation maps, kernels): red positive, white zero, blue negative."""

SEQUENTIAL = "viridis"
"""The colour map of values that are never negative (maps after a ReLU): dark at zero, bright at the largest."""

_PAD = 12  # pixels around everything and between the input, the grid and the colour bar
_LINE = round(SLIDE_FONT * DPI / 72 * 1.35)  # pixels per line of text
_CHAR = SLIDE_FONT * DPI / 72 * 0.6  # pixels per character, about (DejaVu Sans averages 0.6 em)
_INPUT = 150  # pixels a side of the input panel
_BAR = 110  # pixels right of the grid for the colour bar, its numbers and its label
_BIGGEST_TILE = 200  # pixels: a layer of few maps is not blown up past this
_TILES = {"min_side": 64, "gap": 1 / 30}  # mosaics of tiles enlarged to 64 pixels, lines a thirtieth of them


@dataclass(frozen=True)
class _Layout:
    """Where things go, in pixels from the picture's top-left corner: ``(left, top, width, height)`` boxes."""

    width: int
    height: int
    title: str
    grid: tuple[int, int, int, int]
    input: tuple[int, int, int, int] | None = None
    bar: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Panel:
    """One grid of tiles (or bars), ready to draw: the mosaic, where it goes, and how it is coloured.

    ``image`` is the input drawn beside it (``(H, W)`` gray or ``(H, W, 3)``, uint8), or None.
    """

    canvas: np.ndarray
    layout: _Layout
    grid: Grid
    cmap: str = SEQUENTIAL
    limits: tuple[float, float] | None = None
    colorbar: str | None = None
    image: np.ndarray | None = None
    image_title: str = "input"


def _wrap_title(title: str) -> list[str]:
    """The title's lines, each broken to fit the widest canvas."""
    import textwrap

    chars = int((SLIDE_CANVAS[0] - 2 * _PAD) / _CHAR)
    return [part for line in title.splitlines() for part in (textwrap.wrap(line, chars) or [""])]


def _best_columns(count: int, tile_hw: tuple[int, int], room: tuple[float, float], fixed_cols: int | None) -> int:
    """The number of columns that draws ``count`` tiles largest within ``room`` (width, height) pixels; of equal
    sizes, the one with the fewest empty places."""
    if fixed_cols is not None:
        return fixed_cols

    def size(cols: int) -> tuple[float, int]:
        height, width = mosaic_shape(count, tile_hw, cols, **_TILES)
        empty = math.ceil(count / cols) * cols - count
        return min(room[0] / width, room[1] / height), -empty

    return max(range(1, count + 1), key=size)


def _layout(
    count: int,
    tile_hw: tuple[int, int],
    title: str,
    *,
    with_input: bool,
    with_bar: bool,
    biggest_tile: float = _BIGGEST_TILE,
    cols: int | None = None,
) -> tuple[_Layout, int]:
    """Lay out ``count`` tiles of ``tile_hw`` with the title above, the input left and a colour bar right: the
    grid gets the columns that make its tiles largest in the canvas left over, and the picture is cut to fit.
    Returns the layout and the number of columns."""
    lines = _wrap_title(title) if title else []
    top = _PAD + len(lines) * _LINE
    left = _PAD + (_INPUT + _PAD if with_input else 0)
    right = (_BAR if with_bar else 0) + _PAD
    room = (SLIDE_CANVAS[0] - left - right, SLIDE_CANVAS[1] - top - _PAD)
    cols = _best_columns(count, tile_hw, room, cols)
    canvas_h, canvas_w = mosaic_shape(count, tile_hw, cols, **_TILES)
    enlarged = max(tile_hw) * mosaic_shape(1, tile_hw, 1, **_TILES)[0] // tile_hw[0]  # a tile's side in the mosaic
    tile_scale = biggest_tile / enlarged
    scale = min(room[0] / canvas_w, room[1] / canvas_h, tile_scale)
    grid_w, grid_h = max(1, round(canvas_w * scale)), max(1, round(canvas_h * scale))
    body = max(grid_h, _INPUT + _LINE if with_input else 0)
    width = left + grid_w + right
    width = max(width, min(SLIDE_CANVAS[0], round(max((len(line) for line in lines), default=0) * _CHAR) + 2 * _PAD))
    spare = (width - (left + grid_w + right)) // 2  # a title wider than the rest: centre the rest under it
    grid = (left + spare, top + (body - grid_h) // 2, grid_w, grid_h)
    image = (_PAD + spare, top + (body - _INPUT + _LINE) // 2, _INPUT, _INPUT) if with_input else None
    bar = (grid[0] + grid_w + _PAD, grid[1], 14, grid_h) if with_bar else None
    return _Layout(width, top + body + _PAD, "\n".join(lines), grid, image, bar), cols


def _bar_layout(channels: int, title: str, *, with_input: bool) -> _Layout:
    """A bar chart of ``channels`` bars beside the input: its axis numbers and labels fit inside the canvas."""
    lines = _wrap_title(title) if title else []
    top = _PAD + len(lines) * _LINE
    axis_left, axis_bottom = 80, 3 * _LINE  # the value axis's numbers and label; the channel axis's
    left = _PAD + (_INPUT + _PAD if with_input else 0) + axis_left
    plot_w = min(max(6 * channels, 300), SLIDE_CANVAS[0] - left - 2 * _PAD)
    plot_h = min(260, SLIDE_CANVAS[1] - top - axis_bottom - _PAD)
    body = max(plot_h + axis_bottom, _INPUT + _LINE if with_input else 0)
    width = max(
        left + plot_w + 2 * _PAD, min(SLIDE_CANVAS[0], round(max(map(len, lines), default=0) * _CHAR) + 2 * _PAD)
    )
    image = (_PAD, top + (body - _INPUT + _LINE) // 2, _INPUT, _INPUT) if with_input else None
    return _Layout(width, top + body + _PAD, "\n".join(lines), (left, top, plot_w, plot_h), image)


def _fractions(box: tuple[int, int, int, int], size: tuple[float, float], shift: float = 0) -> list[float]:
    """A pixel box from the top-left as matplotlib's ``[left, bottom, width, height]`` fractions of ``size``."""
    left, top, width, height = box
    return [(left + shift) / size[0], 1 - (top + height) / size[1], width / size[0], height / size[1]]


def _draw_input(figure: Any, panel: Panel, size: tuple[float, float], shift: float) -> None:
    if panel.image is None or panel.layout.input is None:
        return
    axis = figure.add_axes(_fractions(panel.layout.input, size, shift))
    gray = panel.image.ndim == 2
    axis.imshow(panel.image, cmap="gray" if gray else None, vmin=0, vmax=255, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(panel.image_title, fontsize=SLIDE_FONT, pad=4)


def _draw_bars(figure: Any, panel: Panel, size: tuple[float, float], shift: float) -> None:
    """The single value of each channel as a bar, coloured as its tile would be."""
    import matplotlib

    values = panel.canvas.ravel()
    axis = figure.add_axes(_fractions(panel.layout.grid, size, shift))
    low, high = panel.limits if panel.limits is not None else (float(values.min()), float(values.max()) + 1e-12)
    colours = matplotlib.colormaps[panel.cmap](np.clip((values - low) / (high - low), 0, 1))
    channels = np.arange(len(values))
    axis.bar(channels, values, width=0.8 if len(values) <= 200 else 1.0, color=colours, linewidth=0)
    axis.axhline(0, color="0.4", linewidth=0.8)
    axis.set_xlim(-0.5, len(values) - 0.5)
    axis.set_xlabel("channel", fontsize=SLIDE_FONT)
    axis.set_ylabel("activation", fontsize=SLIDE_FONT)
    axis.grid(axis="y", alpha=0.3)
    axis.tick_params(labelsize=SLIDE_FONT)
    axis.locator_params(axis="y", nbins=5)


def _draw_panel(figure: Any, panel: Panel, size: tuple[float, float] | None = None) -> None:
    """Draw ``panel`` into ``figure`` (a Figure, or one panel's SubFigure of a stacked picture) of ``size`` pixels,
    centred across it when it is wider than the panel."""
    import matplotlib
    from matplotlib.ticker import FuncFormatter

    layout = panel.layout
    size = size or (layout.width, layout.height)
    shift = (size[0] - layout.width) / 2
    if layout.title:
        x = (shift + layout.width / 2) / size[0]
        figure.text(x, 1 - _PAD / size[1], layout.title, ha="center", va="top", fontsize=SLIDE_FONT)
    _draw_input(figure, panel, size, shift)
    if panel.grid.bars:
        _draw_bars(figure, panel, size, shift)
        return
    axis = figure.add_axes(_fractions(layout.grid, size, shift))
    # the lines between tiles: white, unless white means something (zero, on a diverging scale)
    colours = matplotlib.colormaps[panel.cmap].with_extremes(bad="#777777" if panel.cmap == DIVERGING else "white")
    smooth = panel.canvas.shape[0] > layout.grid[3]  # shrinking: average, do not drop pixels
    vmin, vmax = panel.limits if panel.limits is not None else (None, None)
    image = axis.imshow(panel.canvas, cmap=colours, vmin=vmin, vmax=vmax, aspect="auto",
                        interpolation="antialiased" if smooth else "nearest")  # fmt: skip
    axis.set_axis_off()
    if panel.colorbar is not None and layout.bar is not None:
        bar = figure.colorbar(image, cax=figure.add_axes(_fractions(layout.bar, size, shift)))
        bar.ax.tick_params(labelsize=SLIDE_FONT)
        bar.set_label(panel.colorbar, fontsize=SLIDE_FONT)
        bar.ax.locator_params(nbins=5)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))  # no shared "1e-5" on top


def draw_panels(panels: Sequence[Panel]) -> Picture:
    """One picture of ``panels``, one below the other (each centred across the widest), in order.

    ``picture.panels`` keeps each at its own size, for :func:`split_panels`.

    Raises:
        ValueError: no panels.
    """
    if not panels:
        raise ValueError("a picture needs at least one grid to draw")
    width = max(panel.layout.width for panel in panels)
    heights = [panel.layout.height for panel in panels]
    picture = new_picture(width, sum(heights))
    targets = [picture] if len(panels) == 1 else picture.subfigures(len(panels), 1, height_ratios=heights)
    for target, panel in zip(targets, panels, strict=True):
        _draw_panel(target, panel, (width, panel.layout.height))
    picture.grids = [panel.grid for panel in panels]
    picture.panels = list(panels)
    return picture


def split_panels(picture: Picture) -> list[Picture]:
    """Each grid of a picture drawn by :func:`draw_panels` as a picture of its own size (one file per layer)."""
    return [draw_panels([panel]) for panel in picture.panels]


def _map_colours(maps: np.ndarray, scale: str, signed: bool) -> tuple[np.ndarray, str, tuple[float, float], str]:
    """``(maps to draw, colour map, limits, colour bar label)``: diverging and centred on zero when signed."""
    cmap = DIVERGING if signed else SEQUENTIAL
    if scale == "channel":  # each map divided by its own largest size: signs and zero stay where they are
        tops = np.abs(maps).reshape(len(maps), -1).max(axis=1)
        maps = maps / np.where(tops > 0, tops, 1)[:, None, None]
        return maps, cmap, ((-1.0, 1.0) if signed else (0.0, 1.0)), "each map / its largest"
    top = float(np.abs(maps).max()) or 1.0
    return maps, cmap, ((-top, top) if signed else (0.0, top)), "activation"


def feature_map_panel(
    maps: np.ndarray,
    *,
    name: str,
    title: TitleMode = "short",
    label: str | None = None,
    caption: str = "",
    scale: str = "layer",
    image: np.ndarray | None = None,
    image_title: str = "input",
    signed: bool | None = None,
) -> Panel:
    """Every channel of ``maps`` ``(C, H, W)`` as one tile of a grid, the input beside it.

    Args:
        maps: one image's activations at one layer.
        name: the layer (the grid's name, and the short title's: ``c1: 6 maps of 28x28``).
        title: ``short``, ``full`` (``label``, the value range and ``caption`` too) or ``none``.
        label: how the full title names the layer (default: ``name``), e.g. ``c1 (Conv2d)``.
        caption: the full title's further lines (model, weights, image).
        scale: one of :data:`SCALES`.
        image: the input, ``(H, W)`` gray or ``(H, W, 3)`` uint8, drawn on the left; None: none.
        image_title: the words above the input.
        signed: draw on a diverging scale centred on zero (default: when any value is negative).

    Raises:
        ValueError: not ``(C, H, W)``, or an unknown scale.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"feature maps are (C, H, W), got shape {maps.shape}")
    channels, height, width = maps.shape
    low, high = float(maps.min()), float(maps.max())
    signed = low < 0 if signed is None else signed
    bars = height == width == 1
    short = f"{name}: {channels} {'values (maps of 1x1)' if bars else f'maps of {height}x{width}'}"
    full = f"{label or name}: {channels} maps of {height}x{width}, values {low:.3g} to {high:.3g}"
    if scale == "channel" and not bars:
        full += ", each map on its own scale"
    text = titled(title, short, f"{full}\n{caption}" if caption else full)
    if bars:  # one value per channel has no range of its own: one scale always
        cmap = DIVERGING if signed else SEQUENTIAL
        top = max(abs(low), abs(high)) or 1.0
        layout = _bar_layout(channels, text, with_input=image is not None)
        grid = Grid(name, 1, channels, channels, maps.shape, bars=True)
        return Panel(maps.reshape(1, channels), layout, grid, cmap, (-top, top) if signed else (0.0, top), None,
                     image, image_title)  # fmt: skip
    drawn, cmap, limits, colorbar = _map_colours(maps, scale, signed)
    layout, cols = _layout(channels, (height, width), text, with_input=image is not None, with_bar=True)
    rows = math.ceil(channels / cols)
    grid = Grid(name, rows, cols, channels, maps.shape)
    return Panel(mosaic(drawn, cols, **_TILES), layout, grid, cmap, limits, colorbar, image, image_title)


def plot_feature_maps(maps: np.ndarray, **options: Any) -> Picture:
    """A picture of one layer's feature maps; ``options`` are :func:`feature_map_panel`'s."""
    return draw_panels([feature_map_panel(maps, **options)])


def filter_panel(
    weight: np.ndarray,
    *,
    name: str,
    title: TitleMode = "short",
    label: str | None = None,
    caption: str = "",
    rgb: bool = False,
    limits: Sequence[int] = (48, 32),
    tile_pixels: int | None = None,
) -> Panel:
    """The kernels of a convolution with weight ``(C_out, C_in, kH, kW)``.

    With ``rgb`` (a first layer on colour images) each filter is one colour tile, stretched to its own
    range as AlexNet's paper shows them. Otherwise each tile is one 2-D kernel on a shared scale centred
    on zero (red positive, blue negative): one filter per column and one input channel per row (the other way
    round when there are more input channels than filters, so that the grid is landscape), at most
    ``limits`` = (filters, input channels) of them; single-channel kernels (a first layer on gray
    images) fill a grid as wide as the picture allows instead. ``tile_pixels``: the largest a kernel is drawn
    (default: 120 pixels; it is drawn smaller where the picture has no room). ``title``, ``label`` and
    ``caption`` as :func:`feature_map_panel`'s.

    Raises:
        ValueError: not ``(C_out, C_in, kH, kW)``, or ``tile_pixels`` below 1.
    """
    if tile_pixels is not None and tile_pixels < 1:
        raise ValueError(f"tile_pixels: expected a positive number of pixels, got {tile_pixels}")
    weight = np.asarray(weight, dtype=np.float32)
    if weight.ndim != 4:
        raise ValueError(f"a convolution's weight is (C_out, C_in, kH, kW), got shape {weight.shape}")
    out_channels, in_channels, kh, kw = weight.shape
    short = f"{name}: {out_channels} filters of {in_channels}x{kh}x{kw}"
    full = f"{label or name}: {out_channels} filters of {in_channels}x{kh}x{kw}"
    biggest = tile_pixels or 120
    if rgb and in_channels == 3:
        flat = weight.reshape(out_channels, -1)
        low, span = flat.min(axis=1), np.ptp(flat, axis=1)
        tiles = (weight - low[:, None, None, None]) / np.where(span > 0, span, 1)[:, None, None, None]
        full += ", each stretched to its own range (RGB)"
        text = titled(title, short, f"{full}\n{caption}" if caption else full)
        layout, cols = _layout(out_channels, (kh, kw), text, with_input=False, with_bar=False, biggest_tile=biggest)
        grid = Grid(name, math.ceil(out_channels / cols), cols, out_channels, weight.shape)
        return Panel(
            mosaic(tiles.transpose(0, 2, 3, 1), cols, fill=1.0, **_TILES), layout, grid
        )  # (N, kH, kW, RGB) tiles
    shown_out, shown_in = min(out_channels, limits[0]), min(in_channels, limits[1])
    kernels = weight[:shown_out, :shown_in]
    if in_channels == 1:
        tiles, cols = kernels[:, 0], None
    elif shown_out > shown_in:  # landscape: a column per filter
        tiles, cols = kernels.transpose(1, 0, 2, 3).reshape(shown_out * shown_in, kh, kw), shown_out
        full += "; a column per filter, a row per input channel"
    else:
        tiles, cols = kernels.reshape(shown_out * shown_in, kh, kw), shown_in
        full += "; a row per filter, a column per input channel"
    if (shown_out, shown_in) != (out_channels, in_channels):
        full += f"\nthe first {shown_out} filters x {shown_in} input channels"
    text = titled(title, short, f"{full}\n{caption}" if caption else full)
    layout, cols = _layout(len(tiles), (kh, kw), text, with_input=False, with_bar=True, biggest_tile=biggest, cols=cols)
    bound = float(np.abs(kernels).max()) or 1.0
    grid = Grid(name, math.ceil(len(tiles) / cols), cols, len(tiles), weight.shape)
    return Panel(mosaic(tiles, cols, **_TILES), layout, grid, cmap=DIVERGING, limits=(-bound, bound), colorbar="weight")


def plot_filters(weight: np.ndarray, **options: Any) -> Picture:
    """A picture of a convolution's kernels; ``options`` are :func:`filter_panel`'s."""
    return draw_panels([filter_panel(weight, **options)])
