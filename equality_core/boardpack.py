"""Board packs: the findings a view shows, as a 16:9 PowerPoint deck (python-pptx).

A board pack is for a board paper or a meeting: a title slide naming the place, the
period, when the data were validated and, for the bundled demo, that the data are
synthetic; then one slide per finding; then a closing slide with the method and the flag
rule in one paragraph and where the methodology is.

Each finding's slide has the finding as its title (the headline the dashboard states
from the finding's own table), the chart as a picture rendered at slide resolution with
``vl_convert`` (its text alternative as the picture's alt text), two or three lines of
description, the ``[c]`` note and the source line. The finding's full text description
goes in the speaker notes, for screen-reader users and for whoever presents it. When the
viewer sees exact figures, every slide carries the protective marking at its top and
bottom. Nothing here knows about Streamlit: the dashboard passes the findings, each
chart's Vega-Lite specification (or a PNG already made) and the cover's facts.

Text from extracts (establishment names in a headline) is written as plain text runs:
PowerPoint shows it as typed. Characters XML cannot hold are dropped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from equality_core import images
from equality_core.findings import Finding

#: 16:9 at PowerPoint's widescreen size, 13.333 by 7.5 inches (in EMU, exactly 16:9).
SLIDE_WIDTH = Emu(12192000)
SLIDE_HEIGHT = Emu(6858000)
#: Pixels per inch of the chart pictures: 1920 pixels across the slide, as the dashboard's
#: PNG slides are, so a picture is sharp when the deck is shown full screen at full HD.
PICTURE_DPI = images.SLIDE_WIDTH / (SLIDE_WIDTH / 914400)
#: Arial: on every computer that opens a .pptx, and metrically the same as Liberation
#: Sans, whose widths (images.text_width) decide where lines break and what fits.
FONT = "Arial"
DEMO_WORDS = "Synthetic demo data"
DEMO_SENTENCE = (
    "Synthetic demo data: every figure is made up by the demo generator and describes no "
    "real prison, probation region or person."
)
#: A chart picture is drawn only for findings the dashboard draws as charts.
NO_PICTURE = frozenset({"table"})
METHODOLOGY_WHERE = (
    "The methodology (populations, intervals, tests, the flag rule, disclosure control and "
    "the assumptions log) is in docs/methodology.md of the Equality Monitor repository; the "
    "dashboard's Data and glossary page defines every measure."
)

_TITLE_COLOUR = RGBColor.from_string(images.TITLE_COLOUR[1:])
_TEXT_COLOUR = RGBColor.from_string(images.TEXT_COLOUR[1:])
_MARKING_COLOUR = RGBColor.from_string("0B0C0C")
_MARGIN = Inches(0.5)
_USABLE = SLIDE_WIDTH - 2 * _MARGIN
_TITLE_TOP = Inches(0.4)
_TITLE_HEIGHT = Inches(1.0)
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Title sizes tried in turn, largest first, until the headline fits on two lines.
_TITLE_SIZES = (28, 24, 20, 18)
_DESCRIPTION_SIZE = 14
_SMALL_SIZE = 10


ChartImage = Mapping[str, Any] | str | bytes | None
"""A finding's chart: a Vega-Lite specification (dict or JSON), a PNG, or None for none."""


@dataclass(frozen=True)
class Cover:
    """The facts a board pack's first and last slides state.

    Parameters
    ----------
    place
        Where the figures are for, e.g. "HMP Caldwick" or "England and Wales".
    period
        The period in words, e.g. "Twelve months to 2025-Q4".
    validated
        When the data were validated, in words, e.g. "2025-11-20 14:03 UTC".
    demo
        True when any figure comes from the synthetic demo data: the title slide and
        every slide's footer then say so.
    source_lines
        Where the figures come from (first: each finding's slide repeats it) and the
        disclosure control applied, as the dashboard's downloads state them.
    method
        The method and the flag rule, in one paragraph, for the closing slide.
    marking
        The protective marking for exact figures ("OFFICIAL-SENSITIVE: exact figures"),
        or None when the figures are protected by disclosure control.
    title
        The deck's title; "Equality Monitor" unless a page names itself.
    """

    place: str
    period: str
    validated: str
    demo: bool
    source_lines: tuple[str, ...]
    method: str
    marking: str | None = None
    title: str = "Equality Monitor"

    def __post_init__(self) -> None:
        if not self.source_lines:
            raise ValueError("source_lines must name the source of the figures, got none")
        for name in ("place", "period", "method"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"{name} must not be empty")


