"""How an animation's frames are painted: palette-indexed tiles, drawn once and pasted, with exact colours.

A frame is the input grid with the window over it, the output grid and the formula. Each distinct cell
(a padding cell, a value in the window, an output at its moment) is drawn once with Pillow as a tile of
palette indices and pasted where it is needed, so that a frame costs array copies, not drawing; colours are
mapped to the palette exactly (:class:`_Indexer`), so that white stays white in a GIF with transparency.
"""

from __future__ import annotations

import textwrap
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

__all__ = ["DONE", "EMPTY", "INPUT", "NOW", "OUTSIDE", "PADDING", "PALETTE_SIZE", "ZERO", "FramePainter", "Slide"]

# What a cell of the grid the window slides over holds.
INPUT, PADDING, ZERO, OUTSIDE = "input", "padding", "zero", "outside"

_COLOURS = {INPUT: "#dbe9f6", PADDING: "#ececec", ZERO: "#fff3c4", OUTSIDE: "#ffffff"}
WINDOW_EDGE = (31, 119, 180)
PALETTE_SIZE = 64  # colours of the frames (the cells' few, and their text's antialiasing); index 64 stays unused
# An output cell before, at and after its frame: its fill and its number's colour.
EMPTY, NOW, DONE = "empty", "now", "done"
_OUTPUT_STATES = {EMPTY: ("#ffffff", "#222"), NOW: ("#2ca25f", "#fff"), DONE: ("#c7e9c0", "#222")}


class Slide(Protocol):
    """What the painter reads of an animation: the grid, the window at each output position, the numbers.

    :class:`cnnlab.viz.animation.Animation` is one. A protocol, so that how frames are painted needs nothing
    (and imports nothing) of how an animation is computed.
    """

    title: str
    formula: str
    cells: np.ndarray  # (H, W) of INPUT, PADDING, ZERO or OUTSIDE
    windows: list[list[tuple[int, int]]]  # per output position, the grid cells its window covers
    output_shape: tuple[int, int]
    grid_values: np.ndarray | None
    kernel: np.ndarray | None
    outputs: np.ndarray | None

    @property
    def positions(self) -> list[tuple[int, int]]:
        """The output position of each frame, row by row."""
        ...


def _nearest(palette: Image.Image, colour: tuple[int, int, int]) -> int:
    entries = np.array(palette.getpalette()[: 3 * 256], dtype=np.int32).reshape(-1, 3)
    return int(((entries - np.array(colour)) ** 2).sum(axis=1).argmin())


def _snapped(palette: Image.Image, colours: list[tuple[int, ...]]) -> Image.Image:
    """The palette with its entry nearest each of ``colours`` set to it exactly: white stays white."""
    entries = np.array(palette.getpalette()[: 3 * PALETTE_SIZE], dtype=np.int32).reshape(-1, 3)
    taken: set[int] = set()
    for colour in dict.fromkeys(colour[:3] for colour in colours):  # each once, in order
        distances = ((entries - np.array(colour)) ** 2).sum(axis=1)
        distances[list(taken)] = np.iinfo(np.int32).max
        index = int(distances.argmin())
        entries[index] = colour
        taken.add(index)
    palette.putpalette(entries.astype(np.uint8).reshape(-1).tolist())
    return palette


class _Indexer:
    """An RGB picture as indices of the palette entry nearest each pixel's colour, exactly.

    (Pillow's own mapping looks colours up in a coarse cache, which can send white to a near-white.)
    """

    def __init__(self, palette: Image.Image) -> None:
        self.entries = np.array(palette.getpalette()[: 3 * PALETTE_SIZE], dtype=np.int32).reshape(-1, 3)
        self.known: dict[int, int] = {}

    def __call__(self, image: Image.Image) -> np.ndarray:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int32)
        packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
        colours, inverse = np.unique(packed, return_inverse=True)
        for colour in colours.tolist():
            if colour not in self.known:
                rgb = np.array([colour >> 16, (colour >> 8) & 255, colour & 255])
                self.known[colour] = int(((self.entries - rgb) ** 2).sum(axis=1).argmin())
        lookup = np.array([self.known[colour] for colour in colours.tolist()], dtype=np.uint8)
        return lookup[inverse.reshape(packed.shape)]


def _paste(frame: np.ndarray, box: tuple[int, int, int, int], tile: np.ndarray) -> None:
    left, top = box[0], box[1]
    frame[top : top + tile.shape[0], left : left + tile.shape[1]] = tile


def _palette_image(indexed: np.ndarray, palette: Image.Image) -> Image.Image:
    image = Image.fromarray(indexed, mode="P")
    image.putpalette(palette.getpalette())
    return image


