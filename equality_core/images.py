"""Charts as images for slides: a 16:9 canvas at slide resolution with title, source and notes.

A slide image is one SVG document, 1920 by 1080 by default: the finding as its title at
the top, the chart (a Vega-Lite specification, as Altair's ``chart.to_dict()`` gives it)
fitted into the middle, and the source lines and the ``[c]`` note at the bottom.
:func:`slide_svg` builds it and :func:`slide_png` rasterises that same document with
``vl_convert`` (its SVG renderer, resvg), so what a test reads in the SVG is what the PNG
shows, and no imaging library beyond ``vl_convert`` is needed.

The chart keeps its own drawing; only its title is taken off (the slide's title replaces
it). A single chart (one mark or a layer of marks) that has no fixed width is drawn as wide
as the slide's shape suits, so that it fills the space rather than sitting in a narrow
column; a chart of several views keeps its own size. It is then scaled, as vector
graphics, to fit the space left between the title and the footer.

Text is set in Liberation Sans (metrically the same as Arial, installed with
fonts-liberation), falling back to Arial and to any sans-serif font.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

#: Slide resolution: full HD, 16:9, the size PowerPoint and Google Slides fill exactly.
SLIDE_WIDTH = 1920
SLIDE_HEIGHT = 1080
#: The note every slide carries unless its source lines or notes already explain [c].
SUPPRESSION_NOTE = (
    "[c]: a figure hidden to protect confidentiality. [x]: a figure that does not apply. "
    "Counts are perturbed slightly and consistently (the cell key method)."
)
FONT_FAMILY = "Liberation Sans, Arial, Helvetica, sans-serif"
#: Near-black for titles (GOV.UK text colour) and the Analysis Function dark grey for the
#: rest: both well above WCAG AA contrast on white.
TITLE_COLOUR = "#0B0C0C"
TEXT_COLOUR = "#3D3D3D"
RULE_COLOUR = "#BFBFBF"

# Layout at 1920 by 1080, in pixels; other 16:9 sizes scale it.
_MARGIN = 72
_TOP = 64
_TITLE_SIZE = 46
_SUBTITLE_SIZE = 28
_FOOTER_SIZE = 20
_LINE_HEIGHT = 1.25
_GAP = 28
_BOTTOM = 40
#: Upscaling beyond this makes a small chart's text look cartoonish on a slide.
_MOST_ENLARGED = 2.5
#: Advance widths of the printable ASCII characters (space to tilde) in thousandths of
#: the font size: Liberation Sans shares Arial's (and Helvetica's) metrics, regular then
#: bold. Lines are broken by these, so a title of capitals wraps sooner than one in lower
#: case and neither runs past the margin.
_ADVANCES = {
    False: (
        "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 "
        "556 556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 "
        "500 667 556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 "
        "556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 "
        "278 556 500 722 500 500 500 334 260 334 584"
    ),
    True: (
        "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 "
        "556 556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 "
        "556 722 611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 "
        "556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 "
        "333 611 556 778 556 556 500 389 280 389 584"
    ),
}
_WIDTHS = {
    bold: dict(zip(map(chr, range(32, 127)), (int(w) / 1000 for w in table.split()), strict=True))
    for bold, table in _ADVANCES.items()
}
#: Characters outside the table (symbols, other scripts) are taken as a full em wide.
_UNKNOWN_WIDTH = 1.0
#: The width a chart's plot is given before the slide's shape is known.
_TRIAL_WIDTH = 600
_SINGLE_VIEW_KEYS = ("mark", "layer")
_MANY_VIEW_KEYS = ("facet", "repeat", "concat", "hconcat", "vconcat")

#: Characters XML cannot carry; a NUL in a chart's text also aborts vl_convert's renderer
#: (a Rust panic that takes the whole server process with it).
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: object) -> str:
    """Text as an image may hold it: characters XML cannot carry are dropped."""
    return _XML_UNSAFE.sub("", str(text))


def cleaned(value: Any) -> Any:
    """A Vega-Lite specification (or any JSON value) with every string :func:`clean`."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {clean(key): cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [cleaned(item) for item in value]
    return value


_SVG_TAG = re.compile(r"<svg\b[^>]*>")
_ATTRIBUTE = re.compile(r'\b(width|height)="([0-9.]+)(?:px)?"')