def clean(text: object) -> str:
    """Text as a slide may hold it: characters that XML cannot carry are dropped."""
    return _XML_UNSAFE.sub("", str(text))


def _cleaned(value: Any) -> Any:
    """A Vega-Lite specification with every string :func:`clean`.

    ``vl_convert`` aborts the whole process (a Rust panic that cannot unwind) on a NUL
    character in a chart's text; names from extracts reach legends and subtitles.
    """
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {clean(key): _cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(item) for item in value]
    return value


def _fits(text: str, *, size: float, width: Emu, lines: int, bold: bool = False) -> bool:
    """Whether ``text`` set at ``size`` points fits in ``lines`` lines ``width`` wide."""
    return _line_count(text, size=size, width=width, bold=bold) <= lines


def _line_count(text: str, *, size: float, width: Emu, bold: bool = False) -> int:
    # Liberation Sans metrics (images.text_width) are Arial's, the font every run is set in.
    room = width / 12700 * 0.96  # EMU to points, less the text box's own insets
    count, line = 1, ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if images.text_width(candidate, size=size, bold=bold) <= room or not line:
            line = candidate
        else:
            count, line = count + 1, word
    return count


def shorten(text: str, *, size: float, width: Emu, lines: int) -> str:
    """``text`` cut at a clause so that it fits ``lines`` lines, marked where it is cut.

    Cut after the last semicolon or full stop that fits, else after the last word; the
    cut text ends "…" and says the full text is in the speaker notes.
    """
    text = " ".join(text.split())
    if _fits(text, size=size, width=width, lines=lines):
        return text
    tail = " … (in full in the speaker notes)"
    words = text.split(" ")
    kept = ""
    for count in range(len(words), 0, -1):
        candidate = " ".join(words[:count])
        if _fits(candidate + tail, size=size, width=width, lines=lines):
            kept = candidate
            break
    clause = max(kept.rfind("; "), kept.rfind(". "))
    if clause > len(kept) // 2:
        kept = kept[: clause + 1]
    return kept.rstrip(";,:") + tail


def _text_box(
    slide,
    left: Emu,
    top: Emu,
    width: Emu,
    height: Emu,
    paragraphs: Sequence[str],
    *,
    size: float,
    bold: bool = False,
    colour: RGBColor = _TEXT_COLOUR,
    align: PP_ALIGN = PP_ALIGN.LEFT,
    anchor: MSO_ANCHOR = MSO_ANCHOR.TOP,
    name: str | None = None,
):
    box = slide.shapes.add_textbox(left, top, width, height)
    if name:
        box.name = name
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    for number, words in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
        paragraph.alignment = align
        run = paragraph.add_run()
        run.text = clean(words)
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.name = FONT
        run.font.color.rgb = colour
    return box


def _title(slide, text: str, *, top: Emu = _TITLE_TOP, height: Emu = _TITLE_HEIGHT) -> None:
    """The slide's title placeholder, resized for 16:9, the text sized to fit two lines."""
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = _MARGIN, top, _USABLE, height
    frame = title.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    text = clean(text)
    size = next(
        (s for s in _TITLE_SIZES if _fits(text, size=s, width=_USABLE, lines=2, bold=True)),
        _TITLE_SIZES[-1],
    )
    paragraph = frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.LEFT
    run = paragraph.add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = True
    run.font.name = FONT
    run.font.color.rgb = _TITLE_COLOUR


def _marks(slide, cover: Cover) -> None:
    """The marking at top and bottom (exact figures), and the demo words in the footer."""
    if cover.marking:
        for top, name in ((Inches(0.05), "Marking (top)"), (Inches(7.15), "Marking (bottom)")):
            _text_box(
                slide,
                _MARGIN,
                top,
                _USABLE,
                Inches(0.3),
                [cover.marking],
                size=12,
                bold=True,
                colour=_MARKING_COLOUR,
                align=PP_ALIGN.CENTER,
                name=name,
            )
    if cover.demo:
        _text_box(
            slide,
            SLIDE_WIDTH - _MARGIN - Inches(3),
            Inches(7.15),
            Inches(3),
            Inches(0.3),
            [DEMO_WORDS],
            size=_SMALL_SIZE,
            bold=True,
            align=PP_ALIGN.RIGHT,
            name="Demo data",
        )


