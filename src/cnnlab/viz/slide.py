"""The slide standard in code: how large a picture's text is when the picture fills a 16:9 slide.

A teacher puts a picture on a slide; a student reads it on a projector from the back of the room. The standard
(``docs/pictures.md``) asks for text of at least :data:`MIN_FONT_PT` points when the picture is fitted to a
16:9 slide (13.33 x 7.5 inches, 960 x 540 points, the size PowerPoint, Keynote and Google Slides use). A
picture's own font sizes say nothing on their own: 10-point text in a 6.4-inch figure becomes 21 points on
the slide, the same text in a 15-inch figure 9 points. So every check here scales a picture to the slide first.

:func:`read_svg` reads an SVG (matplotlib's with ``svg.fonttype = "none"``, Graphviz's, any other) back: every
piece of text with its size after the transforms above it, and the picture's size; :class:`SlideCheck` says
what its smallest text becomes on the slide. :func:`font_for_slide` answers the question a drawing function
asks: how large must my text be, at this canvas size, to be :data:`MIN_FONT_PT` on the slide?
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cnnlab.errors import SettingError

__all__ = [
    "ASPECTS", "MIN_FONT_PT", "SLIDE_HEIGHT_PT", "SLIDE_WIDTH_PT", "TITLES", "SlideCheck", "SvgText", "TitleMode",
    "aspect_ratio", "font_for_slide", "read_svg", "slide_scale", "title_mode", "titled",
]  # fmt: skip

SLIDE_WIDTH_PT = 960.0
SLIDE_HEIGHT_PT = 540.0
"""A 16:9 slide, 13.33 x 7.5 inches, in points (1/72 inch)."""

MIN_FONT_PT = 18.0
"""The smallest text a picture may have once it is fitted to a 16:9 slide. 18 points is the usual floor of
presentation guides for text read from the back of a lecture hall; a slide's body text is 24-28."""

TitleMode = Literal["full", "short", "none"]
TITLES: tuple[TitleMode, ...] = ("full", "short", "none")
"""``short`` (the default everywhere): a title a slide can carry, a few words. ``full``: the title with where the
picture comes from (the run, the checkpoint, the weights). ``none``: no title, for a slide that has its own."""

ASPECTS = {"16:9": 16 / 9, "4:3": 4 / 3, "1:1": 1.0}
"""The aspect ratios (width / height) a drawing can be asked for by name."""

_POINTS_PER_UNIT = {"": 0.75, "pt": 1.0, "px": 0.75, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4, "pc": 12.0}


def slide_scale(width: float, height: float) -> float:
    """How much a picture of ``width x height`` (points) is enlarged when fitted, whole, to a 16:9 slide."""
    if not (width > 0 and height > 0):
        raise ValueError(f"a picture's width and height must be positive, not {width} x {height}")
    return min(SLIDE_WIDTH_PT / width, SLIDE_HEIGHT_PT / height)


def font_for_slide(width_px: float, height_px: float, dpi: float = 100, minimum: float = MIN_FONT_PT) -> float:
    """The font size (points) that text needs in a ``width_px x height_px`` figure drawn at ``dpi`` so that it is
    ``minimum`` points once the figure is fitted to a 16:9 slide.

    A 640 x 360 figure at 100 dpi (6.4 x 3.6 in) needs 8.64 points; a 1280 x 720 one, 17.28.
    """
    scale = slide_scale(width_px * 72 / dpi, height_px * 72 / dpi)
    return minimum / scale