def _lines(value: object) -> list[str]:
    """A Vega-Lite title's text (a string or a list of lines) as a list of lines."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Sequence):
        return [str(line) for line in value if str(line).strip()]
    return [str(value)]


def text_width(text: str, *, size: float, bold: bool = False) -> float:
    """The width in pixels of ``text`` set in Liberation Sans at font ``size``."""
    widths = _WIDTHS[bold]
    total = 0.0
    for character in text:
        plain = unicodedata.normalize("NFKD", character)[:1] or character
        total += widths.get(character, widths.get(plain, _UNKNOWN_WIDTH))
    return total * size


def _wrap(text: str, *, size: float, width: float, bold: bool = False) -> list[str]:
    """``text`` broken at spaces into lines that fit ``width`` pixels; never cut short.

    A word too long for a line on its own is broken where it must be.
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, size=size, bold=bold) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while text_width(line, size=size, bold=bold) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and text_width(line[:cut], size=size, bold=bold) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    return lines


def _spec(chart_spec: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(chart_spec, str):
        try:
            spec = json.loads(chart_spec)
        except json.JSONDecodeError as error:
            raise ValueError(f"chart_spec must be a Vega-Lite specification: {error}") from error
    else:
        spec = copy.deepcopy(dict(chart_spec))
    if not isinstance(spec, dict):
        raise ValueError(f"chart_spec must be a Vega-Lite specification, got {type(spec)}")
    # Names from extracts reach legends and subtitles: never let one crash the renderer.
    return cleaned(spec)


def _size(svg: str) -> tuple[float, float]:
    tag = _SVG_TAG.search(svg)
    if tag is None:
        raise ValueError("the chart did not render to SVG")
    sizes = dict(_ATTRIBUTE.findall(tag.group(0)))
    return float(sizes["width"]), float(sizes["height"])


def _render(spec: Mapping[str, Any]) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def _fitted_chart(spec: dict[str, Any], *, box_width: float, box_height: float) -> str:
    """The chart as SVG, widened to suit the box where it is one view of no fixed width."""
    single_view = any(k in spec for k in _SINGLE_VIEW_KEYS) and not any(
        k in spec for k in _MANY_VIEW_KEYS
    )
    width = spec.get("width")
    if single_view and (width is None or width == "container"):
        trial = {**spec, "width": _TRIAL_WIDTH}
        trial_width, trial_height = _size(_render(trial))
        # The chart's height is its own (fixed, or a step per group): it sets how far the
        # chart can be enlarged, and the plot is made as wide as the box is at that size.
        # Axes and legends take the same room whatever the plot's width.
        enlarge = min(box_height / trial_height, _MOST_ENLARGED)
        around = trial_width - _TRIAL_WIDTH
        wanted = box_width / enlarge - around
        spec = {**spec, "width": int(min(max(wanted, 300), 2400))}
    return _render(spec)


def _text(x: float, y: float, line: str, *, size: float, colour: str, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family={quoteattr(FONT_FAMILY)} '
        f'font-size="{size:.1f}"{weight} fill="{colour}">{escape(clean(line))}</text>'
    )


def slide_svg(
    chart_spec: Mapping[str, Any] | str,
    *,
    title: str,
    source_lines: Sequence[str],
    notes: Sequence[str] = (),
    subtitle: str | None = None,
    width_px: int = SLIDE_WIDTH,
    height_px: int = SLIDE_HEIGHT,
) -> str:
    """A slide as an SVG document: title, subtitle, the chart fitted, source and notes.

    Parameters
    ----------
    chart_spec
        A Vega-Lite specification, as a dict (Altair's ``chart.to_dict()``) or JSON text
        (``chart.to_json()``). Its own title is not drawn: ``title`` replaces it.
    title
        The finding the chart shows, at the top of the slide; wrapped, never cut short.
    source_lines
        Where the figures come from and how they were protected, at the bottom.
    notes
        Further lines under the source. Unless a source line or note already explains
        ``[c]``, :data:`SUPPRESSION_NOTE` is added, so every slide says what ``[c]`` means.
    subtitle
        A line under the title (what the figures are); None takes the chart's own
        subtitle, if it has one.
    width_px, height_px
        The slide's size in pixels, 16:9 (default 1920 by 1080, slide resolution).

    Returns
    -------
    str
        The SVG document, ``width_px`` by ``height_px``, its text as text.
    """
    if not title.strip():
        raise ValueError("title must state the chart's finding, got an empty title")
    if width_px <= 0 or height_px <= 0 or width_px * 9 != height_px * 16:
        raise ValueError(
            f"width_px and height_px must make a 16:9 slide, got {width_px} by {height_px}"
        )
    spec = _spec(chart_spec)
    own_title = spec.pop("title", None)
    if subtitle is None and isinstance(own_title, Mapping):
        subtitle = " ".join(_lines(own_title.get("subtitle")))
    spec.setdefault("config", {})
    spec["config"] = {"font": FONT_FAMILY, **spec["config"]}

    scale = width_px / SLIDE_WIDTH
    margin, usable = _MARGIN * scale, width_px - 2 * _MARGIN * scale
    title_size, subtitle_size = _TITLE_SIZE * scale, _SUBTITLE_SIZE * scale
    footer_size = _FOOTER_SIZE * scale

    parts: list[str] = []
    y = _TOP * scale
    for line in _wrap(title, size=title_size, width=usable, bold=True):
        y += title_size
        parts.append(_text(margin, y, line, size=title_size, colour=TITLE_COLOUR, bold=True))
        y += title_size * (_LINE_HEIGHT - 1)
    if subtitle:
        y += subtitle_size * 0.4
        for line in _wrap(subtitle, size=subtitle_size, width=usable):
            y += subtitle_size
            parts.append(_text(margin, y, line, size=subtitle_size, colour=TEXT_COLOUR))
            y += subtitle_size * (_LINE_HEIGHT - 1)
    chart_top = y + _GAP * scale

    footer = [*source_lines, *notes]
    if not any("[c]" in line for line in footer):
        footer.append(SUPPRESSION_NOTE)
    footer_lines = [
        wrapped
        for line in footer
        if line.strip()
        for wrapped in _wrap(line, size=footer_size, width=usable)
    ]
    footer_step = footer_size * _LINE_HEIGHT
    footer_top = height_px - _BOTTOM * scale - footer_step * len(footer_lines)
    rule = footer_top - footer_size * 0.6
    parts.append(
        f'<line x1="{margin:.1f}" y1="{rule:.1f}" x2="{width_px - margin:.1f}" '
        f'y2="{rule:.1f}" stroke="{RULE_COLOUR}" stroke-width="{max(scale, 0.5):.2f}"/>'
    )
    for number, line in enumerate(footer_lines):
        baseline = footer_top + footer_step * number + footer_size
        parts.append(_text(margin, baseline, line, size=footer_size, colour=TEXT_COLOUR))

    box_width, box_height = usable, rule - _GAP * scale - chart_top
    if box_height < height_px * 0.2:
        raise ValueError(
            "title, subtitle, source_lines and notes leave too little room for the chart: "
            "shorten them"
        )
    chart = _fitted_chart(spec, box_width=box_width, box_height=box_height)
    natural_width, natural_height = _size(chart)
    enlarge = min(box_width / natural_width, box_height / natural_height, _MOST_ENLARGED)
    shown_width, shown_height = natural_width * enlarge, natural_height * enlarge
    x = margin + (box_width - shown_width) / 2
    top = chart_top + (box_height - shown_height) / 2
    nested = (
        f'<svg x="{x:.1f}" y="{top:.1f}" width="{shown_width:.1f}" height="{shown_height:.1f}" '
        f'viewBox="0 0 {natural_width:g} {natural_height:g}" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    )
    chart = _SVG_TAG.sub(nested, chart, count=1)
    chart = re.sub(r"^\s*<\?xml[^>]*\?>", "", chart)

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width_px}" height="{height_px}" viewBox="0 0 {width_px} {height_px}">'
        f"<title>{escape(clean(title))}</title>"
        f'<rect width="{width_px}" height="{height_px}" fill="#FFFFFF"/>'
        + "".join(parts)
        + chart
        + "</svg>"
    )


def slide_png(
    chart_spec: Mapping[str, Any] | str,
    *,
    title: str,
    source_lines: Sequence[str],
    notes: Sequence[str] = (),
    subtitle: str | None = None,
    width_px: int = SLIDE_WIDTH,
    height_px: int = SLIDE_HEIGHT,
) -> bytes:
    """The slide of :func:`slide_svg` as a PNG, ``width_px`` by ``height_px`` pixels.

    The parameters are those of :func:`slide_svg`, whose document this rasterises: the
    image holds exactly the text that document does.
    """
    import vl_convert

    svg = slide_svg(
        chart_spec,
        title=title,
        source_lines=source_lines,
        notes=notes,
        subtitle=subtitle,
        width_px=width_px,
        height_px=height_px,
    )
    png = vl_convert.svg_to_png(clean(svg), scale=1.0)
    if _png_size(png) != (width_px, height_px):
        raise RuntimeError(f"the slide rendered at {_png_size(png)}, not {width_px}x{height_px}")
    return png


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (big-endian, after the signature and IHDR)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