def _notes(slide, paragraphs: Sequence[str]) -> None:
    slide.notes_slide.notes_text_frame.text = clean("\n".join(p for p in paragraphs if p))


def chart_picture(
    chart: Mapping[str, Any] | str, *, width_px: int, height_px: int
) -> tuple[bytes, int, int]:
    """A chart alone (its own title left off) as a PNG fitted to a box of pixels.

    The chart is laid out as the dashboard's slide images lay it out
    (:mod:`equality_core.images`: a single view of no fixed width is widened to suit the
    box) and rasterised by ``vl_convert`` at the scale that fills the box, so its text is
    drawn at the picture's resolution, not enlarged from a small image.

    Returns
    -------
    tuple
        The PNG, and its width and height in pixels (at most the box's).
    """
    import vl_convert

    spec = _cleaned(images._spec(chart))
    spec.pop("title", None)
    spec["config"] = {"font": images.FONT_FAMILY, **spec.get("config", {})}
    svg = images._fitted_chart(spec, box_width=width_px, box_height=height_px)
    natural_width, natural_height = images._size(svg)
    scale = min(width_px / natural_width, height_px / natural_height, 3.0)
    png = vl_convert.svg_to_png(svg, scale=scale)
    width, height = images._png_size(png)
    return png, width, height


def _picture(slide, chart: ChartImage, *, box: tuple[Emu, Emu, Emu, Emu], alt: str) -> None:
    left, top, width, height = box
    width_px = round(width / 914400 * PICTURE_DPI)
    height_px = round(height / 914400 * PICTURE_DPI)
    if isinstance(chart, bytes):
        png, shown_width, shown_height = chart, *images._png_size(chart)
    else:
        png, shown_width, shown_height = chart_picture(
            chart, width_px=width_px, height_px=height_px
        )
    # Centred in the box, at the size that fits it whatever the picture's own shape.
    fit = min(width / shown_width, height / shown_height)
    shown = (round(shown_width * fit), round(shown_height * fit))
    picture = slide.shapes.add_picture(
        io.BytesIO(png),
        left + (width - shown[0]) // 2,
        top + (height - shown[1]) // 2,
        shown[0],
        shown[1],
    )
    picture.name = "Chart"
    # The alt text screen readers announce for the picture: the chart's text description.
    picture._element.nvPicPr.cNvPr.set("descr", clean(alt))


#: The note on slides of exact figures, in place of the [c] note: nothing is hidden.
EXACT_NOTE = "Exact figures: no disclosure control, so no figure is hidden or perturbed."


def hidden_words(finding: Finding, cover: Cover) -> str:
    """The finding's own note on what reads [c], else what [c] means (or that none can)."""
    own = [note for note in finding.notes if "[c]" in note]
    if own:
        return own[0]
    return EXACT_NOTE if cover.marking else images.SUPPRESSION_NOTE


def _finding_slide(presentation, finding: Finding, chart: ChartImage, cover: Cover) -> None:
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    _title(slide, finding.headline)
    text_width = _USABLE
    description = shorten(finding.description, size=_DESCRIPTION_SIZE, width=text_width, lines=2)
    subtitle = shorten(finding.subtitle, size=_DESCRIPTION_SIZE, width=text_width, lines=1)
    _text_box(
        slide,
        _MARGIN,
        Inches(5.65),
        text_width,
        Inches(0.8),
        [subtitle, description],
        size=_DESCRIPTION_SIZE,
        name="Description",
    )
    _text_box(
        slide,
        _MARGIN,
        Inches(6.5),
        text_width,
        Inches(0.6),
        [hidden_words(finding, cover), cover.source_lines[0]],
        size=_SMALL_SIZE,
        name="Source and [c] note",
    )
    box = (_MARGIN, Inches(1.45), _USABLE, Inches(4.15))
    if finding.empty is None and finding.chart not in NO_PICTURE and chart is not None:
        _picture(slide, chart, box=box, alt=finding.description)
    else:
        _text_box(slide, *box, [finding.empty or finding.description], size=18, name="Finding")
    _marks(slide, cover)
    _notes(
        slide,
        [
            f"{finding.headline}.",
            f"What the figures are: {finding.subtitle}.",
            f"Description: {finding.description}",
            *finding.notes,
            *cover.source_lines,
            DEMO_SENTENCE if cover.demo else "",
            cover.marking or "",
        ],
    )