class FramePainter:
    """Draws the frames of an animation with Pillow: input grid, window, output grid, formula."""

    def __init__(self, animation: Slide) -> None:
        self.a = animation
        rows, cols = animation.cells.shape
        out_rows, out_cols = animation.output_shape
        self.cell = max(14, min(40, 480 // max(rows, cols, out_rows, out_cols)))
        self.font = ImageFont.load_default(size=max(9, self.cell // 3 + 2))
        self.small = ImageFont.load_default(size=max(8, self.cell // 4))
        self.text = ImageFont.load_default(size=13)
        self.margin, self.gap = 16, 60
        self.title_lines = animation.title.splitlines()
        self.formula_lines = [
            wrapped for line in animation.formula.splitlines() for wrapped in textwrap.wrap(line, 96) or [""]
        ]
        self.top = self.margin + 20 * len(self.title_lines) + 8
        grid_w, grid_h = cols * self.cell, rows * self.cell
        out_w, out_h = out_cols * self.cell, out_rows * self.cell
        self.out_left = self.margin + grid_w + self.gap
        body = max(grid_h, out_h)
        self.legend_top = self.top + body + 14
        formula_width = max((self.text.getlength(line) for line in self.formula_lines), default=0)
        self.width = int(max(self.out_left + out_w + self.margin, formula_width + 2 * self.margin, 420))
        self.height = self.legend_top + 26 + 17 * len(self.formula_lines) + self.margin

    def frames(self) -> list[Image.Image]:
        """The frames as palette images sharing one palette: drawn once in RGB, then assembled from tiles.

        Everything that does not move (title, grid, legend, formula) is drawn once; each frame differs from the
        one before only in the window's cells and one output cell. Those are drawn once each as small tiles,
        mapped to the shared palette, and pasted into a copy of the indexed picture: hundreds of frames cost
        what a few full drawings would, and a GIF needs no quantizing per frame.
        """
        base = self._still()
        palette = self._palette(base)
        to_index = _Indexer(palette)
        indexed = to_index(base)
        blue = _nearest(palette, WINDOW_EDGE)
        tiles: dict[tuple[Any, ...], np.ndarray] = {}

        def tile(key: tuple[Any, ...], box: tuple[int, int, int, int], draw: Any) -> np.ndarray:
            if key not in tiles:
                left, top, right, bottom = box
                crop = base.crop((left, top, right + 1, bottom + 1))
                draw(ImageDraw.Draw(crop, "RGBA"), (0, 0, right - left, bottom - top))
                tiles[key] = to_index(crop)
            return tiles[key]

        frames = []
        for n, (y, x) in enumerate(self.a.positions):
            frame = indexed.copy()
            window = self.a.windows[n]
            self._span(frame, window, blue)
            for gy, gx, weight in self._weights(window):
                box = self._box(self.margin, self.top, gy, gx)
                cell = tile(("window", gy, gx, weight), box, lambda pen, at, w=weight: self._window_cell(pen, at, w))
                _paste(frame, box, cell)
            box = self._box(self.out_left, self.top, y, x)
            value = None if self.a.outputs is None else float(self.a.outputs[y, x])
            now = tile(("now", y, x), box, lambda pen, at, v=value: self._output_cell(pen, at, v, NOW))
            done = tile(("done", y, x), box, lambda pen, at, v=value: self._output_cell(pen, at, v, DONE))
            _paste(frame, box, now)
            frames.append(_palette_image(frame, palette))
            _paste(indexed, box, done)
        return frames

    def _still(self) -> Image.Image:
        """What every frame shows: title, grid with its values, legend, formula, arrow, the empty output."""
        base = Image.new("RGB", (self.width, self.height), "white")
        draw = ImageDraw.Draw(base)
        for n, line in enumerate(self.title_lines):
            draw.text((self.margin, self.margin + 20 * n), line, fill="#111", font=self.text)
        self._grid(draw)
        self._legend(draw)
        for n, line in enumerate(self.formula_lines):
            draw.text((self.margin, self.legend_top + 26 + 17 * n), line, fill="#333", font=self.text)
        arrow_y = self.top + self.cell // 2
        start, end = self.out_left - self.gap + 12, self.out_left - 12
        draw.line((start, arrow_y, end, arrow_y), fill="#555", width=2)
        draw.polygon([(end, arrow_y), (end - 8, arrow_y - 5), (end - 8, arrow_y + 5)], fill="#555")
        for y, x in self.a.positions:
            self._output_cell(draw, self._box(self.out_left, self.top, y, x), None, EMPTY)
        return base

    def _palette(self, base: Image.Image) -> Image.Image:
        """One palette for all frames, from the still picture beside one with every cell in every state."""
        sample = base.copy()
        pen = ImageDraw.Draw(sample, "RGBA")
        rows, cols = self.a.cells.shape
        weights = sorted({weight for window in self.a.windows[:1] for _, _, weight in self._weights(window)})
        for gy in range(rows):
            for gx in range(cols):
                self._window_cell(pen, self._box(self.margin, self.top, gy, gx), weights[(gy + gx) % len(weights)])
        for n, (y, x) in enumerate(self.a.positions):
            value = None if self.a.outputs is None else float(self.a.outputs[y, x])
            self._output_cell(pen, self._box(self.out_left, self.top, y, x), value, (NOW, DONE)[n % 2])
        both = Image.new("RGB", (self.width, 2 * self.height))
        both.paste(base, (0, 0))
        both.paste(sample, (0, self.height))
        palette = both.quantize(colors=PALETTE_SIZE, method=Image.Quantize.MEDIANCUT)
        return _snapped(palette, [(255, 255, 255), WINDOW_EDGE, *map(ImageColor.getrgb, _COLOURS.values())])

    def _weights(self, window: list[tuple[int, int]]) -> list[tuple[int, int, str | None]]:
        """The window's cells with the kernel weight each one is multiplied by (as text), in kernel order."""
        kernel = self.a.kernel
        if kernel is None:
            return [(gy, gx, None) for gy, gx in window]
        per_row = kernel.shape[1]
        return [(gy, gx, f"x{self._value_text(float(kernel[n // per_row, n % per_row]))}")
                for n, (gy, gx) in enumerate(window)]  # fmt: skip

    def _span(self, frame: np.ndarray, window: list[tuple[int, int]], colour: int) -> None:
        """The outline of the whole window, the gaps of a dilation included (2 pixels, as the cells')."""
        ys, xs = [gy for gy, _ in window], [gx for _, gx in window]
        left, top, _, _ = self._box(self.margin, self.top, min(ys), min(xs))
        _, _, right, bottom = self._box(self.margin, self.top, max(ys), max(xs))
        frame[top : top + 2, left : right + 1] = colour
        frame[bottom - 1 : bottom + 1, left : right + 1] = colour
        frame[top : bottom + 1, left : left + 2] = colour
        frame[top : bottom + 1, right - 1 : right + 1] = colour

    def _box(self, left: int, top: int, gy: int, gx: int) -> tuple[int, int, int, int]:
        return (left + gx * self.cell, top + gy * self.cell, left + (gx + 1) * self.cell, top + (gy + 1) * self.cell)

    def _value_text(self, value: float) -> str:
        if value == float("-inf"):
            return "-inf"
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")

    def _grid(self, draw: ImageDraw.ImageDraw) -> None:
        cells = self.a.cells
        for gy in range(cells.shape[0]):
            for gx in range(cells.shape[1]):
                kind = cells[gy, gx]
                box = self._box(self.margin, self.top, gy, gx)
                draw.rectangle(box, fill=_COLOURS[kind], outline="#333" if kind == INPUT else "#aaa")
                if kind == PADDING:  # hatched, so that padding reads as "not the image"
                    left, top, right, bottom = box
                    for offset in range(0, self.cell, max(5, self.cell // 4)):
                        draw.line((left + offset, bottom, left, bottom - offset), fill="#c8c8c8")
                        draw.line((right, top + offset, right - (self.cell - offset), bottom), fill="#c8c8c8")
                if self.a.grid_values is not None and kind != OUTSIDE:
                    text = self._value_text(float(self.a.grid_values[gy, gx]))
                    self._centred(draw, box, text, "#222" if kind == INPUT else "#888", self.font)

    def _centred(self, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, fill: str,
                 font: Any) -> None:  # fmt: skip
        left, top, right, bottom = box
        width = draw.textlength(text, font=font)
        draw.text(((left + right - width) / 2, (top + bottom) / 2 - font.size * 0.6), text, fill=fill, font=font)

    def _window_cell(self, pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int], weight: str | None) -> None:
        pen.rectangle(box, fill=(*WINDOW_EDGE, 110), outline=(*WINDOW_EDGE, 255), width=2)
        if weight is not None:
            width = pen.textlength(weight, font=self.small)
            pen.text((box[2] - width - 2, box[3] - self.small.size - 3), weight, fill="#0b3c6b", font=self.small)

    def _output_cell(self, pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int], value: float | None,
                     state: str) -> None:  # fmt: skip
        fill, text_fill = _OUTPUT_STATES[state]
        pen.rectangle(box, fill=fill, outline="#333")
        if value is not None and state != EMPTY:
            self._centred(pen, box, self._value_text(value), text_fill, self.font)

    def _legend(self, draw: ImageDraw.ImageDraw) -> None:
        present = set(self.a.cells.flatten().tolist())
        items = [(INPUT, "input"), (PADDING, "padding"), (ZERO, "zeros inserted"), (OUTSIDE, "past the padding")]
        x = self.margin
        for kind, label in items:
            if kind not in present:
                continue
            draw.rectangle((x, self.legend_top, x + 14, self.legend_top + 14), fill=_COLOURS[kind], outline="#888")
            draw.text((x + 20, self.legend_top), label, fill="#333", font=self.text)
            x += 30 + int(draw.textlength(label, font=self.text))
        draw.rectangle((x, self.legend_top, x + 14, self.legend_top + 14), fill="#8fbbd9", outline="#1f77b4")
        draw.text((x + 20, self.legend_top), "window", fill="#333", font=self.text)
        x += 30 + int(draw.textlength("window", font=self.text))
        draw.rectangle((x, self.legend_top, x + 14, self.legend_top + 14), fill="#2ca25f", outline="#333")
        draw.text((x + 20, self.legend_top), "output", fill="#333", font=self.text)