def aspect_ratio(text: str | float) -> float:
    """``"16:9"``, ``"4:3"``, ``"W:H"`` with any positive numbers, or a number, as width / height.

    Raises:
        SettingError: anything else.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        ratio = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*", str(text))
        ratio = float(match.group(1)) / float(match.group(2)) if match and float(match.group(2)) else math.nan
    if not (math.isfinite(ratio) and 0.2 <= ratio <= 5):
        raise SettingError(f"an aspect is WIDTH:HEIGHT between 1:5 and 5:1, such as 16:9 or 4:3, not {text!r}")
    return ratio


def title_mode(value: str) -> TitleMode:
    """``value`` checked against :data:`TITLES`.

    Raises:
        SettingError: anything else.
    """
    if value not in TITLES:
        raise SettingError(f"a title is one of {', '.join(TITLES)}, not {value!r}")
    return value  # type: ignore[return-value]


def titled(mode: TitleMode, short: str, full: str | None = None) -> str:
    """The title a picture carries for ``mode``: ``short``, ``full`` (``short`` when there is no longer one), or
    the empty string for ``none``."""
    title_mode(mode)
    if mode == "none":
        return ""
    return full if mode == "full" and full else short


@dataclass(frozen=True)
class SvgText:
    """One run of text in an SVG, at the size it is drawn (in the SVG's user units, after every transform)."""

    text: str
    size: float


@dataclass(frozen=True)
class SlideCheck:
    """An SVG read back against the slide standard.

    Attributes:
        width, height: the picture's size in points (its ``width``/``height`` attributes, or its viewBox).
        texts: every run of text, in document order, with its drawn size in points.
        unit: what ``width``, ``height`` and the sizes are measured in: ``pt`` for an SVG, ``px`` for a raster
            picture whose texts were drawn at pixel sizes (an animation's frames). Only their ratios matter.
    """

    width: float
    height: float
    texts: tuple[SvgText, ...]
    unit: str = "pt"

    @property
    def aspect(self) -> float:
        """Width / height."""
        return self.width / self.height

    @property
    def scale(self) -> float:
        """How much the picture is enlarged when fitted to a 16:9 slide."""
        return slide_scale(self.width, self.height)

    @property
    def smallest(self) -> SvgText | None:
        """The smallest text (the first of equals), or None for a picture without text."""
        return min(self.texts, key=lambda text: text.size, default=None)

    @property
    def smallest_on_slide(self) -> float:
        """The smallest text's size, in points, on a 16:9 slide (infinity for a picture without text)."""
        smallest = self.smallest
        return math.inf if smallest is None else smallest.size * self.scale

    @property
    def passes(self) -> bool:
        """Every text is at least :data:`MIN_FONT_PT` on a 16:9 slide (rounded to a tenth of a point)."""
        return round(self.smallest_on_slide, 1) >= MIN_FONT_PT

    def below(self, minimum: float = MIN_FONT_PT) -> list[SvgText]:
        """The texts smaller than ``minimum`` points on the slide: what a test names when it fails."""
        return [text for text in self.texts if round(text.size * self.scale, 1) < minimum]

    def lines(self) -> list[str]:
        smallest = self.smallest
        words = "no text" if smallest is None else f"smallest text {self.smallest_on_slide:.1f} pt ({smallest.text!r})"
        verdict = "passes" if self.passes else f"below {MIN_FONT_PT:g} pt"
        return [
            f"{self.width:.0f} x {self.height:.0f} {self.unit} (aspect {self.aspect:.2f}), "
            f"on a 16:9 slide: {words}, {verdict}"
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def read_svg(svg: str | bytes | Path) -> SlideCheck:
    """Read an SVG's size and every text with its drawn size.

    ``svg`` is a path, or the SVG itself as ``str`` / ``bytes`` (text starting with ``<``). Font sizes come from
    ``font-size`` attributes, ``style`` declarations (``font-size: 10px`` or the ``font:`` shorthand) and are
    inherited; ``transform`` s (matrix, scale, rotate, ...) scale them by the square root of their determinant.

    Raises:
        ValueError: not an SVG, or one without a size.
    """
    source = svg.read_bytes() if isinstance(svg, Path) else svg
    if isinstance(source, str) and not source.lstrip().startswith("<"):
        source = Path(source).read_bytes()
    try:
        root = ElementTree.fromstring(source)
    except ElementTree.ParseError as error:
        raise ValueError(f"not an SVG: {error}") from None
    if _local(root.tag) != "svg":
        raise ValueError(f"not an SVG: its root is <{_local(root.tag)}>")
    width, height, unit_scale = _size(root)
    texts: list[SvgText] = []
    _walk(root, 16.0, unit_scale, texts, inside_text=False)
    return SlideCheck(width=width, height=height, texts=tuple(texts))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _length(value: str | None) -> float | None:
    match = re.fullmatch(r"\s*([\d.eE+-]+)\s*([a-z]*)\s*", value or "")
    if not match or match.group(2) not in _POINTS_PER_UNIT:
        return None
    return float(match.group(1)) * _POINTS_PER_UNIT[match.group(2)]


def _size(root: ElementTree.Element) -> tuple[float, float, float]:
    """``(width, height)`` in points and points per user unit."""
    box = [float(number) for number in re.split(r"[\s,]+", root.get("viewBox", "").strip()) if number]
    width, height = _length(root.get("width")), _length(root.get("height"))
    if width is None or height is None:  # "100%", or no size at all: the viewBox's, in CSS pixels
        if len(box) != 4:
            raise ValueError("the SVG has neither a width and height nor a viewBox")
        width, height = box[2] * _POINTS_PER_UNIT["px"], box[3] * _POINTS_PER_UNIT["px"]
    unit_scale = width / box[2] if len(box) == 4 and box[2] > 0 else _POINTS_PER_UNIT["px"]
    return width, height, unit_scale


def _transform_scale(transform: str | None) -> float:
    """The factor by which ``transform`` scales lengths: the square root of its determinant's magnitude."""
    scale = 1.0
    for name, arguments in re.findall(r"(\w+)\s*\(([^)]*)\)", transform or ""):
        numbers = [float(number) for number in re.split(r"[\s,]+", arguments.strip()) if number]
        if name == "matrix" and len(numbers) == 6:
            scale *= math.sqrt(abs(numbers[0] * numbers[3] - numbers[1] * numbers[2]))
        elif name == "scale" and numbers:
            scale *= math.sqrt(abs(numbers[0] * (numbers[1] if len(numbers) > 1 else numbers[0])))
    return scale


def _user_units(value: str) -> float | None:
    """A font size in user units (CSS pixels): ``10``, ``10px``, ``7.5pt``."""
    points = _length(value)
    return None if points is None else points / _POINTS_PER_UNIT["px"]


def _font_size(element: ElementTree.Element, inherited: float) -> float:
    size = _user_units(element.get("font-size", "")) or inherited
    style = element.get("style", "")
    declared = re.search(r"font-size\s*:\s*([\d.eE+-]+\s*[a-z]*)", style) or re.search(
        r"(?:^|;)\s*font\s*:[^;]*?([\d.]+\s*(?:px|pt)?)\s+['\"\w]", style
    )
    if declared:
        size = _user_units(declared.group(1)) or size
    return size


def _walk(element: ElementTree.Element, size: float, scale: float, texts: list[SvgText], inside_text: bool) -> None:
    tag = _local(element.tag)
    if tag in {"defs", "metadata", "title", "desc", "style", "script"}:
        return
    size = _font_size(element, size)
    scale *= _transform_scale(element.get("transform"))
    is_text = tag in {"text", "tspan", "textPath"}
    own = (element.text or "").strip() if is_text else ""
    if own:
        texts.append(SvgText(text=own, size=size * scale))
    for child in element:
        _walk(child, size, scale, texts, inside_text or is_text)
        tail = (child.tail or "").strip()
        if tail and (inside_text or is_text):
            texts.append(SvgText(text=tail, size=size * scale))
