"""How an animation's frames are painted: palette-indexed tiles, drawn once and pasted, with exact colours.

A frame is landscape, laid out for a slide: the input grid with the window over it, the kernel as its own
grid (a transposed convolution's beside its flipped copy), the output grid, and under them the current
cell's running sum and the formula. Every text is drawn at :data:`TEXT_PX` or a little less in the cells, on
a canvas sized so that it stays at least 18 points once the frame fills a 16:9 slide (up to 9x9 inputs).
Each distinct cell (a padding cell, a cell in the window, an output at its moment) is drawn once with Pillow
as a tile of palette indices and pasted where it is needed, so that a frame costs array copies, not drawing;
colours are mapped to the palette exactly (:mod:`cnnlab.viz.animation_palette`), so that white stays white in a GIF with
transparency. Lines of text break between formulas, never inside one (:mod:`cnnlab.viz.animation_sums`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from cnnlab.viz.animation_palette import PALETTE_SIZE, Indexer, nearest, palette_image, paste, snapped
from cnnlab.viz.animation_sums import RunningSum, formula_pieces, number_text, wrap_pieces
from cnnlab.viz.slide import SvgText

__all__ = [
    "DONE", "EMPTY", "INPUT", "NOW", "OUTSIDE", "PADDING", "PALETTE_SIZE", "TEXT_PX", "ZERO", "FramePainter", "Slide",
]  # fmt: skip

# What a cell of the grid the window slides over holds.
INPUT, PADDING, ZERO, OUTSIDE = "input", "padding", "zero", "outside"

_COLOURS = {INPUT: "#dbe9f6", PADDING: "#ececec", ZERO: "#fff3c4", OUTSIDE: "#ffffff"}
WINDOW_EDGE = (31, 119, 180)
KERNEL_FILL = "#9ec4df"  # the window's blue over white: the kernel grid reads as the window's weights
# An output cell before, at and after its frame: its fill and its number's colour.
EMPTY, NOW, DONE = "empty", "now", "done"
_OUTPUT_STATES = {EMPTY: ("#ffffff", "#222"), NOW: ("#2ca25f", "#fff"), DONE: ("#c7e9c0", "#222")}


class Slide(Protocol):
    """What the painter reads of an animation: the grid, the window at each output position, the numbers.

    :class:`cnnlab.viz.animation.Animation` is one. A protocol, so that how frames are painted needs nothing
    (and imports nothing) of how an animation is computed.
    """

    kind: str  # conv, pool or transposed
    mode: str  # max or mean (pooling)
    cells: np.ndarray  # (H, W) of INPUT, PADDING, ZERO or OUTSIDE
    windows: list[list[tuple[int, int]]]  # per output position, the grid cells its window covers
    output_shape: tuple[int, int]
    kernel_shape: tuple[int, int]
    dilation: tuple[int, int]
    grid_values: np.ndarray | None
    kernel: np.ndarray | None  # as it slides (a transposed convolution's flipped)
    original_kernel: np.ndarray | None  # a transposed convolution's, unflipped
    bias: float | None
    outputs: np.ndarray | None
    sums: list[RunningSum] | None

    @property
    def heading(self) -> str:
        """The title over the frames (may be empty)."""
        ...

    @property
    def caption(self) -> str:
        """The formula lines under the frames."""
        ...

    @property
    def positions(self) -> list[tuple[int, int]]:
        """The output position of each frame, row by row."""
        ...


TEXT_PX = 20
"""Every label, the title, the running sum and the formula, in pixels; the numbers in the cells the same or a
little less. The canvas is sized around it so that a frame fitted to a 16:9 slide shows it at 18 points or
more (a 9x9 input's frame is about 950 x 580 pixels)."""

_LINE = round(TEXT_PX * 1.3)  # one line of text
_MARGIN = 14
_GAP = 28  # between the input and the kernel, and between two kernels
_ARROW_GAP = 60  # before the output: the arrow
_CELL = 44  # the largest cell: a number of TEXT_PX with room around it
_TALLEST = 396  # a grid is drawn at most 9 largest cells tall; a larger one gets smaller cells
_SUM_LINES = 1  # a running sum shows every term when each frame's fits on this many lines, else its nonzero ones
_LEGEND = [(INPUT, "input"), (PADDING, "padding"), (ZERO, "zeros inserted"), (OUTSIDE, "past the padding")]


def _font(size: int) -> Any:
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class _Panel:
    """One grid of a frame, its label above it: ``left`` and ``width`` span the wider of grid and label."""

    label: str
    left: int
    top: int  # the grid's top; the label's line is above it
    rows: int
    cols: int
    width: int
    cell: int

    @property
    def grid_left(self) -> int:
        return self.left + (self.width - self.cols * self.cell) // 2

    @property
    def bottom(self) -> int:
        return self.top + self.rows * self.cell

    def box(self, gy: int, gx: int) -> tuple[int, int, int, int]:
        left, top = self.grid_left + gx * self.cell, self.top + gy * self.cell
        return left, top, left + self.cell, top + self.cell


class FramePainter:
    """Draws the frames of an animation with Pillow: input grid and window, kernel, output, running sum, formula.

    After :meth:`frames`, ``texts`` holds every text drawn with its size in pixels and ``size`` the frame's
    ``(width, height)``: what :meth:`cnnlab.viz.animation.Animation.slide_check` reads.
    """

    def __init__(self, animation: Slide) -> None:
        self.a = animation
        self.font = _font(TEXT_PX)
        rows, cols = animation.cells.shape
        tallest = max(rows, cols, *animation.output_shape, *self._kernel_extent())
        self.numbers = self._numbers()
        # A cell holds its widest number at TEXT_PX where the grid is small enough (mean pooling's 5.25)
        roomy = max(_CELL, max(map(self.font.getlength, self.numbers)) + 12)
        self.cell = int(max(16, min(roomy, _TALLEST // tallest)))
        self.cell_font = self._cell_font()
        self.texts_drawn: dict[tuple[str, float], None] = {}
        self.heading = animation.heading.splitlines() if animation.heading else []
        self._lay_out()

    # -- layout ------------------------------------------------------------------------------------------

    def _numbers(self) -> set[str]:
        """Every number the cells show (a letter's width without values)."""
        arrays = [array for array in (self.a.grid_values, self.a.outputs, self.a.kernel) if array is not None]
        return {number_text(float(n)) for array in arrays for n in array.reshape(-1).tolist()} or {"m"}

    def _cell_font(self) -> Any:
        """The numbers' font: :data:`TEXT_PX`, or as large as the widest number fits a smaller cell."""
        size = min(TEXT_PX, int(self.cell * 0.6))
        while size > 8 and max(map(_font(size).getlength, self.numbers)) > self.cell - 12:
            size -= 1
        return _font(size)

    def _kernel_extent(self) -> tuple[int, int]:
        (kh, kw), (dh, dw) = self.a.kernel_shape, self.a.dilation
        return dh * (kh - 1) + 1, dw * (kw - 1) + 1

    def _panel_labels(self) -> list[tuple[str, int, int]]:
        """``(label, rows, cols)`` of each grid, left to right."""
        rows, cols = self.a.cells.shape
        k_rows, k_cols = self._kernel_extent()
        (dh, dw) = self.a.dilation
        dilated = "" if (dh, dw) == (1, 1) else f", dilation {dh}" if dh == dw else f", dilation {dh}x{dw}"
        if self.a.kind == "pool":
            kernels = [(f"{self.a.mode} window{dilated}", k_rows, k_cols)]
        elif self.a.kind == "transposed":
            kernels = [(f"kernel{dilated}", k_rows, k_cols), ("flipped: slides", k_rows, k_cols)]
        else:
            kernels = [(f"kernel{dilated}", k_rows, k_cols)]
        source = "input, zeros inserted" if self.a.kind == "transposed" else "input"
        return [(source, rows, cols), *kernels, ("output", *self.a.output_shape)]

    def _lay_out(self) -> None:
        """Where everything goes: the title, the grids left to right under their labels, the running sum, the
        caption (one column, or a rectangular layer's two when that reads larger on a slide), the legend
        (beside the title when it fits); and the frame's size."""
        measure = self.font.getlength
        margin = _MARGIN
        grid_top = margin + len(self.heading) * _LINE + (8 if self.heading else 0) + _LINE
        self.panels: list[_Panel] = []
        x = margin
        specs = self._panel_labels()
        for n, (label, rows, cols) in enumerate(specs):
            x += _ARROW_GAP - _GAP if n == len(specs) - 1 else 0
            width = int(max(cols * self.cell, measure(label)))
            self.panels.append(_Panel(label, x, grid_top, rows, cols, width, self.cell))
            x += width + _GAP
        panels_width = x - _GAP + margin
        body = max(panel.rows * self.cell for panel in self.panels)
        if self.a.bias is not None:  # "bias 1" under the last kernel
            body = max(body, self.panels[-2].rows * self.cell + _LINE + 4)
        self.text_top = grid_top + body + 12
        # Text may run as wide as the grids, or as a 16:9 frame as tall as they are: no wider, so that a long
        # line does not make the whole frame smaller on a slide.
        width = max(panels_width, 16 / 9 * (self.text_top + margin)) - 2 * margin
        self.sum_lines = self._sum_lines(width)
        self.sum_top = self.text_top
        self.caption_top = self.sum_top + len(self.sum_lines[0] if self.sum_lines else []) * _LINE
        self.caption_top += 6 if self.sum_lines else 0
        blocks = self._caption_blocks()
        stacked = [[line for block in blocks for line in self._wrapped(block, width)]]
        layouts = [self._frame_for(stacked, panels_width)]
        if len(blocks) == 2:  # a rectangular layer: the height's formulas beside the width's, when that is larger
            # (a column is at least as wide as its widest formula, which is never cut)
            pieces = [piece for block in blocks for line in block for piece in formula_pieces(line)]
            column = max(width / 2 - 16, *map(self.font.getlength, pieces))
            layouts.append(self._frame_for([self._wrapped(block, column) for block in blocks], panels_width))
        best = max(layouts, key=lambda layout: min(960 / layout[0], 540 / layout[1]))
        self.width, self.height, self.legend_inline, self.caption_columns = best
        self.caption_lines = [line for _, lines in self.caption_columns for line in lines]
        rows = max(len(lines) for _, lines in self.caption_columns)
        self.legend_top = self.caption_top + rows * _LINE

    def _caption_blocks(self) -> list[list[str]]:
        """The caption's lines, as one block, or as the height's and the width's formulas of a rectangular layer."""
        lines = self.a.caption.splitlines()
        split = next((n for n, line in enumerate(lines) if n and line.startswith("width: ")), None)
        return [lines] if split is None or not lines[0].startswith("height: ") else [lines[:split], lines[split:]]

    def _wrapped(self, block: list[str], width: float) -> list[str]:
        """A block's lines broken to ``width`` between formulas, never inside one."""
        measure = self.font.getlength
        return [wrapped for line in block
                for wrapped in (wrap_pieces(formula_pieces(line), width, measure, indent="    ") or [""])]  # fmt: skip

    def _frame_for(
        self, columns: list[list[str]], panels_width: int
    ) -> tuple[int, int, bool, list[tuple[int, list[str]]]]:
        """``(width, height, legend beside the title, [(x, lines) per caption column])`` of a frame whose caption
        is ``columns`` side by side."""
        measure = self.font.getlength
        margin = _MARGIN
        placed, x = [], 0
        for lines in columns:
            placed.append((x, lines))
            x += int(max((measure(line) for line in lines), default=0)) + 32
        caption_width = x - 32
        widest = max([measure(line) for line in self.sum_lines_all] + [caption_width], default=0)
        heading_width = max((measure(line) for line in self.heading), default=0)
        legend_width = self._legend_width()
        width = int(max(panels_width, widest + 2 * margin, heading_width + 2 * margin))
        inline = bool(self.heading) and heading_width + 40 + legend_width <= width - 2 * margin
        width = int(max(width, legend_width + 2 * margin))
        rows = max(len(lines) for lines in columns)
        height = self.caption_top + rows * _LINE + (0 if inline else _LINE) + margin
        return width, int(height), inline, placed

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def texts(self) -> list[SvgText]:
        """Every text drawn so far, each once, with its size in pixels."""
        return [SvgText(text, size) for text, size in self.texts_drawn]

    def _sum_lines(self, width: float) -> list[list[str]]:
        """Per frame, its running sum's lines: every term when each frame's fits on :data:`_SUM_LINES` lines,
        otherwise the products without a zero factor (a padded or zero-inserted grid has many)."""
        self.sum_lines_all: list[str] = []
        if self.a.sums is None:
            return []
        measure = self.font.getlength
        every = [wrap_pieces(running.pieces(), width, measure, indent="    ") for running in self.a.sums]
        if max(len(lines) for lines in every) > _SUM_LINES and self.a.sums[0].operation == "sum":
            every = [wrap_pieces([*running.pieces(nonzero_only=True), "(zero terms left out)"], width, measure,
                                 indent="    ") for running in self.a.sums]  # fmt: skip
        tallest = max(len(lines) for lines in every)
        self.sum_lines_all = [line for lines in every for line in lines]
        return [lines + [""] * (tallest - len(lines)) for lines in every]

    def _legend_width(self) -> int:
        return int(sum(30 + self.font.getlength(label) for _, label in self._legend_items()))

    def _legend_items(self) -> list[tuple[tuple[str, str], str]]:
        """``((fill, outline), label)`` of each colour the frames use."""
        present = set(self.a.cells.flatten().tolist())
        items = [((_COLOURS[kind], "#888"), label) for kind, label in _LEGEND if kind in present]
        return [*items, (("#8fbbd9", "#1f77b4"), "window"), (("#2ca25f", "#333"), "output")]

    # -- frames ------------------------------------------------------------------------------------------

    def frames(self) -> list[Image.Image]:
        """The frames as palette images sharing one palette: drawn once in RGB, then assembled from tiles.

        Everything that does not move (title, grids, kernel, legend, formula) is drawn once; each frame differs
        from the one before only in the window's cells, one output cell and the running sum. The cells are
        drawn once each as small tiles, mapped to the shared palette, and pasted into a copy of the indexed
        picture; the running sum is drawn in grey levels and mapped through one lookup table. Hundreds of
        frames cost what a few full drawings would, and a GIF needs no quantizing per frame.
        """
        base = self._still()
        palette = self._palette(base)
        to_index = Indexer(palette)
        indexed = to_index(base)
        blue = nearest(palette, WINDOW_EDGE)
        greys = to_index(Image.fromarray(np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(1, 256, 3)))[0]
        tiles: dict[tuple[Any, ...], np.ndarray] = {}

        def tile(key: tuple[Any, ...], box: tuple[int, int, int, int], draw: Any) -> np.ndarray:
            if key not in tiles:
                left, top, right, bottom = box
                crop = base.crop((left, top, right + 1, bottom + 1))
                draw(ImageDraw.Draw(crop, "RGBA"), (0, 0, right - left, bottom - top))
                tiles[key] = to_index(crop)
            return tiles[key]

        source, output = self.panels[0], self.panels[-1]
        frames = []
        for n, (y, x) in enumerate(self.a.positions):
            frame = indexed.copy()
            window = self.a.windows[n]
            self._span(frame, window, blue)
            for gy, gx in window:
                box = source.box(gy, gx)
                paste(frame, box, tile(("window", gy, gx), box, self._window_cell))
            box = output.box(y, x)
            value = None if self.a.outputs is None else float(self.a.outputs[y, x])
            now = tile(("now", y, x), box, lambda pen, at, v=value: self._output_cell(pen, at, v, NOW))
            done = tile(("done", y, x), box, lambda pen, at, v=value: self._output_cell(pen, at, v, DONE))
            paste(frame, box, now)
            if self.sum_lines:
                self._running_sum(frame, self.sum_lines[n], greys)
            frames.append(palette_image(frame, palette))
            paste(indexed, box, done)
        return frames

    def _running_sum(self, frame: np.ndarray, lines: list[str], greys: np.ndarray) -> None:
        """The frame's running sum, drawn in grey levels on white and mapped to the palette by ``greys``."""
        strip = Image.new("L", (self.width - 2 * _MARGIN, len(lines) * _LINE), 255)
        pen = ImageDraw.Draw(strip)
        for n, line in enumerate(lines):
            if line:
                pen.text((0, n * _LINE + _LINE // 2), line, fill=17, font=self.font, anchor="lm")
                self._note(line, TEXT_PX)
        top = self.sum_top
        frame[top : top + strip.height, _MARGIN : _MARGIN + strip.width] = greys[np.asarray(strip)]

    def _note(self, text: str, size: float) -> None:
        self.texts_drawn[(text, float(size))] = None

    def _text(self, draw: ImageDraw.ImageDraw, at: tuple[float, float], text: str, fill: str = "#222",
              font: Any = None, anchor: str = "lm") -> None:  # fmt: skip
        font = font or self.font
        draw.text(at, text, fill=fill, font=font, anchor=anchor)
        self._note(text, font.size)

    def _still(self) -> Image.Image:
        """What every frame shows: title, legend, the grids with their labels, the kernel, the formula."""
        base = Image.new("RGB", (self.width, self.height), "white")
        draw = ImageDraw.Draw(base)
        for n, line in enumerate(self.heading):
            self._text(draw, (_MARGIN, _MARGIN + n * _LINE + _LINE // 2), line, fill="#111")
        legend_at = (self.width - _MARGIN - self._legend_width(), _MARGIN) if self.legend_inline else (
            _MARGIN, self.legend_top)  # fmt: skip
        self._legend(draw, *legend_at)
        for panel in self.panels:
            self._text(draw, (panel.left + panel.width / 2, panel.top - _LINE // 2 - 2), panel.label, "#333",
                       anchor="mm")  # fmt: skip
        self._grid(draw)
        self._kernels(draw)
        for x, lines in self.caption_columns:
            for n, line in enumerate(lines):
                if line:
                    self._text(draw, (_MARGIN + x, self.caption_top + n * _LINE + _LINE // 2), line, fill="#333")
        output = self.panels[-1]
        arrow_y = output.top + min(output.rows, 3) * self.cell // 2
        start, end = self.panels[-2].left + self.panels[-2].width + 10, output.grid_left - 10
        draw.line((start, arrow_y, end, arrow_y), fill="#555", width=3)
        draw.polygon([(end, arrow_y), (end - 10, arrow_y - 7), (end - 10, arrow_y + 7)], fill="#555")
        for y, x in self.a.positions:
            self._output_cell(draw, output.box(y, x), None, EMPTY)
        return base

    def _palette(self, base: Image.Image) -> Image.Image:
        """One palette for all frames, from the still picture beside one with every cell in every state."""
        sample = base.copy()
        pen = ImageDraw.Draw(sample, "RGBA")
        rows, cols = self.a.cells.shape
        for gy in range(rows):
            for gx in range(cols):
                self._window_cell(pen, self.panels[0].box(gy, gx))
        for n, (y, x) in enumerate(self.a.positions):
            value = None if self.a.outputs is None else float(self.a.outputs[y, x])
            self._output_cell(pen, self.panels[-1].box(y, x), value, (NOW, DONE)[n % 2])
        both = Image.new("RGB", (self.width, 2 * self.height))
        both.paste(base, (0, 0))
        both.paste(sample, (0, self.height))
        # Every other pixel each way is sample enough for 64 colours (each colour covers runs of pixels, text's
        # antialiasing too), and a quarter of the time.
        thinned = Image.fromarray(np.asarray(both)[::2, ::2])
        palette = thinned.quantize(colors=PALETTE_SIZE, method=Image.Quantize.MEDIANCUT)
        exact = [*_COLOURS.values(), KERNEL_FILL, *(fill for fill, _ in _OUTPUT_STATES.values())]
        return snapped(palette, [(255, 255, 255), WINDOW_EDGE, *map(ImageColor.getrgb, exact)])

    def _span(self, frame: np.ndarray, window: list[tuple[int, int]], colour: int) -> None:
        """The outline of the whole window, the gaps of a dilation included (2 pixels, as the cells')."""
        ys, xs = [gy for gy, _ in window], [gx for _, gx in window]
        left, top, _, _ = self.panels[0].box(min(ys), min(xs))
        _, _, right, bottom = self.panels[0].box(max(ys), max(xs))
        frame[top : top + 2, left : right + 1] = colour
        frame[bottom - 1 : bottom + 1, left : right + 1] = colour
        frame[top : bottom + 1, left : left + 2] = colour
        frame[top : bottom + 1, right - 1 : right + 1] = colour

    def _grid(self, draw: ImageDraw.ImageDraw) -> None:
        cells, panel = self.a.cells, self.panels[0]
        for gy in range(cells.shape[0]):
            for gx in range(cells.shape[1]):
                kind = cells[gy, gx]
                box = panel.box(gy, gx)
                draw.rectangle(box, fill=_COLOURS[kind], outline="#333" if kind == INPUT else "#aaa")
                if kind == PADDING:  # hatched, so that padding reads as "not the image"
                    left, top, right, bottom = box
                    for offset in range(0, self.cell, max(5, self.cell // 4)):
                        draw.line((left + offset, bottom, left, bottom - offset), fill="#c8c8c8")
                        draw.line((right, top + offset, right - (self.cell - offset), bottom), fill="#c8c8c8")
                if self.a.grid_values is not None and kind != OUTSIDE:
                    text = number_text(float(self.a.grid_values[gy, gx]))
                    self._centred(draw, box, text, "#222" if kind == INPUT else "#777")

    def _kernels(self, draw: ImageDraw.ImageDraw) -> None:
        """The kernel grid (a dilated one with its gaps white): its weights with values; without, a transposed
        convolution's cells lettered, so that the flip shows."""
        (kh, kw), (dh, dw) = self.a.kernel_shape, self.a.dilation
        kernels = self.panels[1:-1]
        if self.a.kernel is not None:
            weights = [self.a.kernel] if self.a.original_kernel is None else [self.a.original_kernel, self.a.kernel]
            texts = [[[number_text(float(w)) for w in row] for row in kernel] for kernel in weights]
        elif self.a.kind == "transposed" and kh * kw <= 26:
            letters = [[chr(ord("a") + r * kw + c) for c in range(kw)] for r in range(kh)]
            texts = [letters, [row[::-1] for row in letters[::-1]]]
        else:
            texts = [[[""] * kw for _ in range(kh)]] * len(kernels)
        for panel, cells in zip(kernels, texts, strict=True):
            for ky in range(panel.rows):
                for kx in range(panel.cols):
                    box = panel.box(ky, kx)
                    if ky % dh or kx % dw:  # a dilation's gap: no weight there
                        draw.rectangle(box, fill="#ffffff", outline="#bbb")
                        continue
                    draw.rectangle(box, fill=KERNEL_FILL, outline=WINDOW_EDGE, width=2)
                    if cells[ky // dh][kx // dw]:
                        self._centred(draw, box, cells[ky // dh][kx // dw], "#0b3c6b")
        if self.a.bias is not None:
            last = kernels[-1]
            self._text(draw, (last.left + last.width / 2, last.bottom + 4 + _LINE // 2),
                       f"bias {number_text(self.a.bias)}", "#0b3c6b", anchor="mm")  # fmt: skip

    def _centred(self, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, fill: str) -> None:
        left, top, right, bottom = box
        draw.text(((left + right) / 2, (top + bottom) / 2), text, fill=fill, font=self.cell_font, anchor="mm")
        self._note(text, self.cell_font.size)

    def _window_cell(self, pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
        pen.rectangle(box, fill=(*WINDOW_EDGE, 110), outline=(*WINDOW_EDGE, 255), width=2)

    def _output_cell(self, pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int], value: float | None,
                     state: str) -> None:  # fmt: skip
        fill, text_fill = _OUTPUT_STATES[state]
        pen.rectangle(box, fill=fill, outline="#333")
        if value is not None and state != EMPTY:
            self._centred(pen, box, number_text(value), text_fill)

    def _legend(self, draw: ImageDraw.ImageDraw, x: float, top: int) -> None:
        middle = top + _LINE // 2
        for (fill, outline), label in self._legend_items():
            draw.rectangle((x, middle - 8, x + 16, middle + 8), fill=fill, outline=outline)
            self._text(draw, (x + 22, middle), label, "#333")
            x += 30 + self.font.getlength(label)
