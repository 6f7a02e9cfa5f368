"""A one-page summary of a place as PDF: the overview's tiles and the flagged findings.

Made with **fpdf2** (https://py-pdf.github.io/fpdf2/). Why fpdf2 rather than reportlab,
the other established choice: it is pure Python with no system libraries (its own
dependencies, fontTools, defusedxml and Pillow, are wheels, and Pillow is already
installed with Streamlit); one page of text needs its plain cell-and-line API, not
reportlab's flowable layout engine; it embeds a TrueType font as a subset, with the
mapping back to Unicode, so the PDF's text can be searched, copied and read aloud as
written; and it sets the document's language and title, which screen readers announce.
It is maintained by the py-pdf group (which also maintains pypdf, used to read the PDF
back in the tests) and released under the LGPL-3.0, which a dependency of an open-source
dashboard may be.

The page is A4 portrait: the marking for exact figures at top and bottom (when given),
the title naming the place and the period, when the data were validated, "synthetic demo
data" when they are, each tile as text (its objective, its headline figure, its
sentences), the flagged findings as the dashboard's headline sentences, and the source
lines. It is always one page: type is set smaller, down to a floor, until everything
fits; past the floor, the last flagged findings are counted rather than listed (the
summary says how many more, and where to read them all).

Text is set in Liberation Sans (fonts-liberation, which the chart images also use) or
DejaVu Sans, whichever is installed; without either, in the PDF's built-in Helvetica,
with characters outside Latin-1 written as their nearest plain equivalent. Text from
extracts is written as text, never interpreted.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

#: TrueType fonts looked for, in order: (regular, bold).
FONT_CANDIDATES = (
    (
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
        Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ),
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
)
DEMO_SENTENCE = (
    "Synthetic demo data: every figure is made up by the demo generator and describes no "
    "real prison, probation region or person."
)
#: Near-black (GOV.UK text colour) and the Analysis Function's dark grey and dark blue.
_BLACK = (11, 12, 12)
_GREY = (61, 61, 61)
_BLUE = (18, 67, 109)
_MARGIN = 15.0
#: Scales of the type tried in turn until the page holds everything.
_SCALES = (1.0, 0.94, 0.88, 0.82, 0.76)
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLAIN = {
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "•": "-",
    "▲": "^",
    "▼": "v",
    "●": "o",
    "≥": ">=",
    "≤": "<=",
    "×": "x",
}


@dataclass(frozen=True)
class Tile:
    """One overview tile as text: its objective, headline figure and sentences.

    For example ``Tile("1. Disproportionate outcomes (PSED)", "Flags by ethnic group: 7",
    ("▼ Worsening: 7 against 5 the year before.", "England and Wales: 9."))``.
    """

    objective: str
    figure: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """What the one-page summary says.

    Parameters
    ----------
    place
        The place chosen, e.g. "HMP Caldwick" or "England and Wales".
    period
        The period in words, e.g. "Twelve months to 2025-Q4".
    validated
        When the data were validated, e.g. "2026-01-05 10:00 UTC".
    demo
        True for synthetic demo data: the page says so under its title.
    tiles
        The overview's tiles, in order.
    flagged
        The flagged findings, each the dashboard's headline sentence for one flagged cell
        (for example "Force used: Black 2.05 times White, higher (adverse)").
    source_lines
        Where the figures come from and the disclosure control applied.
    marking
        The protective marking for exact figures, or None when figures are protected.
    flagged_heading
        The heading of the list of flagged findings.
    more_where
        Where to read every flagged finding when not all fit on the page.
    notes
        Sentences under the title (for example what the place's figures leave out).
    """

    place: str
    period: str
    validated: str
    demo: bool
    tiles: tuple[Tile, ...]
    flagged: tuple[str, ...]
    source_lines: tuple[str, ...]
    marking: str | None = None
    flagged_heading: str = "Flagged findings"
    more_where: str = "objective 1 of the dashboard lists them all"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.source_lines:
            raise ValueError("source_lines must name the source of the figures, got none")
        if not self.place.strip() or not self.period.strip():
            raise ValueError(f"place and period must be given, got {self.place!r}, {self.period!r}")


class _Page:
    """One A4 page being laid out at a scale of the type, with the fonts it can use."""

    def __init__(self, summary: Summary, scale: float) -> None:
        self.summary = summary
        self.scale = scale
        from fpdf import FPDF  # only when a PDF is made: the import is a tenth of a second

        self.pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.unicode = self._fonts()
        self.pdf.add_page()
        self.width = self.pdf.w - 2 * _MARGIN
        self.footer_top = self.pdf.h - _MARGIN

    def _fonts(self) -> bool:
        for regular, bold in FONT_CANDIDATES:
            if regular.exists() and bold.exists():
                self.pdf.add_font("Body", "", str(regular))
                self.pdf.add_font("Body", "B", str(bold))
                return True
        return False

    def text(self, value: object) -> str:
        text = _XML_UNSAFE.sub("", str(value))
        if self.unicode:
            return text
        text = "".join(_PLAIN.get(ch, ch) for ch in text)
        text = unicodedata.normalize("NFKD", text)
        return text.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, *, bold: bool = False, colour=_BLACK) -> None:
        family = "Body" if self.unicode else "Helvetica"
        self.pdf.set_font(family, "B" if bold else "", size * self.scale)
        self.pdf.set_text_color(*colour)

    def line_height(self, size: float) -> float:
        return size * self.scale * 0.3528 * 1.3  # points to millimetres, with leading

    def paragraph(
        self,
        words: str,
        size: float,
        *,
        bold: bool = False,
        colour=_BLACK,
        indent: float = 0.0,
        align: str = "L",
        after: float = 0.0,
    ) -> None:
        from fpdf.enums import XPos, YPos

        self.font(size, bold=bold, colour=colour)
        self.pdf.set_x(_MARGIN + indent)
        self.pdf.multi_cell(
            self.width - indent,
            self.line_height(size),
            self.text(words),
            align=align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.pdf.set_y(self.pdf.get_y() + after * self.scale)

    def height_of(self, words: str, size: float, *, bold: bool = False, indent: float = 0.0):
        self.font(size, bold=bold)
        lines = self.pdf.multi_cell(
            self.width - indent,
            self.line_height(size),
            self.text(words),
            dry_run=True,
            output="LINES",
        )
        return len(lines) * self.line_height(size)


def _footer_lines(summary: Summary) -> list[str]:
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [*summary.source_lines, f"Made by the Equality Monitor dashboard, {made}."]


def _lay_out(summary: Summary, scale: float, listed: int) -> _Page | None:
    """The page at ``scale`` with the first ``listed`` flagged findings, or None if it overflows."""
    page = _Page(summary, scale)
    pdf = page.pdf
    footer = _footer_lines(summary)
    footer_height = sum(page.height_of(line, 8) for line in footer) + 2
    if summary.marking:
        footer_height += page.line_height(11) + 1
    limit = page.footer_top - footer_height - 3

    if summary.marking:
        page.paragraph(summary.marking, 11, bold=True, align="C", after=2)
    pdf.start_section(page.text(f"Equality Monitor summary: {summary.place}"))
    page.paragraph(f"Equality Monitor summary: {summary.place}", 18, bold=True, after=1)
    page.paragraph(f"{summary.period}. Data validated {summary.validated}.", 11, colour=_GREY)
    if summary.demo:
        page.paragraph(DEMO_SENTENCE, 11, bold=True, colour=_BLUE, after=1)
    for note in summary.notes:
        page.paragraph(note, 9.5, colour=_GREY)
    pdf.set_y(pdf.get_y() + 3 * scale)

    page.paragraph("Headline figures", 13, bold=True, after=1)
    for tile in summary.tiles:
        page.paragraph(tile.objective, 11, bold=True)
        page.paragraph(tile.figure, 10.5, indent=4)
        for line in tile.lines:
            page.paragraph(line, 9.5, colour=_GREY, indent=4)
        pdf.set_y(pdf.get_y() + 1.5 * scale)
    pdf.set_y(pdf.get_y() + 2 * scale)

    page.paragraph(summary.flagged_heading, 13, bold=True, after=1)
    if not summary.flagged:
        page.paragraph("No outcome is flagged here.", 10)
    for sentence in summary.flagged[:listed]:
        page.paragraph(f"- {sentence}", 10, indent=2)
    rest = len(summary.flagged) - listed
    if rest > 0:
        page.paragraph(
            f"And {rest} more flagged finding{'s' if rest != 1 else ''}: {summary.more_where}.",
            10,
            bold=True,
            indent=2,
        )
    if pdf.get_y() > limit or pdf.page_no() != 1:
        return None

    pdf.set_y(page.footer_top - footer_height)
    pdf.set_draw_color(191, 191, 191)
    pdf.line(_MARGIN, pdf.get_y(), pdf.w - _MARGIN, pdf.get_y())
    pdf.set_y(pdf.get_y() + 2)
    for line in footer:
        page.paragraph(line, 8, colour=_GREY)
    if summary.marking:
        page.paragraph(summary.marking, 11, bold=True, align="C")
    return page


def summary_pdf(summary: Summary) -> bytes:
    """The one-page summary as the bytes of a PDF file.

    Tries each type scale in turn, largest first, with every flagged finding listed;
    if none fits, lists fewer findings at the smallest scale, saying how many more there
    are, until the page holds them. The result is always exactly one A4 page.
    """
    page = None
    for scale in _SCALES:
        page = _lay_out(summary, scale, len(summary.flagged))
        if page is not None:
            break
    listed = len(summary.flagged)
    while page is None and listed > 0:
        listed -= 1
        page = _lay_out(summary, _SCALES[-1], listed)
    if page is None:
        raise ValueError(
            "the tiles alone do not fit on one page: give fewer tiles or shorter sentences"
        )
    pdf = page.pdf
    pdf.set_lang("en-GB")
    pdf.set_title(page.text(f"Equality Monitor summary: {summary.place}, {summary.period}"))
    pdf.set_author("Equality Monitor")
    pdf.set_creator("Equality Monitor (fpdf2)")
    pdf.set_subject("Equality monitoring: headline figures and flagged findings")
    keywords = [k for k in ("synthetic demo data" if summary.demo else "", summary.marking) if k]
    if keywords:
        pdf.set_keywords(page.text(", ".join(keywords)))
    return bytes(pdf.output())
