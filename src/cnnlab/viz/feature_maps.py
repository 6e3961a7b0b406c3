"""Feature maps and filters as grids of small images: every channel of a layer is one tile.

A layer of 512 channels gives 512 tiles: the grid is as square as it can be, and the tiles shrink so
that the picture stays under about 1,600 pixels a side (a 7x7 map still gets 30 pixels or more, drawn
as blocks). Tiles are in channel order, row by row; the picture's :class:`~cnnlab.viz.figure.Grid` says
how many rows and columns the grid has. The pictures are drawn as one image (a mosaic), so even 2,048 tiles
take a fraction of a second. Several layers stack into one picture, a panel each (:func:`draw_panels`).

Maps of 1x1 (LeNet-5's C5, a global pooling, a classifier head written as convolutions) would be grids of
single coloured squares, which hide the one thing each holds, a number: they are drawn as a bar chart of
the activations instead, a bar per channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnnlab.viz.figure import Grid, Picture, grid_shape, mosaic, new_picture, wrap

__all__ = [
    "SCALES",
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

_LARGEST_MOSAIC = 1600  # pixels a side of the grid itself
_SMALLEST_MOSAIC = 360  # a grid of a few tiles is enlarged to this many pixels along its longer side
_MARGINS = (20, 110, 16)  # left, right (colour bar), bottom, in pixels; the title sets the top
_LINE = 16  # pixels per title line
_NARROWEST = 560  # figure width in pixels, so that the title fits


@dataclass(frozen=True)
class _Layout:
    """Where the grid goes in the figure, and the title wrapped to fit, in pixels."""

    width: int
    height: int
    grid_width: int
    grid_height: int
    top: int
    title: str


def _layout(canvas_hw: tuple[int, int], cols: int, rows: int, tile_pixels: int, title: str) -> _Layout:
    """Show ``rows x cols`` tiles of about ``tile_pixels`` a side, within the smallest and largest grid."""
    scale = max(tile_pixels * max(cols, rows), _SMALLEST_MOSAIC) / max(canvas_hw)
    scale = min(scale, _LARGEST_MOSAIC / canvas_hw[0], _LARGEST_MOSAIC / canvas_hw[1])
    grid_w, grid_h = max(1, round(canvas_hw[1] * scale)), max(1, round(canvas_hw[0] * scale))
    left, right, bottom = _MARGINS
    width = max(grid_w + left + right, _NARROWEST)
    title = wrap(title, width - 20)
    top = 20 + _LINE * len(title.splitlines())
    return _Layout(width, grid_h + top + bottom, grid_w, grid_h, top, title)


@dataclass(frozen=True)
class Panel:
    """One grid of tiles, ready to draw: the mosaic, where it goes, and how it is coloured."""

    canvas: np.ndarray
    layout: _Layout
    grid: Grid
    cmap: str = "viridis"
    limits: tuple[float, float] | None = None
    colorbar: str | None = None


_BAR_HEIGHT = 220  # pixels of the bar chart's plot
_BAR_PIXELS = 8  # pixels per bar, while the chart stays within the widest grid
_BAR_MARGINS = (70, 30, 50)  # left (the value axis), right, bottom (the channel axis), in pixels


def _bar_layout(channels: int, title: str) -> _Layout:
    """A bar chart of ``channels`` bars: as wide as a grid may be at most, and never narrower than a title."""
    left, right, bottom = _BAR_MARGINS
    plot_width = min(max(_BAR_PIXELS * channels, 300), _LARGEST_MOSAIC)
    width = max(plot_width + left + right, _NARROWEST)
    title = wrap(title, width - 20)
    top = 28 + _LINE * len(title.splitlines())
    return _Layout(width, _BAR_HEIGHT + top + bottom, width - left - right, _BAR_HEIGHT, top, title)


def _draw_bars(figure: Any, panel: Panel) -> None:
    """The single value of each channel as a bar, coloured as its tile would be."""
    import matplotlib

    layout, values = panel.layout, panel.canvas.ravel()
    left, _, bottom = _BAR_MARGINS
    axis = figure.add_axes([left / layout.width, bottom / layout.height,
                            layout.grid_width / layout.width, layout.grid_height / layout.height])  # fmt: skip
    low, high = panel.limits if panel.limits is not None else (float(values.min()), float(values.max()) + 1e-12)
    colours = matplotlib.colormaps[panel.cmap](np.clip((values - low) / (high - low), 0, 1))
    channels = np.arange(len(values))
    axis.bar(channels, values, width=0.8 if len(values) <= 200 else 1.0, color=colours, linewidth=0)
    axis.axhline(0, color="0.4", linewidth=0.8)
    axis.set_xlim(-0.5, len(values) - 0.5)
    axis.set(xlabel="channel", ylabel="activation")
    axis.grid(axis="y", alpha=0.3)
    axis.tick_params(labelsize=8)
    figure.text(0.5, 1 - 10 / layout.height, layout.title, ha="center", va="top", fontsize=10)


def _draw_panel(figure: Any, panel: Panel) -> None:
    """Draw ``panel`` into ``figure`` (a Figure, or one panel's SubFigure of a stacked picture)."""
    import matplotlib

    if panel.grid.bars:
        _draw_bars(figure, panel)
        return
    layout, canvas = panel.layout, panel.canvas
    left, right, _ = _MARGINS
    beside = right - left if panel.colorbar is not None else 0
    x0 = (layout.width - layout.grid_width - beside) / 2  # grid and colour bar centred together
    box = [
        x0 / layout.width,
        (layout.height - layout.top - layout.grid_height) / layout.height,
        layout.grid_width / layout.width,
        layout.grid_height / layout.height,
    ]
    axis = figure.add_axes(box)
    # the lines between tiles: white, unless white means something (zero, on a diverging scale)
    colours = matplotlib.colormaps[panel.cmap].with_extremes(bad="#555555" if panel.cmap == "RdBu_r" else "white")
    smooth = canvas.shape[0] > layout.grid_height  # shrinking: average, do not drop pixels
    vmin, vmax = panel.limits if panel.limits is not None else (None, None)
    image = axis.imshow(
        canvas, cmap=colours, vmin=vmin, vmax=vmax, aspect="auto", interpolation="antialiased" if smooth else "nearest"
    )
    axis.set_axis_off()
    figure.text(0.5, 1 - 10 / layout.height, layout.title, ha="center", va="top", fontsize=10)
    if panel.colorbar is not None:
        bar = figure.add_axes([(x0 + layout.grid_width + 16) / layout.width, box[1], 14 / layout.width, box[3]])
        figure.colorbar(image, cax=bar, label=panel.colorbar)


def draw_panels(panels: Sequence[Panel]) -> Picture:
    """One picture of ``panels``, one below the other (each as wide as the widest), in order.

    Raises:
        ValueError: no panels.
    """
    if not panels:
        raise ValueError("a picture needs at least one grid to draw")
    width = max(panel.layout.width for panel in panels)
    panels = [replace(panel, layout=replace(panel.layout, width=width)) for panel in panels]
    heights = [panel.layout.height for panel in panels]
    picture = new_picture(width, sum(heights))
    targets = [picture] if len(panels) == 1 else picture.subfigures(len(panels), 1, height_ratios=heights)
    for target, panel in zip(targets, panels, strict=True):
        _draw_panel(target, panel)
    picture.grids = [panel.grid for panel in panels]
    picture.panels = list(panels)
    return picture


def split_panels(picture: Picture) -> list[Picture]:
    """Each grid of a picture drawn by :func:`draw_panels` as a picture of its own (one file per layer)."""
    return [draw_panels([panel]) for panel in picture.panels]


def feature_map_panel(
    maps: np.ndarray, *, name: str, title: str | None = None, caption: str = "", scale: str = "layer"
) -> Panel:
    """Every channel of ``maps`` ``(C, H, W)`` as one tile of a grid.

    Args:
        maps: one image's activations at one layer.
        name: the layer (the grid's name).
        title: how the title names it, followed by the maps' shape and value range (default: ``name``).
        caption: a second title line (model, weights, image).
        scale: one of :data:`SCALES`.

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
    title = f"{title or name}: {channels} maps of {height}x{width}, values {low:.3g} to {high:.3g}"
    if height == width == 1:
        return _bar_panel(maps, name=name, title=title, caption=caption, limits=(low, high))
    if scale == "channel":
        flat = maps.reshape(channels, -1)
        lows, spans = flat.min(axis=1), np.ptp(flat, axis=1)
        maps = (maps - lows[:, None, None]) / np.where(spans > 0, spans, 1)[:, None, None]
        title += " (each map scaled to its own range)"
    rows, cols = grid_shape(channels, height / width)
    canvas = mosaic(maps, cols)
    text = f"{title}\n{caption}" if caption else title
    layout = _layout(canvas.shape[:2], cols, rows, min(max(2 * max(height, width), 48), 128), text)
    limits = (low, high) if scale == "layer" and high > low else None
    colorbar = "activation" if scale == "layer" else None
    grid = Grid(name, rows, cols, channels, maps.shape)
    return Panel(canvas, layout, grid, limits=limits, colorbar=colorbar)


def _bar_panel(maps: np.ndarray, *, name: str, title: str, caption: str, limits: tuple[float, float]) -> Panel:
    """Maps of 1x1 as a bar per channel; one scale always, as one value per channel has no range of its own."""
    channels = maps.shape[0]
    title += ": one value each, drawn as bars"
    layout = _bar_layout(channels, f"{title}\n{caption}" if caption else title)
    limits = limits if limits[1] > limits[0] else None
    return Panel(
        maps.reshape(1, channels), layout, Grid(name, 1, channels, channels, maps.shape, bars=True), limits=limits
    )


def plot_feature_maps(maps: np.ndarray, **options: Any) -> Picture:
    """A picture of one layer's feature maps; ``options`` are :func:`feature_map_panel`'s."""
    return draw_panels([feature_map_panel(maps, **options)])


def filter_panel(
    weight: np.ndarray,
    *,
    name: str,
    title: str | None = None,
    caption: str = "",
    rgb: bool = False,
    limits: Sequence[int] = (48, 32),
    tile_pixels: int | None = None,
) -> Panel:
    """The kernels of a convolution with weight ``(C_out, C_in, kH, kW)``.

    With ``rgb`` (a first layer on colour images) each filter is one colour tile, stretched to its own
    range as AlexNet's paper shows them. Otherwise each tile is one 2-D kernel on a shared scale centred
    on zero (red positive, blue negative): one filter per row, one input channel per column, at most
    ``limits`` = (filters, input channels) of them; single-channel kernels (a first layer on gray
    images) fill a square grid instead. ``tile_pixels``: how large a kernel is drawn (default: by its size).

    Raises:
        ValueError: not ``(C_out, C_in, kH, kW)``, or ``tile_pixels`` below 1.
    """
    if tile_pixels is not None and tile_pixels < 1:
        raise ValueError(f"tile_pixels: expected a positive number of pixels, got {tile_pixels}")
    weight = np.asarray(weight, dtype=np.float32)
    if weight.ndim != 4:
        raise ValueError(f"a convolution's weight is (C_out, C_in, kH, kW), got shape {weight.shape}")
    out_channels, in_channels, kh, kw = weight.shape
    shape_text = f"{in_channels}x{kh}x{kw}"
    title = title or name
    if rgb and in_channels == 3:
        flat = weight.reshape(out_channels, -1)
        low, span = flat.min(axis=1), np.ptp(flat, axis=1)
        tiles = (weight - low[:, None, None, None]) / np.where(span > 0, span, 1)[:, None, None, None]
        tiles = tiles.transpose(0, 2, 3, 1)  # (N, kH, kW, RGB)
        rows, cols = grid_shape(out_channels, kh / kw)
        title = f"{title}: {out_channels} filters of {shape_text}, each stretched to its own range (RGB)"
        canvas = mosaic(tiles, cols, fill=1.0)
        text = f"{title}\n{caption}" if caption else title
        layout = _layout(canvas.shape[:2], cols, rows, tile_pixels or min(max(8 * max(kh, kw), 40), 96), text)
        return Panel(canvas, layout, Grid(name, rows, cols, out_channels, weight.shape))
    shown_out, shown_in = min(out_channels, limits[0]), min(in_channels, limits[1])
    kernels = weight[:shown_out, :shown_in]
    if in_channels == 1:
        tiles = kernels[:, 0]
        rows, cols = grid_shape(shown_out, kh / kw)
        title = f"{title}: {out_channels} filters of {shape_text}"
    else:
        tiles = kernels.reshape(shown_out * shown_in, kh, kw)
        rows, cols = shown_out, shown_in
        title = f"{title}: {out_channels} filters of {shape_text}; a row per filter, a column per input channel"
    if (shown_out, shown_in) != (out_channels, in_channels):
        title += f"\nthe first {shown_out} filters x {shown_in} input channels"
    bound = float(np.abs(kernels).max()) or 1.0
    canvas = mosaic(tiles, cols)
    text = f"{title}\n{caption}" if caption else title
    layout = _layout(canvas.shape[:2], cols, rows, tile_pixels or min(max(8 * max(kh, kw), 24), 64), text)
    grid = Grid(name, rows, cols, len(tiles), weight.shape)
    return Panel(canvas, layout, grid, cmap="RdBu_r", limits=(-bound, bound), colorbar="weight")


def plot_filters(weight: np.ndarray, **options: Any) -> Picture:
    """A picture of a convolution's kernels; ``options`` are :func:`filter_panel`'s."""
    return draw_panels([filter_panel(weight, **options)])