def _title_slide(presentation, cover: Cover, count: int) -> None:
    slide = presentation.slides.add_slide(presentation.slide_layouts[0])
    _title(slide, f"{cover.title}: {cover.place}", top=Inches(1.6), height=Inches(1.4))
    subtitle = slide.placeholders[1]
    subtitle.left, subtitle.top, subtitle.width, subtitle.height = (
        _MARGIN,
        Inches(3.2),
        _USABLE,
        Inches(3.6),
    )
    lines = [
        cover.period,
        f"Data validated {cover.validated}",
        f"{count} finding{'s' if count != 1 else ''}, one a slide; the full text description "
        "of each chart is in its speaker notes",
    ]
    if cover.demo:
        lines.append(DEMO_SENTENCE)
    if cover.marking:
        lines.append(cover.marking)
    frame = subtitle.text_frame
    frame.word_wrap = True
    for number, words in enumerate(lines):
        paragraph = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
        paragraph.alignment = PP_ALIGN.LEFT
        run = paragraph.add_run()
        run.text = clean(words)
        run.font.size = Pt(22 if number == 0 else 18)
        run.font.name = FONT
        run.font.bold = number == 0 or words in (DEMO_SENTENCE, cover.marking)
        run.font.color.rgb = _TEXT_COLOUR
    _marks(slide, cover)
    _notes(slide, [f"{cover.title}: {cover.place}.", *lines, *cover.source_lines])


def _closing_slide(presentation, cover: Cover) -> None:
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    _title(slide, "How these figures are made")
    _text_box(
        slide,
        _MARGIN,
        Inches(1.5),
        _USABLE,
        Inches(4.3),
        [cover.method],
        size=16,
        name="Method",
    )
    _text_box(
        slide,
        _MARGIN,
        Inches(5.6),
        _USABLE,
        Inches(1.5),
        [METHODOLOGY_WHERE, *cover.source_lines],
        size=12,
        name="Methodology and source",
    )
    _marks(slide, cover)
    _notes(slide, [cover.method, METHODOLOGY_WHERE, *cover.source_lines])


def _widescreen(presentation) -> None:
    """Make the default (4:3) template 16:9, its master's and layouts' shapes widened."""
    old_width = presentation.slide_width
    presentation.slide_width, presentation.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    ratio = SLIDE_WIDTH / old_width
    masters = [presentation.slide_master, *presentation.slide_layouts]
    for part in masters:
        for shape in part.shapes:
            if shape.left is not None and shape.width is not None:
                shape.left, shape.width = round(shape.left * ratio), round(shape.width * ratio)


def board_pack(items: Sequence[tuple[Finding, ChartImage]], *, cover: Cover) -> bytes:
    """A 16:9 PowerPoint deck of findings, as the bytes of a ``.pptx`` file.

    Parameters
    ----------
    items
        Each finding with its chart: a Vega-Lite specification (Altair's
        ``chart.to_dict()``), a PNG, or None. A finding with nothing to draw
        (``finding.empty``) gets a slide with its headline and why, not a picture.
    cover
        The place, period, validation time, demo status, marking, source lines and the
        method paragraph.

    Returns
    -------
    bytes
        The deck: a title slide, one slide per item in order, and a closing slide, so
        ``len(items) + 2`` slides.
    """
    presentation = Presentation()
    _widescreen(presentation)
    properties = presentation.core_properties
    properties.title = clean(f"{cover.title}: {cover.place}, {cover.period}")
    properties.subject = "Equality monitoring findings"
    properties.author = "Equality Monitor"
    properties.language = "en-GB"
    properties.keywords = ", ".join(
        k for k in (DEMO_WORDS if cover.demo else "", cover.marking or "") if k
    )
    _title_slide(presentation, cover, len(items))
    for finding, chart in items:
        _finding_slide(presentation, finding, chart, cover)
    _closing_slide(presentation, cover)
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()
